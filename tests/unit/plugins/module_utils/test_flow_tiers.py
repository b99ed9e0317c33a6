"""Flow evaluator (plugins/module_utils/_core/dataplane) with policy tiers: one semantic rule per test.

Each docstring names the section of ../shared/calico/SPEC-3.29-3.32.md the rule comes from (that file cites the Felix
source it was read from). Worlds are built with the helpers of test_flow_semantics.py: two IPIP nodes with named eth0
HostEndpoints labelled k8s-role: node, web pods on both, and (for the collection's own policies) the offline rendering
of the guide's two services with their pre-DNAT allows, the explicit pre-DNAT Deny of the service range and the
host-traffic policy, all in the default tier.
"""

import pytest

from ansible_collections.clusteredge.calico.plugins.module_utils._core.dataplane import walk as walker
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import render as xr

# Imported through the collection's package path: `ansible-test units` imports test files as modules of the collection.
from ansible_collections.clusteredge.calico.tests.unit.plugins.module_utils.test_flow_semantics import (
    CLIENT, NODES, by_backend, cnp, collection_params, flow, from_node, gnp, guide_world, hep, host, stage, world,
)

LISTED = "50.60.0.10"
SVC_A = "10.20.30.40"
SERVICE_RANGE = "10.20.30.0/24"


def tier(name, order=None, action=None):
    """A Tier as the API returns it; order and defaultAction only when given (a v3-CRD-mode read may lack both)."""
    spec = {}
    if order is not None:
        spec["order"] = order
    if action:
        spec["defaultAction"] = action
    return {"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": {"name": name}, "spec": spec}


DEFAULT = tier("default", 1000000, "Deny")


def tiered(tier_name, name, **spec):
    """A GNP in a tier, named <tier>.<name> as the tiered API requires outside the default tier."""
    policy = gnp("%s.%s" % (tier_name, name), tier=tier_name, **spec)
    policy["kind"] = "GlobalNetworkPolicy"
    return policy


def rendered():
    manifests, _exposures, errors = xr.render_offline(collection_params())
    assert errors == []
    return manifests


@pytest.fixture(scope="module")
def manifests():
    return rendered()


def exposure_world(manifests, extra=(), tiers=(DEFAULT,), **fields):
    """The collection's rendering of the guide's services (default tier) plus `extra` policies and the given Tiers."""
    w = guide_world(list(manifests) + list(extra))
    w.tiers = list(tiers)
    for name, value in fields.items():
        setattr(w, name, value)
    return w


ALLOW_WORLD = tiered("security", "allow-world", order=10, selector=NODES, preDNAT=True, applyOnForward=True, types=["Ingress"],
                     ingress=[{"action": "Allow", "destination": {"nets": [SERVICE_RANGE]}}])
LOCKDOWN = tiered("security", "hep-lockdown", order=10, selector=NODES, types=["Ingress"],
                  ingress=[{"action": "Allow", "protocol": "TCP", "destination": {"ports": [443]}}])
NO_SSH_FAILSAFE = [{"metadata": {"name": "default"}, "spec": {"failsafeInboundHostPorts": [{"protocol": "tcp", "port": 6443}]}}]


# -- §4.3 pre-DNAT: a foreign tier's Allow wins, its silence falls through ----------------------------------------

