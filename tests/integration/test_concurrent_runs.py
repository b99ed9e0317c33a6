"""Two runs of the same exposure on the same cluster at once end in the state of one run, and both succeed."""

from __future__ import annotations

import re

import pytest

from faultmatrix.scenario import Cluster, differences, playbook_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GNS_CREATE = "^%s$" % re.escape("/apis/projectcalico.org/v3/globalnetworksets")
# Both runs' first write waits here, so both have read an empty cluster before either writes: they really race.
RENDEZVOUS = 15


def test_two_playbook_runs_at_once_end_like_one(tmp_path):
    with Cluster(tmp_path / "reference") as clean:
        assert clean.run_playbook().ok
        reference = clean.state()
    with Cluster(tmp_path / "concurrent") as bench:
        bench.api.inject_fault(method="POST", path=GNS_CREATE, times=2, hold=RENDEZVOUS, status=None)
        procs = [bench.start(bench.playbook_command()) for _n in range(2)]
        outputs = [proc.communicate(timeout=600) for proc in procs]
        runs = [playbook_run(proc.returncode, out, err) for proc, (out, err) in zip(procs, outputs)]
        creates = [r for r in bench.api.requests if r["method"] == "POST" and re.search(GNS_CREATE, r["path"])]
        assert sorted(r["status"] for r in creates) == [201, 409], "both runs tried to create the same object"
        for run in runs:
            assert run.ok and not run.traceback, run
        assert differences(reference, bench.state()) == []
        after = bench.run_playbook()
        assert after.ok and not after.changed, after
