"""The benchmark harness works: at 2 nodes x 1 Service both approaches reach the same objects, and it reports every run.

Not a timed test: the timings it prints are not checked (they belong to `python -m benchmarks`, docs/benchmarks.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def test_benchmark_harness_runs_both_approaches_to_the_same_objects(tmp_path):
    out = tmp_path / "bench"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--sizes", "2x1", "--out", str(out), "--forks", "2"],
                          cwd=str(REPO), capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "[2x1] same desired state after first run: yes" in proc.stdout
    assert "[2x1] same desired state after one Service changed: yes" in proc.stdout

    (case,) = json.loads((out / "results.json").read_text())["cases"]
    assert sorted(case["runs"]) == ["a-change", "a-first", "a-noop", "b-change", "b-first", "b-noop"]
    for name, run in case["runs"].items():
        assert run["rc"] == 0 and run["api_total"] > 0 and run["controller_rss_mib"] > 0, name
    assert case["same_state"]["first"]["same"] and case["same_state"]["first"]["objects"] >= 4 + 2 + 1 + 1
    runs = case["runs"]
    assert runs["a-first"]["writes_by_kind"]["create hostendpoints"] == 2
    assert runs["b-first"]["writes_by_kind"]["create hostendpoints"] == 2
    assert runs["a-noop"]["writes_by_kind"] == {}, "the role's re-run writes nothing"
    assert runs["a-change"]["writes_by_kind"].get("update networkpolicies") == 1, "the changed Service's pod policy is rewritten"
    assert ET.parse(str(out / "results.svg")).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    table = (out / "results.txt").read_text()
    assert "(b)/(a)" in table and "no-op re-run, role:" in table
    # The role as users run it, verify included, and where its time went.
    assert case["role_verify"] is True
    slowest = dict(runs["a-noop"]["slowest_tasks"])
    assert any(name.endswith(": Check the intent flow by flow, naming the rule that decides each") for name in slowest), slowest
    assert all(seconds >= 0 for seconds in slowest.values())
    assert "[2x1] role     no-op re-run         slowest tasks: " in proc.stdout
    assert "slowest tasks, role, no-op re-run: " in table


def test_slowest_tasks_add_up_each_task_until_the_next_line_that_starts_something(tmp_path):
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.harness import slowest_tasks
    finally:
        sys.path.remove(str(REPO))
    log = tmp_path / "run.ansible.log"
    log.write_text("\n".join([
        "2026-12-07 10:00:00,000 p=1 u=root n=ansible INFO| PLAY [Expose] ***",
        "2026-12-07 10:00:01,000 p=1 u=root n=ansible INFO| TASK [role : Gather network facts] ***",
        "2026-12-07 10:00:05,500 p=1 u=root n=ansible INFO| ok: [h1]",
        "2026-12-07 10:00:06,000 p=1 u=root n=ansible INFO| TASK [role : Map hosts] ***",
        "2026-12-07 10:00:06,250 p=1 u=root n=ansible INFO| TASK [role : Gather network facts] ***",
        "2026-12-07 10:00:07,250 p=1 u=root n=ansible INFO| PLAY RECAP ***",
        "2026-12-07 10:00:07,300 p=1 u=root n=ansible INFO| h1 : ok=3",
    ]))
    assert slowest_tasks(log) == [["role : Gather network facts", 6.0], ["role : Map hosts", 0.25]]
    assert slowest_tasks(log, top=1) == [["role : Gather network facts", 6.0]]
    assert slowest_tasks(tmp_path / "missing.log") == []