def test_prednat_allow_in_earlier_tier_leaks_the_exposure(manifests):
    """SPEC-3.29-3.32 §4.3 items 1-2 and "Effect for the collection": tiers run in order, a matching Allow ends evaluation,
    so a security tier (order 100) allowing the world to the service range at pre-DNAT overrides the default tier's
    explicit Deny, and the accept mark skips forward policy. Only the collection's pod policy is left: it stops the
    unlisted client at a local backend, but a remote backend sees the ingress node's tunnel address (SPEC.md §5.4
    step 7) and lets it in. The verdicts name the foreign tier and its policy."""
    w = exposure_world(manifests, [ALLOW_WORLD], tiers=[tier("security", 100), DEFAULT])
    verdicts = by_backend(w, flow(CLIENT, SVC_A, 80))
    for v in verdicts.values():
        pre = stage(v, "pre-DNAT")
        assert (pre.result, pre.policy, pre.tier, pre.rule_index) == ("allow", "GlobalNetworkPolicy security.allow-world", "security", 0)
        assert pre.reason == "tier security: GlobalNetworkPolicy security.allow-world rule 0 (Allow) matched"
        assert "pre-DNAT: allow - tier security: GlobalNetworkPolicy security.allow-world" in walker.explain(v)
        assert stage(v, "forward (from HEP)").reason == "skipped: the pre-DNAT Allow set the accept mark"
    leak = verdicts["remote"]
    assert leak.allowed, walker.explain(leak)
    assert "(pre-DNAT: tier security: GlobalNetworkPolicy security.allow-world rule 0 (Allow) matched)" in leak.decided_by
    assert not verdicts["local"].allowed and stage(verdicts["local"], "pod ingress").result == "deny"


def test_later_tier_cannot_override_the_default_tier_deny(manifests):
    """SPEC-3.29-3.32 §4.1, §4.3 item 1: the default tier has order 1,000,000; a tier ordered after it is consulted only
    for what the default tier leaves undecided, so the collection's pre-DNAT Deny still drops the unlisted client."""
    w = exposure_world(manifests, [ALLOW_WORLD], tiers=[tier("security", 2000000), DEFAULT])
    for v in walker.evaluate_all(w, flow(CLIENT, SVC_A, 80)):
        assert not v.allowed and stage(v, "pre-DNAT").policy == "GlobalNetworkPolicy clusteredge-deny-service-ranges"
        assert stage(v, "pre-DNAT").tier is None


def test_prednat_no_match_in_earlier_tier_falls_through(manifests):
    """SPEC-3.29-3.32 §4.3 item 3 and HEP chain families: pre-DNAT tiers have no end-of-tier drop (their defaultAction is
    forced to Pass), so a security-tier pre-DNAT policy that matches nothing hands the packet to the default tier, even
    when the tier's own defaultAction is Deny."""
    office = tiered("security", "allow-office", order=10, selector=NODES, preDNAT=True, applyOnForward=True, types=["Ingress"],
                    ingress=[{"action": "Allow", "source": {"nets": ["198.51.100.0/24"]}}])
    w = exposure_world(manifests, [office], tiers=[tier("security", 100, "Deny"), DEFAULT])
    for v in walker.evaluate_all(w, flow(CLIENT, SVC_A, 80)):
        pre = stage(v, "pre-DNAT")
        assert not v.allowed and pre.policy == "GlobalNetworkPolicy clusteredge-deny-service-ranges", walker.explain(v)
        assert pre.reason.endswith("(after tier security: no pre-DNAT rule matched)")
    for v in walker.evaluate_all(w, flow(LISTED, SVC_A, 80)):
        assert v.allowed and stage(v, "pre-DNAT").policy == "GlobalNetworkPolicy clusteredge-allow-cluster-ips", walker.explain(v)
    only = exposure_world([], [office], tiers=[tier("security", 100, "Deny"), DEFAULT])
    skipped = stage(walker.evaluate(only, flow(CLIENT, SVC_A, 80)), "pre-DNAT")
    assert skipped.result == "pass-through"
    assert skipped.reason == "tier security: no pre-DNAT rule matched (GlobalNetworkPolicy security.allow-office): no default drop here, continue"


# -- §4.3 normal chains: end-of-tier drop, defaultAction Pass, Pass rules --------------------------------------------

