"""The role's API cost does not grow with the inventory: 5 hosts and 500 hosts read the same, write per object."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clusteredge_testworld.emulator import EmulatorServer
from integration.ansible_cli import write_local_inventory
from clusteredge_testworld.lab.cluster import SERVICE_CIDR_V4, SERVICE_CIDR_V6, cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = [{"namespace": "shop", "name": "frontend", "sources": ["50.60.0.0/16"]},
            {"namespace": "shop", "name": "api", "sources": ["70.80.90.0/24"]}]


def run_role(tmp_path, hosts):
    """Expose against `hosts` local-connection hosts, each mapped explicitly to its own node (interface lo).

    Every local host reports the controller's facts, so the nodes all carry the loopback address as InternalIP:
    that keeps the role's verification (node addresses within expectedIPs) meaningful. Controller discovery: only the
    canary gathers its facts, so the run's cost is the role's, not minutes of `setup` on 500 local hosts (the benchmark
    measures the default discovery at scale); what the API sees does not depend on the discovery mode.
    """
    node_addresses = dict(("node-%03d" % i, "127.0.0.1") for i in range(hosts))
    with EmulatorServer(service_cidrs=(SERVICE_CIDR_V4, SERVICE_CIDR_V6)) as api:
        api.seed(cluster(node_addresses))
        write_local_inventory(tmp_path / "inventory.yml", dict(("h%03d" % i, "node-%03d" % i) for i in range(hosts)))
        role_vars = {"clusterip_exposure_services": SERVICES, "clusterip_exposure_canary_settle": 0,
                     "clusterip_exposure_discovery": "controller"}
        (tmp_path / "vars.json").write_text(json.dumps(role_vars))
        api.clear_requests()
        env = dict(os.environ, K8S_AUTH_HOST=api.url, K8S_AUTH_API_KEY="test", ANSIBLE_FORKS="25", TMPDIR=str(tmp_path),
                   ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
        proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"),
                               "clusteredge.calico.expose", "-e", "@%s" % (tmp_path / "vars.json")],
                              env=env, capture_output=True, text=True, check=False, timeout=1200, cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert "ok: [h000]" in proc.stdout.split("Gather network facts", 1)[1].split("PLAY", 1)[0], "the canary alone gathers"
        requests = [r for r in api.requests if r["verb"] not in ("admin", "discovery")]
        return (collections.Counter((r["method"], r["path"]) for r in requests if r["method"] == "GET"),
                collections.Counter((r["method"], r["resource"]) for r in requests if r["method"] != "GET"))


def test_500_hosts_cost_the_reads_of_5_and_one_write_per_hostendpoint(tmp_path):
    (tmp_path / "small").mkdir()
    (tmp_path / "large").mkdir()
    small_reads, small_writes = run_role(tmp_path / "small", 5)
    large_reads, large_writes = run_role(tmp_path / "large", 500)
    assert large_reads == small_reads, "reads do not depend on the number of hosts"
    assert sum(small_reads.values()) < 60, "a few dozen reads per run, one per kind per module call"
    heps = ("POST", "hostendpoints")
    assert small_writes[heps] == 5 and large_writes[heps] == 500, "one create per HostEndpoint"
    assert dict((k, v) for k, v in large_writes.items() if k != heps) == dict((k, v) for k, v in small_writes.items() if k != heps)
