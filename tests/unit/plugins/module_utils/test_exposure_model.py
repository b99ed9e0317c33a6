"""Pieces of the pure exposure model: Service-level state algebra, sticky rule placement, pins, failsafes."""

from ansible_collections.clusteredge.calico.plugins.module_utils import _exposure as x


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
    target = x.target_items("merged", [item("a", ["50.61.0.0/16"], ports=[443])], CURRENT)
    assert sorted(target) == ["shop/a", "shop/b"]
    assert target["shop/a"]["sources"] == ["50.60.0.0/16", "50.61.0.0/16"]
    assert target["shop/a"]["ports"] == [80, 443]
    assert target["shop/b"]["cluster_ip"] is None, "a kept record's old pin is not enforced as an expectation"


def test_merged_with_all_ports_on_either_side_exposes_all():
    assert x.target_items("merged", [item("a", ["50.60.0.0/16"])], CURRENT)["shop/a"]["ports"] is None


def test_replaced_overridden_and_deleted():
    assert x.target_items("replaced", [item("a", ["1.2.3.0/24"])], CURRENT)["shop/a"]["sources"] == ["1.2.3.0/24"]
    assert sorted(x.target_items("overridden", [item("c", ["1.2.3.0/24"])], CURRENT)) == ["shop/c"]
    assert sorted(x.target_items("deleted", [item("a")], CURRENT)) == ["shop/b"]
    assert x.target_items("deleted", [], CURRENT) == {}


def test_sticky_placement_never_moves_existing_rules():
    groups = [("shop/s%03d" % i, [object()]) for i in range(150)]
    first = x.assign_chunks(groups, {})
    assert sorted(set(first.values())) == [0, 1] and list(first.values()).count(0) == 100
    # A Service that sorts first arrives: nothing already placed moves, it goes where there is room.
    grown = [("shop/a-new", [object()])] + groups
    second = x.assign_chunks(grown, first)
    assert all(second[key] == first[key] for key in first)
    assert second["shop/a-new"] == 1
    # Removing Services frees room in their chunk without touching other chunks.
    shrunk = [g for g in grown if g[0] != "shop/s000"]
    assert all(x.assign_chunks(shrunk, second)[k] == second[k] for k, _rules in shrunk)


def test_chunks_in_use_reads_rule_annotations_of_each_chunk():
    def chunk(name, keys):
        rules = [{"metadata": {"annotations": {x.RULE_SERVICE_ANNOTATION: k}}} for k in keys]
        return {"metadata": {"name": name}, "spec": {"ingress": rules}}

    live = [chunk("p-allow-cluster-ips", ["shop/a"]), chunk("p-allow-cluster-ips-3", ["shop/b"]), chunk("p-allow-to-pods", ["shop/c"])]
    assert x.chunks_in_use(live, "p") == {"shop/a": 0, "shop/b": 2}


def test_reused_ip_fails_unless_the_stale_exposure_goes_or_repin():
    owners = {"10.96.0.10": "shop/other"}
    problems = x.reuse_problems({"shop/a": record("a", ["50.60.0.0/16"])}, {"shop/a"}, owners, {})
    assert len(problems) == 1 and "10.96.0.10 was exposed for shop/a" in problems[0] and "now belongs to shop/other" in problems[0]
    assert x.reuse_problems({"shop/a": record("a", ["50.60.0.0/16"])}, set(), owners, {}) == []
    assert x.reuse_problems({"shop/a": record("a", ["50.60.0.0/16"])}, {"shop/a"}, owners, {"shop/a": {"repin": True}}) == []


def test_failsafe_service_ports_are_refused_unless_accepted():
    exposure = {"ports": [dict(port=22, protocol="TCP"), dict(port=80, protocol="TCP"), dict(port=68, protocol="UDP")]}
    failsafes = {("tcp", 22): "Felix defaults", ("udp", 68): "Felix defaults", ("tcp", 6443): "Felix defaults"}
    problems = x.failsafe_problems(exposure, {}, failsafes)
    assert [p.split(" is a")[0] for p in problems] == ["service port 22/TCP", "service port 68/UDP"]
    assert x.failsafe_problems(exposure, {"allow_failsafe_ports": True}, failsafes) == []


def test_node_addresses_include_tunnels_and_drop_prefix_lengths():
    node = {"metadata": {"annotations": {"projectcalico.org/IPv4Address": "10.99.0.11/24",
                                         "projectcalico.org/IPv4VXLANTunnelAddr": "192.168.7.1",
                                         "projectcalico.org/IPv6Address": "FD00::11/64"}},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.99.0.11"}, {"type": "Hostname", "address": "n1"}]}}
    assert x.node_addresses(node) == ["10.99.0.11", "fd00::11", "192.168.7.1"]