def test_normal_policy_in_earlier_deny_tier_drops_host_traffic_at_end_of_tier(manifests):
    """SPEC-3.29-3.32 §4.3 item 3 and "Effect for the collection"; §14 item 22: a security-tier policy that selects the
    HEP but allows nothing the flow matches ends in the tier's drop before the default tier's host-traffic policy is
    reached: kubelet is cut, and so is SSH once it is no failsafe. The stage names the tier and the policy."""
    w = exposure_world(manifests, [LOCKDOWN], tiers=[tier("security", 100, "Deny"), DEFAULT])
    kubelet = walker.evaluate(w, host(10250))
    ingress = stage(kubelet, "host ingress")
    assert not kubelet.allowed and (ingress.result, ingress.tier, ingress.policy) == ("deny", "security", None)
    assert ingress.reason == ("End of tier security: no policy in the tier allowed or passed the packet (defaultAction Deny; "
                              "GlobalNetworkPolicy security.hep-lockdown applies)")
    assert kubelet.decided_by.startswith("host ingress: End of tier security:")
    assert walker.evaluate(w, host(443)).allowed, "the tier's own Allow ends evaluation"
    assert walker.evaluate(w, host(22)).allowed, "failsafes are accepted before any tier"
    no_ssh = exposure_world(manifests, [LOCKDOWN], tiers=[tier("security", 100, "Deny"), DEFAULT], felix_configs=NO_SSH_FAILSAFE)
    ssh = walker.evaluate(no_ssh, host(22))
    assert not ssh.allowed and "End of tier security" in ssh.decided_by
    for v in walker.evaluate_all(w, flow(LISTED, SVC_A, 80)):
        assert v.allowed, "a normal policy without applyOnForward leaves forwarded traffic alone"


def test_default_action_pass_continues_to_the_next_tier(manifests):
    """SPEC-3.29-3.32 §4.2 (defaultAction Pass), §4.3 item 3: with defaultAction Pass an unmatched packet leaves the tier
    and the default tier's host-traffic policy decides; the stage tells which tier it came through."""
    w = exposure_world(manifests, [LOCKDOWN], tiers=[tier("security", 100, "Pass"), DEFAULT])
    kubelet = walker.evaluate(w, host(10250))
    ingress = stage(kubelet, "host ingress")
    assert kubelet.allowed and ingress.policy == "GlobalNetworkPolicy clusteredge-allow-traffic-hostendpoints" and ingress.tier is None
    assert ingress.reason.endswith("(after tier security: no rule matched, defaultAction Pass)")


def test_pass_rule_moves_on_to_the_next_tier(manifests):
    """SPEC-3.29-3.32 §4.3 item 2: Pass skips the rest of its tier and continues with the next applicable tier; an
    explicit Deny in the same policy still drops."""
    gate = tiered("security", "gate", order=10, selector=NODES, types=["Ingress"],
                  ingress=[{"action": "Pass", "protocol": "TCP", "destination": {"ports": [10250]}}, {"action": "Deny"}])
    w = exposure_world(manifests, [gate], tiers=[tier("security", 100), DEFAULT])
    kubelet = walker.evaluate(w, host(10250))
    assert kubelet.allowed and stage(kubelet, "host ingress").policy == "GlobalNetworkPolicy clusteredge-allow-traffic-hostendpoints"
    assert stage(kubelet, "host ingress").reason.endswith("(after tier security: GlobalNetworkPolicy security.gate rule 0 (Pass) matched)")
    other = walker.evaluate(w, host(8000))
    denied = stage(other, "host ingress")
    assert not other.allowed and (denied.policy, denied.rule_index, denied.tier) == ("GlobalNetworkPolicy security.gate", 1, "security")
    assert denied.reason == "tier security: GlobalNetworkPolicy security.gate rule 1 (Deny) matched"


def test_pass_in_the_last_tier_reaches_the_profiles():
    """SPEC-3.29-3.32 §4.3 item 4: after the last tier a normal chain jumps to the profiles, so a Pass in the only
    applicable tier lets projectcalico-default-allow accept; without an allowing profile the packet drops."""
    gate = tiered("security", "gate", order=10, selector=NODES, ingress=[{"action": "Pass"}])
    w = world(hostendpoints=[hep("n1-eth0", "n1", ips=["10.0.0.1"], profiles=["projectcalico-default-allow"])],
              global_policies=[gate], tiers=[tier("security", 100), DEFAULT])
    v = walker.evaluate(w, host(8000))
    ingress = stage(v, "host ingress")
    assert v.allowed and (ingress.policy, ingress.tier) == ("GlobalNetworkPolicy security.gate", "security")
    assert ingress.reason == ("tier security: GlobalNetworkPolicy security.gate rule 0 (Pass) matched, "
                              "profile projectcalico-default-allow allows")
    bare = world(global_policies=[gate], tiers=[tier("security", 100), DEFAULT])
    assert not walker.evaluate(bare, host(8000)).allowed


