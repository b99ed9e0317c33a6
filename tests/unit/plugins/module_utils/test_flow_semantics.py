"""Calico 3.28 flow evaluator (plugins/module_utils/_core/dataplane): one semantic rule per test.

Each docstring names the SPEC section (../shared/calico/SPEC.md) the rule comes from; the SPEC section in
turn cites the Calico v3.28.5 source or 3.28 docs page it was read from.
"""

import copy

import pytest
import yaml

from ansible_collections.clusteredge.calico.plugins.module_utils._core.dataplane import index as indexing
from ansible_collections.clusteredge.calico.plugins.module_utils._core.dataplane import walk as walker
from ansible_collections.clusteredge.calico.plugins.module_utils._core.dataplane import world as world_types
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import params as xp
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import render as xr

CLIENT = "203.0.113.9"
CLUSTER_IP = "10.96.0.10"
NODES = "k8s-role == 'node'"


# -- builders ----------------------------------------------------------------------------------------

def node(name, ip, tunnel=None, ipv6=None):
    annotations = {"projectcalico.org/IPv4IPIPTunnelAddr": tunnel} if tunnel else {}
    addresses = [{"type": "InternalIP", "address": ip}] + ([{"type": "InternalIP", "address": ipv6}] if ipv6 else [])
    return {"metadata": {"name": name, "annotations": annotations}, "status": {"addresses": addresses}}


def hep(name, node_name, interface="eth0", ips=(), labels=None, profiles=None):
    spec = {"node": node_name, "interfaceName": interface, "expectedIPs": list(ips)}
    if profiles:
        spec["profiles"] = profiles
    return {"metadata": {"name": name, "labels": {"k8s-role": "node"} if labels is None else labels}, "spec": spec}


def gnp(name, **spec):
    return {"metadata": {"name": name}, "spec": spec}


def cnp(name, namespace, **spec):
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def pod(name, node_name, ip, labels=None, namespace="default", ports=None):
    containers = [{"name": "c", "ports": ports if ports is not None else [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]}]
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels if labels is not None else {"app": "web"}},
            "spec": {"nodeName": node_name, "containers": containers}, "status": {"podIP": ip, "podIPs": [{"ip": ip}]}}


def service(name="web", ips=(CLUSTER_IP,), selector=None, ports=None, namespace="default", etp=None, svc_type="ClusterIP"):
    spec = {"type": svc_type, "clusterIP": ips[0], "clusterIPs": list(ips), "selector": selector or {"app": "web"},
            "ports": ports or [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]}
    if etp:
        spec["externalTrafficPolicy"] = etp
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def world(**overrides):
    """Two IPIP nodes, named eth0 HEPs with their addresses, web pods on both, Service web at 10.96.0.10:80 -> http."""
    base = dict(
        nodes=[node("n1", "10.0.0.1", "192.168.1.1", "fd00::1"), node("n2", "10.0.0.2", "192.168.2.1", "fd00::2")],
        hostendpoints=[hep("n1-eth0", "n1", ips=["10.0.0.1", "192.168.1.1", "fd00::1"]),
                       hep("n2-eth0", "n2", ips=["10.0.0.2", "192.168.2.1", "fd00::2"])],
        pods=[pod("web-1", "n1", "192.168.1.10"), pod("web-2", "n2", "192.168.2.10")],
        services=[service()], pod_cidrs=["192.168.0.0/16"], service_cidrs=["10.96.0.0/16"])
    base.update(overrides)
    return world_types.World(**base)


def flow(src=CLIENT, dst=CLUSTER_IP, port=80, **kw):
    kw.setdefault("ingress_node", "n1")
    return world_types.Flow(src, dst, port, **kw)


def by_backend(w, fl):
    return dict((v.backend, v) for v in walker.evaluate_all(w, fl))


def stage(verdict, name):
    return next(s for s in verdict.stages if s.name == name)


def host(port=8000, src=CLIENT, **kw):
    return flow(src, "10.0.0.1", port, **kw)


ALLOW_ALL_HOST = gnp("host-allow", order=1000, selector=NODES, ingress=[{"action": "Allow"}], egress=[{"action": "Allow"}])


# -- §5.1 ordering ---------------------------------------------------------------------------------------

def test_order_ascending():
    """SPEC §5.1 (felix/calc/policy_sorter.go): lower order applies first."""
    w = world(global_policies=[gnp("allow", order=20, selector=NODES, ingress=[{"action": "Allow"}]),
                               gnp("deny", order=10, selector=NODES, ingress=[{"action": "Deny"}])])
    v = walker.evaluate(w, host())
    assert not v.allowed and stage(v, "host ingress").policy == "GlobalNetworkPolicy deny"


def test_nil_order_sorts_last():
    """SPEC §2.1, §5.1, §13.7: an omitted order is infinite, so a numbered Deny beats an unnumbered Allow."""
    w = world(global_policies=[gnp("allow", selector=NODES, ingress=[{"action": "Allow"}]),
                               gnp("deny", order=5000, selector=NODES, ingress=[{"action": "Deny"}])])
    assert not walker.evaluate(w, host()).allowed


def test_order_ties_by_name():
    """SPEC §5.1: equal orders are broken by the internal key (default.<name>)."""
    w = world(global_policies=[gnp("b-allow", order=10, selector=NODES, ingress=[{"action": "Allow"}]),
                               gnp("a-deny", order=10, selector=NODES, ingress=[{"action": "Deny"}])])
    assert stage(walker.evaluate(w, host()), "host ingress").policy == "GlobalNetworkPolicy a-deny"


def test_gnp_np_tie_uses_internal_key():
    """SPEC §13.7: GNP key default.<name> sorts before NP key <ns>/default.<name> ('.' < '/'), whatever the plain names."""
    w = world(global_policies=[gnp("zz-deny", order=10, selector="app == 'web'", ingress=[{"action": "Deny"}])],
              network_policies=[cnp("aa-allow", "default", order=10, selector="app == 'web'", ingress=[{"action": "Allow"}])])
    v = walker.evaluate(w, flow("192.168.2.10", "192.168.1.10", 8080, source_is_pod=True, ingress_node="n2"))
    assert not v.allowed and stage(v, "pod ingress").policy == "GlobalNetworkPolicy zz-deny"
    assert world_types.Policy("NetworkPolicy", "aa", "default", {}).key == "default/default.aa"
    assert world_types.Policy("GlobalNetworkPolicy", "zz", None, {}).key == "default.zz"


