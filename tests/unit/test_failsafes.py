"""Effective failsafe ports per node, layered as Felix layers FelixConfiguration (SPEC.md §6; SPEC-3.29-3.32 §9.7)."""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._cluster_info import effective_failsafes, failsafe_gaps


def node(name, **labels):
    return {"metadata": {"name": name, "labels": labels}}


def felix(name, created="2026-01-01T00:00:00Z", **spec):
    return {"metadata": {"name": name, "creationTimestamp": created}, "spec": spec}


def ports(entries):
    return sorted((e["protocol"], e["port"]) for e in entries)


NO_SSH = [{"protocol": "tcp", "port": 6443}]


def test_defaults_when_nothing_is_configured():
    result = effective_failsafes([], [node("n1")])
    assert ("tcp", 22) in ports(result["inbound"][0]) and result["inbound"][1] == "Felix defaults"
    assert result["per_node"] == {}


def test_a_selector_scoped_configuration_changes_the_nodes_it_selects():
    """§9.7: 3.32 FelixConfiguration spec.nodeSelector applies to matching nodes; reading default alone misses it."""
    configs = [felix("default"), felix("edge-nodes", nodeSelector="role == 'edge'", failsafeInboundHostPorts=NO_SSH)]
    result = effective_failsafes(configs, [node("n1", role="edge"), node("n2", role="core")])
    assert set(result["per_node"]) == {"n1"}
    assert ports(result["per_node"]["n1"]["inbound"][0]) == [("tcp", 6443)]
    assert result["per_node"]["n1"]["inbound"][1] == "FelixConfiguration edge-nodes (selects the node)"
    gaps = failsafe_gaps(result, 6443)
    assert gaps == ["inbound failsafe ports on node n1 (FelixConfiguration edge-nodes (selects the node)) do not cover SSH (tcp:22)"]


def test_node_specific_configuration_wins_over_a_selector_and_the_oldest_selector_wins():
    """§9.7: precedence node.<name> > selector-scoped > default; with several matches the oldest wins."""
    configs = [
        felix("default"),
        felix("newer", created="2026-03-01T00:00:00Z", nodeSelector="all()", failsafeInboundHostPorts=[{"protocol": "tcp", "port": 1}]),
        felix("older", created="2026-02-01T00:00:00Z", nodeSelector="all()", failsafeInboundHostPorts=[{"protocol": "tcp", "port": 2}],
              failsafeOutboundHostPorts=[{"protocol": "udp", "port": 53}]),
        felix("node.n2", failsafeInboundHostPorts=[{"protocol": "tcp", "port": 22}]),
    ]
    result = effective_failsafes(configs, [node("n1"), node("n2")])
    assert ports(result["per_node"]["n1"]["inbound"][0]) == [("tcp", 2)]
    assert ports(result["per_node"]["n2"]["inbound"][0]) == [("tcp", 22)]
    # Field by field: node.n2 sets no outbound ports, so the selector-scoped value holds there.
    assert ports(result["per_node"]["n2"]["outbound"][0]) == [("udp", 53)]


def test_bare_names_and_unparsable_selectors_select_nothing():
    configs = [felix("broken", nodeSelector="role ==", failsafeInboundHostPorts=NO_SSH), felix("x", nodeSelector="all()", failsafeInboundHostPorts=NO_SSH)]
    assert effective_failsafes(configs[:1], [node("n1")])["per_node"] == {}
    assert effective_failsafes(configs, ["n1"])["per_node"] == {}