# -- §4.2, §4.3 ordering of tiers ---------------------------------------------------------------------------------

def test_tier_without_order_sorts_after_every_numbered_tier():
    """SPEC-3.29-3.32 §4.2 (Felix sorts a nil order after every numbered tier), §4.3 item 1 (ties by name), §15: a tier
    read without order is evaluated last, after the default tier and a numbered tier at 10,000,000, whatever its name."""
    policies = [gnp("pass-host", order=10, selector=NODES, ingress=[{"action": "Pass"}]),
                tiered("late", "allow-kubelet", order=10, selector=NODES,
                       ingress=[{"action": "Allow", "protocol": "TCP", "destination": {"ports": [10250]}}]),
                tiered("aaa", "deny-all", order=10, selector=NODES, ingress=[{"action": "Deny"}]),
                tiered("b", "pass", order=10, selector=NODES, ingress=[{"action": "Pass"}]),
                tiered("a", "pass", order=10, selector=NODES, ingress=[{"action": "Pass"}])]
    w = world(global_policies=policies,
              tiers=[tier("aaa"), tier("late", 10000000, "Pass"), DEFAULT, tier("b", 500), tier("a", 500)])
    assert [t.name for t, _policies in walker.index_of(w).tiers] == ["a", "b", "default", "late", "aaa"]
    kubelet = walker.evaluate(w, host(10250))
    assert kubelet.allowed and stage(kubelet, "host ingress").policy == "GlobalNetworkPolicy late.allow-kubelet"
    other = walker.evaluate(w, host(8000))
    assert not other.allowed and stage(other, "host ingress").policy == "GlobalNetworkPolicy aaa.deny-all"
    assert stage(other, "host ingress").reason.startswith("tier aaa: GlobalNetworkPolicy aaa.deny-all rule 0 (Deny) matched (after tier a:")


def test_missing_tier_object_is_evaluated_last_and_drops():
    """SPEC-3.29-3.32 §4.3 last bullets (policy_resolver.go, policy_sorter.go TierLess): a policy whose Tier object is
    missing is still enforced, in a tier sorted after every existing tier (even one without order), with an end-of-tier
    drop; the stage says the Tier does not exist."""
    policies = [gnp("pass-host", order=10, selector=NODES, ingress=[{"action": "Pass"}]),
                tiered("zz", "pass", order=10, selector=NODES, ingress=[{"action": "Pass"}]),
                tiered("ghost", "allow-kubelet", order=10, selector=NODES,
                       ingress=[{"action": "Allow", "protocol": "TCP", "destination": {"ports": [10250]}}])]
    w = world(global_policies=policies, tiers=[DEFAULT, tier("zz")])
    assert [t.name for t, _policies in walker.index_of(w).tiers] == ["default", "zz", "ghost"]
    kubelet = walker.evaluate(w, host(10250))
    assert kubelet.allowed and stage(kubelet, "host ingress").tier == "ghost"
    other = stage(walker.evaluate(w, host(8000)), "host ingress")
    assert other.result == "deny" and other.tier == "ghost"
    assert other.reason.startswith("End of tier ghost: no policy in the tier allowed or passed the packet (no Tier ghost exists: ")


def test_without_tier_objects_every_policy_is_in_one_implicit_tier():
    """SPEC-3.29-3.32 §15 (no tiers before they are served) and SPEC.md §5.1: with no Tier objects the evaluator keeps one
    implicit default tier, whatever `spec.tier` says: policies sort by order alone and texts name no tier."""
    policies = [tiered("security", "deny", order=20, selector=NODES, ingress=[{"action": "Deny"}]),
                gnp("allow", order=10, selector=NODES, ingress=[{"action": "Allow", "protocol": "UDP"}])]
    v = walker.evaluate(world(global_policies=policies), host(8000))
    assert stage(v, "host ingress").policy == "GlobalNetworkPolicy security.deny" and stage(v, "host ingress").tier is None
    assert stage(v, "host ingress").reason == "GlobalNetworkPolicy security.deny rule 0 (Deny) matched"
    tiered_world = world(global_policies=policies, tiers=[tier("security", 100), DEFAULT])
    assert stage(walker.evaluate(tiered_world, host(8000, protocol="UDP")), "host ingress").policy == "GlobalNetworkPolicy security.deny"