def test_types_defaulting_egress_only_policy_ignores_ingress():
    """SPEC §2.1 (clientv3/globalnetworkpolicy.go): no types + only egress rules -> [Egress]; no rules -> [Ingress]."""
    assert world_types.Policy("GlobalNetworkPolicy", "p", None, {"egress": [{"action": "Deny"}]}).types == ["Egress"]
    assert world_types.Policy("GlobalNetworkPolicy", "p", None, {}).types == ["Ingress"]
    assert world_types.Policy("GlobalNetworkPolicy", "p", None, {"egress": [{}], "ingress": [{}]}).types == ["Ingress", "Egress"]
    w = world(hostendpoints=[hep("n1-eth0", "n1", ips=["10.0.0.1"], profiles=["projectcalico-default-allow"])],
              global_policies=[gnp("eg", selector=NODES, egress=[{"action": "Deny"}])])
    assert walker.evaluate(w, host()).allowed


def test_empty_policy_defaults_to_ingress_and_drops():
    """SPEC §2.1, §5.3 (#4673): a rule-less policy defaults to [Ingress] and its selection alone ends in the end-of-policy drop."""
    w = world(hostendpoints=[hep("n1-eth0", "n1", ips=["10.0.0.1"], profiles=["projectcalico-default-allow"])],
              global_policies=[gnp("empty", selector=NODES)])
    assert "end-of-policy drop" in walker.evaluate(w, host()).decided_by


def test_log_continues():
    """SPEC §3.1: Log logs and moves on to the next rule."""
    w = world(global_policies=[gnp("p", order=1, selector=NODES, ingress=[{"action": "Log"}, {"action": "Deny"}])])
    v = walker.evaluate(w, host())
    assert not v.allowed and stage(v, "host ingress").rule_index == 1 and "Log" in stage(v, "host ingress").reason


def test_pass_jumps_to_profiles_for_pods():
    """SPEC §3.1, §5.1 (endpoints.go L418-471): Pass skips later policies and reaches the kns profile (allow)."""
    w = world(global_policies=[gnp("pass", order=1, selector="app == 'web'", ingress=[{"action": "Pass"}]),
                               gnp("deny", order=2, selector="app == 'web'", ingress=[{"action": "Deny"}])])
    v = walker.evaluate(w, flow("192.168.1.10", "192.168.2.10", 8080, ingress_node="n2", ingress_interface="tunl0"))
    assert v.allowed and "profile kns.default allows" in stage(v, "pod ingress").reason


def test_pass_without_allowing_profile_denies_on_hep():
    """SPEC §3.1: Pass with no profile that allows is a deny."""
    w = world(global_policies=[gnp("pass", order=1, selector=NODES, ingress=[{"action": "Pass"}])])
    assert not walker.evaluate(w, host()).allowed


def test_profiles_default_allow_false_denies_pods_without_policy():
    """SPEC §5.1 step 6: with no policy the pod's profiles decide; a non-allowing profile means drop."""
    w = world(profiles_default_allow=False)
    assert not walker.evaluate(w, flow("192.168.1.10", "192.168.2.10", 8080, ingress_node="n2", ingress_interface="tunl0")).allowed


def test_end_of_policy_drop_in_normal_chain():
    """SPEC §5.1 step 4: a policy applies and nothing allowed -> drop in normal chains."""
    w = world(global_policies=[gnp("p", order=1, selector=NODES, ingress=[{"action": "Allow", "protocol": "UDP"}])])
    v = walker.evaluate(w, host())
    assert not v.allowed and "end-of-policy drop" in v.decided_by


def test_pre_dnat_has_no_default_drop():
    """SPEC §5.2 (pre-dnat.mdx; endpoints.go L460-471): no matching pre-DNAT rule falls through."""
    w = world(global_policies=[gnp("pre", order=1, selector=NODES, preDNAT=True, applyOnForward=True,
                                   ingress=[{"action": "Allow", "source": {"nets": ["50.60.0.0/16"]}}])])
    v = walker.evaluate(w, flow())
    assert v.allowed and stage(v, "pre-DNAT").result == "pass-through"


def test_no_host_policy_and_no_profile_denies_host_traffic():
    """SPEC §1.4, §5.3: host-terminated traffic through a HEP with no policy and no profile is denied."""
    assert not walker.evaluate(world(), host()).allowed


def test_default_allow_profile_allows_host_traffic():
    """SPEC §1.2, §5.3: projectcalico-default-allow turns 'no policy' into allow."""
    w = world(hostendpoints=[hep("n1-eth0", "n1", ips=["10.0.0.1"], profiles=["projectcalico-default-allow"])])
    assert walker.evaluate(w, host()).allowed


# -- §1.3 HostEndpoint choice, untracked, failsafes ---------------------------------------------------

def test_untracked_ignored_on_wildcard_hep():
    """SPEC §1.3 (endpoint_mgr.go L1047-1052): doNotTrack policy is not supported on '*' HEPs."""
    w = world(hostendpoints=[hep("n1-star", "n1", "*", ["10.0.0.1"], profiles=["projectcalico-default-allow"])],
              global_policies=[gnp("raw", order=1, selector=NODES, doNotTrack=True, applyOnForward=True, ingress=[{"action": "Deny"}])])
    v = walker.evaluate(w, host())
    assert v.allowed and stage(v, "untracked").result == "n/a"


def test_untracked_applies_on_named_hep():
    """SPEC §5.2: untracked policy is enforced first (raw) on named HEPs."""
    w = world(global_policies=[gnp("raw", order=1, selector=NODES, doNotTrack=True, applyOnForward=True, ingress=[{"action": "Deny"}])])
    assert stage(walker.evaluate(w, flow()), "untracked").result == "deny"


