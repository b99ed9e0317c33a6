"""The pure HostEndpoint model and the shared state algebra, with no API at all."""

import copy

import pytest

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.hostendpoint import HostEndpointAdapter as HEP
from ansible_collections.clusteredge.calico.plugins.module_utils._core import errors
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import ownership
from ansible_collections.clusteredge.calico.plugins.module_utils._core.plan import state as algebra

OWNER = "clusteredge.calico"


def item(name="node-1-eth0", **fields):
    base = dict(name=name, node="node-1", interface_name="eth0", expected_ips=["10.99.0.11"], labels={"k8s-role": "node"},
                annotations=None, profiles=None, ports=None)
    base.update(fields)
    return base


def live(manifest, rv="7"):
    obj = copy.deepcopy(manifest)
    obj["metadata"].update(resourceVersion=rv, uid="u-" + obj["metadata"]["name"], creationTimestamp="2026-11-24T00:00:00Z")
    return obj


def test_render_builds_v3_manifest_with_ownership_label_and_canonical_fields():
    manifest = HEP.render(item(expected_ips=["FD00::0:11", "10.99.0.11"], ports=[dict(name="https", port=443, protocol="6")]), OWNER)
    assert manifest == {
        "apiVersion": "projectcalico.org/v3",
        "kind": "HostEndpoint",
        "metadata": {"name": "node-1-eth0", "labels": {"k8s-role": "node", ownership.OWNER_LABEL: OWNER}},
        "spec": {"node": "node-1", "interfaceName": "eth0", "expectedIPs": ["fd00::11", "10.99.0.11"],
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]},
    }


def test_view_round_trips_render_without_the_ownership_label():
    given = item(profiles=["projectcalico-default-allow"], annotations={"team": "net"})
    view = HEP.view(HEP.render(given, OWNER))
    assert view == dict(given, ports=[])
    assert HEP.validate([view], "replaced") == []


def test_validation_reports_every_problem_with_item_and_field():
    errors = HEP.validate([item(name="Bad_Name", node=None, interface_name="x" * 16, expected_ips=["10.0.0.0/8"])], "replaced")
    assert errors == [
        "config[0] (HostEndpoint 'Bad_Name'): name: must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', "
        "starting and ending with a letter or digit",
        "config[0] (HostEndpoint 'Bad_Name'): node: is required: the Calico node name (usually the Kubernetes node name) "
        "this endpoint belongs to",
        "config[0] (HostEndpoint 'Bad_Name'): interface_name: 'xxxxxxxxxxxxxxxx' is 16 characters; Linux interface names have at most 15",
        "config[0] (HostEndpoint 'Bad_Name'): expected_ips[0]: '10.0.0.0/8' is a CIDR; an IP address without a prefix length is required",
    ]


def test_validation_rejects_duplicates_reserved_labels_and_named_ports_on_wildcard():
    errors = HEP.validate([
        item(),
        item(),
        item(name="b", labels={"projectcalico.org/created-by": "calico-kube-controllers"}),
        item(name="c", interface_name="*", ports=[dict(name="http", port=80, protocol="TCP")]),
    ], "merged")
    assert any("config[1]" in e and "duplicate of config[0]" in e for e in errors)
    assert any("config[2]" in e and "projectcalico.org/created-by" in e and "reserved" in e for e in errors)
    assert any("config[3]" in e and "'*'" in e and "ports" in e for e in errors)
    assert len(errors) == 3


def test_interface_or_expected_ips_required_except_for_partial_merge():
    bare = item(interface_name=None, expected_ips=None)
    assert any("interface_name" in e for e in HEP.validate([bare], "replaced"))
    assert HEP.validate([bare], "merged") == []
    assert HEP.creation_problem(bare) == "give interface_name or expected_ips to create it"


def test_merge_adds_without_removing_and_given_scalars_win():
    current = live(HEP.render(item(expected_ips=["10.99.0.11"], labels={"k8s-role": "node", "rack": "r1"}), OWNER))
    merged = HEP.merge(current, dict(name="node-1-eth0", node=None, interface_name=None, expected_ips=["10.99.0.99"],
                                     labels={"rack": "r2"}, annotations=None, profiles=None, ports=None), OWNER)
    assert merged["spec"] == {"node": "node-1", "interfaceName": "eth0", "expectedIPs": ["10.99.0.11", "10.99.0.99"]}
    assert merged["metadata"]["labels"] == {"k8s-role": "node", "rack": "r2", ownership.OWNER_LABEL: OWNER}
    assert merged["metadata"]["resourceVersion"] == "7"


