"""What the collection renders must be accepted by Calico: CRD schemas and the emulator's independent admission.

The emulator's admission layer is a separate implementation of Calico 3.28's rules (clusteredge_testworld.emulator); agreeing
with it on generated inputs is how the collection's own validation is checked.
"""

import copy
import itertools

import pytest

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.hostendpoint import HostEndpointAdapter as HEP
from clusteredge_testworld.emulator.calico_admission import admit
from clusteredge_testworld.emulator.crd_schema import missing_reason, validate_against_crd

NAMES = ["node-1-eth0", "a", "node-1.eth0", "x" * 200]
INTERFACES = ["eth0", "*", "bond0.100", "a" * 15, None]
IPS = [["10.99.0.11"], ["fd00::11", "10.99.0.11"], []]
LABELS = [{"k8s-role": "node"}, {"example.com/role": "edge", "empty": ""}, {}]
PORTS = [[], [dict(name="https", port=443, protocol="TCP"), dict(name="dns", port=53, protocol="17")]]


def valid_items():
    for name, interface, ips, labels, ports in itertools.product(NAMES, INTERFACES, IPS, LABELS, PORTS):
        item = dict(name=name, node="node-1", interface_name=interface, expected_ips=ips, labels=labels,
                    annotations={"note": "x"}, profiles=["projectcalico-default-allow"], ports=ports)
        if not HEP.validate([item], "replaced"):
            yield item


def test_generated_space_has_both_valid_and_refused_items():
    accepted = list(valid_items())
    assert 200 < len(accepted) < len(NAMES) * len(INTERFACES) * len(IPS) * len(LABELS) * len(PORTS)


@pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))
@pytest.mark.parametrize("item", list(valid_items())[::7])
def test_every_rendered_hostendpoint_passes_the_crd_schema(item):
    manifest = HEP.render(item, "clusteredge.calico")
    assert validate_against_crd(copy.deepcopy(manifest)) == []


@pytest.mark.parametrize("item", list(valid_items())[::7])
def test_every_rendered_hostendpoint_passes_calico_admission(item):
    manifest = HEP.render(item, "clusteredge.calico")
    assert admit("HostEndpoint", copy.deepcopy(manifest)) == []


REFUSED_BY_BOTH = [
    dict(name="Node-1"),
    dict(name="node_1"),
    dict(node="Node_1"),
    dict(interface_name="eth0123456789abc"),
    dict(interface_name="eth 0"),
    dict(expected_ips=["10.0.0.0/24"]),
    dict(expected_ips=["10.0.0.256"]),
    dict(interface_name=None, expected_ips=[]),
    dict(labels={"bad key": "x"}),
    dict(labels={"k": "v" * 64}),
    dict(ports=[dict(name="HTTP", port=80, protocol="TCP")]),
    dict(ports=[dict(name="http", port=0, protocol="TCP")]),
    dict(ports=[dict(name="http", port=80, protocol="ICMP")]),
    dict(profiles=["Bad_Profile"]),
]


@pytest.mark.parametrize("change", REFUSED_BY_BOTH, ids=lambda c: repr(c)[:60])
def test_inputs_the_collection_refuses_are_refused_by_calico_too(change):
    item = dict(name="node-1-eth0", node="node-1", interface_name="eth0", expected_ips=["10.99.0.11"], labels={},
                annotations=None, profiles=None, ports=None)
    item.update(change)
    assert HEP.validate([item], "replaced"), "the collection must refuse %r" % change
    # Render without the collection's checks (canonicalisation needs valid IPs, so keep the raw values).
    manifest = {"apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint",
                "metadata": {"name": item["name"], "labels": item["labels"]},
                "spec": {k: v for k, v in (("node", item["node"]), ("interfaceName", item["interface_name"]),
                                           ("expectedIPs", item["expected_ips"]), ("profiles", item["profiles"]),
                                           ("ports", item["ports"])) if v}}
    assert admit("HostEndpoint", manifest), "Calico admission accepted what the collection refuses: %r" % change
