"""NodeLab: N test "nodes" as Linux network namespaces, each running its own sshd.

Layout for ``NodeLab(count=3, prefix="ce", subnet="10.99.0.0/24")``::

    root namespace                              namespace ce-node-<i>
    cebr0  10.99.0.1/24 (+ <v6>::1/64)   <-- cev<i> == eth0  10.99.0.<first_host+i-1>/24
                                                  lo up, default via 10.99.0.1
                                                  sshd (unshare --uts, hostname node-<i>)

Only the private subnet(s) given are ever addressed.  Nothing is forwarded or NATed, and when
``nft`` is available every namespace also gets an output guard that drops anything not addressed to
loopback, the lab subnet(s) or link-local/multicast on eth0.

Stdlib only; needs root, iproute2 (``ip``, ``ip netns``), ``unshare`` (util-linux) and openssh-server.
``nft`` (apt ``nftables``) is optional: without it, ``block_port`` stops the node's sshd instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable, Mapping

__all__ = ['NodeLab', 'NodeLabError', 'preflight', 'free_subnet', 'machine_lock', 'lab_namespaces', 'lab_links',
           'reap_orphaned_labs']

SSHD = shutil.which('sshd', path='/usr/sbin:/usr/bin:/sbin:/bin') or '/usr/sbin/sshd'
IP = shutil.which('ip', path='/usr/sbin:/usr/bin:/sbin:/bin') or 'ip'
NFT = shutil.which('nft', path='/usr/sbin:/usr/bin:/sbin:/bin')
IPTABLES = shutil.which('iptables', path='/usr/sbin:/usr/bin:/sbin:/bin')
UNSHARE = shutil.which('unshare', path='/usr/bin:/bin:/usr/sbin:/sbin') or 'unshare'
SSH = shutil.which('ssh') or '/usr/bin/ssh'
SSH_KEYGEN = shutil.which('ssh-keygen') or '/usr/bin/ssh-keygen'

MANIFEST = 'nodelab.json'
IFNAMSIZ = 15
#: sun_path is 108 bytes; ssh appends a temporary suffix to the socket name while creating it.
MAX_CONTROL_DIR = 108 - 1 - 40 - 20
GUARD_TABLE = 'nodelab_guard'
BLOCK_TABLE = 'nodelab_block'
SSH_TIMEOUT = 5
#: Labs whose lifetime is tied to a process (``with NodeLab(...)``, ``owner_pid=``) are recorded here,
#: so that a later ``up()`` tears them down when that process died without doing so (SIGKILL, OOM, timeout).
OWNERS_DIR = Path('/run/nodelab/owners')


class NodeLabError(RuntimeError):
    """A lab operation failed; the message names the command and its stderr."""


def _run(args: list[str], *, check: bool = True, timeout: float = 30, input: str | None = None
         ) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(args, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as exc:
        raise NodeLabError(f'timed out after {timeout}s: {" ".join(args)}') from exc
    except FileNotFoundError as exc:
        raise NodeLabError(f'command not found: {args[0]}') from exc
    if check and proc.returncode != 0:
        raise NodeLabError(f'{" ".join(args)} -> rc={proc.returncode}: {proc.stderr.strip()}')
    return proc


def preflight() -> str | None:
    """Return None when namespaces can be used here, else a human-readable reason (for pytest.skip)."""
    if os.geteuid() != 0:
        return 'network-namespace nodes need root (euid is %d)' % os.geteuid()
    for tool, path in (('ip (iproute2)', shutil.which(IP)), ('sshd (openssh-server)', shutil.which(SSHD)),
                       ('unshare (util-linux)', shutil.which(UNSHARE)), ('ssh-keygen', shutil.which(SSH_KEYGEN))):
        if not path:
            return f'{tool} is not installed'
    probe = f'nlprobe{os.getpid()}'[:IFNAMSIZ]
    proc = subprocess.run([IP, 'netns', 'add', probe], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        return f'`ip netns add` is not permitted here: {proc.stderr.strip()}'
    subprocess.run([IP, 'netns', 'del', probe], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return None


def _routes_in_use(family: int) -> list[ipaddress._BaseNetwork]:
    out = _run([IP, f'-{family}', '-o', 'route', 'show', 'table', 'all'], check=False).stdout
    out += _run([IP, f'-{family}', '-o', 'addr', 'show'], check=False).stdout
    nets = []
    for token in re.findall(r'(?<![\w:.])([0-9a-fA-F:.]+/\d+)', out):
        try:
            nets.append(ipaddress.ip_network(token, strict=False))
        except ValueError:
            pass
    return nets


def free_subnet(base: str = '10.99.0.0/16', prefixlen: int = 24, seed: int | None = None) -> str:
    """A /24 (by default) inside ``base`` that no route or address of this machine overlaps.

    ``seed`` (e.g. the pid) picks the starting point, so parallel sessions rarely race for the same one.
    """
    base_net = ipaddress.ip_network(base)
    used = _routes_in_use(base_net.version)
    candidates = list(base_net.subnets(new_prefix=prefixlen))
    start = (seed if seed is not None else os.getpid()) % len(candidates)
    for net in candidates[start:] + candidates[:start]:
        if not any(net.overlaps(u) and u.prefixlen > 0 for u in used):
            return str(net)
    raise NodeLabError(f'no free /{prefixlen} left in {base}')


@contextlib.contextmanager
def machine_lock(path: str = '/run/nodelab.lock'):
    """A machine-wide lock (flock) for choosing subnets/prefixes and creating bridges."""
    with open(path, 'a') as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _proc_cmdline(pid: int) -> str:
    try:
        return Path(f'/proc/{pid}/cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace')
    except OSError:
        return ''


def _proc_comm(pid: int) -> str:
    try:
        return Path(f'/proc/{pid}/comm').read_text().strip()
    except OSError:
        return ''


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir('/proc') if p.isdigit()]


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            stat = Path(f'/proc/{pid}/stat').read_text()
            pid = int(stat.rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def _alive(pid: int) -> bool:
    try:
        state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ('Z', 'X')


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot: with the pid, it names one process for good."""
    try:
        return Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def reap_orphaned_labs(owners_dir: Path | None = None) -> list[str]:
    """Tear down every recorded lab whose owning process is gone; returns what was removed.

    Call with :func:`machine_lock` held (``NodeLab.up()`` does).  Processes recorded with a lab
    (an emulator started in a new session, say) are stopped only if their command line still
    names the marker recorded with them, so a reused pid is never killed.
    """
    owners_dir = owners_dir or OWNERS_DIR
    removed: list[str] = []
    if not owners_dir.is_dir():
        return removed
    for record_path in sorted(owners_dir.glob('*.json')):
        try:
            record = json.loads(record_path.read_text())
        except (OSError, ValueError):
            record_path.unlink(missing_ok=True)
            continue
        pid = record.get('pid')
        if isinstance(pid, int) and _alive(pid) and _start_time(pid) == record.get('start_time'):
            continue
        companions = [c['pid'] for c in record.get('companions', [])
                      if c.get('marker') and c['marker'] in _proc_cmdline(c['pid'])]
        if companions:
            _kill_pids(companions)
            removed.append(f"{len(companions)} processes of {record['prefix']}")
        state_dir = Path(record['state_dir']) if record.get('state_dir') else None
        errors = _teardown(record['prefix'], state_dir=state_dir, control_dirs=[], removed=removed)
        if errors:
            raise NodeLabError(f"orphaned lab {record['prefix']} (owner pid {pid} is gone): " + '; '.join(errors))
        record_path.unlink(missing_ok=True)
    return removed