def test_failsafe_beats_pre_dnat_deny_for_host_traffic():
    """SPEC §6 (static.go L474-606): failsafe ports are accepted before any policy, even a pre-DNAT deny-all."""
    w = world(global_policies=[gnp("deny-all", order=1, selector=NODES, preDNAT=True, applyOnForward=True, ingress=[{"action": "Deny"}])])
    v = walker.evaluate(w, host(22))
    assert v.allowed and stage(v, "failsafe").result == "pass-through"


def test_failsafe_does_not_beat_pod_policy():
    """SPEC §13.5: a pre-DNAT failsafe accept sets no allow mark; the backend pod's policy still decides."""
    w = world(services=[service(ports=[{"name": "ssh", "port": 22, "protocol": "TCP", "targetPort": 8080}])],
              global_policies=[gnp("deny-svc", order=1, selector=NODES, preDNAT=True, applyOnForward=True,
                                   ingress=[{"action": "Deny", "destination": {"nets": ["10.96.0.0/16"]}}]),
                               gnp("pods", order=1, selector="app == 'web'", ingress=[{"action": "Deny"}])])
    for v in walker.evaluate_all(w, flow(port=22)):
        assert not v.allowed and v.stages[-1].name == "pod ingress" and stage(v, "pre-DNAT").result == "n/a"


def test_failsafe_does_not_set_mark_so_forward_policy_applies():
    """SPEC §13.5, §6: no failsafes in forward chains; a failsafe hit at pre-DNAT leaves forward policy in force."""
    w = world(services=[service(ports=[{"name": "ssh", "port": 22, "protocol": "TCP", "targetPort": 8080}])],
              global_policies=[gnp("fwd", order=1, selector=NODES, applyOnForward=True, ingress=[{"action": "Deny"}])])
    assert stage(walker.evaluate(w, flow(port=22)), "forward (from HEP)").result == "deny"


def test_failsafe_respects_source_net():
    """SPEC §6: a failsafe entry with a net only covers sources in that net."""
    w = world(felix_configs=[{"metadata": {"name": "default"}, "spec": {"failsafeInboundHostPorts": [
        {"protocol": "tcp", "port": 22, "net": "10.1.0.0/16"}]}}])
    assert not walker.evaluate(w, host(22)).allowed
    assert walker.evaluate(w, host(22, src="10.1.2.3")).allowed


def test_named_hep_beats_wildcard():
    """SPEC §1.3 (endpoint_mgr.go L925-1019): a named HEP beats '*' on its interface."""
    w = world(hostendpoints=[hep("n1-eth0", "n1", ips=["10.0.0.1"]),
                             hep("a-star", "n1", "*", ["10.0.0.1"], profiles=["projectcalico-default-allow"])])
    assert not walker.evaluate(w, host()).allowed
    assert walker.evaluate(w, host(ingress_interface="eth1")).allowed


def test_named_hep_tie_by_name():
    """SPEC §1.3: of several HEPs for one interface, the one whose name sorts first is active."""
    w = world(hostendpoints=[hep("b", "n1", ips=["10.0.0.1"]), hep("a", "n1", ips=["10.0.0.1"], profiles=["projectcalico-default-allow"])])
    v = walker.evaluate(w, host())
    assert v.allowed and "HostEndpoint a governs" in stage(v, "host endpoint").reason


def test_pre_dnat_dispatch_falls_through_to_wildcard():
    """SPEC §13.1 (endpoint_mgr.go L1061-1065, L1302-1311): a named HEP without pre-DNAT policy leaves its interface to '*' pre-DNAT."""
    w = world(hostendpoints=[hep("n1-eth0", "n1", ips=["10.0.0.1"]), hep("n1-star", "n1", "*", ["10.0.0.1"], labels={"star": "yes"})],
              global_policies=[gnp("star-deny", order=1, selector="star == 'yes'", preDNAT=True, applyOnForward=True,
                                   ingress=[{"action": "Deny"}])])
    v = walker.evaluate(w, flow())
    assert not v.allowed and stage(v, "pre-DNAT").policy == "GlobalNetworkPolicy star-deny"


def test_named_hep_with_pre_dnat_policy_keeps_its_own_chain():
    """SPEC §13.1: a named HEP that has pre-DNAT policy gets its own pre-DNAT dispatch entry."""
    w = world(hostendpoints=[hep("n1-eth0", "n1", ips=["10.0.0.1"]), hep("n1-star", "n1", "*", ["10.0.0.1"], labels={"star": "yes"})],
              global_policies=[gnp("star-deny", order=1, selector="star == 'yes'", preDNAT=True, applyOnForward=True,
                                   ingress=[{"action": "Deny"}]),
                               gnp("named-allow", order=1, selector=NODES, preDNAT=True, applyOnForward=True, ingress=[{"action": "Allow"}])])
    assert walker.evaluate(w, flow()).allowed


# -- §1.4, §5.2 forward chains and the accept mark ------------------------------------------------------

def test_apply_on_forward_absent_forward_allowed():
    """SPEC §1.4, §5.2: a normal policy without applyOnForward does not touch forwarded traffic."""
    w = world(global_policies=[gnp("host-deny", order=1, selector=NODES, ingress=[{"action": "Deny"}])])
    assert walker.evaluate(w, flow()).allowed
    assert not walker.evaluate(w, host()).allowed


def test_apply_on_forward_policy_end_of_policy_drop():
    """SPEC §1.4, §5.1: once an applyOnForward policy applies, unmatched forwarded traffic is dropped."""
    w = world(global_policies=[gnp("fwd", order=1, selector=NODES, applyOnForward=True, ingress=[{"action": "Allow", "protocol": "UDP"}])])
    v = walker.evaluate(w, flow())
    assert not v.allowed and stage(v, "forward (from HEP)").result == "deny"


def test_pre_dnat_allow_mark_skips_forward_policy():
    """SPEC §5.2 (static.go L608-672): a pre-DNAT Allow sets the accept mark, so from-HEP forward policy is skipped."""
    w = world(global_policies=[gnp("pre", order=1, selector=NODES, preDNAT=True, applyOnForward=True, ingress=[{"action": "Allow"}]),
                               gnp("fwd", order=1, selector=NODES, applyOnForward=True, ingress=[{"action": "Deny"}])])
    assert all(v.allowed for v in walker.evaluate_all(w, flow()))


