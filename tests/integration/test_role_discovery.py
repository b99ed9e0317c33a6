"""A re-run contacts only the hosts whose HostEndpoints no longer hold, a fact cache stands in for a gather while it holds
the node's addresses, controller discovery contacts the canary alone: in every mode a node whose address changed is noticed."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from doc_snippets import REPO, of_kind
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


def expose(world, tmp_path, extra=None, env=None, succeed=True):
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(dict({"clusterip_exposure_services": SERVICES, "clusterip_exposure_canary_settle": 0}, **(extra or {}))))
    run = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(world.inventory), "clusteredge.calico.expose",
                          "-e", "@%s" % vars_file], env=dict(os.environ, **world.env(), **(env or {})), capture_output=True, text=True,
                         check=False, timeout=300, cwd=str(tmp_path))
    assert (run.returncode == 0) == succeed, run.stdout[-4000:]
    return run.stdout


def move_node_address(world, admin, name, step=100):
    """The host gets a new address on eth0 and Kubernetes reports it as the node's InternalIP. Returns it."""
    old = world.nodes.address(name)
    new = str(ipaddress.ip_address(old) + step)
    assert ipaddress.ip_address(new) in world.nodes.subnet
    world.nodes.exec(name, "ip", "addr", "add", "%s/%d" % (new, world.nodes.subnet.prefixlen), "dev", "eth0")
    (node,) = [n for n in admin.objects(kind="Node") if n["metadata"]["name"] == name]
    node["status"]["addresses"] = [a for a in node["status"]["addresses"] if a["type"] != "InternalIP"] + [
        {"type": "InternalIP", "address": new}]
    admin.seed([node])
    return new


def node_addresses(admin, name):
    """What the Node object says about the node: its InternalIPs and Calico's address annotations, without prefix."""
    (node,) = [n for n in admin.objects(kind="Node") if n["metadata"]["name"] == name]
    found = [a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"]
    found += [value.split("/")[0] for key, value in node["metadata"].get("annotations", {}).items() if key.startswith("projectcalico.org/IPv")]
    return sorted(set(found))


def gathered_on(stdout):
    """The hosts the fact-gathering task ran on: the expose playbook runs it in a play of its own over only those hosts,
    a play that is skipped ("no hosts matched") when none needs facts."""
    if GATHER_TASK not in stdout:
        assert "skipping: no hosts matched" in stdout, stdout[-3000:]
        return []
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
    new = move_node_address(world, admin, moved)

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


def test_cached_facts_stand_in_for_a_gather_until_a_node_address_moves(world, tmp_path):
    admin = AdminClient(world.api_url())
    nodes = sorted(world.nodes.nodes)
    cache = {"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(tmp_path / "facts")}
    assert gathered_on(expose(world, tmp_path, {"clusterip_exposure_discovery": "always"}, env=cache)) == nodes
    cached = [p.name for p in (tmp_path / "facts").iterdir()]
    assert all(any(f.endswith(n) for f in cached) for n in nodes), "the fact cache holds every host: %s" % cached
    before = hostendpoints(admin)

    # Another writer deletes every HostEndpoint: each host needs its facts again, and the cache has them.
    from kubernetes import client, config
    api = client.CustomObjectsApi(config.new_client_from_config(str(world.kubeconfig)))
    for name in before:
        api.delete_cluster_custom_object("projectcalico.org", "v3", "hostendpoints", name)
    admin.clear_requests()
    assert gathered_on(expose(world, tmp_path, env=cache)) == [], "no host is contacted: the cached facts hold every node address"
    after = hostendpoints(admin)
    assert dict((n, h["spec"]) for n, h in after.items()) == dict((n, h["spec"]) for n, h in before.items())
    assert sorted(w["method"] for w in admin.writes()) == ["POST"] * len(before)

    # node-3 moves: its cached facts lack the new InternalIP, so it alone gathers, and its HostEndpoint gets the address.
    moved = nodes[2]
    new = move_node_address(world, admin, moved, step=101)
    admin.clear_requests()
    assert gathered_on(expose(world, tmp_path, env=cache)) == [moved]
    assert [h["spec"]["expectedIPs"] for h in hostendpoints(admin).values() if h["spec"]["node"] == moved][0].count(new) == 1


def test_controller_discovery_contacts_the_canary_alone_and_checks_the_fleet_on_it(world, tmp_path):
    admin = AdminClient(world.api_url())
    nodes = sorted(world.nodes.nodes)
    canary = nodes[0]
    # The group_vars of docs/role.md's "Controller-only discovery".
    [snippet] = of_kind("checked-by", REPO / "docs" / "role.md", argument="tests/integration/test_role_discovery.py")
    controller = snippet.data()
    assert controller == {"clusterip_exposure_discovery": "controller", "clusterip_exposure_interfaces": ["eth0"]}
    output = expose(world, tmp_path, controller)
    assert gathered_on(output) == [canary]
    live = hostendpoints(admin)
    assert sorted(h["spec"]["node"] for h in live.values()) == nodes
    for name in nodes[1:]:
        (hep,) = [h for h in live.values() if h["spec"]["node"] == name]
        assert sorted(hep["spec"]["expectedIPs"]) == node_addresses(admin, name), "derived from the Node object alone"
    admin.clear_requests()
    assert gathered_on(expose(world, tmp_path, controller)) == [canary]
    assert admin.writes() == [], "a re-run writes nothing"

    # A node moves: the next run notices it from the Node object alone, and contacts no other host.
    moved = nodes[1]
    new = move_node_address(world, admin, moved, step=102)
    admin.clear_requests()
    assert gathered_on(expose(world, tmp_path, controller)) == [canary]
    (hep,) = [h for h in hostendpoints(admin).values() if h["spec"]["node"] == moved]
    assert new in hep["spec"]["expectedIPs"]

    # Settings that do not hold for the fleet are caught on the canary, before anything is written.
    admin.clear_requests()
    output = expose(world, tmp_path, dict(controller, clusterip_exposure_interfaces=["lo"]), succeed=False)
    assert "on this host (the canary) lo does not hold %s of node %s" % (world.nodes.address(canary), canary) in output
    assert "Nothing was written" in output and admin.writes() == []
