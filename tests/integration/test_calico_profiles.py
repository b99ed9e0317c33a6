"""The matrix: every module and the user's path on every Calico profile, as the service account of docs/rbac.md.

Each profile is an emulator that behaves as one Calico release and serving mode (clusteredge_testworld/emulator/profiles.py): 3.28 to
3.31 and 3.32 behind the Calico API server, and 3.32 with its native v3 CRDs. Every test here is parametrized over all
of them (not copied), runs with RBAC enforced (tiered RBAC where the release has tiers) holding exactly the
ClusterRole of docs/rbac.md, and asserts what a user sees: results, a second run that changes nothing, what is stored.
Sections cited are those of ../shared/calico/SPEC-3.29-3.32.md.
"""

from __future__ import annotations

import json
import re

import pytest

from clusteredge_testworld.emulator import EmulatorServer
from clusteredge_testworld.emulator.profiles import PROFILES, parse_profile
from clusteredge_testworld.emulator.reference import profile_missing_reason
from integration.ansible_cli import ansible_env, run_module, run_playbook
from integration.test_least_privilege import (
    ADMIN_TOKEN,
    SA_TOKEN,
    SA_USER,
    SERVICES,
    documented_rules,
    persisted_writes,
    role_cluster,
    run_role,
)
from clusteredge_testworld.lab.cluster import SERVICE_CIDR_V4, SERVICE_CIDR_V6, cluster

pytestmark = pytest.mark.integration

OWNER_LABEL = "clusteredge.calico/owner"
TIER_LABEL = "projectcalico.org/tier"
NODES = {"node-1": "10.200.0.11", "node-2": "10.200.0.12"}


def needs_reference(profile):
    """v3-CRD mode validates with Calico's 3.32 CRDs, read at test time from $CALICO_REFERENCE_DIR/crds-3.32 (default
    ../shared/calico/crds-3.32; never copied here): a skip mark when they cannot be read."""
    reason = profile_missing_reason(profile)
    return [pytest.mark.skip(reason=reason)] if reason else []


MATRIX = [pytest.param(p, id=p, marks=needs_reference(p)) for p in PROFILES]


def profile_server(profile, rules=None):
    """An emulator of `profile` in RBAC mode: the collection's service account holds `rules` (docs/rbac.md's)."""
    return EmulatorServer(token=ADMIN_TOKEN, rbac={SA_TOKEN: {"user": SA_USER, "rules": documented_rules() if rules is None else rules}},
                          service_cidrs=(SERVICE_CIDR_V4, SERVICE_CIDR_V6), profile=profile)


def denied(api):
    """Requests the server refused: a 403, or a 400 (the v3-CRD tiered-RBAC webhook denies with 400, §5.2)."""
    return [(r["method"], r["path"], r["status"]) for r in api.requests if r["status"] in (400, 403)]


MODULES_PLAY = """
- name: Every module's states, twice, in check and diff mode too
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Cluster facts
      clusteredge.calico.calico_cluster_info:
      register: info
    - name: HostEndpoints
      clusteredge.calico.calico_hostendpoint:
        config: "{{ heps }}"
      register: hep_first
    - name: HostEndpoints again
      clusteredge.calico.calico_hostendpoint:
        config: "{{ heps }}"
        state: replaced
      register: hep_again
    - name: Gather them
      clusteredge.calico.calico_hostendpoint:
        state: gathered
      register: hep_gathered
    - name: Feed the gathered items back, in check and diff mode
      clusteredge.calico.calico_hostendpoint:
        config: "{{ hep_gathered.gathered }}"
        state: overridden
      check_mode: true
      diff: true
      register: hep_fed_back
    - name: Expose
      clusteredge.calico.calico_clusterip_exposure:
        config: "{{ services }}"
      register: exposure_first
    - name: Expose again
      clusteredge.calico.calico_clusterip_exposure:
        config: "{{ services }}"
        state: replaced
      register: exposure_again
    - name: Expose again in check and diff mode
      clusteredge.calico.calico_clusterip_exposure:
        config: "{{ services }}"
        state: overridden
      check_mode: true
      diff: true
      register: exposure_check
    - name: Gather the exposure
      clusteredge.calico.calico_clusterip_exposure:
        state: gathered
      register: exposure_gathered
    - name: Feed it back
      clusteredge.calico.calico_clusterip_exposure:
        config: "{{ exposure_gathered.gathered }}"
        state: overridden
      register: exposure_fed_back
    - name: Change one Service's sources, in check and diff mode
      clusteredge.calico.calico_clusterip_exposure:
        config: "{{ [services[0] | combine({'sources': ['50.60.0.0/16', '70.80.0.0/16']})] + services[1:] }}"
      check_mode: true
      diff: true
      register: exposure_change_check
    - name: Change it
      clusteredge.calico.calico_clusterip_exposure:
        config: "{{ [services[0] | combine({'sources': ['50.60.0.0/16', '70.80.0.0/16']})] + services[1:] }}"
      register: exposure_change
    - name: Flows, against what is live
      clusteredge.calico.calico_flow_check:
        flows: "{{ flows }}"
      register: flows_checked
    - name: Remove the HostEndpoints
      clusteredge.calico.calico_hostendpoint:
        state: deleted
      register: hep_deleted
    - name: Remove the exposure
      clusteredge.calico.calico_clusterip_exposure:
        state: deleted
      register: exposure_deleted
    - name: Remove it again
      clusteredge.calico.calico_clusterip_exposure:
        state: deleted
      register: exposure_deleted_again
    - name: Keep every result for the test
      ansible.builtin.copy:
        content: "{{ {'info': info, 'hep_first': hep_first, 'hep_again': hep_again, 'hep_gathered': hep_gathered,
                      'hep_fed_back': hep_fed_back, 'exposure_first': exposure_first, 'exposure_again': exposure_again,
                      'exposure_check': exposure_check, 'exposure_gathered': exposure_gathered,
                      'exposure_fed_back': exposure_fed_back, 'exposure_change_check': exposure_change_check,
                      'exposure_change': exposure_change, 'flows_checked': flows_checked, 'hep_deleted': hep_deleted,
                      'exposure_deleted': exposure_deleted, 'exposure_deleted_again': exposure_deleted_again} | to_json }}"
        dest: "{{ results_file }}"
        mode: "0600"
"""