def test_pre_dnat_allow_does_not_skip_pod_policy():
    """SPEC §5.2 (endpoints.go L393-399): the workload chain clears the mark, so pod policy still decides."""
    w = world(global_policies=[gnp("pre", order=1, selector=NODES, preDNAT=True, applyOnForward=True, ingress=[{"action": "Allow"}]),
                               gnp("pods", order=1, selector="app == 'web'", ingress=[{"action": "Deny"}])])
    assert not any(v.allowed for v in walker.evaluate_all(w, flow()))


# -- §5.4 kube-proxy DNAT and SNAT -----------------------------------------------------------------------

def test_pod_policy_sees_client_for_local_and_tunnel_for_remote():
    """SPEC §5.4 steps 5-7, §13.6: local backend sees the client; remote sees the ingress node's IPIP tunnel address."""
    w = world(network_policies=[cnp("from-client", "default", order=1, selector="app == 'web'",
                                    ingress=[{"action": "Allow", "source": {"nets": ["203.0.113.0/24"]}}])])
    verdicts = by_backend(w, flow())
    assert verdicts["local"].allowed and not verdicts["remote"].allowed
    w = world(network_policies=[cnp("from-tunnel", "default", order=1, selector="app == 'web'",
                                    ingress=[{"action": "Allow", "source": {"nets": ["192.168.1.1/32"]}}])])
    assert by_backend(w, flow())["remote"].allowed


def test_snat_falls_back_to_internal_ip_without_tunnel():
    """SPEC §5.4 step 6: without IPIP/VXLAN the masquerade address is the node's InternalIP."""
    w = world(nodes=[node("n1", "10.0.0.1"), node("n2", "10.0.0.2")],
              network_policies=[cnp("p", "default", order=1, selector="app == 'web'", ingress=[{"action": "Allow", "source": {"nets": ["10.0.0.1/32"]}}])])
    assert by_backend(w, flow())["remote"].allowed


def test_off_cluster_source_masqueraded_whatever_etp():
    """SPEC §5.4 step 3 (#8812, #2999): cluster-IP traffic from off-cluster is masqueraded even with externalTrafficPolicy Local."""
    w = world(services=[service(etp="Local", svc_type="LoadBalancer")])
    assert any(s.name == "SNAT" for s in by_backend(w, flow())["remote"].stages)


def test_in_cluster_source_not_masqueraded():
    """SPEC §5.4 step 3: sources inside the cluster CIDR are not marked for masquerade."""
    w = world(network_policies=[cnp("p", "default", order=1, selector="app == 'web'",
                                    ingress=[{"action": "Allow", "source": {"nets": ["192.168.7.7/32"]}}])])
    v = by_backend(w, flow("192.168.7.7", ingress_interface="tunl0"))["remote"]
    assert v.allowed and not any(s.name == "SNAT" for s in v.stages)


def test_target_port_name_resolved_against_container_ports():
    """SPEC §10.3 (post-DNAT target ports), §5.2: a named targetPort resolves to the pod's containerPort."""
    assert "192.168.1.10:8080" in stage(by_backend(world(), flow())["local"], "DNAT").reason


def test_unallocated_cluster_ip_dropped_by_service_loop_prevention():
    """SPEC §5.4 (felixconfig.go L626-631): an advertised service IP nobody DNATs is dropped by ServiceLoopPrevention."""
    v = walker.evaluate(world(), flow(dst="10.96.9.9"))
    assert not v.allowed and "ServiceLoopPrevention Drop" in v.decided_by


def test_service_without_endpoints_rejected():
    """SPEC §5.4 step 3: kube-proxy DNATs only to endpoints; none means its REJECT rule."""
    v = walker.evaluate(world(pods=[]), flow())
    assert not v.allowed and "no endpoints" in v.decided_by


def test_endpoint_slices_used_when_given():
    """SPEC §3.2 (serviceindex.go): backends come from the EndpointSlice addresses and ports."""
    slices = [{"metadata": {"namespace": "default", "labels": {"kubernetes.io/service-name": "web"}},
               "ports": [{"name": "http", "port": 9090, "protocol": "TCP"}],
               "endpoints": [{"addresses": ["192.168.2.10"], "nodeName": "n2"}]}]
    verdicts = walker.evaluate_all(world(endpoint_slices=slices), flow())
    assert [v.backend for v in verdicts] == ["remote"] and "192.168.2.10:9090" in stage(verdicts[0], "DNAT").reason


# -- §3 rule matching ---------------------------------------------------------------------------------

def test_named_port_matches_post_dnat_port():
    """SPEC §3.2 (rule_scanner.go L398-429): a named port is the selected endpoints' IP+port set."""
    w = world(global_policies=[gnp("p", order=1, selector="app == 'web'",
                                   ingress=[{"action": "Allow", "protocol": "TCP", "destination": {"ports": ["http"]}}])])
    assert all(v.allowed for v in walker.evaluate_all(w, flow()))


def test_named_port_never_matches_cluster_ip_at_pre_dnat():
    """SPEC §3.2, §10.5: in pre-DNAT the destination is the cluster IP, which no endpoint owns, so a named port never matches."""
    w = world(services=[service(ports=[{"name": "http", "port": 8080, "protocol": "TCP", "targetPort": "http"}])],
              global_policies=[gnp("pre", order=1, selector=NODES, preDNAT=True, applyOnForward=True,
                                   ingress=[{"action": "Deny", "protocol": "TCP", "destination": {"ports": ["http"]}}])])
    assert stage(walker.evaluate(w, flow(port=8080)), "pre-DNAT").result == "pass-through"


def test_not_nets():
    """SPEC §3.2: notNets excludes the listed CIDRs."""
    w = world(global_policies=[gnp("pre", order=1, selector=NODES, preDNAT=True, applyOnForward=True,
                                   ingress=[{"action": "Deny", "source": {"notNets": ["50.60.0.0/16"]}}])])
    assert not walker.evaluate(w, flow()).allowed
    assert walker.evaluate(w, flow("50.60.0.10")).allowed