def _kill_pids(pids: Iterable[int], grace: float = 2.0) -> None:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL what is left."""
    protected = _ancestors()
    pids = {p for p in pids if p not in protected and p > 1}
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class NodeLab:
    """N namespace nodes with sshd.  See the module docstring; ``with NodeLab(...) as lab:`` = up/down."""

    def __init__(self, count: int = 3, prefix: str = 'ce', subnet: str = '10.99.0.0/24',
                 state_dir: str | os.PathLike | None = None, first_host: int = 11,
                 ipv6_subnet: str | None = None, guard: bool = True, ssh_timeout: int = SSH_TIMEOUT,
                 owner_pid: int | None = None):
        if count < 1:
            raise ValueError('count must be >= 1')
        if not re.fullmatch(r'[a-z][a-z0-9]*', prefix):
            raise ValueError(f'prefix must be lowercase alphanumeric starting with a letter: {prefix!r}')
        for name in (f'{prefix}br0', f'{prefix}v{count}'):
            if len(name) > IFNAMSIZ:
                raise ValueError(f'interface name {name!r} would exceed {IFNAMSIZ} chars: shorten the prefix')
        self.count = count
        self.prefix = prefix
        self.subnet = ipaddress.IPv4Network(subnet)
        self.ipv6_subnet = ipaddress.IPv6Network(ipv6_subnet) if ipv6_subnet else None
        for net in filter(None, (self.subnet, self.ipv6_subnet)):
            if not net.is_private:
                raise ValueError(f'{net} is not a private range')
        self.first_host = first_host
        hosts = self.subnet.num_addresses - 2
        if first_host < 2 or first_host + count - 1 > hosts:
            raise ValueError(f'{count} nodes from .{first_host} do not fit in {self.subnet} (bridge is .1)')
        if state_dir is None:
            state_dir = Path(os.environ.get('TMPDIR', '/tmp')) / f'nodelab-{prefix}'
        self.state_dir = Path(state_dir).absolute()
        self.guard = guard
        self.ssh_timeout = ssh_timeout
        self._block_method: str | None = None
        #: the process whose death makes this lab an orphan (None: the lab outlives its creator, as the CLI's)
        self.owner_pid = owner_pid
        self._companions: list[dict] = []

    # ------------------------------------------------------------------ names and addresses
    @property
    def bridge(self) -> str:
        return f'{self.prefix}br0'

    def netns(self, node: int | str) -> str:
        return f'{self.prefix}-node-{self._index(node)}'

    def veth(self, node: int | str) -> str:
        return f'{self.prefix}v{self._index(node)}'

    def hostname(self, node: int | str) -> str:
        return f'node-{self._index(node)}'

    @property
    def nodes(self) -> list[str]:
        return [f'node-{i}' for i in range(1, self.count + 1)]

    def _index(self, node: int | str) -> int:
        if isinstance(node, str):
            m = re.fullmatch(r'(?:.*-)?node-(\d+)', node) or re.fullmatch(r'(\d+)', node)
            if not m:
                raise ValueError(f'unknown node {node!r}')
            node = int(m.group(1))
        if not 1 <= node <= self.count:
            raise ValueError(f'node index {node} out of range 1..{self.count}')
        return node

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return self.subnet.network_address + 1

    @property
    def gateway6(self) -> ipaddress.IPv6Address | None:
        return self.ipv6_subnet.network_address + 1 if self.ipv6_subnet else None

    def address(self, node: int | str) -> str:
        return str(self.subnet.network_address + self.first_host + self._index(node) - 1)

    def address6(self, node: int | str) -> str | None:
        if not self.ipv6_subnet:
            return None
        return str(self.ipv6_subnet.network_address + self.first_host + self._index(node) - 1)

    def addresses(self, node: int | str) -> dict[str, str | None]:
        """``{'ipv4': '10.99.0.11', 'ipv6': 'fd00:99::b' or None, 'netns': ..., 'hostname': ...}``."""
        return {'ipv4': self.address(node), 'ipv6': self.address6(node),
                'netns': self.netns(node), 'hostname': self.hostname(node)}

    # ------------------------------------------------------------------ files
    def node_dir(self, node: int | str) -> Path:
        # The namespace name is in the path so that sshd's command line identifies the prefix
        # (down_all() finds orphaned sshd processes by it).
        return self.state_dir / self.netns(node)

    @property
    def private_key(self) -> Path:
        return self.state_dir / 'id_ed25519'

    @property
    def authorized_keys(self) -> Path:
        return self.state_dir / 'authorized_keys'

    @property
    def control_path_dir(self) -> Path:
        cp = self.state_dir / 'cp'
        if len(str(cp)) > MAX_CONTROL_DIR:   # ssh's unix socket path limit: fall back to a short dir
            digest = hashlib.sha1(str(self.state_dir).encode()).hexdigest()[:10]
            cp = Path('/tmp') / f'nodelab-cp-{digest}'
        return cp

    def _write_manifest(self) -> None:
        manifest = self.state_dir / MANIFEST
        data = {'count': self.count, 'prefix': self.prefix, 'subnet': str(self.subnet),
                'ipv6_subnet': str(self.ipv6_subnet) if self.ipv6_subnet else None,
                'first_host': self.first_host, 'created_state_dir': self._created_state_dir,
                'inventories': sorted(self._inventories)}
        tmp = manifest.with_suffix('.tmp')
        tmp.write_text(json.dumps(data, indent=2) + '\n')
        tmp.replace(manifest)

    @classmethod
    def from_state_dir(cls, state_dir: str | os.PathLike, **overrides) -> 'NodeLab':
        """Rebuild the lab object from the manifest ``up()`` wrote (used by the CLI's ``down``)."""
        data = json.loads((Path(state_dir) / MANIFEST).read_text())
        kwargs = {k: data[k] for k in ('count', 'prefix', 'subnet', 'ipv6_subnet', 'first_host')}
        kwargs.update(overrides)
        lab = cls(state_dir=state_dir, **kwargs)
        lab._created_state_dir = data.get('created_state_dir', False)
        lab._inventories = set(data.get('inventories', []))
        return lab

    _created_state_dir = False
    _inventories: set = set()

    def _load_manifest_flags(self) -> None:
        try:
            data = json.loads((self.state_dir / MANIFEST).read_text())
        except (OSError, ValueError):
            return
        if data.get('prefix') == self.prefix:
            self._created_state_dir = self._created_state_dir or data.get('created_state_dir', False)
            self._inventories = set(self._inventories) | set(data.get('inventories', []))

    # ------------------------------------------------------------------ up
    def up(self, wait: bool = True, timeout: float = 20) -> 'NodeLab':
        """Create (or check and repair) the whole lab.  Returns self."""
        if os.geteuid() != 0:
            raise NodeLabError('NodeLab.up() needs root')
        self._prepare_state_dir()
        self._keys()
        with machine_lock():      # parallel sessions: subnet check and bridge creation are atomic
            reap_orphaned_labs()
            self._check_subnet_free()
            self._bridge()
            self._record_owner()
        for i in range(1, self.count + 1):
            self._node_network(i)
            self._node_guard(i)
            self._node_sshd(i)
        if wait:
            self.wait_ready(timeout=timeout)
        return self

    def _prepare_state_dir(self) -> None:
        self._inventories = set(self._inventories)
        if not self.state_dir.exists():
            self.state_dir.mkdir(parents=True, mode=0o700)
            self._created_state_dir = True
        self._load_manifest_flags()
        self._write_manifest()
        self.control_path_dir.mkdir(mode=0o700, exist_ok=True)
        Path('/run/sshd').mkdir(mode=0o755, exist_ok=True)

    @property
    def _owner_record(self) -> Path:
        return OWNERS_DIR / f'{self.prefix}.json'

    def _record_owner(self) -> None:
        if self.owner_pid is None:
            return
        OWNERS_DIR.mkdir(parents=True, exist_ok=True)
        record = {'prefix': self.prefix, 'pid': self.owner_pid, 'start_time': _start_time(self.owner_pid),
                  'state_dir': str(self.state_dir), 'companions': self._companions}
        tmp = self._owner_record.with_suffix('.tmp')
        tmp.write_text(json.dumps(record) + '\n')
        tmp.replace(self._owner_record)

    def add_companion(self, pid: int, marker: str) -> None:
        """Record a process to stop with the lab if its owner dies (``marker``: a string in its command line)."""
        self._companions.append({'pid': pid, 'marker': marker})
        if self._owner_record.exists():
            self._record_owner()

    def _check_subnet_free(self) -> None:
        """Refuse a subnet that overlaps a route or address not belonging to this lab's bridge."""
        for net, fam in ((self.subnet, 4), (self.ipv6_subnet, 6)):
            if net is None:
                continue
            out = _run([IP, f'-{fam}', '-o', 'route', 'show', 'table', 'all'], check=False).stdout
            out += _run([IP, f'-{fam}', '-o', 'addr', 'show'], check=False).stdout
            for line in out.splitlines():
                if re.search(rf'\b(dev )?{re.escape(self.bridge)}\b', line) or ' local ' in f' {line}':
                    continue
                for token in re.findall(r'(?<![\w:.])([0-9a-fA-F:.]+/\d+)', line):
                    try:
                        other = ipaddress.ip_network(token, strict=False)
                    except ValueError:
                        continue
                    if other.prefixlen and other.version == net.version and other.overlaps(net):
                        leftover = re.search(r'\bdev ([a-z][a-z0-9]*)br0\b', line)
                        hint = (f' (a lab left behind? `python -m clusteredge_testworld.nodes down --prefix {leftover.group(1)}` removes it)'
                                if leftover else '')
                        raise NodeLabError(f'{net} overlaps {other} already in use here: {line.strip()}{hint}')

    def _keys(self) -> None:
        key = self.private_key
        if not key.exists() or not key.with_suffix('.pub').exists():
            key.unlink(missing_ok=True)
            key.with_suffix('.pub').unlink(missing_ok=True)
            _run([SSH_KEYGEN, '-q', '-t', 'ed25519', '-N', '', '-C', f'nodelab-{self.prefix}', '-f', str(key)])
        self.authorized_keys.write_text(key.with_suffix('.pub').read_text())
        self.authorized_keys.chmod(0o600)

    def _link_exists(self, name: str, netns: str | None = None) -> bool:
        args = [IP] + (['-n', netns] if netns else []) + ['link', 'show', 'dev', name]
        return _run(args, check=False).returncode == 0

    def _bridge(self) -> None:
        br = self.bridge
        if not self._link_exists(br):
            _run([IP, 'link', 'add', br, 'type', 'bridge'])
        _run([IP, 'addr', 'replace', f'{self.gateway}/{self.subnet.prefixlen}', 'dev', br])
        if self.ipv6_subnet:
            # No DAD: the address is usable at once (sshd/ansible do not wait for "tentative" to clear).
            _run([IP, '-6', 'addr', 'replace', f'{self.gateway6}/{self.ipv6_subnet.prefixlen}',
                  'dev', br, 'nodad'])
        _run([IP, 'link', 'set', br, 'up'])

    def _netns_exists(self, name: str) -> bool:
        return Path('/run/netns', name).exists()

    def _node_network(self, i: int) -> None:
        ns, veth = self.netns(i), self.veth(i)
        if not self._netns_exists(ns):
            _run([IP, 'netns', 'add', ns])
        has_eth0 = self._link_exists('eth0', ns)
        has_veth = self._link_exists(veth)
        if has_veth != has_eth0:        # half a pair: start over
            if has_veth:
                _run([IP, 'link', 'del', veth], check=False)
            if has_eth0:
                _run([IP, '-n', ns, 'link', 'del', 'eth0'], check=False)
            has_veth = has_eth0 = False
        if not has_veth:
            # Fixed MACs: a re-created pair keeps its MAC, so no stale ARP/ND entry (root namespace)
            # black-holes the node for ~20 s after a repair.
            _run([IP, 'link', 'add', veth, 'address', self._mac(i, 'root'), 'type', 'veth',
                  'peer', 'name', 'eth0', 'address', self._mac(i, 'node'), 'netns', ns])
            for addr in filter(None, (self.address(i), self.address6(i))):
                _run([IP, 'neigh', 'del', addr, 'dev', self.bridge], check=False)
        _run([IP, 'link', 'set', veth, 'master', self.bridge])
        _run([IP, 'link', 'set', veth, 'up'])
        ipns = [IP, '-n', ns]
        if self.ipv6_subnet:
            for key, val in (('accept_ra', '0'), ('autoconf', '0')):
                _run([IP, 'netns', 'exec', ns, 'sysctl', '-qw', f'net.ipv6.conf.eth0.{key}={val}'], check=False)
        _run(ipns + ['link', 'set', 'lo', 'up'])
        _run(ipns + ['addr', 'replace', f'{self.address(i)}/{self.subnet.prefixlen}', 'dev', 'eth0'])
        if self.ipv6_subnet:
            _run(ipns + ['-6', 'addr', 'replace', f'{self.address6(i)}/{self.ipv6_subnet.prefixlen}',
                         'dev', 'eth0', 'nodad'])
        _run(ipns + ['link', 'set', 'eth0', 'up'])
        _run(ipns + ['route', 'replace', 'default', 'via', str(self.gateway), 'dev', 'eth0'])
        if self.ipv6_subnet:
            _run(ipns + ['-6', 'route', 'replace', 'default', 'via', str(self.gateway6), 'dev', 'eth0'])

    def _mac(self, i: int, side: str) -> str:
        digest = hashlib.sha1(f'{self.prefix}/{i}/{side}'.encode()).digest()
        return ':'.join(f'{b:02x}' for b in (0x02,) + tuple(digest[:5]))   # locally administered, unicast

    def _node_guard(self, i: int) -> None:
        """Inside the namespace, drop outgoing traffic to anything but loopback and the lab subnets."""
        if not (self.guard and NFT):
            return
        v6 = ''
        if self.ipv6_subnet:
            v6 = f'    ip6 daddr {self.ipv6_subnet} accept\n'
        ruleset = (
            f'table inet {GUARD_TABLE}\n'
            f'delete table inet {GUARD_TABLE}\n'
            f'table inet {GUARD_TABLE} {{\n'
            f'  chain output {{\n'
            f'    type filter hook output priority 0; policy drop;\n'
            f'    oifname "lo" accept\n'
            f'    ip daddr {self.subnet} accept\n'
            f'{v6}'
            f'    ip6 daddr {{ fe80::/10, ff02::/16 }} oifname "eth0" accept\n'
            f'  }}\n'
            f'}}\n')
        _run([IP, 'netns', 'exec', self.netns(i), NFT, '-f', '-'], input=ruleset)

    def _sshd_config(self, i: int) -> Path:
        d = self.node_dir(i)
        d.mkdir(mode=0o700, exist_ok=True)
        hostkey = d / 'ssh_host_ed25519_key'
        if not hostkey.exists():
            hostkey.with_suffix('.pub').unlink(missing_ok=True)
            _run([SSH_KEYGEN, '-q', '-t', 'ed25519', '-N', '', '-C', self.hostname(i), '-f', str(hostkey)])
        listen = [f'ListenAddress {self.address(i)}:22']
        if self.ipv6_subnet:
            listen.append(f'ListenAddress [{self.address6(i)}]:22')
        conf = d / 'sshd_config'
        conf.write_text('\n'.join([
            f'# nodelab {self.prefix} node {i}',
            *listen,
            f'HostKey {hostkey}',
            f'PidFile {d / "sshd.pid"}',
            f'AuthorizedKeysFile {self.authorized_keys}',
            'PermitRootLogin prohibit-password',
            'PubkeyAuthentication yes',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication no',
            'UsePAM no',
            'StrictModes no',
            'UseDNS no',
            'PrintMotd no',
            'PrintLastLog no',
            'X11Forwarding no',
            'AllowTcpForwarding no',
            'MaxStartups 100:30:200',
            'MaxSessions 100',
            'LoginGraceTime 30',
            'LogLevel INFO',
            'Subsystem sftp internal-sftp',
            '',
        ]))
        return conf

    def sshd_pid(self, node: int | str) -> int | None:
        """The pid of the node's listening sshd, if it runs inside the node's namespace."""
        try:
            pid = int((self.node_dir(node) / 'sshd.pid').read_text().strip())
        except (OSError, ValueError):
            return None
        if not _alive(pid) or 'sshd' not in _proc_comm(pid):
            return None
        if pid not in self._netns_pids(self.netns(node)):
            return None
        return pid

    def _node_sshd(self, i: int) -> None:
        conf = self._sshd_config(i)
        if self.sshd_pid(i):
            return
        ns = self.netns(i)
        (self.node_dir(i) / 'sshd.pid').unlink(missing_ok=True)
        log = self.node_dir(i) / 'sshd.log'
        script = f'hostname {self.hostname(i)} && exec {SSHD} -f {conf} -E {log}'
        _run([IP, 'netns', 'exec', ns, UNSHARE, '--uts', 'sh', '-c', script], timeout=15)

    # ------------------------------------------------------------------ readiness
    def wait_ready(self, timeout: float = 20) -> None:
        """Wait until every node's sshd answers with an SSH banner (IPv4, and IPv6 when configured)."""
        targets = [(self.address(i), i) for i in range(1, self.count + 1)]
        if self.ipv6_subnet:
            targets += [(self.address6(i), i) for i in range(1, self.count + 1)]
        deadline = time.monotonic() + timeout
        pending = list(targets)
        last_error: dict = {}
        while pending:
            for target in list(pending):
                try:
                    with socket.create_connection((target[0], 22), timeout=1) as s:
                        s.settimeout(2)
                        if s.recv(4).startswith(b'SSH-'):
                            pending.remove(target)
                except OSError as exc:
                    last_error[target] = exc
            if not pending:
                return
            if time.monotonic() > deadline:
                detail = ', '.join(f'node-{i} {a}: {last_error.get((a, i))}' for a, i in pending)
                raise NodeLabError(f'sshd not ready after {timeout}s: {detail}')
            time.sleep(0.1)

    # ------------------------------------------------------------------ inventory and env
    def host_vars(self, node: int | str) -> dict:
        hv = {'ansible_host': self.address(node)}
        return hv

    def group_vars(self, extra_vars: Mapping | None = None) -> dict:
        gv = {
            'ansible_connection': 'ssh',
            'ansible_user': 'root',
            'ansible_ssh_private_key_file': str(self.private_key),
            'ansible_ssh_common_args': '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'
                                       ' -o LogLevel=ERROR',
            'ansible_ssh_timeout': self.ssh_timeout,
            'ansible_ssh_pipelining': True,
            'ansible_control_path_dir': str(self.control_path_dir),
            'ansible_python_interpreter': sys.executable,
        }
        gv.update(extra_vars or {})
        return gv

    def inventory(self, path: str | os.PathLike | None = None, extra_vars: Mapping | None = None,
                  fmt: str | None = None) -> Path:
        """Write an inventory (INI, or YAML when the name ends in .yml/.yaml or fmt='yaml'); return its path."""
        path = Path(path) if path is not None else self.state_dir / 'inventory.ini'
        path = path.absolute()
        fmt = fmt or ('yaml' if path.suffix in ('.yml', '.yaml') else 'ini')
        gv = self.group_vars(extra_vars)
        if fmt == 'yaml':
            lines = ['# written by clusteredge_testworld.nodes (NodeLab)', 'all:', '  children:', '    nodes:', '      hosts:']
            for name in self.nodes:
                lines.append(f'        {name}:')
                for k, v in self.host_vars(name).items():
                    lines.append(f'          {k}: {json.dumps(v)}')
                if self.ipv6_subnet:
                    lines.append(f'          nodelab_ipv6: {json.dumps(self.address6(name))}')
            lines.append('      vars:')
            for k, v in gv.items():
                lines.append(f'        {k}: {json.dumps(v)}')   # JSON scalars/flow collections are YAML
        elif fmt == 'ini':
            lines = ['# written by clusteredge_testworld.nodes (NodeLab)', '[nodes]']
            for name in self.nodes:
                hv = dict(self.host_vars(name))
                if self.ipv6_subnet:
                    hv['nodelab_ipv6'] = self.address6(name)
                lines.append(name + ''.join(f' {k}={v}' for k, v in hv.items()))
            lines += ['', '[nodes:vars]']
            for k, v in gv.items():
                lines.append(f'{k}={_ini_value(v)}')
        else:
            raise ValueError(f'unknown inventory format {fmt!r}')
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('\n'.join(lines) + '\n')
        if self.state_dir in path.parents and self.state_dir.exists():
            self._inventories = set(self._inventories) | {str(path)}
            self._write_manifest()
        return path

    def env(self) -> dict[str, str]:
        """Environment variables for ansible/ansible-playbook/molecule runs against this lab."""
        return {
            'ANSIBLE_SSH_CONTROL_PATH_DIR': str(self.control_path_dir),
            'ANSIBLE_HOST_KEY_CHECKING': 'False',
            'ANSIBLE_SSH_PIPELINING': 'True',
            'ANSIBLE_TIMEOUT': str(self.ssh_timeout),
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        }

    # ------------------------------------------------------------------ failure helpers
    @property
    def block_method(self) -> str:
        """'nft', 'iptables' or 'stop-sshd': how block_port() works on this machine."""
        return 'nft' if NFT else ('iptables' if IPTABLES else 'stop-sshd')

    def block_port(self, node: int | str, port: int = 22) -> str:
        """Make ``port`` on the node unreachable from outside (TCP RST: connections fail at once).

        Also kills established sessions to that port, so ssh ControlPersist masters do not
        keep working through the block.  Returns the method used.
        """
        ns, method = self.netns(node), self.block_method
        if method == 'nft':
            ruleset = (f'table inet {BLOCK_TABLE}\n'
                       f'table inet {BLOCK_TABLE} {{\n'
                       f'  chain input {{ type filter hook input priority -10; policy accept; }}\n'
                       f'}}\n')
            _run([IP, 'netns', 'exec', ns, NFT, '-f', '-'], input=ruleset)
            rules = _run([IP, 'netns', 'exec', ns, NFT, '-a', 'list', 'chain', 'inet', BLOCK_TABLE, 'input']).stdout
            if f'dport {port} ' not in rules:
                _run([IP, 'netns', 'exec', ns, NFT, 'add', 'rule', 'inet', BLOCK_TABLE, 'input',
                      'iifname', '!=', 'lo', 'tcp', 'dport', str(port), 'reject', 'with', 'tcp', 'reset'])
        elif method == 'iptables':
            for tool in ('iptables', 'ip6tables'):
                exe = shutil.which(tool, path='/usr/sbin:/usr/bin:/sbin:/bin')
                if not exe:
                    continue
                rule = ['INPUT', '!', '-i', 'lo', '-p', 'tcp', '--dport', str(port), '-j', 'REJECT',
                        '--reject-with', 'tcp-reset']
                if _run([IP, 'netns', 'exec', ns, exe, '-C'] + rule, check=False).returncode != 0:
                    _run([IP, 'netns', 'exec', ns, exe, '-I'] + rule)
        else:
            if port != 22:
                raise NodeLabError('neither nft nor iptables is installed: only port 22 (sshd) can be blocked')
            _kill_pids(p for p in self._netns_pids(ns) if _proc_comm(p).startswith('sshd'))
        if method != 'stop-sshd' and port == 22:
            # drop live sessions (e.g. ControlPersist masters) so they cannot bypass the block
            listener = self.sshd_pid(node)
            _kill_pids(p for p in self._netns_pids(ns)
                       if p != listener and _proc_comm(p).startswith('sshd'))
        return method

    def unblock_port(self, node: int | str, port: int = 22) -> str:
        ns, method = self.netns(node), self.block_method
        if method == 'nft':
            out = _run([IP, 'netns', 'exec', ns, NFT, '-a', 'list', 'chain', 'inet', BLOCK_TABLE, 'input'],
                       check=False).stdout
            for line in out.splitlines():
                m = re.search(rf'tcp dport {port} .*# handle (\d+)', line)
                if m:
                    _run([IP, 'netns', 'exec', ns, NFT, 'delete', 'rule', 'inet', BLOCK_TABLE, 'input',
                          'handle', m.group(1)])
        elif method == 'iptables':
            for tool in ('iptables', 'ip6tables'):
                exe = shutil.which(tool, path='/usr/sbin:/usr/bin:/sbin:/bin')
                if not exe:
                    continue
                rule = ['INPUT', '!', '-i', 'lo', '-p', 'tcp', '--dport', str(port), '-j', 'REJECT',
                        '--reject-with', 'tcp-reset']
                while _run([IP, 'netns', 'exec', ns, exe, '-D'] + rule, check=False).returncode == 0:
                    pass
        else:
            self._node_sshd(self._index(node))
        if port == 22:
            self.wait_ready_node(node)
        return method

    def wait_ready_node(self, node: int | str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((self.address(node), 22), timeout=1) as s:
                    s.settimeout(2)
                    if s.recv(4).startswith(b'SSH-'):
                        return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise NodeLabError(f'{self.hostname(node)} sshd not reachable: {exc}') from exc
            time.sleep(0.1)

    def stop_sshd(self, node: int | str) -> None:
        """Stop the node's sshd and its sessions (the namespace and addresses stay)."""
        ns = self.netns(node)
        _kill_pids(p for p in self._netns_pids(ns) if _proc_comm(p).startswith('sshd'))

    def start_sshd(self, node: int | str) -> None:
        self._node_sshd(self._index(node))
        self.wait_ready_node(node)

    def exec(self, node: int | str, *cmd: str, check: bool = True, timeout: float = 30
             ) -> subprocess.CompletedProcess:
        """Run a command inside the node's network namespace (not its UTS namespace)."""
        return _run([IP, 'netns', 'exec', self.netns(node), *cmd], check=check, timeout=timeout)

    # ------------------------------------------------------------------ status
    def status(self) -> dict:
        nodes = {}
        for i in range(1, self.count + 1):
            nodes[self.hostname(i)] = {**self.addresses(i), 'netns_exists': self._netns_exists(self.netns(i)),
                                       'sshd_pid': self.sshd_pid(i)}
        return {'prefix': self.prefix, 'state_dir': str(self.state_dir), 'bridge': self.bridge,
                'bridge_exists': self._link_exists(self.bridge), 'nodes': nodes}

    # ------------------------------------------------------------------ down
    def down(self) -> None:
        """Tear everything down (safe after a half-finished up(), and safe to call twice)."""
        self._load_manifest_flags()
        errors = _teardown(self.prefix, state_dir=self.state_dir, control_dirs=[self.control_path_dir])
        self._remove_state()
        if not errors and self.owner_pid is not None:
            self._owner_record.unlink(missing_ok=True)
        if errors:
            raise NodeLabError('teardown incomplete: ' + '; '.join(errors))

    def _remove_state(self) -> None:
        cp = self.control_path_dir
        if cp.exists() and (cp.parent != self.state_dir):
            shutil.rmtree(cp, ignore_errors=True)
        if not self.state_dir.exists():
            return
        for inv in self._inventories:
            Path(inv).unlink(missing_ok=True)
        for i in range(1, self.count + 1):
            shutil.rmtree(self.node_dir(i), ignore_errors=True)
        for d in self.state_dir.glob(f'{self.prefix}-node-*'):
            if re.fullmatch(rf'{re.escape(self.prefix)}-node-\d+', d.name):
                shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(self.state_dir / 'cp', ignore_errors=True)
        for name in ('id_ed25519', 'id_ed25519.pub', 'authorized_keys', 'inventory.ini', MANIFEST,
                     MANIFEST.replace('.json', '.tmp')):
            (self.state_dir / name).unlink(missing_ok=True)
        if self._created_state_dir:
            try:
                self.state_dir.rmdir()
            except OSError:
                pass   # someone else's files are still in it

    @classmethod
    def down_all(cls, prefix: str, state_dir: str | os.PathLike | None = None) -> list[str]:
        """Remove every leftover of ``prefix`` on this machine (crash recovery).  Returns what it removed."""
        removed: list[str] = []
        errors = _teardown(prefix, state_dir=Path(state_dir).absolute() if state_dir else None,
                           control_dirs=[], removed=removed)
        if errors:
            raise NodeLabError('teardown incomplete: ' + '; '.join(errors))
        return removed

    @staticmethod
    def _netns_pids(ns: str) -> list[int]:
        if not Path('/run/netns', ns).exists():
            return []
        out = _run([IP, 'netns', 'pids', ns], check=False).stdout
        return [int(p) for p in out.split() if p.isdigit()]

    # ------------------------------------------------------------------ context manager
    def __enter__(self) -> 'NodeLab':
        if self.owner_pid is None:
            self.owner_pid = os.getpid()
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.down()

    def __repr__(self) -> str:
        return (f'NodeLab(count={self.count}, prefix={self.prefix!r}, subnet={str(self.subnet)!r}, '
                f'state_dir={str(self.state_dir)!r}, ipv6_subnet={str(self.ipv6_subnet) if self.ipv6_subnet else None!r})')


def _ini_value(v) -> str:
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str) and re.fullmatch(r'[\w./:@%+,=-]+', v) and not v.startswith(('[', '{')):
        return v
    return repr(v)      # the INI inventory parser literal_eval()s values


def lab_namespaces(prefix: str) -> list[str]:
    out = _run([IP, 'netns', 'list'], check=False).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [n for n in names if re.fullmatch(rf'{re.escape(prefix)}-node-\d+', n)]


def lab_links(prefix: str) -> list[str]:
    out = _run([IP, '-o', 'link', 'show'], check=False).stdout
    links = []
    for line in out.splitlines():
        m = re.match(r'\d+:\s+([^:@\s]+)', line)
        if m and re.fullmatch(rf'{re.escape(prefix)}(v\d+|br0)', m.group(1)):
            links.append(m.group(1))
    return links


def _teardown(prefix: str, state_dir: Path | None, control_dirs: list[Path],
              removed: list[str] | None = None) -> list[str]:
    removed = removed if removed is not None else []
    errors: list[str] = []
    ns_re = re.compile(rf'/{re.escape(prefix)}-node-\d+/sshd_config\b')
    # 1. ssh ControlPersist masters: ask politely, then kill any ssh whose command line names our dirs
    markers = [str(d) for d in control_dirs]
    if state_dir:
        markers.append(str(state_dir))
    for d in control_dirs:
        if d.is_dir():
            for sock in d.iterdir():
                if sock.is_socket():
                    subprocess.run([SSH, '-O', 'exit', '-o', f'ControlPath={sock}', 'nodelab'],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=5, check=False)
                    removed.append(f'ssh master {sock.name}')
    victims = set()
    for pid in _all_pids():
        comm = _proc_comm(pid)
        cmd = _proc_cmdline(pid)
        if comm == 'ssh' and any(m in cmd for m in markers):
            victims.add(pid)
        elif comm.startswith('sshd') and (ns_re.search(cmd) and (not state_dir or str(state_dir) in cmd)):
            victims.add(pid)   # listening sshd, also when its namespace is already gone
    # 2. every process inside our namespaces
    namespaces = lab_namespaces(prefix)
    for ns in namespaces:
        victims.update(NodeLab._netns_pids(ns))
    if victims:
        _kill_pids(victims)
        removed.append(f'{len(victims)} processes')
    # 3. namespaces
    for ns in namespaces:
        proc = _run([IP, 'netns', 'del', ns], check=False)
        if proc.returncode != 0 and Path('/run/netns', ns).exists():
            errors.append(f'ip netns del {ns}: {proc.stderr.strip()}')
        else:
            removed.append(f'netns {ns}')
    # 4. leftover veths (deleting a namespace normally takes its peer with it) and the bridge
    for _attempt in range(20):
        links = lab_links(prefix)
        if not links:
            break
        for link in sorted(links, key=lambda n: n.endswith('br0')):
            proc = _run([IP, 'link', 'del', link], check=False)
            if proc.returncode == 0:
                removed.append(f'link {link}')
        time.sleep(0.05)
    else:
        errors.append(f'links left: {lab_links(prefix)}')
    return errors
