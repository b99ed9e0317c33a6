"""Inventory hosts -> Kubernetes nodes -> HostEndpoint items, from network facts as `setup` reports them."""

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.node_map import (
    DISCOVERY_ANNOTATION,
    discovery_plan,
    node_hostendpoints,
)

NODES = [
    dict(name="node-1", internal_ips=["10.99.0.11"], addresses=["10.99.0.11", "192.168.1.0"], tunnel_addresses=["192.168.1.0"]),
    dict(name="node-2", internal_ips=["10.99.0.12"], addresses=["10.99.0.12", "192.168.2.0"], tunnel_addresses=["192.168.2.0"]),
    dict(name="worker-three", internal_ips=["10.99.0.13"], addresses=["10.99.0.13"], tunnel_addresses=[]),
    dict(name="node-4", internal_ips=["10.99.0.14"], addresses=["10.99.0.14"], tunnel_addresses=[]),
]


def facts(hostname, address, interface="eth0", default=True, extra_interfaces=(), v6=None):
    data = {
        "ansible_hostname": hostname,
        "ansible_interfaces": ["lo", interface] + list(extra_interfaces),
        "ansible_all_ipv4_addresses": [address],
        "ansible_all_ipv6_addresses": [v6] if v6 else [],
        "ansible_default_ipv4": {"interface": interface, "address": address} if default else {},
        "ansible_" + interface.replace(".", "_").replace("-", "_"): {
            "ipv4": {"address": address}, "ipv4_secondaries": [{"address": "10.99.1.1"}] if interface == "bond0" else [],
            "ipv6": ([{"address": v6, "scope": "global"}] if v6 else []) + [{"address": "fe80::1", "scope": "link"}]},
    }
    for name in extra_interfaces:
        data["ansible_" + name] = {"ipv4": {"address": "172.16.0.1"}}
    return data


def host(name, data, **variables):
    return dict(inventory_hostname=name, facts=data, **variables)


def test_maps_by_address_and_builds_items_with_tunnel_addresses():
    result = node_hostendpoints([host("n1.example", facts("n1", "10.99.0.11", v6="fd00::11")),
                                 host("n2.example", facts("n2", "10.99.0.12"))], NODES, {"k8s-role": "node"})
    assert result["errors"] == []
    assert result["items"] == [
        dict(name="node-1-eth0", node="node-1", interface_name="eth0", expected_ips=["10.99.0.11", "fd00::11", "192.168.1.0"],
             labels={"k8s-role": "node"}),
        dict(name="node-2-eth0", node="node-2", interface_name="eth0", expected_ips=["10.99.0.12", "192.168.2.0"],
             labels={"k8s-role": "node"}),
    ]
    assert [(m["host"], m["node"], m["matched_by"], m["interfaces_from"]) for m in result["mapping"]] == [
        ("n1.example", "node-1", "address", "default route"), ("n2.example", "node-2", "address", "default route")]


def test_explicit_node_name_and_hostname_fallback():
    result = node_hostendpoints([host("a", facts("x", "192.0.2.1"), node_name="node-2"),
                                 host("worker-three", facts("worker-three", "192.0.2.3"))], NODES)
    assert [(m["node"], m["matched_by"]) for m in result["mapping"]] == [("node-2", "clusterip_exposure_node_name"),
                                                                         ("worker-three", "hostname")]


def test_explicit_interfaces_and_jmespath_query():
    data = facts("n1", "10.99.0.11", interface="bond0", extra_interfaces=("eth1",))
    explicit = node_hostendpoints([host("n1", data, interfaces=["bond0", "eth1"])], NODES)
    assert [i["name"] for i in explicit["items"]] == ["node-1-bond0", "node-1-eth1"]
    assert explicit["items"][0]["expected_ips"] == ["10.99.0.11", "10.99.1.1", "192.168.1.0"], "secondaries included"
    queried = node_hostendpoints([host("n1", data, interface_query="ansible_interfaces[?starts_with(@, 'eth')]")], NODES)
    assert [i["interface_name"] for i in queried["items"]] == ["eth1"]
    assert queried["mapping"][0]["interfaces_from"] == "clusterip_exposure_interface_query"


