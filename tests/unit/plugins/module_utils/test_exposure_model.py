"""Pieces of the pure exposure model: Service-level state algebra, sticky rule placement, pins, failsafes."""

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import params as xp
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import render as xr
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import resolve as xs
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import nodes


def record(name, sources, ports=None, ips=("10.96.0.10",), uid="u1"):
    return dict(namespace="shop", name=name, uid=uid, cluster_ips=list(ips), sources=list(sources), ports=ports,
                mode="auto", allow_cluster_clients=True, allow_any_source=False)


def item(name, sources=None, ports=None, **extra):
    base = dict(namespace="shop", name=name, sources=sources, ports=ports, cluster_ip=None, mode=None,
                allow_cluster_clients=None, allow_any_source=False, repin=False)
    base.update(extra)
    return base


CURRENT = {"shop/a": record("a", ["50.60.0.0/16"], ports=[80]), "shop/b": record("b", ["70.80.90.0/24"])}


def test_merged_unions_sources_and_ports_and_keeps_unlisted_services():
    target = xp.target_items("merged", [item("a", ["50.61.0.0/16"], ports=[443])], CURRENT)
    assert sorted(target) == ["shop/a", "shop/b"]
    assert target["shop/a"]["sources"] == ["50.60.0.0/16", "50.61.0.0/16"]
    assert target["shop/a"]["ports"] == [80, 443]
    assert target["shop/b"]["cluster_ip"] is None, "a kept record's old pin is not enforced as an expectation"


def test_merged_with_all_ports_on_either_side_exposes_all():
    assert xp.target_items("merged", [item("a", ["50.60.0.0/16"])], CURRENT)["shop/a"]["ports"] is None


def test_replaced_overridden_and_deleted():
    assert xp.target_items("replaced", [item("a", ["1.2.3.0/24"])], CURRENT)["shop/a"]["sources"] == ["1.2.3.0/24"]
    assert sorted(xp.target_items("overridden", [item("c", ["1.2.3.0/24"])], CURRENT)) == ["shop/c"]
    assert sorted(xp.target_items("deleted", [item("a")], CURRENT)) == ["shop/b"]
    assert xp.target_items("deleted", [], CURRENT) == {}


def test_sticky_placement_never_moves_existing_rules():
    groups = [("shop/s%03d" % i, [object()]) for i in range(150)]
    first = xr.assign_chunks(groups, {})
    assert sorted(set(first.values())) == [0, 1] and list(first.values()).count(0) == 100
    # A Service that sorts first arrives: nothing already placed moves, it goes where there is room.
    grown = [("shop/a-new", [object()])] + groups
    second = xr.assign_chunks(grown, first)
    assert all(second[key] == first[key] for key in first)
    assert second["shop/a-new"] == 1
    # Removing Services frees room in their chunk without touching other chunks.
    shrunk = [g for g in grown if g[0] != "shop/s000"]
    assert all(xr.assign_chunks(shrunk, second)[k] == second[k] for k, _rules in shrunk)


def test_chunks_in_use_reads_rule_annotations_of_each_chunk():
    def chunk(name, keys):
        rules = [{"metadata": {"annotations": {xp.RULE_SERVICE_ANNOTATION: k}}} for k in keys]
        return {"metadata": {"name": name}, "spec": {"ingress": rules}}

    live = [chunk("p-allow-cluster-ips", ["shop/a"]), chunk("p-allow-cluster-ips-3", ["shop/b"]), chunk("p-allow-to-pods", ["shop/c"])]
    assert xr.chunks_in_use(live, "p") == {"shop/a": 0, "shop/b": 2}


def test_reused_ip_fails_unless_the_stale_exposure_goes_or_repin():
    owners = {"10.96.0.10": "shop/other"}
    problems = xs.reuse_problems({"shop/a": record("a", ["50.60.0.0/16"])}, {"shop/a"}, owners, {})
    assert len(problems) == 1 and "10.96.0.10 was exposed for shop/a" in problems[0] and "now belongs to shop/other" in problems[0]
    assert xs.reuse_problems({"shop/a": record("a", ["50.60.0.0/16"])}, set(), owners, {}) == []
    assert xs.reuse_problems({"shop/a": record("a", ["50.60.0.0/16"])}, {"shop/a"}, owners, {"shop/a": {"repin": True}}) == []


def resolved(key="shop/a", cluster_ips=("10.96.0.10",), uid="uid-a", ports=()):
    """A resolved exposure with what the rules below read; the rest as resolve() would fill it for a plain Service."""
    namespace, name = key.split("/")
    return xs.Exposure(key=key, namespace=namespace, name=name, uid=uid, mode="cluster", type="ClusterIP",
                       cluster_ips=list(cluster_ips), ip_by_family=dict((xp.family(ip), ip) for ip in cluster_ips),
                       sources={4: ["50.60.0.0/16"], 6: []}, source_list=["50.60.0.0/16"], ports=list(ports), port_refs=None,
                       pod_selector="app == 'a'", allow_cluster_clients=True, allow_any_source=False)


def test_failsafe_service_ports_are_refused_unless_accepted():
    exposure = resolved(ports=[dict(port=22, protocol="TCP"), dict(port=80, protocol="TCP"), dict(port=68, protocol="UDP")])
    failsafes = {("tcp", 22): "Felix defaults", ("udp", 68): "Felix defaults", ("tcp", 6443): "Felix defaults"}
    problems = xs.failsafe_problems(exposure, {}, failsafes)
    assert [p.split(" is a")[0] for p in problems] == ["service port 22/TCP", "service port 68/UDP"]
    assert xs.failsafe_problems(exposure, {"allow_failsafe_ports": True}, failsafes) == []


