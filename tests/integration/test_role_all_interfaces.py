"""The role with clusterip_exposure_interfaces: ['*'] against namespace nodes, with the Felix stand-in judging SSH.

A '*' HostEndpoint polices every interface of the node, lo and the pods' veths included (SPEC 1.3), so the host
policies must keep far more working than with a named one. With no failsafe ports the Felix stand-in cuts a node's
SSH as soon as its HostEndpoints leave SSH unallowed, so the canary check and the re-run depend on the policies.
"""

from __future__ import annotations

import os

import pytest

from clusteredge_testworld.emulator.admin import AdminClient
from integration.ansible_cli import run_playbook
from clusteredge_testworld.lab import Lab
from clusteredge_testworld.nodes import free_subnet

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = [{"namespace": "shop", "name": "frontend", "sources": ["50.60.0.0/16"]}]
# Failsafes emptied (the lab's canary scenario): SSH to a node then lives or dies by the host policies alone.
ALL_INTERFACES = {"clusterip_exposure_services": SERVICES, "clusterip_exposure_interfaces": ["*"], "clusterip_exposure_canary_settle": 1,
                  "clusterip_exposure_accept_failsafe_gaps": True}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    lab = Lab(tmp_path_factory.mktemp("lab"), prefix="ra%s" % format(os.getpid() % 1000, "03d"), subnet=free_subnet("10.202.0.0/16", seed=os.getpid() + 60),
              scenario="canary", felixsim=True)
    with lab:
        yield lab


def expose(world, tmp_path):
    env = dict(os.environ, **world.env())
    return run_playbook(env, "clusteredge.calico.expose", extra_vars=ALL_INTERFACES, inventory=world.inventory, cwd=tmp_path)


def test_every_node_gets_one_wildcard_hostendpoint_and_stays_reachable(world, tmp_path):
    admin = AdminClient(world.api_url())
    first = expose(world, tmp_path)
    assert first.rc == 0, first.stdout[-4000:]
    heps = dict((h["metadata"]["name"], h["spec"]) for h in admin.objects(kind="HostEndpoint", api_version="projectcalico.org/v3"))
    assert sorted(heps) == ["node-1-all-interfaces", "node-2-all-interfaces", "node-3-all-interfaces"]
    for name, spec in heps.items():
        node = name[:-len("-all-interfaces")]
        assert spec["interfaceName"] == "*" and spec["node"] == node
        assert world.nodes.address(node) in spec["expectedIPs"]
        assert not any(ip.startswith(("127.", "fe80:")) or ip == "::1" for ip in spec["expectedIPs"]), spec
    # The verify step ran the intent flows (listed and unlisted clients, SSH, kubelet, the node's own egress).
    assert "Check the intent flow by flow" in first.stdout and "failed=0" in first.stdout
    decisions = (world.state_dir / "felixsim.log").read_text()
    for node in ("node-1", "node-2", "node-3"):
        assert ("%s: allowed: policy clusteredge-allow-traffic-hostendpoints" % node in decisions
                and "on HostEndpoint %s-all-interfaces" % node in decisions), decisions[-2000:]
    # The re-run needs a new SSH connection to every node through its '*' HostEndpoint: the stand-in would have cut it.
    admin.clear_requests()
    second = expose(world, tmp_path)
    assert second.rc == 0, second.stdout[-4000:]
    assert "changed=0" in second.stdout and "changed=1" not in second.stdout
    assert admin.writes() == []