def test_every_bad_inventory_is_reported_at_once():
    result = node_hostendpoints([
        host("orphan", facts("orphan", "192.0.2.9")),
        host("twin-a", facts("twin-a", "10.99.0.12")),
        host("twin-b", facts("twin-b", "10.99.0.99"), node_name="node-2"),
        host("no-route", facts("node-1", "10.99.0.11", default=False)),
        host("typo", facts("t", "10.99.0.13"), interfaces=["eth9"]),
        host("ghost", facts("g", "192.0.2.8"), node_name="node-42"),
        host("badq", facts("b", "192.0.2.7"), node_name="node-4", interface_query="[?"),
    ], NODES)
    errors = result["errors"]
    assert any("orphan maps to no Kubernetes node" in e and "clusterip_exposure_node_name" in e for e in errors)
    assert any("twin-a and twin-b both map to node node-2" in e for e in errors)
    assert any("no-route has no default route" in e for e in errors)
    assert any("interface eth9 does not exist on typo (it has: eth0, lo)" in e for e in errors)
    assert any("'node-42' is not a Kubernetes node" in e for e in errors)
    assert any("not valid JMESPath" in e for e in errors)
    assert len(errors) == 6
    assert [i["node"] for i in result["items"]] == ["node-2"], "only the one good host; the role stops on any error"


def test_a_host_sharing_addresses_with_two_nodes_is_ambiguous():
    data = facts("n", "10.99.0.11")
    data["ansible_all_ipv4_addresses"].append("10.99.0.12")
    errors = node_hostendpoints([host("n", data)], NODES)["errors"]
    assert errors == ["n shares addresses with several nodes (node-1, node-2): set clusterip_exposure_node_name for it"]


def test_all_interfaces_gives_one_wildcard_hostendpoint_with_every_routable_address():
    data = facts("n1", "10.99.0.11", v6="fd00::11", extra_interfaces=("eth1",))
    data["ansible_all_ipv4_addresses"] += ["172.16.0.1", "127.0.0.1"]
    data["ansible_all_ipv6_addresses"] += ["fe80::1", "::1"]
    result = node_hostendpoints([host("n1", data, interfaces=["*"])], NODES, {"k8s-role": "node"})
    assert result["errors"] == []
    # Named after the node so that it sorts before kube-controllers' "<node>-auto-hep" (Felix picks the first '*').
    assert result["items"] == [dict(name="node-1-all-interfaces", node="node-1", interface_name="*",
                                    expected_ips=["10.99.0.11", "172.16.0.1", "fd00::11", "192.168.1.0"], labels={"k8s-role": "node"})]
    assert result["items"][0]["name"] < "node-1-auto-hep"
    assert result["mapping"][0]["interfaces"] == ["*"]


def test_all_interfaces_listed_with_named_ones_is_refused():
    errors = node_hostendpoints([host("n1", facts("n1", "10.99.0.11"), interfaces=["*", "eth0"])], NODES)["errors"]
    assert errors == ["n1: interface '*' already covers every interface of the host; list it alone, or name the interfaces instead"]


def test_all_interfaces_also_comes_from_a_query():
    result = node_hostendpoints([host("n1", facts("n1", "10.99.0.11"), interface_query="'*'")], NODES)
    assert [i["interface_name"] for i in result["items"]] == ["*"]


OWNER = "clusteredge.calico"


def written_by_the_role(hosts, nodes=None):
    """The HostEndpoints a run with facts wrote for `hosts`, as calico_hostendpoint state=gathered returns them."""
    result = node_hostendpoints(hosts, nodes or NODES, {"k8s-role": "node"}, owner=OWNER)
    assert result["errors"] == []
    return [dict(item, profiles=[], ports=[]) for item in result["items"]]


