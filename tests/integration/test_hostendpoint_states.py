"""calico_hostendpoint end to end: every state through Ansible, against a real HTTP API."""

from __future__ import annotations

import pytest

from doc_snippets import REPO, of_kind
from integration.conftest import all_writes, node_hep, persisted_writes, resource_requests

pytestmark = pytest.mark.integration

OWNER_LABEL = "clusteredge.calico/owner"
NODES = [node_hep("node-%d-eth0" % i, "node-%d" % i, "10.99.0.%d" % (10 + i)) for i in (1, 2, 3)]


def live_heps(api):
    return {obj["metadata"]["name"]: obj for obj in api.objects("HostEndpoint")}


def test_merged_creates_then_a_rerun_changes_and_writes_nothing(k8s_api, hep):
    first = hep(config=NODES, state="merged")
    assert first["changed"] is True, first
    assert first["changes"] == {"created": ["node-1-eth0", "node-2-eth0", "node-3-eth0"], "updated": [], "deleted": []}
    assert first["before"] == []
    assert [h["expected_ips"] for h in first["after"]] == [["10.99.0.11"], ["10.99.0.12"], ["10.99.0.13"]]
    stored = live_heps(k8s_api)
    assert stored["node-2-eth0"]["spec"] == {"node": "node-2", "interfaceName": "eth0", "expectedIPs": ["10.99.0.12"]}
    assert stored["node-2-eth0"]["metadata"]["labels"] == {"k8s-role": "node", OWNER_LABEL: "clusteredge.calico"}

    k8s_api.clear_requests()
    second = hep(config=NODES, state="merged")
    assert second["changed"] is False
    assert second["before"] == second["after"] == first["after"]
    assert all_writes(k8s_api) == []
    assert len(resource_requests(k8s_api, "GET")) == 1, "one LIST serves every object"


def test_merged_adds_fields_without_removing_any(k8s_api, hep):
    hep(config=NODES[:1], state="merged")
    result = hep(config=[dict(name="node-1-eth0", expected_ips=["10.99.0.111"], labels={"rack": "r1"})], state="merged")
    assert result["changed"] is True and result["changes"]["updated"] == ["node-1-eth0"]
    spec = live_heps(k8s_api)["node-1-eth0"]["spec"]
    assert spec["expectedIPs"] == ["10.99.0.11", "10.99.0.111"]
    assert live_heps(k8s_api)["node-1-eth0"]["metadata"]["labels"]["rack"] == "r1"


def test_replaced_makes_listed_objects_exact_and_leaves_others(k8s_api, hep):
    hep(config=NODES, state="merged")
    changed = dict(NODES[0], expected_ips=["10.99.0.21"], labels={"k8s-role": "node", "zone": "a"})
    result = hep(config=[changed], state="replaced")
    assert result["changes"] == {"created": [], "updated": ["node-1-eth0"], "deleted": []}
    stored = live_heps(k8s_api)
    assert stored["node-1-eth0"]["spec"]["expectedIPs"] == ["10.99.0.21"]
    assert stored["node-1-eth0"]["metadata"]["labels"] == {"k8s-role": "node", "zone": "a", OWNER_LABEL: "clusteredge.calico"}
    assert set(stored) == {"node-1-eth0", "node-2-eth0", "node-3-eth0"}
    update = resource_requests(k8s_api, "PUT")[-1]
    assert update["body"]["metadata"]["resourceVersion"], "updates carry resourceVersion"


def test_overridden_prunes_own_objects_only(k8s_api, hep):
    k8s_api.seed([
        {"apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint",
         "metadata": {"name": "node-1-auto-hep", "labels": {"projectcalico.org/created-by": "calico-kube-controllers"}},
         "spec": {"node": "node-1", "interfaceName": "*", "profiles": ["projectcalico-default-allow"]}},
        {"apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint",
         "metadata": {"name": "hand-made"}, "spec": {"node": "node-1", "interfaceName": "eth1"}},
        {"apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint",
         "metadata": {"name": "team-b", "labels": {OWNER_LABEL: "team-b"}}, "spec": {"node": "node-2", "interfaceName": "eth1"}},
    ])
    hep(config=NODES, state="merged")
    result = hep(config=NODES[:1], state="overridden")
    assert result["changes"] == {"created": [], "updated": [], "deleted": ["node-2-eth0", "node-3-eth0"]}
    assert sorted(live_heps(k8s_api)) == ["hand-made", "node-1-auto-hep", "node-1-eth0", "team-b"]
    assert [h["name"] for h in result["after"]] == ["node-1-eth0"]


