"""README.md's contributor quick start: its first command keeps working and leaves nothing running (CI runs the second)."""

from __future__ import annotations

import os
import subprocess

import pytest

from integration.ansible_cli import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def leftovers():
    """What the demo could leave behind: its namespaces, its bridge and veths (prefix `demo`), and their processes."""
    namespaces = [line.split()[0] for line in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                                             check=False).stdout.splitlines() if line.startswith("demo-")]
    links = [line for line in subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=False).stdout.splitlines()
             if ": demobr0" in line or ": demov" in line]
    processes = [pid for ns in namespaces for pid in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                                                                    check=False).stdout.split()]
    return namespaces, links, processes


@pytest.mark.skipif(os.geteuid() != 0, reason="the demo creates network namespaces: root only")
def test_demo_exposes_services_twice_and_cleans_up():
    assert leftovers() == ([], [], []), "a previous demo left things behind"
    proc = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh")], capture_output=True, text=True, check=False,
                          timeout=900, cwd=str(REPO))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    first, second = proc.stdout.split("demo: second run", 1)
    assert "shop/frontend [cluster]" in first and "<- 50.60.0.0/16 : 443/TCP->8443" in first
    assert "created HostEndpoint/node-1-eth0" in first and "created GlobalNetworkPolicy/clusteredge-deny-service-ranges" in first
    assert "Objects created: 0, updated: 0, deleted: 0" in second
    assert "the second run changed nothing" in second
    assert leftovers() == ([], [], []), "the demo must remove its namespaces, links and processes"