def test_not_ports_and_ranges():
    """SPEC §3.2 (numorstring/port.go): notPorts with a "min:max" range excludes that range."""
    w = world(global_policies=[gnp("p", order=1, selector=NODES, ingress=[{"action": "Allow", "protocol": "TCP",
                                                                          "destination": {"notPorts": ["30000:32767"]}}])])
    assert walker.evaluate(w, host(10250)).allowed
    assert not walker.evaluate(w, host(30080)).allowed


def test_not_selector_matches_non_calico_ips():
    """SPEC §3.2 (_entityrule.mdx): notSelector matches anything, non-Calico IPs included, except matching endpoints."""
    w = world(global_policies=[gnp("p", order=1, selector=NODES, ingress=[{"action": "Allow", "source": {"notSelector": NODES}}])])
    assert walker.evaluate(w, host()).allowed
    assert not walker.evaluate(w, host(src="10.0.0.2")).allowed


def test_negated_selector_matches_only_calico_endpoints():
    """SPEC §3.2: selector '!has(x)' matches only known endpoints without x, never an outside IP."""
    w = world(global_policies=[gnp("p", order=1, selector=NODES, ingress=[{"action": "Allow", "source": {"selector": "!has(x)"}}])])
    assert not walker.evaluate(w, host()).allowed
    assert walker.evaluate(w, host(src="10.0.0.2")).allowed


def test_selector_matches_hep_by_expected_ips_only():
    """SPEC §1.2: selectors turn HEPs into their expectedIPs; an address not listed is not matched."""
    w = world(hostendpoints=[hep("n1-eth0", "n1", ips=["10.0.0.1"]), hep("n2-eth0", "n2", ips=[])],
              global_policies=[gnp("p", order=1, selector=NODES, ingress=[{"action": "Allow", "source": {"selector": NODES}}])])
    assert not walker.evaluate(w, host(src="10.0.0.2")).allowed


def test_global_network_set_matched_by_nets():
    """SPEC §3.2: rule selectors also select GlobalNetworkSets, matching any address in their nets."""
    sets = [{"metadata": {"name": "office", "labels": {"zone": "office"}}, "spec": {"nets": ["198.51.100.0/24"]}}]
    w = world(global_network_sets=sets,
              global_policies=[gnp("p", order=1, selector=NODES, ingress=[{"action": "Allow", "source": {"selector": "zone == 'office'"}}])])
    assert walker.evaluate(w, host(src="198.51.100.7")).allowed


def test_namespace_selector_global_matches_hep_from_np():
    """SPEC §3.2, §13.2 (rules.go L61-125): namespaceSelector global() selects non-namespaced endpoints (HEPs)."""
    rule = {"action": "Allow", "source": {"selector": NODES, "namespaceSelector": "global()"}}
    w = world(network_policies=[cnp("p", "default", order=1, selector="app == 'web'", ingress=[rule])])
    assert by_backend(w, flow())["remote"].allowed


def test_np_rule_selector_without_namespace_selector_is_scoped_to_namespace():
    """SPEC §3.2, §13.2: in an NP a rule selector without namespaceSelector only matches pods of the policy's namespace."""
    w = world(pods=[pod("web-1", "n1", "192.168.1.10"), pod("client", "n2", "192.168.2.20", {"role": "client"}, namespace="other")],
              network_policies=[cnp("p", "default", order=1, selector="app == 'web'",
                                    ingress=[{"action": "Allow", "source": {"selector": "role == 'client' || k8s-role == 'node'"}}])])
    assert not walker.evaluate(w, flow("192.168.2.20", "192.168.1.10", 8080, ingress_node="n1", ingress_interface="tunl0")).allowed
    assert not by_backend(w, flow("192.168.2.20", ingress_node="n1", ingress_interface="tunl0"))["local"].allowed


def test_positive_namespace_selector_never_selects_hep_negated_does():
    """SPEC §2.1, §13.2 (globalnetworkpolicyprocessor.go L53-57): has(x) namespaceSelector excludes HEPs; !has(x) includes them."""
    positive = world(hostendpoints=[hep("n1-eth0", "n1", ips=["10.0.0.1"], profiles=["projectcalico-default-allow"])],
                     global_policies=[gnp("p", order=1, namespaceSelector="has(team)", ingress=[{"action": "Deny"}])])
    assert walker.evaluate(positive, host()).allowed
    negated = world(hostendpoints=[hep("n1-eth0", "n1", ips=["10.0.0.1"], profiles=["projectcalico-default-allow"])],
                    global_policies=[gnp("p", order=1, namespaceSelector="!has(team)", ingress=[{"action": "Deny"}])])
    assert not walker.evaluate(negated, host()).allowed


def test_network_policy_never_applies_to_hep():
    """SPEC §2.1 (_selector-scopes.mdx): an NP selector ranges only over pods of its namespace."""
    w = world(hostendpoints=[hep("n1-eth0", "n1", ips=["10.0.0.1"], profiles=["projectcalico-default-allow"])],
              network_policies=[cnp("p", "default", order=1, selector="all()", ingress=[{"action": "Deny"}])])
    assert walker.evaluate(w, host()).allowed


def test_ipv6_rule_does_not_match_ipv4_flow():
    """SPEC §3.2 (felix/rules/policy.go FilterRuleToIPVersion): a v6-only rule is not rendered for IPv4."""
    w = world(global_policies=[gnp("p", order=1, selector=NODES, preDNAT=True, applyOnForward=True,
                                   ingress=[{"action": "Deny", "source": {"notNets": ["2001:db8::/32"]}}])])
    assert walker.evaluate(w, flow()).allowed


def test_ip_version_field_limits_rule():
    """SPEC §3.1: ipVersion 6 rules do not match IPv4 packets."""
    w = world(global_policies=[gnp("p", order=1, selector=NODES, ingress=[{"action": "Allow", "ipVersion": 6}])])
    assert not walker.evaluate(w, host()).allowed
    assert walker.evaluate(w, flow(CLIENT.replace("203.0.113.9", "2001:db8::9"), "fd00::1", 8000)).allowed