def without_facts(*hosts):
    return [dict((k, v) for k, v in h.items() if k != "facts") for h in hosts]


def test_items_record_the_host_and_settings_they_were_discovered_from():
    (item,) = node_hostendpoints([host("n1.example", facts("n1", "10.99.0.11"), interfaces=["eth0"])], NODES, owner=OWNER)["items"]
    assert item["annotations"] == {DISCOVERY_ANNOTATION: '{"host":"n1.example","interfaces":["eth0"],"owner":"clusteredge.calico"}'}
    (plain,) = node_hostendpoints([host("n1.example", facts("n1", "10.99.0.11"))], NODES)["items"]
    assert "annotations" not in plain, "without an owner nothing is recorded"


def test_a_host_whose_hostendpoints_cover_its_node_is_not_contacted_again():
    hosts = [host("n1.example", facts("n1", "10.99.0.11")), host("n2.example", facts("n2", "10.99.0.12"))]
    live = written_by_the_role(hosts)
    plan = discovery_plan(without_facts(*hosts), NODES, live, OWNER)
    assert plan["discover"] == [] and plan["reasons"] == {}
    reused = [(r["host"], r["node"], r["interfaces"]) for r in plan["reused"]]
    assert reused == [("n1.example", "node-1", ["eth0"]), ("n2.example", "node-2", ["eth0"])]
    # Taken over, they plan exactly what the run with facts planned: the next write is a no-op.
    again = node_hostendpoints([], NODES, {"k8s-role": "node"}, owner=OWNER, reused=plan["reused"])
    assert again["errors"] == [] and again["items"] == [dict((k, v) for k, v in i.items() if k not in ("profiles", "ports")) for i in live]
    assert [m["host"] for m in again["mapping"]] == ["n1.example", "n2.example"]


def test_a_node_address_its_hostendpoints_miss_makes_that_host_gather_again():
    hosts = [host("n1.example", facts("n1", "10.99.0.11")), host("n2.example", facts("n2", "10.99.0.12"))]
    live = written_by_the_role(hosts)
    moved = [dict(n, internal_ips=["10.99.0.21"], addresses=["10.99.0.21", "192.168.1.0"]) if n["name"] == "node-1" else n
             for n in NODES]
    plan = discovery_plan(without_facts(*hosts), moved, live, OWNER)
    assert plan["discover"] == ["n1.example"]
    assert plan["reasons"]["n1.example"] == "node node-1 has addresses its HostEndpoints do not list (10.99.0.21)"
    assert [r["host"] for r in plan["reused"]] == ["n2.example"]
    new_tunnel = [dict(n, addresses=n["addresses"] + ["192.168.9.0"], tunnel_addresses=n["tunnel_addresses"] + ["192.168.9.0"])
                  if n["name"] == "node-2" else n for n in NODES]
    assert discovery_plan(without_facts(*hosts), new_tunnel, live, OWNER)["discover"] == ["n2.example"]


def test_new_hosts_new_settings_other_owners_and_always_gather():
    hosts = [host("n1.example", facts("n1", "10.99.0.11"))]
    live = written_by_the_role(hosts)
    newcomer = dict(inventory_hostname="n2.example")
    plan = discovery_plan(without_facts(*hosts) + [newcomer], NODES, live, OWNER)
    assert plan["discover"] == ["n2.example"] and plan["reasons"]["n2.example"] == "no HostEndpoint of this owner records it yet"
    changed = dict(inventory_hostname="n1.example", interfaces=["eth1"])
    assert discovery_plan([changed], NODES, live, OWNER)["reasons"] == {
        "n1.example": "its node or interface settings changed since its HostEndpoints were written"}
    assert discovery_plan(without_facts(*hosts), NODES, live, "someone.else")["discover"] == ["n1.example"]
    assert discovery_plan(without_facts(*hosts), NODES, live, OWNER, mode="always")["discover"] == ["n1.example"]
    gone = [n for n in NODES if n["name"] != "node-1"]
    assert discovery_plan(without_facts(*hosts), gone, live, OWNER)["reasons"] == {"n1.example": "its HostEndpoints name a node that is gone"}


