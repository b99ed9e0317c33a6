"""Local mode, dual stack, drift after a Service is recreated, advertisement and HostEndpoint address checks."""

from __future__ import annotations

import pytest

from clusteredge_testworld.emulator import EmulatorServer
from integration import cluster
from integration.ansible_cli import ansible_env, run_module
from integration.conftest import EXPOSURE_MODULE, all_writes

pytestmark = pytest.mark.integration

DUAL = ("10.96.0.0/12", "fd00:10:96::/112")


def output(result):
    return result.stdout + result.stderr


def gnp(api, name):
    return [o for o in api.objects("GlobalNetworkPolicy") if o["metadata"]["name"] == name][0]


def test_local_mode_from_external_traffic_policy_keeps_host_protection(k8s_api, expose):
    created = cluster.standard_cluster(k8s_api, services=[
        cluster.service("shop", "edge", svc_type="LoadBalancer", etp="Local", ports=((443, "TCP", 8443),))])
    result = expose(config=[dict(namespace="shop", name="edge", sources=["50.60.0.0/16"])])
    assert result["exposures"][0]["mode"] == "local"
    ip = created[0]["spec"]["clusterIP"]
    allow = gnp(k8s_api, "clusteredge-allow-cluster-ips")["spec"]["ingress"]
    assert allow[0]["destination"] == {"nets": [ip + "/32"], "ports": [443]}, \
        "kube-proxy masquerades off-cluster clients to a cluster IP whatever the traffic policy: the host must still filter"
    assert gnp(k8s_api, "clusteredge-deny-service-ranges")
    pod = k8s_api.objects("NetworkPolicy")[0]["spec"]["ingress"]
    assert [r["source"] for r in pod] == [
        {"selector": "clusteredge.calico/owner == 'clusteredge.calico'", "namespaceSelector": "global()"},
        {"selector": "clusteredge.calico/node-addresses == 'clusteredge'", "namespaceSelector": "global()"},
        {"nets": ["50.60.0.0/16"]}, {"nets": ["192.168.0.0/16"]}]
    assert all(r["destination"] == {"ports": [8443]} for r in pod)


def test_local_mode_is_refused_for_a_clusterip_service(k8s_api, expose):
    cluster.standard_cluster(k8s_api, services=[cluster.service("shop", "web")])
    k8s_api.clear_requests()
    result = expose(config=[dict(namespace="shop", name="web", sources=["50.60.0.0/16"], mode="local")])
    assert result.failed
    assert "config[0] (Service shop/web)" in result["msg"] and "NodePort or LoadBalancer" in result["msg"] and "ClusterIP" in result["msg"]
    assert all_writes(k8s_api) == []


def test_dual_stack_service_gets_rules_for_both_families(tmp_path):
    with EmulatorServer(service_cidrs=DUAL) as api:
        api.seed([cluster.namespace("shop"), cluster.node(1, ipv6=True), cluster.bgp_default(list(DUAL)),
                  cluster.ippool("v6-pool", "fd00:192:168::/64")])
        svc = cluster.create(api, [cluster.service("shop", "web", dual_stack=True)])[0]
        v4, v6 = svc["spec"]["clusterIPs"]
        result = run_module(ansible_env(api.url, tmp_path), EXPOSURE_MODULE,
                            dict(config=[dict(namespace="shop", name="web", sources=["50.60.0.0/16", "2001:db8:50::/48"])]))
        assert not result.failed, result
        assert result["exposures"][0]["cluster_ips"] == [v4, v6]
        allow = gnp(api, "clusteredge-allow-cluster-ips")["spec"]["ingress"]
        assert [(r["source"]["nets"], r["destination"]["nets"]) for r in allow] == [
            (["50.60.0.0/16"], [v4 + "/32"]), (["2001:db8:50::/48"], [v6 + "/128"])]
        deny = gnp(api, "clusteredge-deny-service-ranges")["spec"]["ingress"]
        assert [r["destination"]["nets"] for r in deny] == [["10.96.0.0/12"], ["fd00:10:96::/112"]], "both families denied"
        pods = gnp(api, "clusteredge-allow-to-pods")["spec"]["ingress"]
        assert [r["destination"]["nets"] for r in pods] == [["192.168.0.0/16"], ["fd00:192:168::/64"]]
        service = [s for s in api.objects("Service") if s["metadata"]["name"] == "web"][0]
        assert service["metadata"]["annotations"]["clusteredge.calico/pinned-cluster-ips"] == "%s,%s" % (v4, v6)