def test_deleted_by_name_and_all_of_this_owner(k8s_api, hep):
    hep(config=NODES, state="merged")
    one = hep(config=[dict(name="node-3-eth0"), dict(name="never-existed")], state="deleted")
    assert one["changes"]["deleted"] == ["node-3-eth0"]
    rest = hep(state="deleted")
    assert rest["changes"]["deleted"] == ["node-1-eth0", "node-2-eth0"]
    assert live_heps(k8s_api) == {}
    again = hep(state="deleted")
    assert again["changed"] is False and all_writes(k8s_api) != []


def test_gathered_returns_config_shape_that_feeds_back_unchanged(k8s_api, hep):
    hep(config=NODES, state="merged")
    gathered = hep(state="gathered")
    assert gathered["changed"] is False
    assert [h["name"] for h in gathered["gathered"]] == ["node-1-eth0", "node-2-eth0", "node-3-eth0"]
    k8s_api.clear_requests()
    again = hep(config=gathered["gathered"], state="replaced")
    assert again["changed"] is False and all_writes(k8s_api) == []


def test_rendered_needs_no_cluster(tmp_path):
    from integration.ansible_cli import ansible_env, run_module

    env = ansible_env("https://127.0.0.1:9", tmp_path)  # nothing listens on the discard port
    result = run_module(env, "clusteredge.calico.calico_hostendpoint", dict(config=NODES[:1], state="rendered"))
    assert result["rendered"] == [{
        "apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint",
        "metadata": {"name": "node-1-eth0", "labels": {"k8s-role": "node", OWNER_LABEL: "clusteredge.calico"}},
        "spec": {"node": "node-1", "interfaceName": "eth0", "expectedIPs": ["10.99.0.11"]},
    }]


def test_check_mode_predicts_through_server_dry_run_and_persists_nothing(k8s_api, hep):
    hep(config=NODES[:2], state="merged")
    k8s_api.clear_requests()
    result = hep(config=[dict(NODES[0], expected_ips=["10.99.0.99"]), NODES[2]], state="overridden", check=True)
    assert result["changed"] is True
    assert result["changes"] == {"created": ["node-3-eth0"], "updated": ["node-1-eth0"], "deleted": ["node-2-eth0"]}
    assert [h["name"] for h in result["after"]] == ["node-1-eth0", "node-3-eth0"]
    assert result["after"][0]["expected_ips"] == ["10.99.0.99"]
    writes = all_writes(k8s_api)
    assert len(writes) == 3 and all(w["dry_run"] for w in writes), writes
    assert persisted_writes(k8s_api) == []
    assert sorted(live_heps(k8s_api)) == ["node-1-eth0", "node-2-eth0"]
    assert live_heps(k8s_api)["node-1-eth0"]["spec"]["expectedIPs"] == ["10.99.0.11"]


def test_diff_mode_shows_the_changed_fields(k8s_api, hep):
    hep(config=NODES[:1], state="merged")
    result = hep(config=[dict(NODES[0], expected_ips=["10.99.0.77"])], state="replaced", diff=True)
    lines = [line.replace(" ", "") for line in result.stdout.splitlines()]
    assert '-"10.99.0.11"' in lines and '+"10.99.0.77"' in lines, result.stdout
    assert '"node-1-eth0":{' in lines, "the diff is keyed by object name"
    quiet = hep(config=[dict(NODES[0], expected_ips=["10.99.0.78"])], state="replaced")
    assert "--- before" not in quiet.stdout and quiet["changed"] is True


def test_missing_calico_api_server_is_named_in_the_error(tmp_path):
    from clusteredge_testworld.emulator import EmulatorServer
    from integration.ansible_cli import ansible_env, run_module

    with EmulatorServer(calico_api=False) as api:
        result = run_module(ansible_env(api.url, tmp_path), "clusteredge.calico.calico_hostendpoint",
                            dict(config=NODES[:1], state="merged"))
        assert result.failed
        assert "Calico API server" in result["msg"] and "projectcalico.org/v3" in result["msg"]
        assert all_writes(api) == []


def test_the_task_of_docs_hostendpoints_md_runs_and_is_idempotent(k8s_api, hep):
    """docs/hostendpoints.md's first task, as written."""
    [snippet] = of_kind("checked-by", REPO / "docs" / "hostendpoints.md")
    [task] = snippet.data()
    args = task["clusteredge.calico.calico_hostendpoint"]
    first = hep(**args)
    assert first["changed"] is True and first["changes"]["created"] == ["node-1-eth0"], first
    assert live_heps(k8s_api)["node-1-eth0"]["spec"]["expectedIPs"] == ["10.99.0.11", "192.168.10.64"]
    assert hep(**args)["changed"] is False