def test_node_addresses_include_tunnels_and_drop_prefix_lengths():
    node = {"metadata": {"annotations": {"projectcalico.org/IPv4Address": "10.99.0.11/24",
                                         "projectcalico.org/IPv4VXLANTunnelAddr": "192.168.7.1",
                                         "projectcalico.org/IPv6Address": "FD00::11/64"}},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.99.0.11"}, {"type": "Hostname", "address": "n1"}]}}
    assert nodes.node_addresses(node) == ["10.99.0.11", "fd00::11", "192.168.7.1"]


def node_object(name, *addresses, annotations=None):
    return {"metadata": {"name": name, "annotations": annotations or {}},
            "status": {"addresses": [{"type": "InternalIP", "address": a} for a in addresses]}}


def test_a_node_address_inside_a_service_range_is_refused_because_the_deny_would_cut_the_node():
    nodes = [node_object("n1", "10.0.0.1"), node_object("n2", "10.96.0.7"),
             node_object("n3", "10.0.0.3", annotations={"projectcalico.org/IPv4IPIPTunnelAddr": "10.96.1.1"})]
    problems = xs.nodes_inside_service_ranges(nodes, ["10.96.0.0/12", "fd00:96::/108"])
    assert [p.split(":")[0] for p in problems] == ["node n2 has address 10.96.0.7 inside the service range 10.96.0.0/12",
                                                   "node n3 has address 10.96.1.1 inside the service range 10.96.0.0/12"]
    assert xs.nodes_inside_service_ranges(nodes, ["172.20.0.0/16"]) == []


def test_missing_or_overlapping_ranges_are_refused():
    assert xs.range_problems(["10.96.0.0/12"], ["192.168.0.0/16"]) == []
    problems = xs.range_problems([], [])
    assert problems[0].startswith("service_cidrs: no service cluster IP range found") and problems[1].startswith("pod_cidrs: no IPPool")
    assert xs.range_problems(["10.96.0.0/12"], ["10.96.0.0/16"]) == ["pod_cidrs: pod range 10.96.0.0/16 overlaps service range 10.96.0.0/12"]


def test_service_ranges_come_from_the_parameter_then_servicecidrs_then_the_bgp_configuration():
    bgp = {"spec": {"serviceClusterIPs": [{"cidr": "10.96.0.0/12"}]}}
    service_cidrs = [{"spec": {"cidrs": ["10.100.0.0/16", "fd00:100::/108"]}}]
    assert xs.discover_service_ranges(["10.1.0.0/16"], service_cidrs, bgp) == (["10.1.0.0/16"], "given")
    assert xs.discover_service_ranges(None, service_cidrs, bgp) == (["10.100.0.0/16", "fd00:100::/108"], "ServiceCIDR")
    assert xs.discover_service_ranges(None, [], bgp) == (["10.96.0.0/12"], "BGPConfiguration default")
    assert xs.discover_service_ranges(None, [], None) == ([], None)


def test_pod_ranges_are_every_pool_serving_workloads_even_disabled_ones():
    pools = [{"spec": {"cidr": "192.168.0.0/16", "disabled": True}}, {"spec": {"cidr": "10.244.0.0/16", "allowedUses": ["Tunnel"]}},
             {"spec": {"cidr": "fd00:244::/64", "allowedUses": ["Workload"]}}]
    assert xs.discover_pod_ranges(None, pools) == ["192.168.0.0/16", "fd00:244::/64"]
    assert xs.discover_pod_ranges(["10.0.0.0/8"], pools) == ["10.0.0.0/8"]


def test_a_recreated_service_is_reported_as_re_pinned():
    current = {"shop/a": dict(record("a", ["50.60.0.0/16"]), uid="uid-a")}
    assert xs.recreated_warnings(current, [resolved(uid="uid-a")]) == []
    warnings = xs.recreated_warnings(current, [resolved(cluster_ips=("10.96.0.99",), uid="uid-b")])
    assert warnings == ["Service shop/a was recreated (cluster IPs 10.96.0.10, now 10.96.0.99): its exposure is re-pinned"]


def test_cluster_ips_outside_the_advertised_ranges_are_reported():
    where = "config[0] (Service {})".format
    assert xs.unadvertised_problems([resolved()], ["10.96.0.0/12"], where) == []
    problems = xs.unadvertised_problems([resolved()], [], where)
    assert len(problems) == 1 and problems[0].startswith("config[0] (Service shop/a): cluster IP 10.96.0.10 of Service shop/a is "
                                                         "outside every serviceClusterIPs range of BGPConfiguration default (none configured)")


def test_the_host_traffic_policy_is_not_deleted_while_selected_hostendpoints_exist():
    heps = [{"metadata": {"name": "n1-eth0", "labels": {"k8s-role": "node"}}}, {"metadata": {"name": "other", "labels": {}}}]
    problem = xs.host_policy_delete_problem(heps, "k8s-role == 'node'")
    assert problem.startswith("the host-traffic policy cannot be deleted while HostEndpoints it keeps usable still exist (n1-eth0)")
    assert xs.host_policy_delete_problem(heps[1:], "k8s-role == 'node'") is None
