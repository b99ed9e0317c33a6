"""Transient API failures are retried with bounded backoff; a 409 is re-read and re-applied."""

from __future__ import annotations

import pytest

from integration.conftest import node_hep, resource_requests

pytestmark = pytest.mark.integration

NODES = [node_hep("node-%d-eth0" % i, "node-%d" % i, "10.99.0.%d" % (10 + i)) for i in (1, 2)]
HEPS = r"^/apis/projectcalico\.org/v3/hostendpoints"


@pytest.mark.parametrize("fault", [
    dict(status=429, retry_after=1),
    dict(status=500),
    dict(status=503),
    dict(reset=True),
], ids=["429-retry-after", "500", "503", "connection-reset"])
def test_transient_failures_on_list_and_create_are_retried(k8s_api, hep, fault):
    k8s_api.inject_fault(method="GET", path=HEPS + "$", times=1, **fault)
    k8s_api.inject_fault(method="POST", path=HEPS + "$", times=1, **fault)
    result = hep(config=NODES, state="merged")
    assert not result.failed, result
    assert result["changes"]["created"] == ["node-1-eth0", "node-2-eth0"]
    assert sorted(o["metadata"]["name"] for o in k8s_api.objects("HostEndpoint")) == ["node-1-eth0", "node-2-eth0"]
    assert hep(config=NODES, state="merged")["changed"] is False


def test_retries_are_bounded_and_the_failure_is_explained(k8s_api, hep):
    k8s_api.inject_fault(method="GET", path=HEPS + "$", times=50, status=503)
    result = hep(config=NODES, state="merged")
    assert result.failed
    assert "503" in result["msg"] and "hostendpoints" in result["msg"]
    assert len(resource_requests(k8s_api, "GET")) == 6, "six attempts, then a clear failure"
    assert k8s_api.objects("HostEndpoint") == []


def test_conflict_on_update_is_reread_and_reapplied(k8s_api, hep):
    hep(config=NODES, state="merged")
    k8s_api.inject_fault(method="PUT", path=HEPS + "/node-1-eth0$", times=1, status=409)
    result = hep(config=[dict(NODES[0], expected_ips=["10.99.0.50"])], state="replaced")
    assert not result.failed, result
    assert result["changes"]["updated"] == ["node-1-eth0"]
    stored = {o["metadata"]["name"]: o for o in k8s_api.objects("HostEndpoint")}
    assert stored["node-1-eth0"]["spec"]["expectedIPs"] == ["10.99.0.50"]
    assert len(resource_requests(k8s_api, "PUT")) == 2
    assert any(r["method"] == "GET" and r["path"].endswith("/node-1-eth0") for r in resource_requests(k8s_api))


def test_a_stale_resource_version_from_another_writer_is_merged_not_overwritten(k8s_api, hep, env):
    """Another writer changes the object between our LIST and our PUT: we re-read and keep our intent."""
    hep(config=NODES, state="merged")
    k8s_api.inject_fault(method="PUT", path=HEPS + "/node-2-eth0$", times=1, status=409)
    result = hep(config=[dict(name="node-2-eth0", labels={"zone": "b"})], state="merged")
    assert not result.failed, result
    stored = {o["metadata"]["name"]: o for o in k8s_api.objects("HostEndpoint")}["node-2-eth0"]
    assert stored["metadata"]["labels"]["zone"] == "b"
    assert stored["spec"]["expectedIPs"] == ["10.99.0.12"]
