"""One cluster, two ways to expose it (the module ad hoc, the role through its playbook), and what a run left behind.

Shared by the fault matrix (`python -m faultmatrix`), and by tests/integration/test_faults.py, test_killed_runs.py
and test_concurrent_runs.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from clusteredge_testworld.emulator import EmulatorServer
from integration.ansible_cli import ansible_env, run_module, write_local_inventory
from clusteredge_testworld.lab.cluster import SERVICE_CIDR_V4, SERVICE_CIDR_V6, cluster

EXPOSURE_MODULE = "clusteredge.calico.calico_clusterip_exposure"
PLAYBOOK = "clusteredge.calico.expose"
HOSTS = 3
NODES = ["node-%d" % i for i in range(1, HOSTS + 1)]
SERVICES = [{"namespace": "shop", "name": "frontend", "sources": ["50.60.0.0/16"]},
            {"namespace": "shop", "name": "api", "sources": ["70.80.90.0/24"]},
            {"namespace": "payments", "name": "ledger", "sources": ["50.60.0.0/16", "70.80.90.0/24"]}]
PIN_ANNOTATIONS = ("clusteredge.calico/pinned-cluster-ips", "clusteredge.calico/pinned-by")
STATE_KINDS = ("HostEndpoint", "GlobalNetworkPolicy", "NetworkPolicy", "GlobalNetworkSet")
# What a clear failure names: the HTTP status, or that no answer came at all.
_API_WORDS = re.compile(r"\b(409|429|500|503)\b|no answer from the API server")
_FATAL = re.compile(r"^fatal: \[[^\]]+\]: FAILED! => (?P<json>\{.*\})$", re.M)
_RECAP = re.compile(r"^\S+\s+: ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)", re.M)


class Run(object):
    """What one run printed and returned: `ok`, `changed`, `messages` (failure messages) and `clear` (failed clearly)."""

    def __init__(self, rc, stdout, stderr, changed, messages):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.changed = changed
        self.messages = messages

    @property
    def ok(self):
        return self.rc == 0

    @property
    def traceback(self):
        text = self.stdout + self.stderr
        return "Traceback (most recent call last)" in text or "MODULE FAILURE" in text

    @property
    def clear(self):
        """A failure a user can act on: a message naming the API status or the missing answer, no traceback."""
        return not self.ok and not self.traceback and bool(self.messages) and all(_API_WORDS.search(m) for m in self.messages)

    def __repr__(self):
        return "Run(rc=%s, changed=%s, messages=%r)\n--- stdout\n%s\n--- stderr\n%s" % (
            self.rc, self.changed, self.messages, self.stdout[-5000:], self.stderr[-2000:])


class Cluster(object):
    """The emulator seeded with a realistic cluster whose nodes node-1..3 are this machine's local-connection hosts.

    Every node's InternalIP is the loopback address, as in test_role_scale: the role's facts come from this machine.
    """

    def __init__(self, workdir, profile=None):
        self.workdir = Path(workdir)
        self.api = EmulatorServer(service_cidrs=(SERVICE_CIDR_V4, SERVICE_CIDR_V6), profile=profile)
        self._runs = 0

    def __enter__(self):
        self.api.start()
        self.api.seed(cluster(dict((name, "127.0.0.1") for name in NODES)))
        self.workdir.mkdir(parents=True, exist_ok=True)
        write_local_inventory(self.workdir / "inventory.yml", dict(("h%d" % i, name) for i, name in enumerate(NODES, start=1)))
        return self

    def __exit__(self, *exc_info):
        self.api.stop()

    def _scratch(self):
        # Each run its own temp dir: a killed run's leftovers never meet the next one.
        self._runs += 1
        path = self.workdir / ("run-%03d" % self._runs)
        path.mkdir()
        return path

    # -- the module, ad hoc ---------------------------------------------------------------------------
    def run_module(self, services=None):
        result = run_module(ansible_env(self.api.url, self._scratch()), EXPOSURE_MODULE, dict(config=services or SERVICES, state="overridden"))
        messages = [result["msg"]] if result.failed else []
        return Run(0 if not result.failed else 2, result.stdout, result.stderr, bool(result.get("changed")), messages)

    def module_command(self, services=None):
        """argv, env and working directory of the same ad-hoc run, for a test that starts and kills it itself."""
        scratch = self._scratch()
        argv = [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-m", EXPOSURE_MODULE,
                "-a", json.dumps(dict(config=services or SERVICES, state="overridden"))]
        return argv, ansible_env(self.api.url, scratch), scratch

    # -- the role, through its playbook ----------------------------------------------------------------
    def playbook_command(self, services=None):
        scratch = self._scratch()
        (scratch / "vars.json").write_text(json.dumps({"clusterip_exposure_services": services or SERVICES,
                                                       "clusterip_exposure_canary_settle": 0}))
        argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(self.workdir / "inventory.yml"), PLAYBOOK,
                "-e", "@%s" % (scratch / "vars.json")]
        return argv, ansible_env(self.api.url, scratch), scratch

    def run_playbook(self, services=None):
        argv, env, scratch = self.playbook_command(services)
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=600, cwd=str(scratch))
        return playbook_run(proc.returncode, proc.stdout, proc.stderr)

    def start(self, command):
        """Start `command` (playbook_command or module_command) in its own process group, so a kill reaches every process."""
        argv, env, scratch = command
        return subprocess.Popen(argv, env=env, cwd=str(scratch), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)

    # -- what the run left ----------------------------------------------------------------------------
    def state(self):
        return state_of(self.api)


def playbook_run(rc, stdout, stderr):
    messages = []
    for match in _FATAL.finditer(stdout):
        try:
            messages.append(json.loads(match.group("json")).get("msg") or "")
        except ValueError:
            messages.append(match.group("json"))
    recap = [(int(m.group("changed")), int(m.group("failed")) + int(m.group("unreachable"))) for m in _RECAP.finditer(stdout)]
    return Run(rc, stdout, stderr, any(changed for changed, _failed in recap), messages)


def kill_group(proc):
    """kill -9 the run's whole process group (ansible-playbook, its forks and the module processes they started)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate(timeout=60)