# -- §7 staged policies ----------------------------------------------------------------------------------------------

def test_staged_policies_are_never_enforced(manifests):
    """SPEC-3.29-3.32 §7: Felix renders no chain for staged kinds, and a tier whose policies are all staged ends in a
    pass, not a drop: staged objects passed to the evaluator change nothing."""
    staged = [dict(tiered("security", "stage-deny", order=1, selector=NODES, preDNAT=True, applyOnForward=True,
                          ingress=[{"action": "Deny"}]), kind="StagedGlobalNetworkPolicy"),
              dict(tiered("security", "stage-host", order=1, selector=NODES, ingress=[{"action": "Deny"}]),
                   kind="StagedGlobalNetworkPolicy"),
              dict(cnp("security.stage-pods", "default", tier="security", selector="all()", ingress=[{"action": "Deny"}]),
                   kind="StagedNetworkPolicy"),
              dict(cnp("stage-knp", "default", selector="all()", ingress=[{"action": "Deny"}]), kind="StagedKubernetesNetworkPolicy")]
    w = exposure_world(manifests, tiers=[tier("security", 100), DEFAULT])
    w.global_policies += [p for p in staged if "Global" in p["kind"]]
    w.network_policies += [p for p in staged if "Global" not in p["kind"]]
    assert not any(p.name.startswith(("security.", "stage")) for p in walker.index_of(w).policies)
    assert walker.evaluate(w, host(10250)).allowed
    for v in walker.evaluate_all(w, flow(LISTED, SVC_A, 80)):
        assert v.allowed, walker.explain(v)


# -- §4.5 Kubernetes admin policies ---------------------------------------------------------------------------------

@pytest.mark.parametrize("admin_tier", ["adminnetworkpolicy", "kube-admin"])
def test_admin_policies_never_select_hosts_user_policies_in_their_tier_do(manifests, admin_tier):
    """SPEC-3.29-3.32 §4.5 (conversion.go, clusternetworkpolicy.go), §14 item 22: ANP/ClusterNetworkPolicy-derived
    policies select pods by projectcalico.org/orchestrator == 'k8s', which HEPs lack, so their deny-all leaves host
    traffic alone while it still governs pods; a user GNP placed in the same tier with a HEP selector does apply."""
    admin = tiered(admin_tier, "deny-all", order=10, selector="projectcalico.org/orchestrator == 'k8s'",
                   namespaceSelector="all()", types=["Ingress", "Egress"], ingress=[{"action": "Deny"}], egress=[{"action": "Deny"}])
    tiers = [tier(admin_tier, 1000, "Pass"), DEFAULT]
    w = exposure_world(manifests, [admin], tiers=tiers)
    assert walker.evaluate(w, host(10250)).allowed
    assert walker.evaluate(w, from_node("203.0.113.50", 443)).allowed
    for v in walker.evaluate_all(w, flow(LISTED, SVC_A, 80)):
        pod = stage(v, "pod ingress")
        assert not v.allowed and (pod.policy, pod.tier) == ("GlobalNetworkPolicy %s.deny-all" % admin_tier, admin_tier)
    user = tiered(admin_tier, "hep-deny", order=20, selector=NODES, types=["Ingress"],
                  ingress=[{"action": "Deny", "protocol": "TCP", "destination": {"ports": [10250]}}])
    v = walker.evaluate(exposure_world(manifests, [admin, user], tiers=tiers), host(10250))
    assert not v.allowed and stage(v, "host ingress").tier == admin_tier
    assert v.decided_by == "host ingress: tier %s: GlobalNetworkPolicy %s.hep-deny rule 0 (Deny) matched" % (admin_tier, admin_tier)


