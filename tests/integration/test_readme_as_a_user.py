"""README.md followed from top to bottom by a user who never clones the repository, then the commands of docs/role.md
and of the role's README.

The user's machine is a sandbox: an empty HOME, no ANSIBLE_COLLECTIONS_PATH, no K8S_AUTH_*, the collection only as
the built tarball and from "Galaxy" (a stub serving that tarball and kubernetes.core on loopback), kubeconfigs in
~/.kube for a Kubernetes + Calico API (the emulator). Every snippet marked shell, inventory, vars or playbook in
README.md and docs/ runs here, literally, in document order. One substitution: the README's inventory names hosts
reached over SSH; after checking that inventory parses into the group `nodes`, the test reaches the same host names
over a local connection, each mapped to its Kubernetes node.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from doc_snippets import REPO, documents, of_kind
from clusteredge_testworld.emulator import EmulatorServer
from galaxy_stub import GalaxyStub, tarball_of_installed_collection, user_env
from integration.ansible_cli import write_local_inventory
from quality.tools import build_collection
from clusteredge_testworld.lab.cluster import SERVICE_CIDR_V4, SERVICE_CIDR_V6, cluster

pytestmark = [pytest.mark.integration]

README = REPO / "README.md"
VERSION = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]


class Sandbox(object):
    def __init__(self, root, api, galaxy):
        self.root, self.api, self.galaxy = root, api, galaxy
        self.work = root / "work"
        self.home = root / "home"

    def env(self, home=None):
        return user_env(home or self.home, Path(sys.executable).parent, ANSIBLE_GALAXY_SERVER=self.galaxy.url)

    def bash(self, script, home=None):
        return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=str(self.work), env=self.env(home),
                              capture_output=True, text=True, check=False, timeout=900)

    def writes(self):
        return [r for r in self.api.requests if r["verb"] in ("create", "update", "patch", "delete") and not r["dry_run"]]

    def objects(self, kind):
        return sorted(o["metadata"]["name"] for o in self.api.objects(kind))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("user")
    (root / "work").mkdir()
    tarball = build_collection(root / "work")
    dependency = tarball_of_installed_collection(tmp_path_factory.mktemp("galaxy"))
    token = "user-token-" + os.urandom(6).hex()
    with EmulatorServer(token=token, service_cidrs=(SERVICE_CIDR_V4, SERVICE_CIDR_V6)) as api, \
            GalaxyStub([tarball, dependency]) as galaxy:
        # The local hosts report the controller's facts, so the nodes carry the loopback address.
        api.seed(cluster(dict(("node-%d" % i, "127.0.0.1") for i in (1, 2, 3))))
        box = Sandbox(root, api, galaxy)
        api.write_kubeconfig(str(box.home / ".kube" / "config"))
        # ~/.kube/prod's current context reaches nothing: only a run that selects prod-admin reaches the cluster.
        prod = yaml.safe_load(Path(api.write_kubeconfig(str(root / "prod"), context="prod-admin")).read_text())
        prod["clusters"].append({"name": "elsewhere", "cluster": {"server": "https://127.0.0.1:9"}})
        prod["contexts"].append({"name": "elsewhere", "context": {"cluster": "elsewhere", "user": "prod-admin"}})
        prod["current-context"] = "elsewhere"
        (box.home / ".kube" / "prod").write_text(yaml.safe_dump(prod))
        yield box


def shell(document, name):
    [snippet] = of_kind("shell", document, name)
    return snippet.body


def test_readme_snippets_in_order(sandbox):
    """The README's install, requirements, connection and first-run snippets, as a user runs them."""
    names = [s.argument for s in of_kind("shell", README)]
    assert names == ["install-from-galaxy", "install-from-tarball", "controller-requirements", "connect-with-variables",
                     "first-run"], "a new README snippet needs its expectations here"

    # Install from Galaxy: the collection and kubernetes.core land in ~/.ansible/collections.
    installed = sandbox.bash(shell(README, "install-from-galaxy") + "\nansible-galaxy collection list --format json")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    listing = json.loads(installed.stdout[installed.stdout.index("{"):])
    found = dict(pair for paths in listing.values() for pair in paths.items())
    assert found["clusteredge.calico"]["version"] == VERSION and "kubernetes.core" in found
    assert "/download/clusteredge-calico-%s.tar.gz" % VERSION in sandbox.galaxy.requests

    # Or from the release tarball, into another user's HOME.
    other_home = sandbox.root / "home-tarball"
    from_file = sandbox.bash(shell(README, "install-from-tarball"), home=other_home)
    assert from_file.returncode == 0, from_file.stdout + from_file.stderr
    assert "clusteredge.calico:%s was installed successfully" % VERSION in from_file.stdout
    assert (other_home / ".ansible" / "collections" / "ansible_collections" / "clusteredge" / "calico" / "roles").is_dir()

    requirements = sandbox.bash(shell(README, "controller-requirements"))
    assert requirements.returncode == 0, requirements.stdout + requirements.stderr

    # The inventory and services.yml of "The first run".
    [inventory] = of_kind("inventory", README)
    (sandbox.root / "readme-inventory").write_text(inventory.body)
    parsed = sandbox.bash("ansible-inventory -i %s --list" % (sandbox.root / "readme-inventory"))
    hosts = json.loads(parsed.stdout)["nodes"]["hosts"]
    assert hosts == ["node-1", "node-2", "node-3"], parsed.stdout
    write_local_inventory(sandbox.work / inventory.argument, dict((host, host) for host in hosts))
    for snippet in of_kind("vars"):
        (sandbox.work / snippet.argument).write_text(snippet.body)

    connected = sandbox.bash(shell(README, "connect-with-variables"))
    assert connected.returncode == 0, connected.stdout[-5000:]
    assert sandbox.objects("HostEndpoint") == ["node-1-lo", "node-2-lo", "node-3-lo"]
    assert "clusteredge-allow-cluster-ips" in sandbox.objects("GlobalNetworkPolicy")

    sandbox.api.clear_requests()
    again = sandbox.bash(shell(README, "first-run"))
    assert again.returncode == 0, again.stdout[-5000:]
    assert "shop/frontend" in again.stdout and "50.60.0.0/16" in again.stdout, "the summary names what is exposed"
    assert sandbox.writes() == [], "a run with nothing to change writes nothing"


