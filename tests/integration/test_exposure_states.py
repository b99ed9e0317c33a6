"""calico_clusterip_exposure end to end against the emulator: cluster mode, states, idempotence, check mode."""

from __future__ import annotations

import json

import pytest

from integration import cluster
from integration.conftest import all_writes, persisted_writes

pytestmark = pytest.mark.integration

OWNER = {"clusteredge.calico/owner": "clusteredge.calico", "clusteredge.calico/component": "clusterip-exposure"}


def policies(api):
    return {o["metadata"]["name"]: o for o in api.objects("GlobalNetworkPolicy")}


def pod_policies(api):
    return {"%s/%s" % (o["metadata"]["namespace"], o["metadata"]["name"]): o for o in api.objects("NetworkPolicy")}


def services(api):
    return {"%s/%s" % (o["metadata"]["namespace"], o["metadata"]["name"]): o for o in api.objects("Service")}


@pytest.fixture
def shop(k8s_api):
    created = cluster.standard_cluster(k8s_api, services=[
        cluster.service("shop", "frontend", ports=((80, "TCP", 8080), (443, "TCP", 8443))),
        cluster.service("shop", "api", ports=((8080, "TCP", "http-api"),)),
        cluster.service("shop", "cache", ports=((6379, "TCP", 6379),)),
    ])
    k8s_api.clear_requests()  # the tests look at what the module sends, not at this set-up
    return {"%s/%s" % (s["metadata"]["namespace"], s["metadata"]["name"]): s["spec"]["clusterIP"] for s in created}


def test_cluster_mode_creates_host_and_pod_policies_and_pins(k8s_api, expose, shop):
    result = expose(config=[dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"], ports=[443]),
                            dict(namespace="shop", name="api", sources=["70.80.90.0/24"])], state="merged")
    assert result["changed"] is True, result
    gnps = policies(k8s_api)
    assert sorted(gnps) == ["clusteredge-allow-cluster-ips", "clusteredge-allow-from-cluster", "clusteredge-allow-to-pods",
                            "clusteredge-allow-traffic-hostendpoints", "clusteredge-deny-service-ranges"]
    for gnp in gnps.values():
        assert gnp["metadata"]["labels"] == OWNER
        assert gnp["spec"]["selector"] == "clusteredge.calico/owner == 'clusteredge.calico'", "never all()"
        assert "order" in gnp["spec"], "every policy has an explicit order"
    allow = gnps["clusteredge-allow-cluster-ips"]["spec"]
    assert allow["preDNAT"] is True and allow["applyOnForward"] is True and allow["types"] == ["Ingress"]
    assert allow["ingress"] == [
        {"action": "Allow", "protocol": "TCP", "source": {"nets": ["70.80.90.0/24"]},
         "destination": {"nets": [shop["shop/api"] + "/32"], "ports": [8080]},
         "metadata": {"annotations": {"clusteredge.calico/service": "shop/api"}}},
        {"action": "Allow", "protocol": "TCP", "source": {"nets": ["50.60.0.0/16"]},
         "destination": {"nets": [shop["shop/frontend"] + "/32"], "ports": [443]},
         "metadata": {"annotations": {"clusteredge.calico/service": "shop/frontend"}}},
    ]
    deny = gnps["clusteredge-deny-service-ranges"]["spec"]
    assert deny["ingress"] == [{"action": "Deny", "destination": {"nets": ["10.96.0.0/12"]}}]
    assert deny["order"] > allow["order"], "allows decide before the deny"
    host = gnps["clusteredge-allow-traffic-hostendpoints"]["spec"]
    assert host["types"] == ["Ingress", "Egress"] and host["egress"] == [{"action": "Allow"}]
    assert "preDNAT" not in host or host["preDNAT"] is False

    pod = pod_policies(k8s_api)
    assert sorted(pod) == ["shop/clusteredge-allow-svc-api", "shop/clusteredge-allow-svc-frontend"]
    frontend = pod["shop/clusteredge-allow-svc-frontend"]["spec"]
    assert frontend["selector"] == "app == 'frontend'"
    assert [r["destination"]["ports"] for r in frontend["ingress"]] == [[8443]] * 4, "target port of service port 443 only"
    assert [r["source"] for r in frontend["ingress"]] == [
        {"selector": "clusteredge.calico/owner == 'clusteredge.calico'", "namespaceSelector": "global()"},
        {"selector": "clusteredge.calico/node-addresses == 'clusteredge'", "namespaceSelector": "global()"},
        {"nets": ["50.60.0.0/16"]},
        {"nets": ["192.168.0.0/16"]},  # in-cluster clients, by default
    ]
    node_set = k8s_api.objects("GlobalNetworkSet")
    assert [s["metadata"]["name"] for s in node_set] == ["clusteredge-node-addresses"]
    assert node_set[0]["spec"]["nets"] == ["10.200.0.11/32", "10.200.0.12/32", "10.200.0.13/32",
                                           "192.168.1.0/32", "192.168.2.0/32", "192.168.3.0/32"]
    api_policy = pod["shop/clusteredge-allow-svc-api"]["spec"]
    assert api_policy["ingress"][0]["destination"]["ports"] == ["http-api"], "named target ports are used by name"

    annotations = services(k8s_api)["shop/frontend"]["metadata"]["annotations"]
    assert annotations["clusteredge.calico/pinned-cluster-ips"] == shop["shop/frontend"]
    assert "clusteredge.calico/pinned-cluster-ips" not in (services(k8s_api)["shop/cache"]["metadata"].get("annotations") or {})
    assert [e["name"] for e in result["exposures"]] == ["api", "frontend"]
    assert result["service_ranges"] == ["10.96.0.0/12"] and result["service_ranges_source"] == "ServiceCIDR"