def cluster_ip(api, namespace, name):
    return next(s["spec"]["clusterIP"] for s in api.objects("Service") if s["metadata"]["name"] == name
                and s["metadata"]["namespace"] == namespace)


@pytest.mark.parametrize("profile", MATRIX)
def test_every_module_state_is_idempotent_on_every_profile(profile, tmp_path):
    """§3.1, §6.2, §14.11: what the server fills in (tier, tier label, schema defaults) never reads as a change."""
    with profile_server(profile) as api:
        api.seed(cluster(NODES))
        frontend = cluster_ip(api, "shop", "frontend")
        heps = [dict(name="%s-eth0" % node, node=node, interface_name="eth0", expected_ips=[ip], labels={"k8s-role": "node"})
                for node, ip in NODES.items()]
        flows = [dict(name="listed client", source="50.60.0.10", destination=frontend, port=443, ingress_node="node-1", expect="allow"),
                 dict(name="unlisted client", source="1.2.3.4", destination=frontend, port=443, ingress_node="node-1", expect="deny"),
                 dict(name="operator SSH", source="1.2.3.4", destination=NODES["node-1"], port=22, ingress_node="node-1", expect="allow")]
        playbook = tmp_path / "modules.yml"
        playbook.write_text(MODULES_PLAY)
        results_file = tmp_path / "results.json"
        env = ansible_env(api.url, tmp_path, extra={"K8S_AUTH_API_KEY": SA_TOKEN})
        run = run_playbook(env, playbook, extra_vars={"heps": heps, "services": SERVICES, "flows": flows,
                                                      "results_file": str(results_file)})
        assert run.rc == 0, run
        assert denied(api) == [], "docs/rbac.md's ClusterRole allows everything the modules send"
        results = json.loads(results_file.read_text())

        calico = results["info"]["calico"]
        expected = parse_profile(profile)
        assert calico["version"] == expected.calico_version
        assert calico["mode"] == ("crd" if expected.crd_mode else "apiserver")
        assert calico["tiers"] is expected.has_tiers

        assert results["hep_first"]["changed"] is True
        assert results["hep_again"]["changed"] is False, results["hep_again"]
        assert results["hep_fed_back"]["changed"] is False, "gathered output fed back as config changes nothing"
        assert not results["hep_fed_back"].get("diff", {}).get("before"), results["hep_fed_back"].get("diff")

        assert results["exposure_first"]["changed"] is True
        for name in ("exposure_again", "exposure_check", "exposure_fed_back"):
            assert results[name]["changed"] is False, (name, results[name].get("changes"), results[name].get("diff"))
            assert results[name]["changes"] == {"created": [], "updated": [], "deleted": []}, name
        assert results["exposure_check"].get("diff", {}).get("before") in (None, {}), "no diff line for server-filled fields"

        change = results["exposure_change_check"]
        assert change["changed"] is True
        touched = sorted(change["diff"]["after"])
        assert "GlobalNetworkPolicy/clusteredge-allow-cluster-ips" in touched
        for key in touched:
            before, after = change["diff"]["before"].get(key), change["diff"]["after"][key]
            if before:  # a diff shows what changes, never the tier the server fills in
                assert before["metadata"].get("labels") == after["metadata"].get("labels"), key
                assert before["spec"].get("tier") == after["spec"].get("tier"), key
        assert results["exposure_change"]["changes"]["updated"], results["exposure_change"]

        assert results["flows_checked"]["mismatches"] == 0, results["flows_checked"]["flows"]
        assert results["exposure_deleted"]["changed"] is True and results["exposure_deleted_again"]["changed"] is False
        assert [o for o in api.objects() if OWNER_LABEL in ((o.get("metadata") or {}).get("labels") or {})] == []

        policy_writes = [r for r in persisted_writes(api) if "networkpolicies" in r["path"]]
        if expected.has_tiers:
            # Sent explicitly, so create, read-back and comparison agree (§14.3); never sent to 3.28, which has no tiers.
            assert all(r["body"]["spec"].get("tier") == "default" for r in policy_writes if r["method"] in ("POST", "PUT"))
        else:
            assert all("tier" not in r["body"]["spec"] for r in policy_writes if r["method"] in ("POST", "PUT"))


