"""The README's first quick-start command keeps working and leaves nothing running."""

from __future__ import annotations

import subprocess

import pytest

from integration.ansible_cli import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def emulator_processes():
    found = subprocess.run(["pgrep", "-f", "emulator serve"], capture_output=True, text=True, check=False)
    return found.stdout.split()


def test_demo_runs_the_main_job_twice_and_stops_the_emulator():
    before = emulator_processes()
    proc = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh")], capture_output=True, text=True, check=False,
                          timeout=600, cwd=str(REPO))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    first, second = proc.stdout.split("demo: second run", 1)
    assert "created: node-1-eth0, node-2-eth0, node-3-eth0" in first
    assert "changed=1" in first
    assert "changed=0" in second and "created: -" in second
    assert emulator_processes() == before, "the demo must stop its emulator"
