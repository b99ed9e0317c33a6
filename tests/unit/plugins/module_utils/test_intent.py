"""The flows the role's verify step checks (plugins/module_utils/_core/model/intent.py)."""

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import intent as i

EXPOSURE = dict(namespace="shop", name="frontend", cluster_ips=["10.96.0.40"], sources=["50.60.0.0/16"],
                ports=[dict(port=443, protocol="TCP")], allow_cluster_clients=False)
NODES = [dict(name="node-%d" % n, internal_ips=["10.200.0.%d" % (10 + n)]) for n in range(1, 6)]


def entered_through(flows, word):
    return sorted(set(f["ingress_node"] for f in flows if word in f["name"]))


def test_spread_keeps_the_ends_and_spaces_the_rest():
    assert i.spread(list("abcdefghij"), 3) == ["a", "f", "j"]
    assert i.spread(list("abc"), 1) == ["a"]
    assert i.spread(list("abc"), 0) == list("abc") == i.spread(list("abc"), 7)


def test_service_flows_go_through_the_sample_node_flows_through_every_node():
    flows = i.intent_flows([EXPOSURE], NODES, nodes_per_service=2)
    assert entered_through(flows, "listed") == ["node-1", "node-5"]
    assert entered_through(flows, "unlisted") == ["node-1", "node-5"]
    assert entered_through(flows, " ssh ") == ["node-%d" % n for n in range(1, 6)]
    assert entered_through(flows, "egress") == ["node-%d" % n for n in range(1, 6)]


def test_every_node_sends_out_and_to_the_next_nodes_kubelet():
    flows = i.intent_flows([EXPOSURE], NODES[:2])
    egress = [f for f in flows if f["source"] == "node"]
    assert [(f["ingress_node"], f["destination"], f["port"]) for f in egress] == [
        ("node-1", i.OUTSIDE[4], 443), ("node-1", "10.200.0.12", 10250), ("node-2", i.OUTSIDE[4], 443), ("node-2", "10.200.0.11", 10250)]
    assert all(f["expect"] == "allow" and f["interface"] == "eth0" for f in egress)
    assert len([f for f in i.intent_flows([EXPOSURE], NODES[:1]) if f["source"] == "node"]) == 1, "a lone node has no peer"
