"""Effective failsafe ports per node, layered as Felix layers FelixConfiguration (SPEC.md §6; SPEC-3.29-3.32 §9.7)."""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.cluster import effective_failsafes, failsafe_gaps


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


# -- automatic HostEndpoints (SPEC.md §1.5; SPEC-3.29-3.32 §8) ----------------------------------------------------

AUTO = {"projectcalico.org/created-by": "calico-kube-controllers"}


def hep(name, node, interface=None, ips=(), auto=False):
    spec = {"node": node, "expectedIPs": list(ips)}
    if interface is not None:
        spec["interfaceName"] = interface
    labels = dict(AUTO) if auto else {"clusteredge.calico/owner": "clusteredge.calico"}
    return {"metadata": {"name": name, "labels": labels}, "spec": spec}


def kcc(**host_endpoint):
    return {"metadata": {"name": "default"}, "spec": {"controllers": {"node": {"hostEndpoint": dict(autoCreate="Enabled", **host_endpoint)}}}}


def test_template_hostendpoints_are_told_apart_and_a_competing_one_is_named():
    """§8.2: templates without interfacePattern bind by address (empty interfaceName), with it one per interface;
    Felix uses one HostEndpoint per interface, the first by name, and an automatic one allows everything."""
    from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.cluster import auto_host_endpoints

    heps = [
        hep("node-1-auto-hep", "node-1", "*", ["10.0.0.11"], auto=True),
        hep("node-1-edge-auto-hep", "node-1", None, ["10.0.0.11"], auto=True),       # template, bound by address
        hep("node-2-edge-eth1-auto-hep", "node-2", "eth1", ["10.1.0.12"], auto=True),  # template, per interface
        hep("node-1-eth0", "node-1", "eth0", ["10.0.0.11"]),
        hep("node-2-eth1", "node-2", "eth1", ["10.1.0.12"]),
    ]
    result = auto_host_endpoints(kcc(createDefaultHostEndpoint="Enabled", templates=[{"generateName": "edge"}]), heps)
    assert result["styles"] == {"all-interfaces": ["node-1-auto-hep"], "template": ["node-1-edge-auto-hep"],
                                "per-interface": ["node-2-edge-eth1-auto-hep"]}
    assert result["competing"] == [
        {"node": "node-1", "hostendpoint": "node-1-eth0", "automatic": "node-1-edge-auto-hep", "active": "node-1-edge-auto-hep"},
        {"node": "node-2", "hostendpoint": "node-2-eth1", "automatic": "node-2-edge-eth1-auto-hep", "active": "node-2-edge-eth1-auto-hep"},
    ]
    assert "node node-1: the automatic HostEndpoint node-1-edge-auto-hep and node-1-eth0 claim the same interface; Felix uses " \
           "node-1-edge-auto-hep (the cluster-IP policies do not apply there)" in result["interaction"]
    assert result["templates"] == [{"generateName": "edge"}]


def test_an_automatic_hostendpoint_on_another_interface_does_not_compete():
    from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.cluster import auto_host_endpoints

    heps = [hep("node-1-a-eth1-auto-hep", "node-1", "eth1", ["10.1.0.11"], auto=True), hep("node-1-eth0", "node-1", "eth0", ["10.0.0.11"])]
    result = auto_host_endpoints(kcc(createDefaultHostEndpoint="Disabled", templates=[{"generateName": "a"}]), heps)
    assert result["competing"] == [] and result["default_hostendpoint"] == "Disabled"
    assert "'*' HostEndpoint per node" not in result["interaction"]
