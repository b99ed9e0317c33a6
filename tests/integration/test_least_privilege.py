"""Least privilege: docs/rbac.md's ClusterRole is exactly what the collection needs, and a missing permission fails clearly.

Every emulator of the session logs the requests it serves (EMULATOR_REQUEST_LOG, set in tests/conftest.py); the
collection's requests carry its User-Agent. The last test of the session checks each of them against the ClusterRole
parsed from docs/rbac.md (the doc is the single source of truth), and that every permission there is used.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from clusteredge_testworld.emulator import EmulatorServer
from clusteredge_testworld.emulator.rbac import REQUEST_LOG_ENV, read_log, rules_from
from integration.ansible_cli import REPO, ansible_env, run_playbook, write_local_inventory
from clusteredge_testworld.lab.cluster import SERVICE_CIDR_V4, SERVICE_CIDR_V6, cluster, nodes

pytestmark = pytest.mark.integration

SA_USER = "system:serviceaccount:awx:clusteredge-calico"
SA_TOKEN = "sa-token-clusteredge-calico"
ADMIN_TOKEN = "admin-token-for-fixtures"
COLLECTION_AGENT = re.compile(r"^clusteredge\.calico \((?P<module>\w+)\)")
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("calico_*.py"))
SERVICES = [{"namespace": "shop", "name": "frontend", "sources": ["50.60.0.0/16"]},
            {"namespace": "shop", "name": "api", "sources": ["70.80.90.0/24"]}]
NODE_ADDRESSES = {"node-1": "10.200.0.11", "node-2": "10.200.0.12", "node-3": "10.200.0.13"}


def documented_cluster_role():
    """The ClusterRole of docs/rbac.md's YAML block."""
    text = (REPO / "docs" / "rbac.md").read_text()
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)
    roles = [doc for block in blocks for doc in yaml.safe_load_all(block) if doc and doc.get("kind") == "ClusterRole"]
    assert len(roles) == 1, "docs/rbac.md holds exactly one ClusterRole"
    return roles[0]


def documented_rules():
    return list(documented_cluster_role()["rules"])


def without(rules, group, resource, verb):
    """`rules` minus one verb on one resource (a rule naming several resources is split)."""
    result = []
    for rule in rules:
        if group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]:
            others = [r for r in rule["resources"] if r != resource]
            if others:
                result.append(dict(rule, resources=others))
            verbs = [v for v in rule["verbs"] if v != verb]
            if verbs:
                result.append(dict(rule, resources=[resource], verbs=verbs))
        else:
            result.append(rule)
    return result


def rbac_server(rules, **kwargs):
    """The emulator in RBAC mode: the collection's service account holds `rules`; fixtures use an admin token.

    Calico's tiered RBAC is enforced too where the emulator's Calico profile has tiers (3.29 and later)."""
    return EmulatorServer(token=ADMIN_TOKEN, rbac={SA_TOKEN: {"user": SA_USER, "rules": rules}},
                          service_cidrs=(SERVICE_CIDR_V4, SERVICE_CIDR_V6), **kwargs)


def persisted_writes(api):
    return [r for r in api.requests if r["verb"] in ("create", "update", "patch", "delete", "deletecollection")
            and not r["dry_run"] and (r["status"] or 500) < 400]


def run_role(api, tmp_path, extra_args=()):
    """clusteredge.calico.expose on local-connection hosts, one per node (see test_role_scale.py), as the service account."""
    write_local_inventory(tmp_path / "inventory.yml", dict(("h-%s" % node, node) for node in NODE_ADDRESSES))
    (tmp_path / "vars.json").write_text(json.dumps({"clusterip_exposure_services": SERVICES, "clusterip_exposure_canary_settle": 0}))
    env = ansible_env(api.url, tmp_path, extra={"K8S_AUTH_API_KEY": SA_TOKEN})
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"),
           "clusteredge.calico.expose", "-e", "@%s" % (tmp_path / "vars.json")] + list(extra_args)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=600, cwd=str(tmp_path))


def role_cluster():
    # Every local host reports the controller's facts: the nodes carry the loopback address (see test_role_scale.py).
    return cluster(dict((node, "127.0.0.1") for node in NODE_ADDRESSES))


def test_the_expose_role_succeeds_with_exactly_the_documented_cluster_role(tmp_path):
    with rbac_server(documented_rules()) as api:
        api.seed(role_cluster())
        proc = run_role(api, tmp_path)
        assert proc.returncode == 0, proc.stdout[-4000:]
        forbidden = [(r["method"], r["path"]) for r in api.requests if r["status"] == 403]
        assert forbidden == []
        assert sorted(o["metadata"]["name"] for o in api.objects("HostEndpoint")) == ["node-1-lo", "node-2-lo", "node-3-lo"]
        assert {r["headers"].get("Authorization") for r in api.requests if r["verb"] not in ("admin", "discovery")} == {"<present>"}


