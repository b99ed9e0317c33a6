"""A run killed (kill -9, whole process group) at any point leaves every node usable, and the re-run completes it.

The emulator holds a chosen request in flight (fault rule `hold`) so the kill lands exactly there. After the kill,
every HostEndpoint present must be selected by the host-traffic policy, and SSH, the API server's calls to the
kubelet and the node's calls to the API server must still get through (the collection's flow evaluator decides).
"""

from __future__ import annotations

import re
import time

import pytest

from faultmatrix.invariant import HOST_TRAFFIC_POLICY, unprotected
from faultmatrix.scenario import SERVICES, Cluster, differences, kill_group

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CALICO = "/apis/projectcalico.org/v3/"
HEPS = "^%shostendpoints$" % re.escape(CALICO)
GNPS = "^%sglobalnetworkpolicies$" % re.escape(CALICO)
# Seconds a held request stays in flight: far longer than the test needs to kill the run. A request that lands
# after the kill is held shorter, as the test waits for it.
HOLD = 20
HOLD_LANDING = 5


@pytest.fixture(scope="module")
def clean_role_state(tmp_path_factory):
    """What one uninterrupted run of the playbook leaves."""
    with Cluster(tmp_path_factory.mktemp("clean-role")) as bench:
        run = bench.run_playbook()
        assert run.ok, run
        return bench.state()


def wait_for(condition, proc, what):
    deadline = time.monotonic() + 300  # a safety net against a hung test, not a timing assertion
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError("the run ended before %s:\n%s\n%s" % (what, out[-4000:], err[-2000:]))
        if time.monotonic() > deadline:
            raise AssertionError("never reached: %s" % what)
        time.sleep(0.05)


def answered(api, method, pattern, count):
    """True once `count` requests matching method and path have been answered (so a held request has landed)."""
    return len([r for r in api.requests if r["method"] == method and re.search(pattern, r["path"]) and r["status"]]) >= count


def kill_at(bench, command, method, pattern, skip=0, lands=False):
    """Start the run, hold the (skip+1)-th matching request, kill -9 the run's process group while it is in flight.

    `lands`: the held request is then applied anyway (the server got it; the client died waiting), else it never is.
    """
    rule = bench.api.inject_fault(method=method, path=pattern, skip=skip, hold=HOLD_LANDING if lands else HOLD, status=None,
                                  reset=not lands)
    proc = bench.start(command)
    wait_for(lambda: rule.times == 0, proc, "%s %s #%d" % (method, pattern, skip + 1))
    kill_group(proc)
    assert proc.returncode == -9
    if lands:
        wait_for_landing = time.monotonic() + HOLD_LANDING + 60
        while not answered(bench.api, method, pattern, skip + 1) and time.monotonic() < wait_for_landing:
            time.sleep(0.1)
        assert answered(bench.api, method, pattern, skip + 1), "the held request was applied after the kill"


def names(api, kind):
    return sorted(o["metadata"]["name"] for o in api.objects(kind))


def assert_rerun_completes(bench, reference):
    rerun = bench.run_playbook()
    assert rerun.ok and not rerun.traceback, rerun
    assert differences(reference, bench.state()) == []
    settled = bench.run_playbook()
    assert settled.ok and not settled.changed, settled


def test_killed_while_a_policy_write_is_in_flight(tmp_path, clean_role_state):
    with Cluster(tmp_path) as bench:
        kill_at(bench, bench.playbook_command(), "POST", GNPS, skip=1, lands=True)
        assert names(bench.api, "HostEndpoint") == [], "no HostEndpoint before the policies are complete"
        assert unprotected(bench.api) == []
        assert_rerun_completes(bench, clean_role_state)


def test_killed_after_the_policies_before_the_first_hostendpoint(tmp_path, clean_role_state):
    with Cluster(tmp_path) as bench:
        kill_at(bench, bench.playbook_command(), "POST", HEPS)
        assert HOST_TRAFFIC_POLICY in names(bench.api, "GlobalNetworkPolicy"), "the policies were all written"
        assert names(bench.api, "HostEndpoint") == []
        assert_rerun_completes(bench, clean_role_state)


def test_killed_in_the_middle_of_the_hostendpoint_creates(tmp_path, clean_role_state):
    with Cluster(tmp_path) as bench:
        # POST 1 is the canary's, 2 and 3 the other nodes' (one call): kill while the last is in flight, then it lands.
        kill_at(bench, bench.playbook_command(), "POST", HEPS, skip=2, lands=True)
        assert names(bench.api, "HostEndpoint") == ["node-1-lo", "node-2-lo", "node-3-lo"]
        assert unprotected(bench.api) == []
        assert_rerun_completes(bench, clean_role_state)


def test_killed_module_while_it_changes_the_policies_of_live_hostendpoints(tmp_path, clean_role_state):
    """HostEndpoints exist and a new Service is exposed: killed between policy writes, the nodes stay usable."""
    with Cluster(tmp_path) as bench:
        first = bench.run_playbook(services=SERVICES[:2])
        assert first.ok, first
        kill_at(bench, bench.module_command(), "PUT", "^%sglobalnetworkpolicies/" % re.escape(CALICO))
        assert names(bench.api, "HostEndpoint") == ["node-1-lo", "node-2-lo", "node-3-lo"]
        assert unprotected(bench.api) == []
        assert_rerun_completes(bench, clean_role_state)


def test_killed_module_between_its_writes_converges_on_rerun(tmp_path):
    with Cluster(tmp_path / "reference") as clean:
        assert clean.run_module().ok
        reference = clean.state()
    with Cluster(tmp_path / "killed") as bench:
        kill_at(bench, bench.module_command(), "POST", GNPS, skip=2)
        written = [r for r in bench.api.requests if r["method"] == "POST" and r["status"] == 201]
        assert 0 < len(written) < len([r for r in clean.api.requests if r["method"] == "POST" and r["status"] == 201])
        rerun = bench.run_module()
        assert rerun.ok and rerun.changed, rerun
        assert differences(reference, bench.state()) == []
        assert not bench.run_module().changed
