"""Flow tables written from the SPEC, not from the evaluator, run against objects the collection created.

One dual-stack cluster: shop/frontend in cluster mode (10.96.0.40 and an IPv6 cluster IP, 443 -> 8443, backends on
node-1 and node-2), shop/edge in local mode (a LoadBalancer with externalTrafficPolicy Local, 80 -> 8080, backend on
node-2 only). The node HostEndpoints are created by calico_hostendpoint, either named (eth0) or all-interfaces ('*');
the policies by calico_clusterip_exposure. Each row says what must happen and, where the SPEC pins it, which policy
decides (a deny) or lets it through (an allow); a row is a statement about Calico, so the same table holds for both kinds of HostEndpoint unless marked.
"""

from __future__ import annotations

import pytest

from clusteredge_testworld.emulator import EmulatorServer
from integration import cluster
from integration.ansible_cli import ansible_env, run_module
from integration.conftest import EXPOSURE_MODULE, HEP_MODULE, persisted_writes

pytestmark = pytest.mark.integration

FLOW_MODULE = "clusteredge.calico.calico_flow_check"
RANGES = ("10.96.0.0/12", "fd00:10:96::/112")
FRONTEND_V4 = "10.96.0.40"
EDGE_V4 = "10.96.0.41"
V4_CLIENT, V6_CLIENT = "50.60.0.10", "2001:db8:50::10"
EDGE_CLIENT = "70.80.90.5"
STRANGER, V6_STRANGER = "203.0.113.9", "2001:db8:ffff::9"
ALLOW_IPS = "clusteredge-allow-cluster-ips"
DENY_RANGES = "clusteredge-deny-service-ranges"
HOST_TRAFFIC = "clusteredge-allow-traffic-hostendpoints"


def pod(name, node, app, v4, v6, port):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop", "labels": {"app": app}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "ports": [{"containerPort": port}]}]},
            "status": {"podIP": v4, "podIPs": [{"ip": v4}, {"ip": v6}]}}


def hep_items(kind):
    items = []
    for i in (1, 2, 3):
        ips = ["10.200.0.%d" % (10 + i), "192.168.%d.0" % i, "fd00:99::%d" % (10 + i)]
        items.append(dict(name="node-%d-%s" % (i, "eth0" if kind == "named" else "all"), node="node-%d" % i,
                          interface_name="eth0" if kind == "named" else "*", expected_ips=ips, labels={"k8s-role": "node"}))
    return items


@pytest.fixture(scope="module", params=["named", "*"], ids=["named-eth0", "all-interfaces"])
def world(request, tmp_path_factory):
    """The cluster, protected by the collection; yields (env, the frontend's IPv6 cluster IP, the HostEndpoint kind)."""
    with EmulatorServer(service_cidrs=RANGES) as api:
        api.seed([cluster.namespace("shop"), cluster.bgp_default(list(RANGES)), cluster.ippool("v6-pool", "fd00:192:168::/64")]
                 + [cluster.node(i, ipv6=True) for i in (1, 2, 3)]
                 + [pod("frontend-%d" % i, "node-%d" % i, "frontend", "192.168.%d.10" % i, "fd00:192:168::%d:10" % i, 8443) for i in (1, 2)]
                 + [pod("edge-2", "node-2", "edge", "192.168.2.20", "fd00:192:168::2:20", 8080),
                    pod("client", "node-3", "client", "192.168.3.30", "fd00:192:168::3:30", 9999)])
        frontend, _edge = cluster.create(api, [
            cluster.service("shop", "frontend", ports=((443, "TCP", 8443),), cluster_ip=FRONTEND_V4, dual_stack=True),
            cluster.service("shop", "edge", ports=((80, "TCP", 8080),), cluster_ip=EDGE_V4, svc_type="LoadBalancer", etp="Local")])
        env = ansible_env(api.url, tmp_path_factory.mktemp("flows"))
        exposed = run_module(env, EXPOSURE_MODULE, dict(config=[
            dict(namespace="shop", name="frontend", sources=["50.60.0.0/16", "2001:db8:50::/48"]),
            dict(namespace="shop", name="edge", sources=["70.80.90.0/24"])]))
        assert not exposed.failed, exposed
        assert dict((e["name"], e["mode"]) for e in exposed["exposures"]) == {"frontend": "cluster", "edge": "local"}
        created = run_module(env, HEP_MODULE, dict(config=hep_items(request.param)))
        assert not created.failed, created
        api.clear_requests()
        yield env, api, frontend["spec"]["clusterIPs"][1], request.param


def row(name, source, destination, port, node, expect, decided_by=None, protocol="TCP", only=None):
    return dict(name=name, source=source, destination=destination, port=port, node=node, expect=expect,
                decided_by=decided_by, protocol=protocol, only=only)