# (API group, resource, verb) taken away, and whether the run may have written anything before it stopped.
REMOVALS = [
    pytest.param("projectcalico.org", "hostendpoints", "create", True, id="hostendpoints-create"),
    pytest.param("", "services", "patch", True, id="services-patch"),
    pytest.param("projectcalico.org", "globalnetworkpolicies", "list", False, id="globalnetworkpolicies-list"),
    pytest.param("", "nodes", "list", False, id="nodes-list"),
    pytest.param("projectcalico.org", "felixconfigurations", "list", False, id="felixconfigurations-list"),
    # Only the verify step's flow check lists pods, after the writes: the failure is clear but comes late.
    pytest.param("", "pods", "list", True, id="pods-list"),
]


@pytest.mark.slow
@pytest.mark.parametrize("group, resource, verb, writes_first", REMOVALS)
def test_a_missing_permission_fails_the_role_naming_it(tmp_path, group, resource, verb, writes_first):
    with rbac_server(without(documented_rules(), group, resource, verb)) as api:
        api.seed(role_cluster())
        proc = run_role(api, tmp_path)
        output = proc.stdout + proc.stderr
        assert proc.returncode != 0, proc.stdout[-4000:]
        assert "Traceback" not in output and "MODULE FAILURE" not in output
        denied = re.compile(r'cannot %s resource \\?"%s\\?" in API group \\?"%s\\?"' % (verb, resource, re.escape(group)))
        failure = [line for line in proc.stdout.splitlines() if line.startswith("fatal:") or "FAILED!" in line]
        assert any(denied.search(line) for line in failure), proc.stdout[-4000:]
        assert any("docs/rbac.md" in line and SA_USER in line for line in failure), proc.stdout[-4000:]
        if not writes_first:
            assert persisted_writes(api) == [], "a missing read permission stops the run before anything is written"


# -- the recorded requests of the whole suite against the ClusterRole ---------------------------------------------

def collection_requests(records):
    """Resource requests sent by the collection's modules (discovery is system:discovery's, fixtures send another agent)."""
    found = []
    for record in records:
        match = COLLECTION_AGENT.match(record.get("user_agent") or "")
        if match and record.get("resource") and not record.get("discovery"):
            found.append(dict(record, module=match.group("module")))
    return found


def permissions(rules):
    """Every (group, resource, verb, name or None) a list of rules grants, one entry per combination."""
    granted = set()
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    for name in rule.get("resourceNames") or [None]:
                        granted.add((group, resource, verb, name))
    return granted


def used_permission(rules, request):
    """The (group, resource, verb, name) permission of `rules` that allows `request`, most specific first; None if none."""
    for rule in sorted(rules_from(rules), key=lambda r: not r.resource_names):
        if rule.allows(request["verb"], request["api_group"], request["resource"], request["subresource"], request["name"]):
            return (request["api_group"], request["resource"], request["verb"], request["name"] if rule.resource_names else None)
    return None


def tier_verdict(rules, request):
    """(allowed, permissions used) of a request's Calico tiered-RBAC checks (SPEC-3.29-3.32 §5), replayed against `rules`.

    The emulator logs every check Calico makes for a policy request, whoever sent it and whether RBAC was on. A tier
    passes when the identity may `get` the tier and may do the verb on `tier.<resource>` by the policy's name or by
    `<tier>.*`. Every tier a request meets must pass, lists included: a list that silently left out another tier's
    policies would make the flow check blind to them, which docs/rbac.md's ClusterRole is meant to prevent.
    """
    tiers = {}
    used = set()
    for check in request.get("tier_checks") or []:
        permission = used_permission(rules, dict(verb=check["verb"], api_group=check["group"], resource=check["resource"],
                                                 subresource=None, name=check["name"] or None))
        if permission:
            used.add(permission)
        tiers.setdefault(check["tier"], {}).setdefault(check["check"], []).append(permission is not None)
    allowed = all(any(kinds.get("get-tier", [])) and (any(kinds.get("policy", [])) or any(kinds.get("tier-wildcard", [])))
                  for kinds in tiers.values())
    return allowed, used