def test_mixed_family_nets_render_per_family():
    """SPEC §3.2: a rule listing v4 and v6 sources renders per family with the CIDRs of that family."""
    w = world(global_policies=[gnp("p", order=1, selector=NODES, ingress=[{"action": "Allow", "source": {"nets": ["203.0.113.0/24", "2001:db8::/32"]}}])])
    assert walker.evaluate(w, host()).allowed
    assert walker.evaluate(w, flow("2001:db8::9", "fd00::1", 8000)).allowed
    assert not walker.evaluate(w, flow("2001:db9::9", "fd00::1", 8000)).allowed


def test_dual_stack_cluster_ip_v6_flow():
    """SPEC §13.9, §7: the IPv6 cluster IP of a dual-stack Service is its own flow; a v4-only deny leaves it open."""
    w = world(pods=[pod("web-1", "n1", "192.168.1.10"), pod("web-2", "n2", "192.168.2.10")],
              services=[service(ips=(CLUSTER_IP, "fd10::10"))],
              global_policies=[gnp("deny", order=1, selector=NODES, preDNAT=True, applyOnForward=True,
                                   ingress=[{"action": "Deny", "destination": {"nets": ["10.96.0.0/16"]}}])])
    for p in w.pods:
        p["status"]["podIPs"].append({"ip": "fd20::%s" % p["status"]["podIP"].split(".")[-1]})
    assert not walker.evaluate(w, flow()).allowed
    assert walker.evaluate(w, flow("2001:db8::9", "fd10::10")).allowed


def test_protocol_numbers_and_not_protocol():
    """SPEC §3.1 (validateProtocol; uint8orstring.go): protocol 6 is TCP; notProtocol excludes it."""
    rules = [{"action": "Deny", "notProtocol": "UDP"}, {"action": "Allow", "protocol": 17}]
    w = world(global_policies=[gnp("p", order=1, selector=NODES, ingress=rules)])
    assert not walker.evaluate(w, host()).allowed
    assert walker.evaluate(w, host(protocol="UDP")).allowed


def test_icmp_rule_only_for_ipv4():
    """SPEC §3.1: protocol ICMP implies IPv4, ICMPv6 implies IPv6."""
    assert not indexing.renders_in_family({"protocol": "ICMP"}, 6) and indexing.renders_in_family({"protocol": "ICMPv6"}, 6)


def test_explain_is_readable():
    """SPEC §5.4: the explanation names every stage and the deciding rule."""
    w = world(global_policies=[gnp("pre", order=1, selector=NODES, preDNAT=True, applyOnForward=True, ingress=[{"action": "Deny"}])])
    text = walker.explain(walker.evaluate(w, flow()))
    assert text.startswith("DENIED") and "pre-DNAT: deny - GlobalNetworkPolicy pre rule 0 (Deny) matched" in text


# -- issue 5 item 4: the guide's cluster-mode recipe versus what the collection renders -----------------

GUIDE = """
- apiVersion: projectcalico.org/v3
  kind: GlobalNetworkPolicy
  metadata:
    name: allow-cluster-ips
  spec:
    selector: k8s-role == 'node'
    types:
    - Ingress
    applyOnForward: true
    preDNAT: true
    ingress:
    # Allow 50.60.0.0/16 to access Cluster IP A
    - action: Allow
      source:
        nets:
        - 50.60.0.0/16
      destination:
        nets:
        - 10.20.30.40/32
    # Allow 70.80.90.0/24 to access Cluster IP B
    - action: Allow
      source:
        nets:
        - 70.80.90.0/24
      destination:
        nets:
        - 10.20.30.41/32
- apiVersion: projectcalico.org/v3
  kind: GlobalNetworkPolicy
  metadata:
    name: allow-to-pods
  spec:
    selector: k8s-role == 'node'
    types:
    - Ingress
    applyOnForward: true
    preDNAT: true
    ingress:
    # Allow traffic forwarded to pods
    - action: Allow
      destination:
        nets:
        - 192.168.0.0/16
- apiVersion: projectcalico.org/v3
  kind: GlobalNetworkPolicy
  metadata:
    name: allow-traffic-hostendpoints
  spec:
    selector: k8s-role == 'node'
    types:
    - Ingress
    ingress:
    # Allow traffic to the node (not nodePorts, TCP)
    - action: Allow
      protocol: TCP
      destination:
        selector: k8s-role == 'node'
        notPorts: ["30000:32767"] #nodePort range
    # Allow traffic to the node (not nodePorts, UDP)
    - action: Allow
      protocol: UDP
      destination:
        selector: k8s-role == 'node'
        notPorts: ["30000:32767"] #nodePort range
- apiVersion: projectcalico.org/v3
  kind: GlobalNetworkPolicy
  metadata:
    name: allow-nodes-svc-a
  spec:
    selector: k8s-svc == 'svc-a'
    types:
    - Ingress
    ingress:
    - action: Allow
      protocol: TCP
      source:
        selector: k8s-role == 'node'
      destination:
        ports: [80, 443]
    - action: Allow
      protocol: UDP
      source:
        selector: k8s-role == 'node'
      destination:
        ports: [80, 443]
"""

SVC_PORTS = [{"name": "http", "port": 80, "protocol": "TCP"}, {"name": "https", "port": 443, "protocol": "TCP"}]


def guide_world(policies):
    """Services A/B of the guide, HEPs labelled k8s-role: node with expectedIPs, svc-a pods on both nodes."""
    web = [{"name": "http", "containerPort": 80, "protocol": "TCP"}, {"name": "https", "containerPort": 443, "protocol": "TCP"}]
    gnps = [p for p in policies if p["kind"] == "GlobalNetworkPolicy"]
    nps = [p for p in policies if p["kind"] == "NetworkPolicy"]
    return world(services=[service("svc-a", ("10.20.30.40",), {"k8s-svc": "svc-a"}, SVC_PORTS),
                           service("svc-b", ("10.20.30.41",), {"k8s-svc": "svc-b"}, SVC_PORTS)],
                 pods=[pod("svc-a-1", "n1", "192.168.1.10", {"k8s-svc": "svc-a"}, ports=web),
                       pod("svc-a-2", "n2", "192.168.2.10", {"k8s-svc": "svc-a"}, ports=web)],
                 global_policies=gnps, network_policies=nps, service_cidrs=["10.20.30.0/24"])


