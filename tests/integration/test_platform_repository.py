"""A platform team's repository tests its playbooks with molecule, the way testworld/README.md tells it to.

Outside this checkout: a fresh virtualenv with the test world installed from its wheel (and ansible-core, molecule,
the kubernetes client from PyPI, at the versions of requirements-dev.txt), the collection installed from the built
tarball into the repository's own collections path (kubernetes.core from a Galaxy stub), a scenario written by
`python -m clusteredge_testworld.molecule init`, then `molecule test`: create, converge (which imports
clusteredge.calico.expose), idempotence, verify (calico_flow_check), destroy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clusteredge_testworld.nodes import free_subnet, lab_links, lab_namespaces
from galaxy_stub import GalaxyStub, tarball_of_installed_collection, user_env
from integration.ansible_cli import REPO
from quality.tools import build_collection

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PLATFORM_PACKAGES = ("ansible-core", "molecule", "kubernetes", "jmespath")


def run(args, cwd, env=None, timeout=900):
    proc = subprocess.run([str(a) for a in args], cwd=str(cwd), env=env, capture_output=True, text=True, check=False,
                          timeout=timeout)
    assert proc.returncode == 0, "%s\n--- stdout\n%s\n--- stderr\n%s" % (args, proc.stdout[-6000:], proc.stderr[-12000:])
    return proc


@pytest.fixture(scope="module")
def platform_venv(tmp_path_factory):
    """A virtualenv of the platform repository: the test world from its wheel, the rest from PyPI."""
    root = tmp_path_factory.mktemp("platform-venv")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", root / "dist", REPO / "testworld"],
        cwd=root)
    [wheel] = sorted((root / "dist").glob("clusteredge_calico_testworld-*.whl"))
    run([sys.executable, "-m", "venv", root / "venv"], cwd=root)
    python = root / "venv" / "bin" / "python"
    try:
        run([python, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-c", REPO / "requirements-dev.txt",
             wheel] + list(PLATFORM_PACKAGES), cwd=root, timeout=1200)
    except AssertionError as exc:
        if "Could not find a version" in str(exc) or "NewConnectionError" in str(exc):
            pytest.skip("PyPI is needed to build the platform repository's virtualenv: %s" % str(exc)[-300:])
        raise
    return python


def test_a_platform_repository_runs_its_molecule_scenario(platform_venv, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the test world's nodes are network namespaces: root only")
    repo = tmp_path / "platform-repo"
    repo.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    venv_bin = platform_venv.parent
    prefix = "pr%03d" % (os.getpid() % 1000)
    env = user_env(home, venv_bin, VIRTUAL_ENV=str(venv_bin.parent), ANSIBLE_COLLECTIONS_PATH=str(repo / "collections"),
                   TESTWORLD_PREFIX=prefix, TESTWORLD_SUBNET=free_subnet("10.201.0.0/16"))

    # The test world comes from the wheel in the platform's venv, not from this checkout.
    where = run([platform_venv, "-c", "import clusteredge_testworld; print(clusteredge_testworld.__file__)"], cwd=repo, env=env)
    assert where.stdout.startswith(str(venv_bin.parent)), where.stdout

    # The collection from its release tarball, kubernetes.core as its dependency from "Galaxy".
    tarball = build_collection(tmp_path)
    with GalaxyStub([tarball, tarball_of_installed_collection(tmp_path)]) as galaxy:
        run([venv_bin / "ansible-galaxy", "collection", "install", tarball, "-p", repo / "collections"], cwd=repo,
            env=dict(env, ANSIBLE_GALAXY_SERVER=galaxy.url))
    assert (repo / "collections" / "ansible_collections" / "kubernetes" / "core").is_dir()

    written = run([platform_venv, "-m", "clusteredge_testworld.molecule", "init", "molecule/calico"], cwd=repo, env=env)
    assert sorted(Path(line).name for line in written.stdout.split()) == [
        "converge.yml", "create.yml", "destroy.yml", "molecule.yml", "verify.yml"]

    result = run([venv_bin / "molecule", "test", "-s", "calico"], cwd=repo, env=env, timeout=1500)
    output = result.stdout + result.stderr
    for step in ("create", "converge", "idempotence", "verify", "destroy"):
        assert "calico > %s: Executed: Successful" % step in output, output[-4000:]
    assert "TASK [Check the flows]" in output, "verify checked the flows with calico_flow_check"
    assert "failed=0" in output.rsplit("SCENARIO RECAP", 1)[-1]
    assert lab_namespaces(prefix) == [] and lab_links(prefix) == [], "destroy leaves no namespace or link behind"