WORKLOAD_PLAY = """
- name: Every module, every kind of write, and a 409 on each kind's update (its re-read is a `get`)
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Cluster facts
      clusteredge.calico.calico_cluster_info:
    - name: HostEndpoints of two nodes
      clusteredge.calico.calico_hostendpoint:
        config:
          - {name: node-1-eth0, node: node-1, interface_name: eth0, expected_ips: [10.200.0.11], labels: {k8s-role: node}}
          - {name: node-2-eth0, node: node-2, interface_name: eth0, expected_ips: [10.200.0.12], labels: {k8s-role: node}}
    - name: Expose one Service
      clusteredge.calico.calico_clusterip_exposure:
        config: [{namespace: shop, name: frontend, sources: [50.60.0.0/16]}]
    - name: A node joins (through the emulator's admin endpoint, outside RBAC)
      ansible.builtin.uri:
        url: "{{ api_url }}/_emulator/objects"
        method: POST
        body_format: json
        body: "{{ new_node }}"
    - name: Change a HostEndpoint (an update)
      clusteredge.calico.calico_hostendpoint:
        config:
          - {name: node-1-eth0, node: node-1, interface_name: eth0, expected_ips: [10.200.0.11, 192.168.0.64], labels: {k8s-role: node}}
    - name: Change the exposure (updates of every policy kind and of the node network set)
      clusteredge.calico.calico_clusterip_exposure:
        config:
          - {namespace: shop, name: frontend, sources: [50.60.0.0/16, 70.80.0.0/16]}
          - {namespace: shop, name: api, sources: [70.80.90.0/24]}
    - name: Check a flow
      clusteredge.calico.calico_flow_check:
        flows: [{source: 50.60.0.10, destination: 10.200.0.11, port: 22, ingress_node: node-1}]
        fail_on_mismatch: false
    - name: Check mode sends the same verbs as dry runs
      clusteredge.calico.calico_hostendpoint:
        state: deleted
      check_mode: true
    - name: Remove the HostEndpoints
      clusteredge.calico.calico_hostendpoint:
        state: deleted
    - name: Remove the exposure (deletes, and the pins come off)
      clusteredge.calico.calico_clusterip_exposure:
        state: deleted
"""


def drive_workload(tmp_path, profile):
    """Exercise each module and each write path once, as the service account holding docs/rbac.md's ClusterRole."""
    with rbac_server(documented_rules(), profile=profile) as api:
        api.seed(cluster(dict((n, a) for n, a in NODE_ADDRESSES.items() if n != "node-3")))
        for kind in ("hostendpoints", "globalnetworkpolicies", "networkpolicies", "globalnetworksets"):
            api.inject_fault(method="PUT", path="/apis/projectcalico.org/v3/(namespaces/[^/]+/)?%s/" % kind, status=409)
        playbook = tmp_path / ("workload-%s.yml" % profile)
        playbook.write_text(WORKLOAD_PLAY)
        env = ansible_env(api.url, tmp_path, extra={"K8S_AUTH_API_KEY": SA_TOKEN})
        new_node = nodes({"node-3": NODE_ADDRESSES["node-3"]})[0]
        run = run_playbook(env, playbook, extra_vars={"api_url": api.url, "new_node": new_node})
        assert run.rc == 0, run
        assert api.handler.faults.pending() == [], "every injected conflict was hit"
        assert [r["path"] for r in api.requests if r["status"] in (400, 403)] == []


def describe(request):
    subresource = "/" + request["subresource"] if request["subresource"] else ""
    where = (request["module"], request["test"])
    return "%s %s/%s%s (%s, in %s)" % ((request["verb"], request["api_group"] or "core", request["resource"], subresource) + where)


@pytest.mark.last
def test_every_request_of_the_suite_is_allowed_by_the_documented_cluster_role(emulator_request_log, tmp_path):
    assert os.environ.get(REQUEST_LOG_ENV) == str(emulator_request_log)
    rules = documented_rules()

    def replay():
        requests = collection_requests(read_log(str(emulator_request_log)))
        used = set(used_permission(rules, r) for r in requests)
        for request in requests:
            used |= tier_verdict(rules, request)[1]
        return requests, used

    requests, used = replay()
    # Run alone (or with a few tests), the suite may not have exercised everything: drive a workload that does, on a
    # release without tiers and on one with Calico's tiered RBAC.
    if set(MODULES) - set(r["module"] for r in requests) or permissions(rules) - used:
        for profile in ("3.28", "3.32"):
            drive_workload(tmp_path, profile)
        requests, used = replay()

    assert requests, "the emulators recorded requests of the collection"
    assert sorted(set(r["module"] for r in requests)) == MODULES, "every module's requests were recorded"
    forbidden = sorted(set(describe(r) for r in requests if used_permission(rules, r) is None))
    assert forbidden == [], "requests docs/rbac.md's ClusterRole does not allow:\n" + "\n".join(forbidden)
    tier_denied = sorted(set(describe(r) for r in requests if not tier_verdict(rules, r)[0]))
    assert tier_denied == [], "requests Calico's tiered RBAC would refuse with docs/rbac.md's ClusterRole:\n" + "\n".join(tier_denied)
    assert any(r.get("tier_checks") for r in requests), "tiered profiles ran: their checks were replayed"
    unused = sorted("%s %s/%s%s" % (verb, group or "core", resource, " %s" % name if name else "")
                    for group, resource, verb, name in permissions(rules) - used)
    assert unused == [], "permissions of docs/rbac.md's ClusterRole no request used: %s" % ", ".join(unused)