def collection_params():
    item = dict(sources=None, ports=None, cluster_ip=None, mode=None, allow_cluster_clients=None, allow_any_source=False, repin=False)
    config = []
    for name, ip, source in (("svc-a", "10.20.30.40", "50.60.0.0/16"), ("svc-b", "10.20.30.41", "70.80.90.0/24")):
        ports = [dict(name="http", port=80, protocol="TCP", target_port=None), dict(name="https", port=443, protocol="TCP", target_port=None)]
        config.append(dict(copy.deepcopy(item), namespace="default", name=name, sources=[source],
                           service=dict(cluster_ips=[ip], type="ClusterIP", external_traffic_policy="Cluster",
                                        selector={"k8s-svc": name}, ports=ports)))
    return dict(state="rendered", owner="clusteredge.calico", adopt=False, node_selector=NODES, name_prefix="clusteredge",
                nodeport_range="30000:32767", service_cidrs=["10.20.30.0/24"], pod_cidrs=["192.168.0.0/16"],
                require_advertised=False, config=config)


@pytest.fixture(scope="module")
def collection_world():
    params = collection_params()
    assert xp.validate_params(params) == []
    manifests, _exposures, errors = xr.render_offline(params)
    assert errors == []
    return guide_world(manifests)


def test_guide_recipe_leaks_to_unlisted_client_via_remote_backend():
    """SPEC §5.4 consequences, §10.2-10.3 (services-cluster-ips.mdx): no explicit Deny, and after SNAT pod policy sees a node address."""
    verdicts = by_backend(guide_world(yaml.safe_load(GUIDE)), flow(CLIENT, "10.20.30.40", 80))
    assert verdicts["remote"].allowed, walker.explain(verdicts["remote"])
    assert stage(verdicts["remote"], "pod ingress").policy == "GlobalNetworkPolicy allow-nodes-svc-a"
    assert not verdicts["local"].allowed, "the local backend sees the client itself and the guide's pod policy drops it"


def test_collection_denies_unlisted_client_at_pre_dnat(collection_world):
    """SPEC §11 (explicit pre-DNAT Deny of the service ranges), §5.2: the unlisted client is dropped before DNAT."""
    for v in walker.evaluate_all(collection_world, flow(CLIENT, "10.20.30.40", 80)):
        assert not v.allowed and stage(v, "pre-DNAT").policy == "GlobalNetworkPolicy clusteredge-deny-service-ranges"


@pytest.mark.parametrize("backend", ["local", "remote"])
def test_collection_allows_listed_client_both_backends(collection_world, backend):
    """SPEC §5.4 (pod policy allows node addresses and the listed CIDRs), §5.2 (pre-DNAT Allow mark)."""
    v = by_backend(collection_world, flow("50.60.0.10", "10.20.30.40", 80))[backend]
    assert v.allowed, walker.explain(v)
    assert stage(v, "pre-DNAT").policy == "GlobalNetworkPolicy clusteredge-allow-cluster-ips"


def test_collection_keeps_ssh_by_failsafe_and_kubelet_by_host_policy(collection_world):
    """SPEC §6 (failsafe tcp:22), §5.3 (host policy clusteredge-allow-traffic-hostendpoints keeps node ports open)."""
    ssh = walker.evaluate(collection_world, host(22))
    assert ssh.allowed and stage(ssh, "failsafe").result == "pass-through"
    kubelet = walker.evaluate(collection_world, host(10250))
    assert kubelet.allowed and stage(kubelet, "host ingress").policy == "GlobalNetworkPolicy clusteredge-allow-traffic-hostendpoints"


# -- traffic a node's own processes send (SPEC §5.2 "local host process -> out via HEP", §5.3, §6) ----------

REGISTRY = "203.0.113.50"
INGRESS_ONLY = gnp("host-in", selector=NODES, order=10, types=["Ingress"], ingress=[{"action": "Allow"}])


def from_node(dst, port, protocol="TCP", node_name="n1", interface="eth0"):
    return world_types.Flow("10.0.0.1" if node_name == "n1" else "10.0.0.2", dst, port, protocol, ingress_node=node_name,
                            ingress_interface=interface, source_is_host=True)


def test_ingress_only_policy_cuts_the_node_egress():
    """SPEC §5.3 "Direction matters", §10 (kubernetes-node-ports.mdx adds allow-outbound-external): no egress policy and
    no profile on the HEP, so a node process cannot reach an outside address."""
    v = walker.evaluate(world(global_policies=[INGRESS_ONLY]), from_node(REGISTRY, 443))
    assert not v.allowed, walker.explain(v)
    assert stage(v, "host egress").result == "deny" and "ingress-only policy" in stage(v, "host egress").reason


@pytest.mark.parametrize("port, protocol", [(53, "UDP"), (6443, "TCP"), (179, "TCP")])
def test_outbound_failsafes_survive_a_cut_egress(port, protocol):
    """SPEC §6 (config_params.go L359-360): udp:53, tcp:6443 and tcp:179 are default outbound failsafes, accepted before any policy."""
    v = walker.evaluate(world(global_policies=[INGRESS_ONLY]), from_node(REGISTRY, port, protocol))
    assert v.allowed and stage(v, "failsafe").result == "allow", walker.explain(v)


def test_outbound_failsafe_net_matches_the_destination():
    """SPEC §6: a failsafe entry's net restricts the peer; outbound entries name the destination network."""
    felix = [{"metadata": {"name": "default"}, "spec": {"failsafeOutboundHostPorts": [{"protocol": "tcp", "port": 443, "net": "10.0.0.0/8"}]}}]
    w = world(global_policies=[INGRESS_ONLY], felix_configs=felix)
    assert walker.evaluate(w, from_node("10.9.9.9", 443)).allowed
    assert not walker.evaluate(w, from_node(REGISTRY, 443)).allowed
    assert not walker.evaluate(w, from_node(REGISTRY, 53, "UDP")).allowed, "the list replaces the defaults"