# -- §4.3 forward and workload chains ------------------------------------------------------------------------------

def test_forward_chain_with_apply_on_forward_in_a_foreign_tier():
    """SPEC-3.29-3.32 §4.3 (forward list: only applyOnForward policies, with the tier's real defaultAction; forward chains
    allow by default only when no tier applies): an AoF policy in a Deny tier that does not match the forwarded flow
    drops it at the end of its tier; a non-AoF policy in that tier does not touch forwarded traffic."""
    fwd = tiered("security", "fwd", order=10, selector=NODES, applyOnForward=True, types=["Ingress"],
                 ingress=[{"action": "Allow", "protocol": "UDP"}])
    w = world(global_policies=[fwd], tiers=[tier("security", 100), DEFAULT])
    for v in walker.evaluate_all(w, flow()):
        forward = stage(v, "forward (from HEP)")
        assert not v.allowed and (forward.result, forward.tier) == ("deny", "security"), walker.explain(v)
        assert forward.reason.startswith("End of tier security: no policy in the tier allowed or passed the packet (defaultAction Deny;")
    assert not walker.evaluate(w, host(8000)).allowed, "an applyOnForward policy is in the normal list too"
    normal = tiered("security", "host-only", order=10, selector=NODES, types=["Ingress"], ingress=[{"action": "Allow", "protocol": "UDP"}])
    assert all(v.allowed for v in walker.evaluate_all(world(global_policies=[normal], tiers=[tier("security", 100), DEFAULT]), flow()))


def test_workload_chain_runs_an_earlier_tier_first():
    """SPEC-3.29-3.32 §4.3 (workload chains use the normal tier logic, end-of-tier drop included), §4.5: a security tier
    selecting the pods decides before the default tier: its Allow ends evaluation, so a default-tier Deny is never
    reached, and a flow it does not match drops at the end of the tier although the profile would allow."""
    web = tiered("security", "web", order=10, selector="app == 'web'", types=["Ingress"],
                 ingress=[{"action": "Allow", "protocol": "TCP", "destination": {"ports": [8080]}}])
    deny = cnp("deny-all", "default", order=10, selector="app == 'web'", ingress=[{"action": "Deny"}])
    w = world(global_policies=[web], network_policies=[deny], tiers=[tier("security", 100), DEFAULT])
    pod_to_pod = flow("192.168.2.10", "192.168.1.10", 8080, source_is_pod=True, ingress_node="n2")
    v = walker.evaluate(w, pod_to_pod)
    assert v.allowed and (stage(v, "pod ingress").policy, stage(v, "pod ingress").tier) == ("GlobalNetworkPolicy security.web", "security")
    other = walker.evaluate(w, flow("192.168.2.10", "192.168.1.10", 9090, source_is_pod=True, ingress_node="n2"))
    assert not other.allowed and stage(other, "pod ingress").reason.startswith("End of tier security:")
    passing = world(global_policies=[web], tiers=[tier("security", 100, "Pass"), DEFAULT])
    through = walker.evaluate(passing, flow("192.168.2.10", "192.168.1.10", 9090, source_is_pod=True, ingress_node="n2"))
    assert through.allowed and stage(through, "pod ingress").reason.endswith("(defaultAction Pass; GlobalNetworkPolicy security.web "
                                                                             "applies), profile kns.default allows")


def test_remote_backend_meets_the_tier_on_its_own_node():
    """SPEC-3.29-3.32 §4.3 (per endpoint chain), SPEC.md §5.4 step 7: the backend pod's chain on its node runs the tiers
    too; after SNAT it sees the ingress node's tunnel address, so a tier allowing only the client drops the remote case."""
    web = tiered("security", "web", order=10, selector="app == 'web'", types=["Ingress"],
                 ingress=[{"action": "Allow", "source": {"nets": ["203.0.113.0/24"]}}])
    verdicts = by_backend(world(global_policies=[web], tiers=[tier("security", 100), DEFAULT]), flow())
    assert verdicts["local"].allowed and not verdicts["remote"].allowed
    assert "End of tier security" in verdicts["remote"].decided_by