def table(frontend_v6):
    return [
        # SPEC §5.4 + §11: listed clients pass the pre-DNAT allow, through a node with a local backend and one without.
        row("listed v4 client via node-1 (local and remote backend)", V4_CLIENT, FRONTEND_V4, 443, "node-1", "allow", ALLOW_IPS),
        row("listed v4 client via node-3 (remote backend only)", V4_CLIENT, FRONTEND_V4, 443, "node-3", "allow", ALLOW_IPS),
        row("listed v6 client via node-2", V6_CLIENT, frontend_v6, 443, "node-2", "allow", ALLOW_IPS),
        # SPEC §5.2 (pre-DNAT has no default drop) and §13.9: only the explicit Deny of the ranges stops strangers.
        row("unlisted v4 client via node-1", STRANGER, FRONTEND_V4, 443, "node-1", "deny", DENY_RANGES),
        row("unlisted v6 client via node-3", V6_STRANGER, frontend_v6, 443, "node-3", "deny", DENY_RANGES),
        row("frontend's client to edge, not listed there", V4_CLIENT, EDGE_V4, 80, "node-2", "deny", DENY_RANGES),
        row("listed v4 client to a port the Service does not expose", V4_CLIENT, FRONTEND_V4, 8443, "node-1", "deny"),
        # SPEC §5.4 (local mode: kube-proxy still masquerades off-cluster clients to a cluster IP, so the host filters).
        row("edge's client via node-2 (its local backend)", EDGE_CLIENT, EDGE_V4, 80, "node-2", "allow", ALLOW_IPS),
        row("edge's client via node-1 (kube-proxy forwards to node-2)", EDGE_CLIENT, EDGE_V4, 80, "node-1", "allow", ALLOW_IPS),
        row("unlisted client to edge", STRANGER, EDGE_V4, 80, "node-2", "deny", DENY_RANGES),
        # SPEC §5.4 ServiceLoopPrevention / §11: an unallocated cluster IP stays closed.
        row("unlisted client to an unused cluster IP", STRANGER, "10.96.0.99", 443, "node-1", "deny"),
        # SPEC §6: SSH and the API server are inbound failsafes; §5.3: kubelet and BGP need the host-traffic policy.
        row("SSH to node-1", STRANGER, "10.200.0.11", 22, "node-1", "allow", "failsafe"),
        row("API server on node-2", STRANGER, "10.200.0.12", 6443, "node-2", "allow", "failsafe"),
        row("kubelet on node-3", STRANGER, "10.200.0.13", 10250, "node-3", "allow", HOST_TRAFFIC),
        row("SSH to node-1 over IPv6", V6_STRANGER, "fd00:99::11", 22, "node-1", "allow", "failsafe"),
        # The guide: "Allow traffic to the node (not nodePorts)".
        row("a NodePort-range port on node-1's own address", STRANGER, "10.200.0.11", 31234, "node-1", "deny", HOST_TRAFFIC),
        # SPEC §1.3: a '*' HostEndpoint's forward and pre-DNAT chains see pod traffic; the collection must keep it.
        row("in-cluster client pod to the frontend cluster IP", "pod:any", FRONTEND_V4, 443, "node-1", "allow"),
        row("in-cluster client pod to a frontend pod", "pod:any", "pod:shop/frontend", 443, "node-1", "allow"),
        # SPEC §5.3: with HostEndpoints the node's own egress needs an egress policy; failsafes (§6) hold regardless.
        row("node-1 sends to an outside registry", "node", "203.0.113.50", 443, "node-1", "allow", HOST_TRAFFIC),
        row("node-1 sends over IPv6", "node", "2001:db8:ffff::50", 443, "node-1", "allow", HOST_TRAFFIC),
        row("node-2 resolves names", "node", "203.0.113.53", 53, "node-2", "allow", "failsafe", protocol="UDP"),
        row("node-1 to node-2's kubelet", "node", "10.200.0.12", 10250, "node-1", "allow", HOST_TRAFFIC),
        row("node-3 to the frontend cluster IP (backends elsewhere)", "node", FRONTEND_V4, 443, "node-3", "allow"),
        # SPEC §1.3: '*' covers lo; a named eth0 HostEndpoint leaves lo alone.
        row("node-1 to its own kubelet healthz on lo", "node", "127.0.0.1", 10248, "node-1", "allow", HOST_TRAFFIC, only="*"),
        row("node-1 to its own kubelet healthz on lo", "node", "127.0.0.1", 10248, "node-1", "allow", "Calico does not police it",
            only="named"),
    ]


def test_flow_table_holds_on_the_collections_objects(world):
    env, api, frontend_v6, kind = world
    rows = [r for r in table(frontend_v6) if r["only"] in (None, kind)]
    flows = [dict(name=r["name"], source=r["source"], destination=r["destination"], port=r["port"], protocol=r["protocol"],
                  ingress_node=r["node"], interface="eth0", expect=r["expect"]) for r in rows]
    result = run_module(env, FLOW_MODULE, dict(flows=flows))
    assert not result.failed, result["msg"]
    assert result["checked"] == len(rows) >= 24
    for expected, got in zip(rows, result["flows"]):
        if expected["decided_by"]:
            # A deny names its deciding rule; an allow must pass through the named policy (the pod's own policy may come last).
            field = "decided_by" if expected["expect"] == "deny" else "explanation"
            assert all(expected["decided_by"] in v[field] for v in got["verdicts"]), (expected["name"], got["verdicts"])
    assert persisted_writes(api) == [], "checking flows never writes"


def test_wildcard_hostendpoints_police_pod_traffic_and_loopback(world):
    """What makes '*' different (SPEC §1.3): the pod-to-pod path meets the HostEndpoint's pre-DNAT chain, and lo is policed."""
    env, _api, _v6, kind = world
    result = run_module(env, FLOW_MODULE, dict(flows=[
        dict(name="pod to pod", source="pod:any", destination="pod:shop/frontend", port=443, ingress_node="node-1"),
        dict(name="lo", source="node", destination="127.0.0.1", port=10248, ingress_node="node-1")]))
    assert not result.failed, result
    pod_path, loopback = (r["verdicts"][0]["explanation"] for r in result["flows"])
    if kind == "*":
        assert "node-3-all" in pod_path and "pre-DNAT: allow" in pod_path, pod_path
        assert "HostEndpoint node-1-all governs lo" in loopback and "TCP 127.0.0.1 -> 127.0.0.1:10248" in loopback, loopback
    else:
        assert "no HostEndpoint governs cali+" in pod_path, pod_path
        assert "no HostEndpoint governs lo" in loopback, loopback
