"""API faults at chosen steps of a run: absorbed when transient, a clear failure when not, and a re-run always converges.

A bounded sample of the fault matrix (scripts/fault-matrix.sh runs all of it): each fault kind at a few steps of
calico_clusterip_exposure (the first request, the first collection read, a policy create, a Service pin patch) and
of calico_hostendpoint (a HostEndpoint create). Each cell: inject at that step, run, check the outcome and the state
against a clean run, re-run without faults, check again, then a last run must change nothing.
"""

from __future__ import annotations

import re

import pytest

from faultmatrix.matrix import Bench, Cell
from faultmatrix.scenario import SERVICES, Cluster, differences
from integration.conftest import node_hep
from integration.test_calico_profiles import MATRIX as PROFILE_MATRIX

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ABSORBED = "ok"
CLEAN_FAILURE = "clean-fail, re-run ok"
GNPS = "/apis/projectcalico.org/v3/globalnetworkpolicies"
HEPS = "^/apis/projectcalico.org/v3/hostendpoints$"


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    with Bench(tmp_path_factory.mktemp("faults"), "module") as module_bench:
        steps, reference = module_bench.clean_reference()
        yield module_bench, steps, reference


PERSISTENT_POLICY_CREATE = r"^Create GlobalNetworkPolicy/\S+ failed after \d+ of \d+ changes were applied: POST %s: 500 " % GNPS


@pytest.mark.parametrize("method, path, occurrence, kind, expected", [
    # The very first request is the kubernetes client's API discovery, before the module's own code runs.
    ("GET", "/version", 0, "503", ABSORBED),
    ("GET", "/version", 0, "reset", ABSORBED),
    ("GET", "/apis/projectcalico.org/v3", 0, "429", ABSORBED),
    ("GET", "/apis/projectcalico.org/v3", 0, "500", ABSORBED),
    ("POST", GNPS, 0, "503", ABSORBED),
    ("POST", GNPS, 0, "reset-after-write", ABSORBED),
    ("POST", GNPS, 0, "409-another-writer", ABSORBED),
    ("POST", GNPS, 0, "500-persistent", CLEAN_FAILURE),
    ("PATCH", "/api/v1/namespaces/shop/services/frontend", 0, "429", ABSORBED),
    ("PATCH", "/api/v1/namespaces/shop/services/frontend", 0, "reset", ABSORBED),
    ("PATCH", "/api/v1/namespaces/shop/services/frontend", 0, "reset-after-write", ABSORBED),
    # A merge patch carries no resourceVersion: the client does not retry a 409 on it, it stops and says so.
    ("PATCH", "/api/v1/namespaces/shop/services/frontend", 0, "409-another-writer", CLEAN_FAILURE),
])
def test_exposure_fault_at_a_step(bench, method, path, occurrence, kind, expected):
    module_bench, steps, reference = bench
    index = [s[0] for s in steps if s[1:] == (method, path, occurrence)]
    assert index, "the clean run makes that request"
    cell = module_bench.run_cell(Cell("module", index[0], method, path, occurrence, kind), reference)
    assert cell.outcome == expected, cell.detail
    if kind == "500-persistent":
        assert re.search(PERSISTENT_POLICY_CREATE, cell.detail), "the failure names the change, the request and the status"


def test_another_writer_changing_a_policy_mid_update_does_not_win_over_the_intent(tmp_path):
    """A 409 because someone edited the policy we are updating: re-read, re-apply, end exactly as a clean run."""
    with Cluster(tmp_path / "reference") as clean:
        assert clean.run_module(SERVICES[:2]).ok
        reference = clean.state()
    with Cluster(tmp_path / "raced") as raced:
        assert raced.run_module().ok
        rule = raced.api.inject_fault(method="PUT", path="^%s/" % re.escape(GNPS), status=409, another_writer=True,
                                      mutate={"spec": {"ingress": [{"action": "Allow"}]}})
        run = raced.run_module(SERVICES[:2])
        assert rule.times == 0, "the other writer struck"
        assert run.ok and run.changed, run
        assert differences(reference, raced.state()) == []
        assert not raced.run_module(SERVICES[:2]).changed


@pytest.mark.parametrize("fault", [
    dict(reset=True, after=True),
    dict(status=409, another_writer=True),
], ids=["reset-after-the-create-was-applied", "409-another-writer-created-it"])
def test_hostendpoint_create_that_already_happened_is_not_an_error(k8s_api, hep, fault):
    """The create reached the server (or another run made the same object): the run succeeds, nothing is doubled."""
    nodes = [node_hep("node-%d-eth0" % i, "node-%d" % i, "10.200.0.%d" % (10 + i)) for i in (1, 2)]
    k8s_api.inject_fault(method="POST", path=HEPS, skip=1, **fault)
    result = hep(config=nodes, state="replaced")
    assert not result.failed, result
    stored = dict((o["metadata"]["name"], o["spec"]) for o in k8s_api.objects("HostEndpoint"))
    assert stored == dict((n["name"], {"node": n["node"], "interfaceName": "eth0", "expectedIPs": n["expected_ips"]}) for n in nodes)
    assert hep(config=nodes, state="replaced")["changed"] is False


def test_a_run_stopped_before_removing_a_pin_leaves_no_stale_pin(tmp_path):
    """The policies of a Service no longer exposed are gone, its pin removal failed: the re-run still removes the pin."""
    ledger = "/api/v1/namespaces/payments/services/ledger"
    with Cluster(tmp_path) as bench:
        assert bench.run_module().ok
        bench.api.inject_fault(method="PATCH", path="^%s$" % re.escape(ledger), status=409, another_writer=True)
        stopped = bench.run_module(SERVICES[:2])
        assert stopped.clear and "payments/ledger" in stopped.messages[0], stopped
        assert [n for n in bench.state() if n.startswith("NetworkPolicy/payments/")] == [], "its policy was deleted first"
        rerun = bench.run_module(SERVICES[:2])
        assert rerun.ok and rerun.changed, rerun
        assert bench.state()["Service/payments/ledger"] == {}, "no pin left behind"
        assert not bench.run_module(SERVICES[:2]).changed


PROFILE_CELLS = [("POST", GNPS, 0, "409-another-writer", ABSORBED), ("POST", GNPS, 0, "500-persistent", CLEAN_FAILURE),
                 ("GET", "/apis/projectcalico.org/v3", 0, "503", ABSORBED)]


# Both ends of the releases users run, and both ways 3.32 serves the API: what differs between releases on the write
# path (tier field and label, admission, RBAC answers) appears from 3.29 on and is all in 3.32.
FAULT_PROFILES = [p for p in PROFILE_MATRIX if p.values[0] in ("3.28", "3.32", "3.32-crd")]


@pytest.mark.parametrize("profile", FAULT_PROFILES)
def test_a_sample_of_faults_on_the_oldest_and_newest_calico_profiles(profile, tmp_path):
    """The same cells on the oldest and newest Calico releases, with and without the API server: a conflict with
    another writer is absorbed, a persistent error fails clearly, and on every profile the re-run converges to the
    clean run's state."""
    with Bench(tmp_path, "module", profile=profile) as module_bench:
        steps, reference = module_bench.clean_reference()
        for method, path, occurrence, kind, expected in PROFILE_CELLS:
            index = [s[0] for s in steps if s[1:] == (method, path, occurrence)]
            assert index, "the clean run makes that request"
            cell = module_bench.run_cell(Cell("module", index[0], method, path, occurrence, kind), reference)
            assert cell.outcome == expected, (kind, cell.detail)
