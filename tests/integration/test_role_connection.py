"""The role's connection variables: clusterip_exposure_host, _api_key, _kubeconfig, _context, ... reach every module call.

Runs clusteredge.calico.expose on local-connection hosts (see test_least_privilege.py) with no K8S_AUTH_* variable and
an empty HOME, so that the only way to the emulator is what the test passes as role variables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clusteredge_testworld.emulator import EmulatorServer
from integration.ansible_cli import ansible_env, write_local_inventory
from clusteredge_testworld.lab.cluster import SERVICE_CIDR_V4, SERVICE_CIDR_V6, cluster

pytestmark = pytest.mark.integration

SERVICES = [{"namespace": "shop", "name": "frontend", "sources": ["50.60.0.0/16"]}]
NODES = ("node-1", "node-2", "node-3")
HEPS = ["node-1-lo", "node-2-lo", "node-3-lo"]


@pytest.fixture
def api():
    token = "role-token-" + os.urandom(6).hex()
    with EmulatorServer(token=token, service_cidrs=(SERVICE_CIDR_V4, SERVICE_CIDR_V6)) as server:
        # Every local host reports the controller's facts: the nodes carry the loopback address.
        server.seed(cluster(dict((node, "127.0.0.1") for node in NODES)))
        yield server


def expose(api, tmp_path, extra_vars, args=(), playbook="clusteredge.calico.expose", env_extra=None):
    """`playbook` without K8S_AUTH_*, KUBECONFIG or a ~/.kube/config: only `extra_vars` can name the cluster."""
    write_local_inventory(tmp_path / "inventory.yml", dict(("h-%s" % node, node) for node in NODES))
    (tmp_path / "vars.json").write_text(json.dumps(dict({"clusterip_exposure_services": SERVICES,
                                                         "clusterip_exposure_canary_settle": 0}, **extra_vars)))
    env = ansible_env(api.url, tmp_path / "home", auth=False, extra=env_extra)
    env.pop("KUBECONFIG", None)
    (tmp_path / "home").mkdir(exist_ok=True)
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), playbook,
           "-e", "@%s" % (tmp_path / "vars.json")] + list(args)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=600, cwd=str(tmp_path))


def writes(api):
    return [r for r in api.requests if r["verb"] in ("create", "update", "patch", "delete", "deletecollection")
            and not r["dry_run"]]


def test_host_and_api_key_variables_alone_connect_every_module_call(api, tmp_path):
    connection = {"clusterip_exposure_host": api.url, "clusterip_exposure_api_key": api.token}
    first = expose(api, tmp_path, connection)
    assert first.returncode == 0, first.stdout[-4000:]
    assert sorted(o["metadata"]["name"] for o in api.objects("HostEndpoint")) == HEPS
    assert [r for r in api.requests if r["status"] == 401] == []
    again = expose(api, tmp_path, connection)
    assert again.returncode == 0, again.stdout[-4000:]
    assert "changed=0" in again.stdout and "changed=1" not in again.stdout
    # The unexpose playbook honours the same variables.
    gone = expose(api, tmp_path, connection, playbook="clusteredge.calico.unexpose")
    assert gone.returncode == 0, gone.stdout[-4000:]
    assert api.objects("HostEndpoint") == []


def test_kubeconfig_and_context_variables(api, tmp_path):
    kubeconfig = api.write_kubeconfig(str(tmp_path / "kube" / "config"), context="calico-lab")
    run = expose(api, tmp_path, {"clusterip_exposure_kubeconfig": kubeconfig, "clusterip_exposure_context": "calico-lab"})
    assert run.returncode == 0, run.stdout[-4000:]
    assert sorted(o["metadata"]["name"] for o in api.objects("HostEndpoint")) == HEPS
    wrong = expose(api, tmp_path, {"clusterip_exposure_kubeconfig": kubeconfig, "clusterip_exposure_context": "no-such"})
    assert wrong.returncode != 0, "the context variable reaches the modules"
    assert "no-such" in wrong.stdout


def test_nothing_configured_fails_at_the_first_task_naming_the_ways(api, tmp_path):
    run = expose(api, tmp_path, {})
    assert run.returncode != 0
    tasks = [line for line in run.stdout.splitlines() if line.startswith("TASK [")]
    assert tasks[-1].startswith("TASK [clusteredge.calico.clusterip_exposure : Check a Kubernetes cluster is configured]"), tasks
    assert not any("Validating arguments" not in t and "Collect the connection" not in t for t in tasks[1:-1]), tasks
    for way in ("clusterip_exposure_kubeconfig", "clusterip_exposure_host", "K8S_AUTH_HOST", "AWX Kubernetes credential",
                "~/.kube/config", "module_defaults", "Nothing was written"):
        assert way in run.stdout, way
    assert "Invalid kube-config" not in run.stdout
    assert api.requests == [] or writes(api) == []
    assert api.objects("HostEndpoint") == []


def test_nothing_configured_fails_the_unexpose_and_hostendpoints_playbooks_too(api, tmp_path):
    for playbook in ("clusteredge.calico.unexpose", "clusteredge.calico.hostendpoints"):
        run = expose(api, tmp_path, {}, playbook=playbook)
        assert run.returncode != 0, run.stdout[-3000:]
        assert "No Kubernetes cluster is configured" in run.stdout, run.stdout[-3000:]
    assert writes(api) == []


def test_api_key_never_reaches_the_output_even_at_vvv(api, tmp_path):
    log = tmp_path / "ansible.log"
    run = expose(api, tmp_path, {"clusterip_exposure_host": api.url, "clusterip_exposure_api_key": api.token},
                 args=("-vvv",), env_extra={"ANSIBLE_LOG_PATH": str(log)})
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "Collect the connection variables that are set" in run.stdout
    assert api.token not in output
    assert log.exists() and api.token not in log.read_text()
