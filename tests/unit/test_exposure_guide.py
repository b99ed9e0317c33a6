"""The Calico guide's own example, rendered with no cluster: every allow of the guide (corrected) is there.

Guide: "Apply Calico policy to services exposed externally as cluster IPs" (Calico 3.28, ../shared/seed/).
Services A and B at 10.20.30.40 and 10.20.30.41, allowed from 50.60.0.0/16 and 70.80.90.0/24, pod CIDR
192.168.0.0/16, ports 80 and 443, HostEndpoints labelled k8s-role: node.
"""

import copy

import pytest

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import params as xp
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import render as xr
from clusteredge_testworld.emulator.calico_admission import admit
from clusteredge_testworld.emulator.crd_schema import missing_reason, validate_against_crd

NODES = "k8s-role == 'node'"


def guide_params(**overrides):
    params = dict(
        state="rendered", owner="clusteredge.calico", adopt=False, node_selector=NODES, name_prefix="clusteredge",
        nodeport_range="30000:32767", service_cidrs=["10.20.30.0/24"], pod_cidrs=["192.168.0.0/16"], require_advertised=False,
        config=[
            dict(namespace="default", name="svc-a", sources=["50.60.0.0/16"], ports=None, cluster_ip=None, mode=None,
                 allow_cluster_clients=None, allow_any_source=False, repin=False,
                 service=dict(cluster_ips=["10.20.30.40"], type="ClusterIP", external_traffic_policy="Cluster",
                              selector={"k8s-svc": "svc-a"}, ports=[dict(name="http", port=80, protocol="TCP", target_port=None),
                                                                    dict(name="https", port=443, protocol="TCP", target_port=None)])),
            dict(namespace="default", name="svc-b", sources=["70.80.90.0/24"], ports=None, cluster_ip=None, mode=None,
                 allow_cluster_clients=None, allow_any_source=False, repin=False,
                 service=dict(cluster_ips=["10.20.30.41"], type="ClusterIP", external_traffic_policy="Cluster",
                              selector={"k8s-svc": "svc-b"}, ports=[dict(name="http", port=80, protocol="TCP", target_port=None),
                                                                    dict(name="https", port=443, protocol="TCP", target_port=None)])),
        ])
    params.update(overrides)
    return params


@pytest.fixture(scope="module")
def rendered():
    params = guide_params()
    assert xp.validate_params(params) == []
    manifests, exposures, errors = xr.render_offline(params)
    assert errors == []
    return manifests


def rules_of(manifests):
    for manifest in manifests:
        for rule in manifest["spec"].get("ingress", []):
            yield manifest, rule


def pre_dnat_host_policy(manifest):
    spec = manifest["spec"]
    return (manifest["kind"] == "GlobalNetworkPolicy" and spec.get("preDNAT") is True and spec.get("applyOnForward") is True
            and spec["types"] == ["Ingress"] and spec["selector"] == NODES)


@pytest.mark.parametrize("source,cluster_ip", [("50.60.0.0/16", "10.20.30.40/32"), ("70.80.90.0/24", "10.20.30.41/32")])
def test_guide_step2_allow_cluster_ips(rendered, source, cluster_ip):
    matches = [rule for manifest, rule in rules_of(rendered) if pre_dnat_host_policy(manifest)
               and rule["action"] == "Allow" and rule.get("source", {}).get("nets") == [source]
               and rule.get("destination", {}).get("nets") == [cluster_ip]]
    assert len(matches) == 1
    assert matches[0]["destination"]["ports"] == [80, 443], "narrowed to the Service's ports, as the intent asks"


def test_guide_step2_allow_to_pods(rendered):
    matches = [rule for manifest, rule in rules_of(rendered) if pre_dnat_host_policy(manifest)
               and rule == {"action": "Allow", "destination": {"nets": ["192.168.0.0/16"]}}]
    assert len(matches) == 1


@pytest.mark.parametrize("protocol", ["TCP", "UDP"])
def test_guide_step2_allow_traffic_hostendpoints_corrected(rendered, protocol):
    host = [m for m in rendered if m["metadata"]["name"] == "clusteredge-allow-traffic-hostendpoints"][0]
    assert host["spec"]["selector"] == NODES and not host["spec"].get("preDNAT")
    # Corrected: under an ingress: key, and without the destination selector that matches only expectedIPs.
    assert {"action": "Allow", "protocol": protocol, "destination": {"notPorts": ["30000:32767"]}} in host["spec"]["ingress"]


@pytest.mark.parametrize("service", ["svc-a", "svc-b"])
def test_guide_step3_nodes_reach_the_service_ports_on_the_pods(rendered, service):
    pod = [m for m in rendered if m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == "clusteredge-allow-svc-" + service][0]
    assert pod["spec"]["selector"] == "k8s-svc == '%s'" % service
    assert {"action": "Allow", "protocol": "TCP", "source": {"selector": NODES, "namespaceSelector": "global()"},
            "destination": {"ports": [80, 443]}} in pod["spec"]["ingress"]


