"""The whole test world in one place: API emulator + namespace nodes (+ the Felix stand-in), up and down.

`python -m clusteredge_testworld.lab up --state-dir DIR [--scenario NAME]` writes DIR/inventory.ini, DIR/kubeconfig and DIR/env.sh;
`python -m clusteredge_testworld.lab down --state-dir DIR` stops every process and removes every namespace and link it made.
Used by molecule's create/destroy, by scripts/demo.sh and by the role tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from clusteredge_testworld.lab.cluster import SERVICE_CIDR_V4, SERVICE_CIDR_V6, cluster
from clusteredge_testworld.nodes import NodeLab


SCENARIOS = {
    # name: (ipv6 on the nodes, Felix failsafes; None = Felix's defaults)
    "cluster": (False, None),
    "local": (False, None),
    "dualstack": (True, None),
    # Failsafes emptied: a HostEndpoint that no policy selects cuts SSH, which the canary must catch.
    "canary": (False, []),
}


def _python_env():
    return dict(os.environ)   # the emulator and felixsim are modules of this installed package


def _wait_for_file(path, process, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and path.stat().st_size:
            return
        if process.poll() is not None:
            raise RuntimeError("process exited with %s before writing %s" % (process.returncode, path))
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for %s" % path)


class Lab(object):
    def __init__(self, state_dir, scenario="cluster", prefix="ce", subnet="10.200.0.0/24", count=3, felixsim=None, token=None,
                 tls=False):
        if scenario not in SCENARIOS:
            raise ValueError("unknown scenario %r (known: %s)" % (scenario, ", ".join(SCENARIOS)))
        self.state_dir = Path(state_dir).absolute()
        self.scenario = scenario
        ipv6, self.failsafe_inbound = SCENARIOS[scenario]
        # The default subnet stays clear of the service range 10.96.0.0/12 (a deny of that range must not hit nodes).
        self.nodes = NodeLab(count=count, prefix=prefix, subnet=subnet, state_dir=self.state_dir / "nodes",
                             ipv6_subnet="fd00:99::/64" if ipv6 else None)
        self.felixsim = (scenario == "canary") if felixsim is None else felixsim
        self.state_file = self.state_dir / "lab.json"
        self.token = token
        self.tls = tls

    # -- paths
    @property
    def inventory(self):
        return self.state_dir / "inventory.ini"

    @property
    def kubeconfig(self):
        return self.state_dir / "kubeconfig"

    def env(self):
        env = dict(self.nodes.env())
        env["K8S_AUTH_KUBECONFIG"] = str(self.kubeconfig)
        return env

    def api_url(self):
        return json.loads((self.state_dir / "emulator.json").read_text())["url"]

    def ca_cert(self):
        return json.loads((self.state_dir / "emulator.json").read_text()).get("ca_cert_path")

    # -- lifecycle
    def up(self):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.nodes.up()
            addresses = dict((self.nodes.hostname(n), self.nodes.address(n)) for n in self.nodes.nodes)
            v6 = dict((self.nodes.hostname(n), self.nodes.address6(n)) for n in self.nodes.nodes) if self.nodes.ipv6_subnet else None
            seed = self.state_dir / "cluster.yaml"
            seed.write_text(yaml.safe_dump_all(cluster(addresses, v6, self.failsafe_inbound), sort_keys=False))
            pids = {"emulator": self._start_emulator(seed)}
            if self.felixsim:
                pids["felixsim"] = self._start_felixsim(addresses)
            for pid in pids.values():
                # both run in sessions of their own: stop them with the nodes if our process dies first
                self.nodes.add_companion(pid, str(self.state_dir))
            self.nodes.inventory(self.inventory)
            self.state_file.write_text(json.dumps({"scenario": self.scenario, "pids": pids}))
            (self.state_dir / "env.sh").write_text("".join("export %s=%s\n" % (k, v) for k, v in sorted(self.env().items())))
        except BaseException:
            self.down()
            raise
        return self

    def _start_emulator(self, seed):
        state = self.state_dir / "emulator.json"
        log = open(self.state_dir / "emulator.log", "w")  # pylint: disable=consider-using-with
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "clusteredge_testworld.emulator", "serve", "--port", "0", "--state-file", str(state), "--kubeconfig", str(self.kubeconfig),
             "--service-cidr", SERVICE_CIDR_V4, "--service-cidr", SERVICE_CIDR_V6, "--seed", str(seed)]
            + (["--token", self.token] if self.token else []) + (["--tls-dir", str(self.state_dir / "tls")] if self.tls else []),
            stdout=log, stderr=subprocess.STDOUT, env=_python_env(), start_new_session=True)
        _wait_for_file(state, process)
        return process.pid

    def _start_felixsim(self, addresses):
        args = [sys.executable, "-m", "clusteredge_testworld.felixsim", "--admin-url", self.api_url()]
        for node in self.nodes.nodes:
            args += ["--node", "%s=%s=%s" % (self.nodes.hostname(node), self.nodes.netns(node), addresses[self.nodes.hostname(node)])]
        log = open(self.state_dir / "felixsim.log", "w")  # pylint: disable=consider-using-with
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=_python_env(),  # pylint: disable=consider-using-with
                                   start_new_session=True)
        time.sleep(0.5)
        if process.poll() is not None:
            raise RuntimeError("felixsim exited at once: %s" % (self.state_dir / "felixsim.log").read_text()[-2000:])
        return process.pid

    def down(self):
        pids = {}
        if self.state_file.exists():
            pids = json.loads(self.state_file.read_text()).get("pids", {})
        for name in ("felixsim", "emulator"):
            pid = pids.get(name)
            if pid:
                _stop(pid)
        self.nodes.down()
        if self.state_file.exists():
            self.state_file.unlink()

    def __enter__(self):
        if self.nodes.owner_pid is None:
            self.nodes.owner_pid = os.getpid()   # a lab of this process: reaped by the next up() if we die
        return self.up()

    def __exit__(self, *exc_info):
        self.down()


def _stop(pid, timeout=10):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