def snapshot(api):
    """What users and Calico see: spec, labels and annotations of every Calico object this exposure involves, and the pins."""
    found = {}
    for kind in STATE_KINDS:
        for obj in api.objects(kind):
            meta = obj["metadata"]
            found["%s/%s" % (kind, "/".join(filter(None, (meta.get("namespace"), meta["name"]))))] = dict(
                spec=obj.get("spec"), labels=meta.get("labels") or {}, annotations=meta.get("annotations") or {})
    for service in api.objects("Service"):
        meta = service["metadata"]
        pins = dict((k, v) for k, v in (meta.get("annotations") or {}).items() if k in PIN_ANNOTATIONS)
        found["Service/%s/%s" % (meta["namespace"], meta["name"])] = pins
    return found


def state_of(api):
    """The snapshot, with Service uids (recorded in the pod policies, new at every seeding) named by their Service."""
    text = json.dumps(snapshot(api), sort_keys=True)
    for service in api.objects("Service"):
        meta = service["metadata"]
        text = text.replace(meta["uid"], "uid-of-%s/%s" % (meta["namespace"], meta["name"]))
    return json.loads(text)


def differences(reference, actual):
    """Human-readable differences between two snapshots (empty when equal)."""
    lines = []
    for key in sorted(set(reference) | set(actual)):
        if key not in actual:
            lines.append("missing %s" % key)
        elif key not in reference:
            lines.append("unexpected %s" % key)
        elif reference[key] != actual[key]:
            lines.append("differs %s: %r != %r" % (key, actual[key], reference[key]))
    return lines


def api_steps(api):
    """The recorded API requests of a run that a fault can hit: (method, path) in order (admin calls excluded)."""
    return [(r["method"], r["path"]) for r in api.requests if r["verb"] != "admin"]
