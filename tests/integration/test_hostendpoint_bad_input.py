"""Every bad input fails with a message naming the item and field, and the API receives no write."""

from __future__ import annotations

import pytest

from integration.conftest import all_writes, node_hep

pytestmark = pytest.mark.integration

GOOD = node_hep("node-1-eth0", "node-1", "10.99.0.11")


def hand_made(api):
    api.seed([{"apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint",
               "metadata": {"name": "hand-made"}, "spec": {"node": "node-9", "interfaceName": "eth1"}}])


def auto_hep(api):
    api.seed([{"apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint",
               "metadata": {"name": "node-1-auto-hep", "labels": {"projectcalico.org/created-by": "calico-kube-controllers"}},
               "spec": {"node": "node-1", "interfaceName": "*"}}])


# (case id, module args, seed, fragments the message must contain)
CASES = [
    ("cidr-as-expected-ip", dict(config=[dict(GOOD, expected_ips=["10.99.0.0/24"])]), None,
     ["config[1]", "expected_ips[0]", "'10.99.0.0/24' is a CIDR"]),
    ("not-an-ip", dict(config=[dict(GOOD, expected_ips=["10.99.0.300"])]), None,
     ["expected_ips[0]", "not an IPv4 or IPv6 address"]),
    ("uppercase-name", dict(config=[dict(GOOD, name="Node-1")]), None, ["(HostEndpoint 'Node-1')", "name:", "DNS-1123 subdomain"]),
    ("underscore-name", dict(config=[dict(GOOD, name="node_1")]), None, ["(HostEndpoint 'node_1')", "name:"]),
    ("16-char-interface", dict(config=[dict(GOOD, interface_name="enp0s31f6abcdefg")]), None,
     ["interface_name", "16 characters", "at most 15"]),
    ("interface-with-slash", dict(config=[dict(GOOD, interface_name="eth0/1")]), None, ["interface_name", "'eth0/1'"]),
    ("missing-node", dict(config=[dict(GOOD, node=None)], state="replaced"), None, ["node: is required"]),
    ("invalid-node-name", dict(config=[dict(GOOD, node="Node.One")]), None, ["node:", "DNS-1123"]),
    ("no-interface-no-ips", dict(config=[dict(GOOD, interface_name=None, expected_ips=[])], state="replaced"), None,
     ["interface_name", "at least one expected IP"]),
    ("duplicate-names", dict(config=[GOOD, GOOD]), None, ["config[2]", "duplicate of config[1]"]),
    ("duplicate-expected-ip", dict(config=[dict(GOOD, expected_ips=["10.99.0.11", "10.99.0.11"])]), None,
     ["expected_ips[1]", "listed twice"]),
    ("wildcard-with-named-ports", dict(config=[dict(GOOD, interface_name="*", ports=[dict(name="https", port=443)])]), None,
     ["ports", "all-interfaces ('*')"]),
    ("bad-port-name", dict(config=[dict(GOOD, ports=[dict(name="HTTPS", port=443)])]), None, ["ports[0]", "'HTTPS'"]),
    ("port-out-of-range", dict(config=[dict(GOOD, ports=[dict(name="https", port=70000)])]), None, ["ports[0]", "70000"]),
    ("protocol-wrong-case", dict(config=[dict(GOOD, ports=[dict(name="dns", port=53, protocol="udp")])]), None,
     ["ports[0]", "'udp'", "exact case"]),
    ("bad-label-key", dict(config=[dict(GOOD, labels={"k8s role": "node"})]), None, ["labels", "'k8s role'"]),
    ("bad-label-value", dict(config=[dict(GOOD, labels={"k8s-role": "node!"})]), None, ["labels", "'node!'"]),
    ("reserved-owner-label", dict(config=[dict(GOOD, labels={"clusteredge.calico/owner": "me"})]), None, ["labels", "reserved"]),
    ("kube-controllers-label", dict(config=[dict(GOOD, labels={"projectcalico.org/created-by": "calico-kube-controllers"})]), None,
     ["labels", "reserved"]),
    ("bad-profile", dict(config=[dict(GOOD, profiles=["Default_Allow"])]), None, ["profiles[0]"]),
    ("empty-config-overridden", dict(config=[], state="overridden"), None, ["state=overridden needs at least one item", "state=deleted"]),
    ("bad-owner", dict(config=[GOOD], owner="team b"), None, ["owner:"]),
    ("foreign-object-in-overridden", dict(config=[dict(GOOD, name="hand-made")], state="overridden"), hand_made,
     ["config[1]", "'hand-made'", "not created by this collection", "adopt"]),
    ("auto-hep-even-with-adopt", dict(config=[dict(GOOD, name="node-1-auto-hep")], adopt=True), auto_hep,
     ["'node-1-auto-hep'", "calico-kube-controllers"]),
    ("foreign-object-in-deleted", dict(config=[dict(name="hand-made")], state="deleted"), hand_made,
     ["'hand-made'", "cannot delete"]),
    ("unknown-state", dict(config=[GOOD], state="present"), None, ["state", "merged", "present"]),
    ("unknown-option", dict(config=[dict(GOOD, interface="eth0")]), None, ["interface"]),
]


@pytest.mark.parametrize("args,seed,fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_clearly_and_writes_nothing(k8s_api, hep, args, seed, fragments):
    if seed:
        seed(k8s_api)
    args = dict(args)
    if args.get("config") and all(isinstance(i, dict) and "node" in i for i in args["config"]):
        # Put one valid item first: the bad one must still stop the whole call before any write.
        args["config"] = [node_hep("valid-first", "node-0", "10.99.0.1")] + args["config"]
    result = hep(**args)
    assert result.failed, result
    message = result["msg"]
    for fragment in fragments:
        assert fragment in message, "%r not in %r" % (fragment, message)
    assert all_writes(k8s_api) == [], "a bad input must not write anything"
    assert not any(o["metadata"]["name"] == "valid-first" for o in k8s_api.objects("HostEndpoint"))


def test_the_table_covers_at_least_fifteen_distinct_inputs():
    assert len(set(c[0] for c in CASES)) >= 15
