"""The client layer's retry policy, with a scripted transport (real HTTP is covered in tests/integration)."""

import json

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ProtocolError

from ansible_collections.clusteredge.calico.plugins.module_utils._core.api import client as client_module
from ansible_collections.clusteredge.calico.plugins.module_utils._core import errors
from ansible_collections.clusteredge.calico.plugins.module_utils._core.api.resources import HOSTENDPOINTS


def api_error(status, retry_after=None, message="boom"):
    exc = ApiException(status=status, reason="Reason %d" % status)
    exc.body = json.dumps({"kind": "Status", "message": message, "reason": "Reason"})
    exc.headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return exc


class ScriptedTransport(object):
    """Answers each request with the next scripted outcome: an exception to raise or a reply."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls = []

    def request(self, method, path, body=None, serializer=None, **params):
        self.calls.append((method, path, params))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def client_with(*outcomes, dry_run=False):
    sleeps = []
    transport = ScriptedTransport(*outcomes)
    client = client_module.CalicoClient(transport, dry_run=dry_run, sleep=sleeps.append)
    return client, transport, sleeps


def test_429_waits_for_retry_after_with_jitter():
    client, transport, sleeps = client_with(api_error(429, retry_after=3), {"items": []})
    assert client.list(HOSTENDPOINTS) == []
    assert len(transport.calls) == 2
    assert 3 * 0.8 <= sleeps[0] <= 3 * 1.2


def test_retry_after_is_capped():
    client, _transport, sleeps = client_with(api_error(429, retry_after=3600), {"items": []})
    client.list(HOSTENDPOINTS)
    assert sleeps[0] <= client_module.RETRY_AFTER_MAX * 1.2


def test_server_errors_and_resets_back_off_exponentially_then_give_up():
    outcomes = [api_error(503), api_error(500), ProtocolError("reset"), api_error(502), api_error(504), api_error(503)]
    client, transport, sleeps = client_with(*outcomes)
    with pytest.raises(errors.ApiError) as failure:
        client.list(HOSTENDPOINTS)
    assert len(transport.calls) == client_module.MAX_ATTEMPTS
    assert failure.value.status == 503 and "boom" in str(failure.value)
    nominal = [0.5, 1, 2, 4, 8]
    assert all(n * 0.8 <= s <= n * 1.2 for n, s in zip(nominal, sleeps))


def test_client_errors_are_not_retried():
    client, transport, sleeps = client_with(api_error(422, message="spec.node: Required value"))
    with pytest.raises(errors.ApiError) as failure:
        client.create(HOSTENDPOINTS, {"metadata": {"name": "x"}})
    assert len(transport.calls) == 1 and sleeps == []
    assert "spec.node: Required value" in str(failure.value)


def test_conflicts_surface_as_conflict_for_the_runner_to_reread():
    client, _transport, _sleeps = client_with(api_error(409))
    with pytest.raises(errors.Conflict):
        client.replace(HOSTENDPOINTS, {"metadata": {"name": "x", "resourceVersion": "1"}})


def test_check_mode_sends_server_side_dry_run_and_falls_back_when_refused():
    client, transport, _sleeps = client_with({"metadata": {"name": "x"}}, dry_run=True)
    client.create(HOSTENDPOINTS, {"metadata": {"name": "x"}})
    assert transport.calls[0][2] == {"dry_run": "All"}
    refused = api_error(400, message="dryRun is not supported")
    client, transport, _sleeps = client_with(refused, dry_run=True)
    body = {"metadata": {"name": "y"}}
    assert client.create(HOSTENDPOINTS, body) is body
    assert client.create(HOSTENDPOINTS, body) is body
    assert len(transport.calls) == 1, "after one refusal the prediction is local and nothing more is sent"


def test_missing_calico_api_names_the_api_server():
    client, _transport, _sleeps = client_with(api_error(404, message="the server could not find the requested resource"))
    with pytest.raises(errors.ApiError) as failure:
        client.require_calico_api([HOSTENDPOINTS])
    assert "Calico API server" in str(failure.value) and "crd.projectcalico.org/v1" in str(failure.value)
    client, _transport, _sleeps = client_with({"resources": [{"name": "globalnetworkpolicies"}]})
    with pytest.raises(errors.ApiError) as failure:
        client.require_calico_api([HOSTENDPOINTS])
    assert "does not serve hostendpoints" in str(failure.value)


# -- kubeconfig checks before the kubernetes client sees it (it would fail with a TypeError on some of these) --

@pytest.mark.parametrize("content, expected", [
    ("just some text\n", "holds a str, not a mapping"),
    ("- a\n- list\n", "holds a list, not a mapping"),
    ("", "holds nothing"),
    ("clusters: [unclosed\n", "cannot be read as YAML"),
])
def test_a_file_that_is_not_a_kubeconfig_is_named_with_what_it_holds(tmp_path, content, expected):
    path = tmp_path / "kubeconfig"
    path.write_text(content)
    problem = client_module.kubeconfig_problem(str(path))
    assert expected in problem and str(path) in problem


def test_a_missing_kubeconfig_file_is_reported_and_a_real_one_passes(tmp_path):
    assert "does not exist" in client_module.kubeconfig_problem(str(tmp_path / "absent"))
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    assert client_module.kubeconfig_problem(str(path)) is None
    assert client_module.kubeconfig_problem(None) is None


def test_a_kubeconfig_given_as_a_mapping_is_left_to_the_client():
    assert client_module.kubeconfig_problem({"apiVersion": "v1", "clusters": []}) is None
