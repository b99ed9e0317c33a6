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