def test_facts_ansible_already_holds_stand_in_for_a_gather_while_they_hold_the_node_addresses():
    hosts = [host("n1.example", facts("n1", "10.99.0.11")), host("n2.example", facts("n2", "10.99.0.12"))]
    # No HostEndpoint yet (first run, or another writer deleted them), but a fact cache holds both hosts' facts.
    plan = discovery_plan(hosts, NODES, [], OWNER)
    assert plan["discover"] == [] and plan["cached"] == ["n1.example", "n2.example"]
    assert plan["reasons"]["n1.example"] == ("no HostEndpoint of this owner records it yet; the facts Ansible holds for it "
                                             "(fact cache) have its node's addresses")
    # node-1's address moved since its facts were cached: those facts are stale, so n1 gathers again.
    moved = [dict(n, internal_ips=["10.99.0.21"], addresses=["10.99.0.21"]) if n["name"] == "node-1" else n for n in NODES]
    plan = discovery_plan([host("n1.example", facts("n1", "10.99.0.11"), node_name="node-1")] + hosts[1:], moved, [], OWNER)
    assert plan["discover"] == ["n1.example"] and plan["cached"] == ["n2.example"]
    assert plan["reasons"]["n1.example"].endswith("the facts Ansible holds for it will not do: they lack node node-1's "
                                                  "addresses (10.99.0.21)")
    # Facts without the interfaces, or naming no interface the settings ask for, do not stand in either.
    partial = {"ansible_hostname": "n1", "ansible_all_ipv4_addresses": ["10.99.0.11"]}
    assert discovery_plan([host("n1.example", partial)], NODES, [], OWNER)["discover"] == ["n1.example"]
    assert discovery_plan([host("n1.example", facts("n1", "10.99.0.11"), interfaces=["eth7"])], NODES, [], OWNER)["discover"] == [
        "n1.example"]
    # always ignores them.
    assert discovery_plan(hosts, NODES, [], OWNER, mode="always")["cached"] == []


FLEET = [dict(inventory_hostname="node-1.example", interfaces=["eth0"]),
         dict(inventory_hostname="node-2", interfaces="eth0"),
         dict(inventory_hostname="third", ansible_host="10.99.0.13", interfaces=["eth0"]),
         dict(inventory_hostname="fourth", node_name="node-4", interfaces=["eth0"])]


def test_controller_discovery_contacts_only_the_canary_and_derives_the_rest_from_the_nodes():
    plan = discovery_plan(FLEET, NODES, [], OWNER, mode="controller")
    assert plan["errors"] == []
    assert plan["discover"] == ["fourth"], "the first host by name is the canary, as the role chooses it"
    assert [(r["host"], r["node"], r["matched_by"]) for r in plan["reused"]] == [
        ("node-1.example", "node-1", "inventory name"), ("node-2", "node-2", "inventory name"),
        ("third", "worker-three", "ansible_host")]
    assert discovery_plan(FLEET, NODES, [], OWNER, mode="controller", canary="third")["discover"] == ["third"]
    # What is derived is what a run with the hosts' facts writes when the interface holds the node's InternalIP.
    with_facts = [host("node-1.example", facts("n1", "10.99.0.11"), interfaces=["eth0"]),
                  host("node-2", facts("n2", "10.99.0.12"), interfaces="eth0"),
                  host("third", facts("t", "10.99.0.13"), interfaces=["eth0"])]
    derived = node_hostendpoints([], NODES, {"k8s-role": "node"}, owner=OWNER, reused=plan["reused"])["items"]
    assert derived == node_hostendpoints(with_facts, NODES, {"k8s-role": "node"}, owner=OWNER)["items"]


