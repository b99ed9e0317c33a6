"""Run Ansible the way a user does (ad-hoc and ansible-playbook subprocesses) and read what it printed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
# The minimal callback prints `host | STATUS => {json}` for ad-hoc runs.
_ADHOC_RESULT = re.compile(r"^\S+ \| (?P<status>[A-Z]+)(?:!)? => (?P<json>\{.*)", re.S | re.M)


def write_local_inventory(path, host_nodes):
    """An inventory of `ansible_connection: local` hosts in group `nodes`, each mapped to its Kubernetes node with
    interface lo ({host: node}): the role runs on any number of them without SSH or namespaces. Returns `path`."""
    hosts = dict((host, {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                         "clusterip_exposure_node_name": node, "clusterip_exposure_interfaces": ["lo"]})
                 for host, node in host_nodes.items())
    Path(path).write_text(yaml.safe_dump({"all": {"children": {"nodes": {"hosts": hosts}}}}))
    return path


class AnsibleRun(object):
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def __repr__(self):
        return "AnsibleRun(rc=%s)\n--- stdout\n%s\n--- stderr\n%s" % (self.rc, self.stdout[-6000:], self.stderr[-3000:])


class ModuleResult(AnsibleRun):
    def __init__(self, proc):
        super().__init__(proc)
        match = _ADHOC_RESULT.search(self.stdout)
        if not match:
            raise AssertionError("no module result in ansible output:\n%r" % self)
        self.status = match.group("status")
        # The diff (with --diff) is printed before the JSON; the JSON runs to the end of output.
        self.result = json.loads(match.group("json"))

    @property
    def failed(self):
        return self.status == "FAILED" or bool(self.result.get("failed"))

    def __getitem__(self, key):
        return self.result[key]

    def get(self, key, default=None):
        return self.result.get(key, default)


def ansible_env(api_url, tmp_path, extra=None, auth=True):
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("K8S_AUTH_"):
            del env[key]
    env.update(
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        TMPDIR=str(tmp_path),
        HOME=str(tmp_path),  # no developer ~/.kube/config can leak into a test
    )
    if auth:
        # Host plus token is what kubernetes.core needs to skip kubeconfig and in-cluster discovery.
        env["K8S_AUTH_HOST"] = api_url
        env["K8S_AUTH_API_KEY"] = "test-token"
    env.update(extra or {})
    return env


def run_module(env, module, args, check=False, diff=False):
    cmd = [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-m", module, "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=180, cwd=str(env.get("TMPDIR", REPO)))
    return ModuleResult(proc)


def run_playbook(env, playbook, extra_vars=None, check=False, diff=False, inventory=None, cwd=None):
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook)]
    if inventory:
        cmd += ["-i", str(inventory)]
    if isinstance(extra_vars, Path):
        cmd += ["-e", "@%s" % extra_vars]  # large inputs: a vars file, not the command line
    elif extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=600, cwd=str(cwd or env.get("TMPDIR", REPO)))
    return AnsibleRun(proc)