def recap(run):
    """{host: {ok, changed, failed, ...}} from the PLAY RECAP."""
    found = {}
    for line in run.stdout.split("PLAY RECAP", 1)[-1].splitlines():
        match = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
        if match:
            found[match.group(1)] = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2)))
    return found


def run_unexpose(api, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from integration.ansible_cli import write_local_inventory

    write_local_inventory(tmp_path / "inventory.yml", dict(("h-%s" % node, node) for node in ("node-1", "node-2", "node-3")))
    env = ansible_env(api.url, tmp_path, extra={"K8S_AUTH_API_KEY": SA_TOKEN})
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), "clusteredge.calico.unexpose"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=600, cwd=str(tmp_path))


@pytest.mark.slow
@pytest.mark.parametrize("profile", MATRIX)
def test_expose_twice_then_unexpose_on_every_profile(profile, tmp_path):
    """The user's path, as the service account holding docs/rbac.md's ClusterRole under Calico's tiered RBAC (§5):
    both runs succeed (each verifies the intent flow by flow), the second changes nothing, unexpose leaves nothing."""
    with profile_server(profile) as api:
        api.seed(role_cluster())
        first = run_role(api, tmp_path)
        assert first.returncode == 0, first.stdout[-4000:]
        assert "Calico %s" % parse_profile(profile).calico_version in first.stdout, "preflight names the release"
        second = run_role(api, tmp_path)
        assert second.returncode == 0, second.stdout[-4000:]
        writes = [r for r in api.requests if r["verb"] in ("create", "update", "patch", "delete") and not r["dry_run"]]
        api.clear_requests()
        third = run_role(api, tmp_path)
        assert third.returncode == 0, third.stdout[-4000:]
        assert persisted_writes(api) == [], "a re-run writes nothing"
        assert all(counts["changed"] == 0 for counts in recap(third).values()), recap(third)
        assert writes, "the first runs wrote"
        gone = run_unexpose(api, tmp_path)
        assert gone.returncode == 0, gone.stdout[-4000:]
        left = [o["kind"] + "/" + o["metadata"]["name"] for o in api.objects()
                if OWNER_LABEL in ((o.get("metadata") or {}).get("labels") or {})]
        assert left == []
        assert denied(api) == []


FOREIGN_TIER = [
    {"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": {"name": "security"},
     "spec": {"order": 100, "defaultAction": "Pass"}},
    {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
     "metadata": {"name": "security.open-service-range", "labels": {TIER_LABEL: "security"}},
     "spec": {"tier": "security", "order": 1, "selector": "all()", "preDNAT": True, "applyOnForward": True,
              "types": ["Ingress"],
              "ingress": [{"action": "Allow", "source": {"nets": ["0.0.0.0/0"]}, "destination": {"nets": [SERVICE_CIDR_V4]}}]}},
]


@pytest.mark.slow
@pytest.mark.parametrize("profile", [p for p in MATRIX if parse_profile(p.values[0]).has_tiers][-2:])
def test_a_foreign_tier_that_breaks_the_intent_fails_verify_by_name(profile, tmp_path):
    """§4.3: a GNP in any tier that selects the HostEndpoints takes part; an earlier tier's pre-DNAT Allow of the world
    to the service range decides before the collection's deny in tier default. Verify must say so, by name."""
    with profile_server(profile) as api:
        api.seed(role_cluster())
        api.seed(FOREIGN_TIER)
        run = run_role(api, tmp_path)
        assert run.returncode != 0, run.stdout[-4000:]
        failure = [line for line in run.stdout.splitlines() if line.startswith("fatal:")]
        assert any("security.open-service-range" in line and "tier security" in line for line in failure), run.stdout[-4000:]


