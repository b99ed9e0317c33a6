"""The role against namespace nodes: bad inventories and variables fail clearly before anything is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from clusteredge_testworld.emulator.admin import AdminClient
from clusteredge_testworld.lab import Lab
from clusteredge_testworld.nodes import free_subnet

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = [{"namespace": "shop", "name": "frontend", "sources": ["50.60.0.0/16"]}]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    lab = Lab(tmp_path_factory.mktemp("lab"), prefix="ri%s" % format(os.getpid() % 1000, "03d"), subnet=free_subnet("10.202.0.0/16", seed=os.getpid() + 20))
    with lab:
        yield lab


@pytest.fixture
def admin(world):
    client = AdminClient(world.api_url())
    client.clear_requests()
    return client


def expose(world, tmp_path, extra_vars, inventory=None, limit=None):
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extra_vars))
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory or world.inventory),
           "clusteredge.calico.expose", "-e", "@%s" % vars_file]
    if limit:
        cmd += ["--limit", limit]
    env = dict(os.environ, **world.env())
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=300, cwd=str(tmp_path))


def writes(admin):
    return [r for r in admin.requests() if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]


def custom_inventory(world, tmp_path, host_lines):
    base = world.inventory.read_text().split("[nodes:vars]", 1)[1]
    path = tmp_path / "inventory.ini"
    path.write_text("[nodes]\n" + "\n".join(host_lines) + "\n\n[nodes:vars]" + base)
    return path


def test_empty_service_list(world, admin, tmp_path):
    run = expose(world, tmp_path, {"clusterip_exposure_services": []})
    assert run.returncode != 0
    assert "clusterip_exposure_services is empty" in run.stdout and "Nothing was written" in run.stdout
    assert writes(admin) == []


def test_unreachable_host(world, admin, tmp_path):
    world.nodes.block_port("node-3")
    try:
        run = expose(world, tmp_path, {"clusterip_exposure_services": SERVICES})
    finally:
        world.nodes.unblock_port("node-3")
    assert run.returncode != 0
    assert "Hosts node-3 could not be reached" in run.stdout and "Nothing was written" in run.stdout
    assert writes(admin) == []


def test_host_with_no_matching_node(world, admin, tmp_path):
    inventory = custom_inventory(world, tmp_path, [
        "node-1 ansible_host=%s" % world.nodes.address("node-1"),
        "stranger ansible_host=%s clusterip_exposure_node_name=node-9" % world.nodes.address("node-2")])
    run = expose(world, tmp_path, {"clusterip_exposure_services": SERVICES}, inventory=inventory)
    assert run.returncode != 0
    assert "stranger: clusterip_exposure_node_name 'node-9' is not a Kubernetes node" in run.stdout
    assert writes(admin) == []


def test_two_hosts_mapped_to_one_node(world, admin, tmp_path):
    inventory = custom_inventory(world, tmp_path, [
        "node-1 ansible_host=%s" % world.nodes.address("node-1"),
        "node-1-again ansible_host=%s" % world.nodes.address("node-1")])
    run = expose(world, tmp_path, {"clusterip_exposure_services": SERVICES}, inventory=inventory)
    assert run.returncode != 0
    assert "node-1 and node-1-again both map to node node-1" in run.stdout
    assert writes(admin) == []


def test_interface_that_does_not_exist(world, admin, tmp_path):
    run = expose(world, tmp_path, {"clusterip_exposure_services": SERVICES, "clusterip_exposure_interfaces": ["bond0"]})
    assert run.returncode != 0
    assert "interface bond0 does not exist on node-1 (it has: eth0, lo)" in run.stdout
    assert writes(admin) == []


def test_a_bad_service_item_stops_before_any_hostendpoint(world, admin, tmp_path):
    run = expose(world, tmp_path, {"clusterip_exposure_services": [{"namespace": "shop", "name": "nope", "sources": ["1.2.3.4"]}]})
    assert run.returncode != 0
    assert "config[0] (Service shop/nope)" in run.stdout and "not a CIDR" in run.stdout
    assert writes(admin) == []


def test_argument_spec_rejects_wrong_types(world, admin, tmp_path):
    run = expose(world, tmp_path, {"clusterip_exposure_services": SERVICES, "clusterip_exposure_canary_timeout": "soon"})
    assert run.returncode != 0
    assert "clusterip_exposure_canary_timeout" in run.stdout
    assert writes(admin) == []


def test_a_full_run_then_a_second_run_changes_nothing(world, admin, tmp_path):
    first = expose(world, tmp_path, {"clusterip_exposure_services": SERVICES})
    assert first.returncode == 0, first.stdout[-3000:]
    assert "created HostEndpoint/node-1-eth0" in first.stdout
    admin.clear_requests()
    second = expose(world, tmp_path, {"clusterip_exposure_services": SERVICES})
    assert second.returncode == 0, second.stdout[-3000:]
    assert "changed=0" in second.stdout and "changed=1" not in second.stdout
    assert writes(admin) == []


def test_a_hostendpoint_changed_behind_the_runs_back_fails_verification(world, admin, tmp_path):
    """Another writer edits a HostEndpoint while verify reads it back: the run must fail and name it."""
    setup = expose(world, tmp_path, {"clusterip_exposure_services": SERVICES})
    assert setup.returncode == 0, setup.stdout[-3000:]
    admin.clear_requests()
    reference = expose(world, tmp_path, {"clusterip_exposure_services": SERVICES})
    assert reference.returncode == 0, reference.stdout[-3000:]
    hep_reads = [r for r in admin.requests() if r["method"] == "GET" and r["path"].endswith("/hostendpoints")]
    # Verify's read-back is the last one calico_hostendpoint sends (the requests carry the module in their User-Agent).
    verify_read = max(n for n, r in enumerate(hep_reads) if "(calico_hostendpoint)" in r["headers"].get("User-Agent", ""))
    assert verify_read >= 1, "verify reads the HostEndpoints back after the run's own reads"
    # Hold that read while another writer changes node-2's HostEndpoint.
    admin.clear_requests()
    admin.inject_fault("GET", r"/hostendpoints$", status=None, skip=verify_read, hold=4)
    edited = [h for h in admin.objects(kind="HostEndpoint", api_version="projectcalico.org/v3") if h["metadata"]["name"] == "node-2-eth0"][0]
    edited["spec"]["expectedIPs"] = [str(world.nodes.subnet.network_address + 250)]

    def edit_when_verify_reads():
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            reads = [r for r in admin.requests() if r["method"] == "GET" and r["path"].endswith("/hostendpoints")]
            if len(reads) == verify_read + 1:
                admin.seed([edited])
                return
            time.sleep(0.2)

    editor = threading.Thread(target=edit_when_verify_reads)
    editor.start()
    try:
        run = expose(world, tmp_path, {"clusterip_exposure_services": SERVICES})
    finally:
        editor.join()
        admin.clear_faults()
    assert run.returncode != 0, run.stdout[-3000:]
    assert "HostEndpoints are not live as planned" in run.stdout and "different: node-2-eth0." in run.stdout, run.stdout[-3000:]
    # The next run puts it back.
    healed = expose(world, tmp_path, {"clusterip_exposure_services": SERVICES})
    assert healed.returncode == 0 and "updated HostEndpoint/node-2-eth0" in healed.stdout, healed.stdout[-3000:]
