"""FelixSim: poll the emulator, decide TCP/22 per node, enforce it with nftables inside the node's namespace."""
from __future__ import annotations

import datetime
import shutil
import subprocess
import sys
import threading

from clusteredge_testworld.emulator.admin import AdminClient

from .decide import evaluate

TABLE = 'felixsim'
NFT = shutil.which('nft', path='/usr/sbin:/usr/bin:/sbin:/bin') or 'nft'
IP = shutil.which('ip', path='/usr/sbin:/usr/bin:/sbin:/bin') or 'ip'


def block_ruleset(drop_established: bool) -> str:
    """Atomic, idempotent ruleset. Felix accepts established flows before any tracked policy (SPEC §5.1 step 1),
    so a lockout stops only new connections (bare SYNs; stateless, because conntrack may not have seen flows
    that began before the table existed), unless an untracked (raw-table) policy denied it: then all packets."""
    match = '' if drop_established else 'tcp flags & (syn | ack) == syn '
    return (f'table inet {TABLE}\n'
            f'delete table inet {TABLE}\n'
            f'table inet {TABLE} {{\n'
            f'    chain input {{\n'
            f'        type filter hook input priority 0; policy accept;\n'
            f'        iifname "eth0" tcp dport 22 {match}drop\n'
            f'    }}\n'
            f'}}\n')


def nft_commands(netns: str, blocked: bool, drop_established: bool = False) -> tuple[list[str], str]:
    """(argv, stdin) that make the namespace's felixsim table match ``blocked``."""
    ruleset = block_ruleset(drop_established) if blocked else f'table inet {TABLE}\ndelete table inet {TABLE}\n'
    return [IP, 'netns', 'exec', netns, NFT, '-f', '-'], ruleset


def log(message: str) -> None:
    stamp = datetime.datetime.now().isoformat(timespec='milliseconds')
    print(f'{stamp} felixsim: {message}', file=sys.stderr, flush=True)


class FelixSim:
    def __init__(self, admin_url: str, nodes: dict[str, tuple[str, str]], interval: float = 0.3,
                 api_version: str = 'projectcalico.org/v3', runner=subprocess.run, admin: AdminClient | None = None):
        self.admin = admin or AdminClient(admin_url)
        self.nodes = dict(nodes)
        self.interval = interval
        self.api_version = api_version
        self.runner = runner
        self.decisions: dict[str, tuple[bool, str, str]] = {}
        self.applied: dict[str, tuple[bool, bool] | None] = {}     # node -> (blocked, drop_established)
        self.errors: dict[str, str | None] = {}

    def read(self) -> tuple[list, list, list]:
        return tuple(self.admin.objects(kind=kind, api_version=self.api_version)
                     for kind in ('HostEndpoint', 'GlobalNetworkPolicy', 'FelixConfiguration'))

    def _nft(self, netns: str, blocked: bool, drop_established: bool = False) -> bool:
        argv, stdin = nft_commands(netns, blocked, drop_established)
        proc = self.runner(argv, input=stdin, capture_output=True, text=True, check=False)
        error = f'nft failed ({proc.returncode}): {(proc.stderr or "").strip()}' if proc.returncode else None
        if error and self.errors.get(netns) != error:            # retried every poll, logged once per change
            log(f'{netns}: {error}')
        self.errors[netns] = error
        return not error

    def run_once(self) -> dict[str, tuple[bool, str]]:
        heps, policies, configs = self.read()
        for node, (netns, address) in self.nodes.items():
            allowed, reason, stage = decision = evaluate(node, heps, policies, configs, address)
            if self.decisions.get(node, (None, None))[:2] != (allowed, reason):
                log(f'{node}: {reason}')
            self.decisions[node] = decision
            wanted = (not allowed, stage == 'untracked')
            if self.applied.get(node) != wanted and self._nft(netns, *wanted):
                self.applied[node] = wanted
        return {node: d[:2] for node, d in self.decisions.items()}

    def run_forever(self, stop_event: threading.Event) -> None:
        while not stop_event.is_set():
            try:
                self.run_once()
            except (OSError, RuntimeError, ValueError) as exc:     # emulator down or restarting: keep the last state
                log(f'poll failed, keeping current rules: {exc}')
            stop_event.wait(self.interval)

    def cleanup(self) -> None:
        for node, (netns, _address) in self.nodes.items():
            if self._nft(netns, False):
                self.applied[node] = (False, False)