def recreate(api, namespace, name, cluster_ip, **service_args):
    from kubernetes.dynamic import DynamicClient

    services = DynamicClient(api.api_client()).resources.get(api_version="v1", kind="Service")
    services.delete(name=name, namespace=namespace)
    return cluster.create(api, [cluster.service(namespace, name, cluster_ip=cluster_ip, **service_args)])[0]


def test_a_recreated_service_is_repinned_with_a_warning(k8s_api, expose):
    cluster.standard_cluster(k8s_api, services=[cluster.service("shop", "web", cluster_ip="10.96.5.5")])
    expose(config=[dict(namespace="shop", name="web", sources=["50.60.0.0/16"])])
    recreate(k8s_api, "shop", "web", "10.96.6.6")
    result = expose(config=[dict(namespace="shop", name="web", sources=["50.60.0.0/16"])])
    assert not result.failed, result
    assert "shop/web was recreated" in output(result) and "10.96.5.5" in output(result)
    allow = gnp(k8s_api, "clusteredge-allow-cluster-ips")["spec"]["ingress"]
    assert [r["destination"]["nets"] for r in allow] == [["10.96.6.6/32"]]


def test_a_previously_exposed_ip_now_owned_by_another_service_fails_loudly(k8s_api, expose):
    web, other = cluster.service("shop", "web", cluster_ip="10.96.5.5"), cluster.service("shop", "other")
    cluster.standard_cluster(k8s_api, services=[web, other])
    expose(config=[dict(namespace="shop", name="web", sources=["50.60.0.0/16"])])
    recreate(k8s_api, "shop", "web", "10.96.6.6")
    cluster.create(k8s_api, [cluster.service("shop", "payments", cluster_ip="10.96.5.5")])
    k8s_api.clear_requests()
    result = expose(config=[dict(namespace="shop", name="other", sources=["70.80.90.0/24"])])
    assert result.failed
    assert "10.96.5.5 was exposed for shop/web" in result["msg"] and "now belongs to shop/payments" in result["msg"]
    assert all_writes(k8s_api) == []
    moved = expose(config=[dict(namespace="shop", name="web", sources=["50.60.0.0/16"], repin=True)])
    assert not moved.failed, moved
    allow = gnp(k8s_api, "clusteredge-allow-cluster-ips")["spec"]["ingress"]
    assert [r["destination"]["nets"] for r in allow] == [["10.96.6.6/32"]], "no rule for 10.96.5.5 is left"


def test_expected_cluster_ip_mismatch_fails_and_writes_nothing(k8s_api, expose):
    created = cluster.standard_cluster(k8s_api, services=[cluster.service("shop", "web")])
    k8s_api.clear_requests()
    result = expose(config=[dict(namespace="shop", name="web", sources=["50.60.0.0/16"], cluster_ip="10.96.9.9")])
    assert result.failed and "expected cluster IP 10.96.9.9 but the Service has %s" % created[0]["spec"]["clusterIP"] in result["msg"]
    assert all_writes(k8s_api) == []


def test_unadvertised_cluster_ip_warns_and_fails_when_required(k8s_api, expose):
    cluster.standard_cluster(k8s_api, services=[cluster.service("shop", "web", cluster_ip="10.97.0.10")], advertised=("10.96.0.0/16",))
    k8s_api.clear_requests()
    required = expose(config=[dict(namespace="shop", name="web", sources=["50.60.0.0/16"])], require_advertised=True)
    assert required.failed and "10.97.0.10" in required["msg"] and "does not advertise it" in required["msg"]
    assert all_writes(k8s_api) == []
    warned = expose(config=[dict(namespace="shop", name="web", sources=["50.60.0.0/16"])])
    assert not warned.failed and "does not advertise it" in output(warned)


