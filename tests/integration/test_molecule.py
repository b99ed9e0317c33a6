"""Every molecule scenario, as a platform repo would run it: create, converge, idempotence, verify, destroy.

This is the `molecule test -s <scenario>` of docs/role.md, run for each scenario.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clusteredge_testworld.emulator.profiles import DEFAULT_PROFILE, PROFILE_ENV
from integration.ansible_cli import REPO
from integration.test_calico_profiles import MATRIX as PROFILE_MATRIX

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCENARIOS = sorted(p.name for p in (REPO / "extensions" / "molecule").iterdir() if (p / "molecule.yml").exists())


def test_there_are_the_four_required_scenarios():
    assert SCENARIOS == ["canary", "cluster", "dualstack", "local"]
    assert [r.id for r in RUNS if r.values[1]] == ["cluster-%s" % p for p in EXTRA_PROFILES], "both ends are profiles of the matrix"


# Every scenario runs on the default profile, the oldest release users run; the cluster scenario also runs on the newest,
# with and without the Calico API server (the lab's emulator takes the profile from EMULATOR_CALICO_PROFILE). What
# molecule adds to a role run does not depend on the release; test_calico_profiles runs the role on every profile.
EXTRA_PROFILES = ("3.32", "3.32-crd")
RUNS = [pytest.param(s, None, id=s) for s in SCENARIOS] + [
    pytest.param("cluster", p.values[0], id="cluster-%s" % p.values[0], marks=p.marks)
    for p in PROFILE_MATRIX if p.values[0] in EXTRA_PROFILES and p.values[0] != DEFAULT_PROFILE]


@pytest.mark.skipif(os.geteuid() != 0, reason="the scenarios create network namespaces: root only")
@pytest.mark.parametrize("scenario, profile", RUNS)
def test_molecule_scenario(scenario, profile, tmp_path):
    env = dict(os.environ, MOLECULE_NO_LOG="false", ANSIBLE_NOCOLOR="1", NO_COLOR="1", TMPDIR=str(tmp_path))
    if profile:
        env[PROFILE_ENV] = profile
    molecule = Path(sys.executable).parent / "molecule"
    proc = subprocess.run([str(molecule), "test", "-s", scenario], cwd=str(REPO), env=env, capture_output=True, text=True,
                          check=False, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert "failed=0" in output.split("SCENARIO RECAP", 1)[-1]
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    assert "m%s-node" % scenario[:4] not in namespaces, "destroy must remove every namespace"