def test_additions_beyond_the_guide(rendered):
    names = [m["metadata"]["name"] for m in rendered]
    deny = [m for m in rendered if m["metadata"]["name"] == "clusteredge-deny-service-ranges"][0]
    assert deny["spec"]["ingress"] == [{"action": "Deny", "destination": {"nets": ["10.20.30.0/24"]}}]
    assert deny["spec"]["order"] > max(m["spec"]["order"] for m in rendered if "allow" in m["metadata"]["name"] and m["spec"].get("preDNAT"))
    host = [m for m in rendered if m["metadata"]["name"] == "clusteredge-allow-traffic-hostendpoints"][0]
    assert host["spec"]["egress"] == [{"action": "Allow"}] and "Egress" in host["spec"]["types"]
    assert {"action": "Allow", "protocol": "ICMP"} in host["spec"]["ingress"]
    pod_a = [m for m in rendered if m["metadata"]["name"] == "clusteredge-allow-svc-svc-a"][0]
    assert {"action": "Allow", "protocol": "TCP", "source": {"nets": ["50.60.0.0/16"]}, "destination": {"ports": [80, 443]}} in pod_a["spec"]["ingress"]
    assert all("order" in m["spec"] for m in rendered)
    assert len(names) == len(set(names))


@pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))
def test_every_rendered_object_conforms_to_the_crd_schemas(rendered):
    for manifest in rendered:
        assert validate_against_crd(copy.deepcopy(manifest)) == [], manifest["metadata"]["name"]


def test_every_rendered_object_passes_calico_admission(rendered):
    for manifest in rendered:
        assert admit(manifest["kind"], copy.deepcopy(manifest)) == [], manifest["metadata"]["name"]


def test_dual_stack_rules_keep_one_family_each_and_deny_both_ranges():
    params = guide_params(service_cidrs=["10.20.30.0/24", "fd00:20::/112"], pod_cidrs=["192.168.0.0/16", "fd00:192::/64"])
    params["config"][0]["sources"] = ["50.60.0.0/16", "2001:db8:50::/48"]
    params["config"][0]["service"]["cluster_ips"] = ["10.20.30.40", "fd00:20::40"]
    manifests, _exposures, errors = xr.render_offline(params)
    assert errors == []
    for manifest in manifests:
        for rule in manifest["spec"].get("ingress", []):
            nets = rule.get("source", {}).get("nets", []) + rule.get("destination", {}).get("nets", [])
            assert len(set(":" in n for n in nets)) <= 1, "mixed families in %r" % rule
        assert admit(manifest["kind"], copy.deepcopy(manifest)) == []
    deny = [m for m in manifests if m["metadata"]["name"] == "clusteredge-deny-service-ranges"][0]
    assert [r["destination"]["nets"] for r in deny["spec"]["ingress"]] == [["10.20.30.0/24"], ["fd00:20::/112"]]
    allow = [m for m in manifests if m["metadata"]["name"] == "clusteredge-allow-cluster-ips"][0]
    assert {"action": "Allow", "protocol": "TCP", "source": {"nets": ["2001:db8:50::/48"]},
            "destination": {"nets": ["fd00:20::40/128"], "ports": [80, 443]},
            "metadata": {"annotations": {"clusteredge.calico/service": "default/svc-a"}}} in allow["spec"]["ingress"]


def test_a_cluster_ip_of_a_family_without_a_known_range_is_refused():
    params = guide_params()
    params["config"][0]["service"]["cluster_ips"] = ["10.20.30.40", "fd00:20::40"]
    _manifests, _exposures, errors = xr.render_offline(params)
    assert errors and "fd00:20::40 is in no known service range" in errors[0]


def test_large_rule_sets_are_split_not_refused():
    params = guide_params()
    template = params["config"][0]
    params["config"] = []
    for index in range(250):
        item = copy.deepcopy(template)
        item["name"] = "svc-%d" % index
        item["service"]["cluster_ips"] = ["10.20.30.%d" % (index + 1)]
        params["config"].append(item)
    manifests, _exposures, errors = xr.render_offline(params)
    assert errors == []
    chunks = [m for m in manifests if m["metadata"]["name"].startswith("clusteredge-allow-cluster-ips")]
    assert [m["metadata"]["name"] for m in chunks] == ["clusteredge-allow-cluster-ips", "clusteredge-allow-cluster-ips-2",
                                                       "clusteredge-allow-cluster-ips-3"]
    assert [len(m["spec"]["ingress"]) for m in chunks] == [100, 100, 50]