UPGRADES = ["3.28", "3.29.2", "3.29.7", "3.30.0", "3.30.1", "3.31", "3.32"]


@pytest.mark.parametrize("start", ["3.28", "3.29.2"])
def test_policies_survive_every_upgrade_without_duplicates_or_writes(start, tmp_path):
    """§3.2, §11: 3.29.0-3.29.3 return default-tier policies as `default.<name>`, and 3.30.0 does so for objects made
    before it; `foo` and `default.foo` are one object there. Through every upgrade the collection recognises its
    policies as its own: no duplicate, no re-create, and no write unless something really changed."""
    config = [dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"], ports=[443])]
    with EmulatorServer(service_cidrs=(SERVICE_CIDR_V4, SERVICE_CIDR_V6), profile=start) as api:
        api.seed(cluster(NODES))
        env = ansible_env(api.url, tmp_path)

        def expose(env, **args):
            return run_module(env, "clusteredge.calico.calico_clusterip_exposure", args)

        first = expose(env, config=config)
        assert first["changed"] is True, first
        names = sorted(o["metadata"]["name"] for o in api.objects("GlobalNetworkPolicy"))
        for version in UPGRADES[UPGRADES.index(start):]:
            api.upgrade(version)
            api.clear_requests()
            again = expose(env, config=config)
            assert not again.failed, (version, again)
            assert again["changes"] == {"created": [], "updated": [], "deleted": []}, (version, again["changes"])
            assert persisted_writes(api) == [], "nothing written on %s" % version
            stored = sorted(api.objects("GlobalNetworkPolicy"), key=lambda o: o["metadata"]["name"])
            assert len(stored) == len(names), "no duplicate on %s: %s" % (version, [o["metadata"]["name"] for o in stored])
            settled = expose(env, config=config)
            assert settled["changed"] is False, (version, settled["changes"])


@pytest.mark.parametrize("profile, status", [pytest.param("3.32", 403, id="3.32"),
                                             pytest.param("3.32-crd", 400, id="3.32-crd", marks=needs_reference("3.32-crd"))])
def test_a_missing_tier_permission_fails_naming_it(profile, status, tmp_path):
    """§5.1, §5.2, §14.19: without `create` on tier.*/default.*, Calico's tiered RBAC refuses the policy (403 from the
    API server, 400 with reason Forbidden from the v3-CRD webhook); both read as a permission problem, named."""
    rules = []
    for rule in documented_rules():
        if rule.get("resourceNames") == ["default.*"]:
            rule = dict(rule, verbs=[v for v in rule["verbs"] if v != "create"])
        rules.append(rule)
    with profile_server(profile, rules) as api:
        api.seed(cluster(NODES))
        env = ansible_env(api.url, tmp_path, extra={"K8S_AUTH_API_KEY": SA_TOKEN})
        result = run_module(env, "clusteredge.calico.calico_clusterip_exposure", {"config": SERVICES})
        assert result.failed
        message = result["msg"]
        assert "Traceback" not in result.stdout + result.stderr
        assert ': %d ' % status in message and 'in tier "default"' in message, message
        assert "get on tiers 'default'" in message and "[default.*]" in message and "docs/rbac.md" in message, message
        assert result["api_status"] == status


@pytest.mark.slow
@pytest.mark.parametrize("reported", ["v3.27.3", "v4.0.0"])
def test_preflight_stops_on_a_release_it_does_not_know_unless_told(reported, tmp_path):
    """§1: the collection knows 3.28 to 3.32. Older or newer releases stop preflight before anything is written,
    unless clusterip_exposure_accept_calico_version says to go on."""
    with profile_server("3.32") as api:
        api.seed(role_cluster())
        api.seed([{"apiVersion": "projectcalico.org/v3", "kind": "ClusterInformation", "metadata": {"name": "default"},
                   "spec": {"calicoVersion": reported, "clusterType": "k8s,bgp,kubeadm,kdd", "datastoreReady": True}}])
        refused = run_role(api, tmp_path)
        assert refused.returncode != 0
        failure = [line for line in refused.stdout.splitlines() if line.startswith("fatal:")]
        assert any("Calico %s is" % reported in line and "clusterip_exposure_accept_calico_version" in line
                   and "Nothing was written" in line for line in failure), refused.stdout[-3000:]
        assert persisted_writes(api) == []
        accepted = run_role(api, tmp_path, extra_args=["-e", "clusterip_exposure_accept_calico_version=true"])
        assert accepted.returncode == 0, accepted.stdout[-3000:]
