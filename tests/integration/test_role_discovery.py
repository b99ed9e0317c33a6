"""A re-run contacts only the hosts whose HostEndpoints no longer hold: a node whose address changed is noticed."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clusteredge_testworld.emulator.admin import AdminClient
from clusteredge_testworld.lab import Lab
from clusteredge_testworld.nodes import free_subnet

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = [{"namespace": "shop", "name": "frontend", "sources": ["50.60.0.0/16"]}]
GATHER_TASK = "Gather network facts"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    lab = Lab(tmp_path_factory.mktemp("lab"), prefix="rd%s" % format(os.getpid() % 1000, "03d"),
              subnet=free_subnet("10.202.0.0/16", seed=os.getpid() + 40))
    with lab:
        yield lab


def expose(world, tmp_path, extra=None):
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(dict({"clusterip_exposure_services": SERVICES, "clusterip_exposure_canary_settle": 0}, **(extra or {}))))
    run = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(world.inventory), "clusteredge.calico.expose",
                          "-e", "@%s" % vars_file], env=dict(os.environ, **world.env()), capture_output=True, text=True, check=False,
                         timeout=300, cwd=str(tmp_path))
    assert run.returncode == 0, run.stdout[-4000:]
    return run.stdout


def gathered_on(stdout):
    """The hosts the fact-gathering task ran on (the others skipped it)."""
    section = stdout.split(GATHER_TASK, 1)[1].split("TASK [", 1)[0]
    return sorted(re.findall(r"^ok: \[([^\]]+)\]", section, re.M))


def hostendpoints(admin):
    return dict((o["metadata"]["name"], o) for o in admin.objects(kind="HostEndpoint", api_version="projectcalico.org/v3"))


def test_only_a_node_whose_address_changed_gathers_again_and_gets_its_hostendpoint_updated(world, tmp_path):
    admin = AdminClient(world.api_url())
    nodes = sorted(world.nodes.nodes)
    first = expose(world, tmp_path)
    assert gathered_on(first) == nodes, "the first run looks at every host"
    before = hostendpoints(admin)
    assert sorted(h["spec"]["node"] for h in before.values()) == nodes

    admin.clear_requests()
    second = expose(world, tmp_path)
    assert gathered_on(second) == [], "nothing changed: no host is contacted for its facts"
    assert admin.writes() == [], "and nothing is written"

    # node-2 moves to a new address: the host gets it on its interface, Kubernetes reports it as the InternalIP.
    moved = nodes[1]
    old = world.nodes.address(moved)
    new = str(ipaddress.ip_address(old) + 100)
    assert ipaddress.ip_address(new) in world.nodes.subnet
    world.nodes.exec(moved, "ip", "addr", "add", "%s/%d" % (new, world.nodes.subnet.prefixlen), "dev", "eth0")
    (node,) = [n for n in admin.objects(kind="Node") if n["metadata"]["name"] == moved]
    node["status"]["addresses"] = [a for a in node["status"]["addresses"] if a["type"] != "InternalIP"] + [
        {"type": "InternalIP", "address": new}]
    admin.seed([node])

    admin.clear_requests()
    third = expose(world, tmp_path)
    assert gathered_on(third) == [moved], "only the moved node is contacted"
    after = hostendpoints(admin)
    changed = sorted(name for name in after if after[name]["spec"] != before[name]["spec"])
    assert changed == [h for h in before if before[h]["spec"]["node"] == moved]
    assert all(new in after[name]["spec"]["expectedIPs"] for name in changed)
    # The node's HostEndpoint, and the GlobalNetworkSet of node addresses that the pod policies trust.
    assert sorted((w["method"], w["resource"]) for w in admin.writes()) == [("PUT", "globalnetworksets")] + [("PUT", "hostendpoints")] * len(changed)

    # Told to, every host gathers again; what they report changes nothing.
    admin.clear_requests()
    fourth = expose(world, tmp_path, {"clusterip_exposure_discovery": "always"})
    assert gathered_on(fourth) == nodes
    assert admin.writes() == []
