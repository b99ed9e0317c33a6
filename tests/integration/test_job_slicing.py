"""AWX job slicing: N slices of one inventory, run at the same time, end in exactly the state of one run.

AWX splits a sliced job template's inventory into N parts and runs the playbook on each part as its own job, in
parallel. Every slice reads the same Services and Nodes, so each renders the same policies (the applier settles
the concurrent writes: a 409 re-reads and finds the object already as wanted); each writes only its own hosts'
HostEndpoints (state replaced, never overridden), so no slice removes another slice's; each slice puts its own
canary first and goes on only once that canary passed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clusteredge_testworld.emulator import EmulatorServer
from clusteredge_testworld.lab.cluster import SERVICE_CIDR_V4, SERVICE_CIDR_V6, cluster
from integration.ansible_cli import write_local_inventory
from integration.cluster import comparable_objects as state_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOSTS = 8
SLICES = 4
SERVICES = [{"namespace": "shop", "name": "frontend", "sources": ["50.60.0.0/16"]},
            {"namespace": "shop", "name": "api", "sources": ["70.80.90.0/24"]}]


def node_of(index):
    return "node-%d" % index


def host_of(index):
    return "h%d" % index


def start_expose(workdir, api, hosts):
    """ansible-playbook clusteredge.calico.expose on `hosts` (local connection, each mapped to its node), not waited for."""
    workdir.mkdir(parents=True, exist_ok=True)
    write_local_inventory(workdir / "inventory.yml", dict((host_of(i), node_of(i)) for i in hosts))
    (workdir / "vars.json").write_text(json.dumps({"clusterip_exposure_services": SERVICES, "clusterip_exposure_canary_settle": 0}))
    env = dict(os.environ, K8S_AUTH_HOST=api.url, K8S_AUTH_API_KEY="test", ANSIBLE_FORKS="5", TMPDIR=str(workdir),
               ANSIBLE_LOCAL_TEMP=str(workdir / "tmp"))
    log = open(workdir / "run.log", "w", encoding="utf-8")  # pylint: disable=consider-using-with
    proc = subprocess.Popen([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(workdir / "inventory.yml"),  # pylint: disable=consider-using-with
                             "clusteredge.calico.expose", "-e", "@%s" % (workdir / "vars.json")],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(workdir))
    return proc, log


def finish(proc, log, workdir):
    try:
        assert proc.wait(timeout=900) == 0, (workdir / "run.log").read_text()[-4000:]
    finally:
        log.close()


def seeded_api():
    api = EmulatorServer(service_cidrs=(SERVICE_CIDR_V4, SERVICE_CIDR_V6)).start()
    # Every local host reports the controller's facts: each node carries the loopback address, as in test_role_scale.
    api.seed(cluster(dict((node_of(i), "127.0.0.1") for i in range(HOSTS))))
    return api


def test_four_concurrent_slices_end_in_the_state_of_one_run(tmp_path):
    one_run, sliced = seeded_api(), seeded_api()
    try:
        proc, log = start_expose(tmp_path / "one-run", one_run, range(HOSTS))
        finish(proc, log, tmp_path / "one-run")
        expected = state_of(one_run)
        assert sorted(k for k in expected if k.startswith("HostEndpoint/")) == ["HostEndpoint/%s-lo" % node_of(i) for i in range(HOSTS)]

        # As AWX slices an inventory: host i goes to slice i % SLICES; the slices run at once.
        slices = [[i for i in range(HOSTS) if i % SLICES == n] for n in range(SLICES)]
        sliced.clear_requests()
        running = [start_expose(tmp_path / ("slice-%d" % n), sliced, hosts) + (tmp_path / ("slice-%d" % n),)
                   for n, hosts in enumerate(slices)]
        for proc, log, workdir in running:
            finish(proc, log, workdir)
        assert state_of(sliced) == expected

        # Each slice put its own canary's HostEndpoints first and wrote no other slice's.
        creates = [r for r in sliced.requests if r["method"] == "POST" and r["resource"] == "hostendpoints"]
        assert len(creates) == HOSTS, "one create per HostEndpoint, whichever slice wrote it"
        deletes = [r for r in sliced.requests if r["method"] == "DELETE"]
        assert deletes == [], "no slice removes what another slice wrote"
        for n, hosts in enumerate(slices):
            run = (tmp_path / ("slice-%d" % n) / "run.log").read_text()
            assert run.index("Create the canary's HostEndpoints") < run.index("Create the other nodes' HostEndpoints in one call")
            assert all(node_of(i) in run for i in hosts)
            assert not any("%s-lo" % node_of(i) in run for i in range(HOSTS) if i not in hosts), "a slice names only its own nodes"
    finally:
        one_run.stop()
        sliced.stop()
