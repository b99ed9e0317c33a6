"""Bulk by design: 500 Services in one call read each kind once and write only what changes."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from integration import cluster
from integration.ansible_cli import run_playbook
from integration.conftest import all_writes

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COUNT = 500
CHUNKS = ["clusteredge-allow-cluster-ips"] + ["clusteredge-allow-cluster-ips-%d" % n for n in range(2, 6)]
OTHER_GNPS = ["clusteredge-allow-from-cluster", "clusteredge-allow-to-pods", "clusteredge-allow-traffic-hostendpoints",
              "clusteredge-deny-service-ranges"]
CALICO = "/apis/projectcalico.org/v3/"
KIND_PATHS = ["/api/v1/namespaces", "/api/v1/services", "/api/v1/nodes", "/apis/networking.k8s.io/v1/servicecidrs",
              CALICO + "globalnetworkpolicies", CALICO + "networkpolicies", CALICO + "hostendpoints", CALICO + "ippools",
              CALICO + "bgpconfigurations/default"]

PLAYBOOK = """
- name: Expose many Services in one task
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Apply
      clusteredge.calico.calico_clusterip_exposure:
        config: "{{ exposures }}"
        state: replaced
      register: outcome
    - name: Keep the result for the test
      ansible.builtin.copy:
        content: "{{ outcome | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
"""


def service_name(index):
    return "svc-%03d" % index


def item(index, sources=None):
    return dict(namespace="shop", name=service_name(index), sources=sources or ["50.%d.%d.0/24" % (index // 256, index % 256)])


def reads(api):
    """GETs of API objects (discovery and the emulator's admin endpoints excluded), by path."""
    return Counter(r["path"] for r in api.requests if r["method"] == "GET" and r.get("verb") not in ("discovery", "admin"))


def writes(api):
    return Counter((r["method"], r.get("resource")) for r in all_writes(api))


def test_request_counts_for_500_services(k8s_api, env, tmp_path):
    cluster.standard_cluster(k8s_api)
    # Seeding goes through the same allocation as a create: every Service gets a cluster IP.
    seeded = k8s_api.seed([cluster.service("shop", service_name(i)) for i in range(COUNT)])
    cluster_ips = dict((s["metadata"]["name"], s["spec"]["clusterIP"]) for s in seeded)
    assert len(set(cluster_ips.values())) == COUNT and None not in cluster_ips.values()

    playbook = tmp_path / "many.yml"
    playbook.write_text(PLAYBOOK)
    result_file = tmp_path / "result.json"
    vars_file = tmp_path / "vars.json"

    def apply(items):
        k8s_api.clear_requests()
        vars_file.write_text(json.dumps({"exposures": items, "result_file": str(result_file)}))
        run = run_playbook(env, playbook, extra_vars=vars_file, cwd=tmp_path)
        assert run.rc == 0, run
        return json.loads(result_file.read_text())

    items = [item(i) for i in range(COUNT)]
    first = apply(items)
    first_reads = reads(k8s_api)
    assert first_reads and max(first_reads.values()) == 1, "no path is read twice: %s" % first_reads
    assert set(KIND_PATHS) <= set(first_reads), "each kind is read (once): %s" % first_reads
    assert len(first_reads) <= 12, "a small, fixed number of reads whatever the number of Services: %s" % first_reads
    gnps = dict((o["metadata"]["name"], o) for o in k8s_api.objects("GlobalNetworkPolicy"))
    assert sorted(gnps) == sorted(CHUNKS + OTHER_GNPS)
    assert [len(gnps[name]["spec"]["ingress"]) for name in CHUNKS] == [100] * 5, "the rules are split in chunks of 100"
    rule_services = [r["metadata"]["annotations"]["clusteredge.calico/service"] for name in CHUNKS for r in gnps[name]["spec"]["ingress"]]
    assert rule_services == ["shop/%s" % service_name(i) for i in range(COUNT)], "one rule per Service, in order"
    assert len(k8s_api.objects("NetworkPolicy", namespace="shop")) == COUNT
    # One create per object the module reports created, one PATCH per Service (its pin), nothing else.
    created = Counter(label.split("/", 1)[0] for label in first["changes"]["created"])
    assert created["GlobalNetworkPolicy"] == len(gnps) and created["NetworkPolicy"] == COUNT, created
    first_writes = writes(k8s_api)
    assert sum(n for (method, _r), n in first_writes.items() if method == "POST") == sum(created.values())
    assert first_writes[("POST", "globalnetworkpolicies")] == len(gnps)
    assert first_writes[("POST", "networkpolicies")] == COUNT
    assert first_writes[("PATCH", "services")] == COUNT
    assert set(method for method, _r in first_writes) == {"POST", "PATCH"}, first_writes
    assert first["changes"]["updated"] == ["Service/shop/%s" % service_name(i) for i in range(COUNT)]
    assert all(w["status"] < 400 and not w["dry_run"] for w in all_writes(k8s_api)), "every object passed admission"
    pinned = [s for s in k8s_api.objects("Service", namespace="shop")
              if (s["metadata"].get("annotations") or {}).get("clusteredge.calico/pinned-cluster-ips") == cluster_ips[s["metadata"]["name"]]]
    assert len(pinned) == COUNT

    noop = apply(items)
    assert noop["changed"] is False
    assert all_writes(k8s_api) == [], "no-op run: no write"
    assert reads(k8s_api) == first_reads, "no-op run: the same few reads"

    items[250] = item(250, sources=["60.70.80.0/24"])
    one = apply(items)
    # Pod policies are written before host policies (the module's safe write order).
    assert one["changes"] == {"created": [], "updated": ["NetworkPolicy/shop/clusteredge-allow-svc-%s" % service_name(250),
                                                         "GlobalNetworkPolicy/clusteredge-allow-cluster-ips-3"],
                              "deleted": []}, one["changes"]
    puts = [r["path"] for r in all_writes(k8s_api)]
    assert puts == ["/apis/projectcalico.org/v3/namespaces/shop/networkpolicies/clusteredge-allow-svc-%s" % service_name(250),
                    "/apis/projectcalico.org/v3/globalnetworkpolicies/clusteredge-allow-cluster-ips-3"]
    assert writes(k8s_api) == {("PUT", "globalnetworkpolicies"): 1, ("PUT", "networkpolicies"): 1}
    assert all(w["status"] < 400 for w in all_writes(k8s_api))
    assert reads(k8s_api) == first_reads
    chunk = [o for o in k8s_api.objects("GlobalNetworkPolicy") if o["metadata"]["name"] == "clusteredge-allow-cluster-ips-3"][0]["spec"]["ingress"]
    assert chunk[50]["source"] == {"nets": ["60.70.80.0/24"]}
    assert chunk[50]["destination"]["nets"] == [cluster_ips[service_name(250)] + "/32"]