def test_role_md_commands(sandbox):
    role_md = REPO / "docs" / "role.md"
    assert [s.argument for s in of_kind("shell", role_md)] == ["unexpose-after-expose", "expose-with-kubeconfig-variables"]
    if not (sandbox.work / "inventory").exists():
        pytest.skip("needs the README's inventory and services.yml (test_readme_snippets_in_order)")
    both = sandbox.bash(shell(role_md, "unexpose-after-expose"))
    assert both.returncode == 0, both.stdout[-5000:]
    assert sandbox.objects("HostEndpoint") == []
    assert not [name for name in sandbox.objects("GlobalNetworkPolicy") if name.startswith("clusteredge-")]
    again = sandbox.bash(shell(role_md, "expose-with-kubeconfig-variables"))
    assert again.returncode == 0, again.stdout[-5000:]
    assert sandbox.objects("HostEndpoint") == ["node-1-lo", "node-2-lo", "node-3-lo"]


def test_role_readme_command(sandbox):
    role_readme = REPO / "roles" / "clusterip_exposure" / "README.md"
    assert [s.argument for s in of_kind("shell", role_readme)] == ["role-readme-expose"]
    if not (sandbox.work / "inventory").exists():
        pytest.skip("needs the README's inventory and services.yml (test_readme_snippets_in_order)")
    sandbox.api.clear_requests()
    run = sandbox.bash(shell(role_readme, "role-readme-expose"))
    assert run.returncode == 0, run.stdout[-5000:]
    assert sandbox.objects("HostEndpoint") == ["node-1-lo", "node-2-lo", "node-3-lo"]
    assert sandbox.writes() == [], "the same Services as the README's: nothing to change"


@pytest.mark.parametrize("snippet", [s for path in documents() for s in of_kind("playbook", path)], ids=lambda s: s.where)
def test_documented_playbooks_run(sandbox, snippet):
    # Beside the README's services.yml and inventory, where a user keeps a playbook that uses them.
    playbook = sandbox.work / ("%s-%d.yml" % (snippet.path.stem.lower(), snippet.line))
    playbook.write_text(snippet.body)
    inventory = " -i inventory" if (sandbox.work / "inventory").exists() else ""
    run = sandbox.bash("ansible-playbook%s %s" % (inventory, playbook.name))
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    assert "failed=0" in run.stdout and "ok=0" not in run.stdout, "every play ran on its hosts"