def test_controller_discovery_refuses_what_it_cannot_derive_all_at_once():
    plan = discovery_plan([dict(inventory_hostname="q", node_name="node-1", interface_query="ansible_interfaces"),
                           dict(inventory_hostname="two", node_name="node-2", interfaces=["eth0", "eth1"]),
                           dict(inventory_hostname="none", node_name="node-4"),
                           dict(inventory_hostname="stranger", ansible_host="192.0.2.1", interfaces=["eth0"]),
                           dict(inventory_hostname="again", node_name="node-1", interfaces=["eth0"]),
                           dict(inventory_hostname="twice", node_name="node-1", interfaces=["eth0"])],
                          NODES, [], OWNER, mode="controller")
    assert plan["errors"] == [
        "q: clusterip_exposure_interface_query reads the host's facts, which controller discovery does not gather: give "
        "clusterip_exposure_interfaces instead",
        "two: controller discovery takes each node's addresses from its Node object and cannot tell which interface holds "
        "which, so it needs exactly one interface in clusterip_exposure_interfaces (or '*'); it has ['eth0', 'eth1']; or use "
        "clusterip_exposure_discovery: changed",
        "none: controller discovery takes each node's addresses from its Node object and cannot tell which interface holds "
        "which, so it needs exactly one interface in clusterip_exposure_interfaces (or '*'); it has none; or use "
        "clusterip_exposure_discovery: changed",
        "stranger maps to no Kubernetes node without its facts: no node is named stranger or holds ansible_host 192.0.2.1; "
        "set clusterip_exposure_node_name for it",
        "again and twice both map to node node-1: set clusterip_exposure_node_name on one of them"]


def test_the_controller_canary_must_hold_its_node_addresses_on_the_interface_given():
    fine = node_hostendpoints([host("c", facts("c", "10.99.0.11"), interfaces=["eth0"])], NODES, require_node_addresses=True)
    assert fine["errors"] == []
    # The fleet's traffic interface is bond0, not the eth0 the settings give: derived HostEndpoints would be wrong.
    data = facts("c", "10.99.0.11", interface="bond0", extra_interfaces=("eth0",))
    wrong = node_hostendpoints([host("c", data, interfaces=["eth0"])], NODES, require_node_addresses=True)
    assert wrong["errors"] == [
        "c: controller discovery derives every HostEndpoint from its Node object, assuming the node's addresses are on "
        "eth0; on this host (the canary) eth0 does not hold 10.99.0.11 of node node-1 (it holds 172.16.0.1). Fix "
        "clusterip_exposure_interfaces or use clusterip_exposure_discovery: changed"]
    assert node_hostendpoints([host("c", data, interfaces=["eth0"])], NODES)["errors"] == [], "only asked for in controller mode"


def test_an_unknown_discovery_mode_is_an_error_not_a_silent_default():
    assert discovery_plan(FLEET, NODES, [], OWNER, mode="sometimes")["errors"] == [
        "clusterip_exposure_discovery must be one of changed, always, controller, not 'sometimes'"]


def test_per_host_settings_of_the_wrong_type_are_reported_for_every_host_before_anything_else():
    plan = discovery_plan([dict(inventory_hostname="a", node_name=["node-1"]),
                           dict(inventory_hostname="b", interfaces={"eth0": True}),
                           dict(inventory_hostname="c", interfaces=["eth0", 7]),
                           dict(inventory_hostname="d", interface_query=["x"]),
                           dict(inventory_hostname="e", interfaces="eth0")], NODES, [], OWNER)
    assert plan["errors"] == [
        "a: clusterip_exposure_node_name must be a node name, not ['node-1']",
        "b: clusterip_exposure_interfaces must be a list of interface names, not {'eth0': True}",
        "c: clusterip_exposure_interfaces must be a list of interface names, not ['eth0', 7]",
        "d: clusterip_exposure_interface_query must be a JMESPath expression, not ['x']"]
    assert plan["discover"] == [], "nothing is gathered for a run that will stop"