def test_hostendpoints_missing_tunnel_addresses_are_reported(k8s_api, expose, hep):
    cluster.standard_cluster(k8s_api, services=[cluster.service("shop", "web")])
    hep(config=[cluster.node_hep_item(1), cluster.node_hep_item(2, with_tunnel=False)])
    result = expose(config=[dict(namespace="shop", name="web", sources=["50.60.0.0/16"])])
    report = dict((entry["node"], entry) for entry in result["node_report"])
    assert report["node-1"]["missing_expected_ips"] == []
    assert report["node-2"]["missing_expected_ips"] == ["192.168.2.0"]
    assert report["node-3"]["hostendpoints"] == []
    assert "node-2" in output(result) and "lack expectedIPs 192.168.2.0" in output(result)


def test_a_node_address_inside_the_service_range_is_refused(k8s_api, expose):
    k8s_api.seed([cluster.namespace("shop"), cluster.bgp_default(["10.96.0.0/12"]),
                  {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "odd-node"},
                   "status": {"addresses": [{"type": "InternalIP", "address": "10.100.0.5"}]}}])
    cluster.create(k8s_api, [cluster.service("shop", "web")])
    k8s_api.clear_requests()
    result = expose(config=[dict(namespace="shop", name="web", sources=["50.60.0.0/16"])])
    assert result.failed
    assert "node odd-node has address 10.100.0.5 inside the service range 10.96.0.0/12" in result["msg"]
    assert all_writes(k8s_api) == []


def test_rendered_with_node_addresses_is_what_the_module_writes(k8s_api, expose):
    """Reviewing or committing the rendering (GitOps) must show exactly the objects the module applies."""
    created = cluster.standard_cluster(k8s_api, services=[cluster.service("shop", "web", ports=((443, "TCP", 8443), (80, "TCP", 8080)))])
    item = dict(namespace="shop", name="web", sources=["50.60.0.0/16"])
    common = dict(node_selector="k8s-role == 'node'", service_cidrs=["10.96.0.0/12"], pod_cidrs=["192.168.0.0/16"])
    assert not expose(config=[item], **common).failed
    spec = created[0]["spec"]
    service = dict(cluster_ips=spec["clusterIPs"], selector=spec["selector"],
                   ports=[dict(name=p["name"], port=p["port"], protocol=p["protocol"], target_port=p["targetPort"]) for p in spec["ports"]])
    nodes = k8s_api.objects("Node")
    addresses = sorted(set(a["address"] for n in nodes for a in n["status"]["addresses"] if a["type"] == "InternalIP")
                       | set(n["metadata"]["annotations"]["projectcalico.org/IPv4IPIPTunnelAddr"] for n in nodes))
    rendered = expose(config=[dict(item, service=service)], state="rendered", node_addresses=addresses, **common)
    assert not rendered.failed, rendered

    def shape(obj):
        meta = obj["metadata"]
        return (obj["kind"], meta.get("namespace"), meta["name"], meta.get("labels"), obj["spec"])

    written = [o for kind in ("GlobalNetworkPolicy", "NetworkPolicy", "GlobalNetworkSet") for o in k8s_api.objects(kind)]
    assert sorted(map(shape, rendered["rendered"]), key=str) == sorted(map(shape, written), key=str)
    assert any(o["kind"] == "GlobalNetworkSet" for o in rendered["rendered"])

    without = expose(config=[dict(item, service=service)], state="rendered", **common)
    assert not without.failed and "node_addresses not given" in output(without)
    assert not any(o["kind"] == "GlobalNetworkSet" for o in without["rendered"])


def test_node_addresses_are_only_for_rendered(k8s_api, expose):
    cluster.standard_cluster(k8s_api, services=[cluster.service("shop", "web")])
    k8s_api.clear_requests()
    result = expose(config=[dict(namespace="shop", name="web", sources=["50.60.0.0/16"])], node_addresses=["10.200.0.11"])
    assert result.failed and "node_addresses: only state=rendered takes them" in result["msg"]
    assert all_writes(k8s_api) == []