def test_a_second_run_reads_each_kind_once_and_writes_nothing(k8s_api, expose, shop):
    config = [dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"])]
    expose(config=config)
    k8s_api.clear_requests()
    again = expose(config=config)
    assert again["changed"] is False, again
    assert all_writes(k8s_api) == []
    reads = [r for r in k8s_api.requests if r["method"] == "GET" and not r["path"].startswith(("/_emulator", "/version", "/api?"))
             and r["path"] not in ("/api", "/apis")]
    paths = [r["path"] for r in reads]
    assert len(paths) == len(set(paths)), "each kind is read once: %s" % paths
    assert sorted(paths) == sorted([
        "/apis/projectcalico.org/v3", "/api/v1/namespaces", "/api/v1/services", "/api/v1/nodes",
        "/apis/projectcalico.org/v3/globalnetworkpolicies", "/apis/projectcalico.org/v3/networkpolicies",
        "/apis/projectcalico.org/v3/globalnetworksets", "/apis/projectcalico.org/v3/hostendpoints",
        "/apis/projectcalico.org/v3/felixconfigurations", "/apis/projectcalico.org/v3/ippools",
        "/apis/projectcalico.org/v3/bgpconfigurations/default", "/apis/networking.k8s.io/v1/servicecidrs",
        # The Calico profile: the release (how names read back, support) from ClusterInformation, once per call.
        "/apis/projectcalico.org/v3/clusterinformations/default"])


def test_merged_adds_sources_replaced_sets_them_overridden_removes_unlisted(k8s_api, expose, shop):
    expose(config=[dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"]),
                   dict(namespace="shop", name="api", sources=["70.80.90.0/24"])])
    merged = expose(config=[dict(namespace="shop", name="frontend", sources=["50.61.0.0/16"])], state="merged")
    frontend = [e for e in merged["after"] if e["name"] == "frontend"][0]
    assert frontend["sources"] == ["50.60.0.0/16", "50.61.0.0/16"]
    replaced = expose(config=[dict(namespace="shop", name="frontend", sources=["50.62.0.0/16"])], state="replaced")
    assert [e["sources"] for e in replaced["after"]] == [["70.80.90.0/24"], ["50.62.0.0/16"]]
    overridden = expose(config=[dict(namespace="shop", name="api", sources=["70.80.90.0/24"])], state="overridden")
    assert [e["name"] for e in overridden["after"]] == ["api"]
    assert "NetworkPolicy/shop/clusteredge-allow-svc-frontend" in overridden["changes"]["deleted"]
    assert "shop/clusteredge-allow-svc-frontend" not in pod_policies(k8s_api)
    assert "clusteredge.calico/pinned-cluster-ips" not in (services(k8s_api)["shop/frontend"]["metadata"].get("annotations") or {})
    gathered = expose(state="gathered")
    assert gathered["gathered"] == [dict(namespace="shop", name="api", sources=["70.80.90.0/24"], ports=None,
                                         cluster_ip=shop["shop/api"], mode="auto", allow_cluster_clients=True, allow_any_source=False)]


def test_check_mode_predicts_with_dry_runs_and_persists_nothing(k8s_api, expose, shop):
    result = expose(config=[dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"])], check=True)
    assert result["changed"] is True
    assert len(result["changes"]["created"]) == 7 and result["changes"]["updated"] == ["Service/shop/frontend"]
    assert all(w["dry_run"] for w in all_writes(k8s_api)) and persisted_writes(k8s_api) == []
    assert policies(k8s_api) == {} and pod_policies(k8s_api) == {} and k8s_api.objects("GlobalNetworkSet") == []


def test_writes_allows_before_the_deny_and_removes_the_deny_first(k8s_api, expose, shop):
    expose(config=[dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"])])
    creates = [r["body"]["metadata"]["name"] for r in all_writes(k8s_api) if r["method"] == "POST"]
    assert creates.index("clusteredge-deny-service-ranges") == len(creates) - 1, creates
    k8s_api.clear_requests()
    expose(state="deleted")
    deletes = [r["path"].rsplit("/", 1)[-1] for r in all_writes(k8s_api) if r["method"] == "DELETE"]
    assert deletes[0] == "clusteredge-deny-service-ranges", deletes
    assert policies(k8s_api) == {} and pod_policies(k8s_api) == {} and k8s_api.objects("GlobalNetworkSet") == []


def test_deleting_the_host_policy_is_refused_while_node_hostendpoints_exist(k8s_api, expose, hep, shop):
    expose(config=[dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"])])
    hep(config=[cluster.node_hep_item(1)])
    k8s_api.clear_requests()
    refused = expose(state="deleted")
    assert refused.failed
    assert "node-1-eth0" in refused["msg"] and "Delete the HostEndpoints first" in refused["msg"]
    assert all_writes(k8s_api) == []
    hep(state="deleted")
    assert not expose(state="deleted").failed


def test_diff_lists_the_changed_policies(k8s_api, expose, shop):
    expose(config=[dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"])])
    result = expose(config=[dict(namespace="shop", name="frontend", sources=["50.61.0.0/16"])], state="replaced", diff=True)
    assert "GlobalNetworkPolicy/clusteredge-allow-cluster-ips" in result.stdout
    lines = [line.replace(" ", "") for line in result.stdout.splitlines()]
    assert '-"50.60.0.0/16"' in lines and '+"50.61.0.0/16"' in lines


def test_records_survive_as_annotations_a_person_can_read(k8s_api, expose, shop):
    expose(config=[dict(namespace="shop", name="api", sources=["70.80.90.0/24"], ports=["p8080"])])
    record = json.loads(pod_policies(k8s_api)["shop/clusteredge-allow-svc-api"]["metadata"]["annotations"]["clusteredge.calico/exposure"])
    assert record["cluster_ips"] == [shop["shop/api"]] and record["ports"] == ["p8080"] and record["uid"]


def test_adopt_survives_a_conflict_on_the_adopted_policy(k8s_api, expose, shop):
    """With adopt=true a 409 on a hand-made policy is re-applied with adopt still on (it used to fail "set adopt=true").

    Both runners now write through the one applier, which re-plans a conflict with the caller's own `adopt`.
    """
    config = [dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"], ports=[443])]
    expose(config=config)
    hand_made = policies(k8s_api)["clusteredge-allow-cluster-ips"]
    hand_made["metadata"]["labels"] = {"team": "network"}  # a policy of the same name that nobody owns
    k8s_api.state.objects[next(k for k in k8s_api.state.objects if k[2] == "globalnetworkpolicies"
                               and k[4] == "clusteredge-allow-cluster-ips")] = hand_made
    refused = expose(config=config)
    assert refused.failed and "adopt" in refused["msg"], refused

    gnps = "/apis/projectcalico.org/v3/globalnetworkpolicies"
    k8s_api.inject_fault(method="PUT", path=gnps + "/clusteredge-allow-cluster-ips$", status=409, another_writer=True,
                         mutate={"metadata": {"annotations": {"edited-by": "someone"}}})
    adopted = expose(config=config, adopt=True)
    assert not adopted.failed, adopted
    assert "GlobalNetworkPolicy/clusteredge-allow-cluster-ips" in adopted["changes"]["updated"]
    assert policies(k8s_api)["clusteredge-allow-cluster-ips"]["metadata"]["labels"] == OWNER
    assert [r for r in k8s_api.requests if r["method"] == "PUT" and r["path"].endswith("/clusteredge-allow-cluster-ips")
            and r["status"] == 409], "the conflict really happened"