def test_plan_creates_missing_updates_changed_and_leaves_equal_objects_alone():
    same = live(HEP.render(item(name="same"), OWNER))
    stale = live(HEP.render(item(name="stale", expected_ips=["10.99.0.1"]), OWNER), rv="42")
    changes = algebra.plan(HEP, "replaced", [item(name="same"), item(name="stale"), item(name="new")], [same, stale], OWNER)
    assert [(c.action, c.key) for c in changes] == [("update", "stale"), ("create", "new")]
    update = changes[0].desired
    assert update["metadata"]["resourceVersion"] == "42", "updates carry resourceVersion for optimistic concurrency"
    assert update["spec"]["expectedIPs"] == ["10.99.0.11"]


def test_overridden_prunes_only_this_owners_objects():
    mine = live(HEP.render(item(name="mine-old"), OWNER))
    theirs = live(HEP.render(item(name="theirs"), "team-b"))
    hand_made = live(HEP.render(item(name="hand-made"), OWNER))
    del hand_made["metadata"]["labels"][ownership.OWNER_LABEL]
    auto_labels = {"projectcalico.org/created-by": "calico-kube-controllers", ownership.OWNER_LABEL: OWNER}
    auto = {"metadata": {"name": "node-1-auto-hep", "labels": auto_labels}, "spec": {"node": "node-1", "interfaceName": "*"}}
    changes = algebra.plan(HEP, "overridden", [item(name="keep")], [mine, theirs, hand_made, auto], OWNER)
    assert [(c.action, c.key) for c in changes] == [("create", "keep"), ("delete", "mine-old")]


def test_deleted_without_config_removes_all_owned_and_nothing_else():
    objs = [live(HEP.render(item(name=n), o)) for n, o in (("a", OWNER), ("b", "other"), ("c", OWNER))]
    assert [c.key for c in algebra.plan(HEP, "deleted", [], objs, OWNER)] == ["a", "c"]


@pytest.mark.parametrize("state", ["merged", "replaced", "overridden", "deleted"])
def test_foreign_objects_named_in_config_fail_the_whole_plan(state):
    hand_made = live(HEP.render(item(name="hand-made"), OWNER))
    del hand_made["metadata"]["labels"][ownership.OWNER_LABEL]
    with pytest.raises(errors.Unapplicable) as failure:
        algebra.plan(HEP, state, [item(name="new"), item(name="hand-made")], [hand_made], OWNER)
    assert "config[1] (HostEndpoint 'hand-made')" in str(failure.value)
    assert "not created by this collection" in str(failure.value)


def test_adopt_takes_unlabelled_objects_but_never_automatic_or_other_owners():
    hand_made = live(HEP.render(item(name="hand-made"), OWNER))
    del hand_made["metadata"]["labels"][ownership.OWNER_LABEL]
    changes = algebra.plan(HEP, "replaced", [item(name="hand-made")], [hand_made], OWNER, adopt=True)
    assert changes[0].desired["metadata"]["labels"][ownership.OWNER_LABEL] == OWNER
    auto = live(HEP.render(item(name="auto"), OWNER))
    auto["metadata"]["labels"] = {"projectcalico.org/created-by": "calico-kube-controllers"}
    other = live(HEP.render(item(name="other"), "team-b"))
    with pytest.raises(errors.Unapplicable) as failure:
        algebra.plan(HEP, "merged", [item(name="auto"), item(name="other")], [auto, other], OWNER, adopt=True)
    assert "calico-kube-controllers" in failure.value.errors[0]
    assert "belongs to owner 'team-b'" in failure.value.errors[1]


def test_merged_item_without_node_cannot_create():
    with pytest.raises(errors.Unapplicable) as failure:
        algebra.plan(HEP, "merged", [item(node=None)], [], OWNER)
    assert "does not exist yet and cannot be created: node is required" in str(failure.value)


def test_absent_and_empty_fields_compare_equal():
    rendered = HEP.render(item(), OWNER)
    server_copy = live(rendered)
    server_copy["spec"]["profiles"] = []
    server_copy["metadata"]["annotations"] = {}
    assert HEP.comparable(rendered) == HEP.comparable(server_copy)
    assert algebra.plan(HEP, "replaced", [item()], [server_copy], OWNER) == []