def test_egress_policy_decides_first_match_and_end_of_policy_drop():
    """SPEC §5.1: an egress policy applies to host-originated traffic; first match wins, else the end-of-policy drop."""
    egress = gnp("host-out", selector=NODES, order=20, types=["Egress"],
                 egress=[{"action": "Deny", "protocol": "TCP", "destination": {"ports": [25]}},
                         {"action": "Allow", "protocol": "TCP", "destination": {"nets": ["203.0.113.0/24"]}}])
    w = world(global_policies=[INGRESS_ONLY, egress])
    assert walker.evaluate(w, from_node(REGISTRY, 443)).allowed
    smtp = walker.evaluate(w, from_node(REGISTRY, 25))
    assert not smtp.allowed and stage(smtp, "host egress").rule_index == 0
    other = walker.evaluate(w, from_node("198.51.100.1", 443))
    assert not other.allowed and "end-of-policy drop" in stage(other, "host egress").reason


def test_apply_on_forward_is_not_needed_for_host_egress():
    """SPEC §5.2 table: normal policy without applyOnForward applies to "local host process -> out via HEP"."""
    egress = gnp("host-out", selector=NODES, order=20, types=["Egress"], egress=[{"action": "Allow"}])
    v = walker.evaluate(world(global_policies=[INGRESS_ONLY, egress]), from_node(REGISTRY, 443))
    assert v.allowed and stage(v, "host egress").policy == "GlobalNetworkPolicy host-out"


def test_untracked_egress_on_named_hep_only():
    """SPEC §5.2 (untracked egress rules apply to host-originated traffic), §1.3 (not supported on '*' HEPs)."""
    deny = gnp("raw-out", selector=NODES, order=1, types=["Egress"], doNotTrack=True, applyOnForward=True,
               egress=[{"action": "Deny", "protocol": "TCP", "destination": {"ports": [443]}}])
    allow = gnp("host-out", selector=NODES, order=20, types=["Egress"], egress=[{"action": "Allow"}])
    named = walker.evaluate(world(global_policies=[deny, allow]), from_node(REGISTRY, 443))
    assert not named.allowed and stage(named, "untracked egress").policy == "GlobalNetworkPolicy raw-out"
    star = world(global_policies=[deny, allow], hostendpoints=[hep("n1-star", "n1", "*", ["10.0.0.1"])])
    assert walker.evaluate(star, from_node(REGISTRY, 443)).allowed


def test_host_reaches_its_own_pods_whatever_the_hep_egress():
    """SPEC §1.3 (static.go L704-760, dispatch.go L190-201) and §1.4: host to local pod never meets HEP egress policy."""
    v = walker.evaluate(world(global_policies=[INGRESS_ONLY]), from_node("192.168.1.10", 8080))
    assert v.allowed and v.backend == "local", walker.explain(v)
    assert not any(s.name == "host egress" and s.result == "deny" for s in v.stages)


def test_host_to_a_remote_pod_leaves_by_the_tunnel():
    """SPEC §5.4 step 6 (the tunnel address is the source towards other nodes' pods), §5.3 (egress needs a policy)."""
    named = walker.evaluate(world(global_policies=[INGRESS_ONLY]), from_node("192.168.2.10", 8080))
    assert named.backend == "remote" and named.allowed, "named eth0 HEPs leave tunl0 unpoliced"
    stars = [hep("n1-star", "n1", "*", ["10.0.0.1", "192.168.1.1"]), hep("n2-star", "n2", "*", ["10.0.0.2", "192.168.2.1"])]
    star = world(global_policies=[INGRESS_ONLY], hostendpoints=stars)
    v = walker.evaluate(star, from_node("192.168.2.10", 8080))
    assert not v.allowed and "tunl0" in stage(v, "host endpoint").reason


def test_wildcard_hep_governs_loopback_named_does_not():
    """SPEC §1.3 ('*' covers lo), §5.3 (issues #4478, #5572: loopback broke): with no policy, lo is cut except failsafes."""
    star = world(hostendpoints=[hep("n1-star", "n1", "*", ["10.0.0.1"])])
    healthz = walker.evaluate(star, from_node("127.0.0.1", 10248))
    assert not healthz.allowed and stage(healthz, "host endpoint").reason.startswith("HostEndpoint n1-star governs lo")
    assert walker.evaluate(world(), from_node("127.0.0.1", 10248)).allowed, "a named eth0 HEP leaves lo alone"


def test_node_to_node_meets_egress_then_the_peer_ingress():
    """SPEC §5.2: egress on the sending HEP, then the receiving node's HEP chains (failsafes, pre-DNAT, normal ingress)."""
    egress = gnp("host-out", selector=NODES, order=20, types=["Egress"], egress=[{"action": "Allow"}])
    v = walker.evaluate(world(global_policies=[egress]), from_node("10.0.0.2", 10250))
    assert not v.allowed and stage(v, "remote host ingress").result == "deny", "n2 has no ingress policy, no profile"
    both = walker.evaluate(world(global_policies=[egress, INGRESS_ONLY]), from_node("10.0.0.2", 10250))
    assert both.allowed and stage(both, "remote host ingress").policy == "GlobalNetworkPolicy host-in"


def test_guide_recipe_cuts_node_egress_the_collection_keeps_it(collection_world):
    """SPEC §10 (the guide's host policy is ingress-only), §5.3: the guide's HEPs cut the node's egress; the
    collection's host-traffic policy allows it, and the outbound failsafes hold in both."""
    guide = walker.evaluate(guide_world(yaml.safe_load(GUIDE)), from_node(REGISTRY, 443))
    assert not guide.allowed and stage(guide, "host egress").result == "deny"
    ours = walker.evaluate(collection_world, from_node(REGISTRY, 443))
    assert ours.allowed and stage(ours, "host egress").policy == "GlobalNetworkPolicy clusteredge-allow-traffic-hostendpoints"
    for w in (guide_world(yaml.safe_load(GUIDE)), collection_world):
        assert walker.evaluate(w, from_node("10.0.0.2", 6443)).allowed
