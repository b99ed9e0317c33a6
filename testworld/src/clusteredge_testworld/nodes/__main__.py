"""python -m clusteredge_testworld.nodes up|down|status|env  —  namespace nodes with sshd.

Exit codes: 0 ok; 1 operation failed (message on stderr); 2 usage error;
3 not permitted here (not root / `ip netns` unavailable); 4 `status`: lab missing or degraded.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from .lab import IP, MANIFEST, NodeLab, NodeLabError, lab_links, lab_namespaces, preflight

EXIT_FAILED, EXIT_USAGE, EXIT_NOT_PERMITTED, EXIT_DEGRADED = 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='python -m clusteredge_testworld.nodes', description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='cmd', required=True)

    up = sub.add_parser('up', help='create (or repair) the lab; prints the inventory path')
    up.add_argument('--count', type=int, default=3)
    up.add_argument('--prefix', default='ce')
    up.add_argument('--state-dir', required=True, type=Path)
    up.add_argument('--subnet', default='10.99.0.0/24')
    up.add_argument('--first-host', type=int, default=11)
    up.add_argument('--ipv6', action='store_true', help='also IPv6, on --ipv6-subnet')
    up.add_argument('--ipv6-subnet', default=None, help='default fd00:99::/64 (implies --ipv6)')
    up.add_argument('--inventory', type=Path, default=None,
                    help='inventory file to write (.yml/.yaml = YAML, else INI); default STATE_DIR/inventory.ini')
    up.add_argument('--extra-var', action='append', default=[], metavar='KEY=VALUE',
                    help='extra inventory variable for group nodes (repeatable)')
    up.add_argument('--timeout', type=float, default=20, help='seconds to wait for sshd')
    up.add_argument('--keep-on-failure', action='store_true', help='do not tear down when up fails')

    down = sub.add_parser('down', help='tear the lab down (uses STATE_DIR/nodelab.json when present)')
    down.add_argument('--prefix', default=None, help='default: from the manifest, else "ce"')
    down.add_argument('--state-dir', type=Path, default=None)

    st = sub.add_parser('status', help='show labs on this machine (exit 4 if the given lab is not healthy)')
    st.add_argument('--prefix', default=None)
    st.add_argument('--state-dir', type=Path, default=None)
    st.add_argument('--json', action='store_true')

    env = sub.add_parser('env', help='print `export` lines with the Ansible settings for a lab')
    env.add_argument('--state-dir', type=Path, required=True)
    return p


def _cmd_up(a) -> int:
    reason = preflight()
    if reason:
        print(f'nodes: {reason}', file=sys.stderr)
        return EXIT_NOT_PERMITTED
    v6 = a.ipv6_subnet or ('fd00:99::/64' if a.ipv6 else None)
    extra = {}
    for kv in a.extra_var:
        k, sep, v = kv.partition('=')
        if not sep:
            print(f'nodes: --extra-var needs KEY=VALUE: {kv!r}', file=sys.stderr)
            return EXIT_USAGE
        extra[k] = v
    try:
        lab = NodeLab(count=a.count, prefix=a.prefix, subnet=a.subnet, state_dir=a.state_dir,
                      first_host=a.first_host, ipv6_subnet=v6)
    except ValueError as exc:
        print(f'nodes: {exc}', file=sys.stderr)
        return EXIT_USAGE
    t0 = time.monotonic()
    try:
        lab.up(timeout=a.timeout)
        inv = lab.inventory(a.inventory, extra_vars=extra)
    except (NodeLabError, OSError) as exc:
        print(f'nodes: up failed: {exc}', file=sys.stderr)
        if not a.keep_on_failure:
            try:
                lab.down()
            except NodeLabError as exc2:
                print(f'nodes: teardown after failure also failed: {exc2}', file=sys.stderr)
        return EXIT_FAILED
    print(f'nodes: {a.count} nodes up in {time.monotonic() - t0:.1f}s', file=sys.stderr)
    print(inv)
    return 0


def _cmd_down(a) -> int:
    if a.state_dir is None and a.prefix is None:
        print('nodes: down needs --prefix and/or --state-dir', file=sys.stderr)
        return EXIT_USAGE
    try:
        if a.state_dir is not None and (a.state_dir / MANIFEST).exists():
            overrides = {'prefix': a.prefix} if a.prefix else {}
            lab = NodeLab.from_state_dir(a.state_dir, **overrides)
            lab.down()
            NodeLab.down_all(lab.prefix, a.state_dir)   # anything beyond the manifest's count
        else:
            NodeLab.down_all(a.prefix or 'ce', a.state_dir)
    except (NodeLabError, OSError, ValueError) as exc:
        print(f'nodes: down failed: {exc}', file=sys.stderr)
        return EXIT_FAILED
    return 0


def _cmd_status(a) -> int:
    if a.state_dir is not None and (a.state_dir / MANIFEST).exists():
        lab = NodeLab.from_state_dir(a.state_dir)
        st = lab.status()
        healthy = st['bridge_exists'] and all(n['sshd_pid'] for n in st['nodes'].values())
        st['healthy'] = bool(healthy)
        if a.json:
            print(json.dumps(st, indent=2))
        else:
            print(f"prefix {st['prefix']}  bridge {st['bridge']} {'up' if st['bridge_exists'] else 'MISSING'}"
                  f"  state {st['state_dir']}")
            for name, n in st['nodes'].items():
                print(f"  {name:8} {n['netns']:16} {n['ipv4']:15} {n['ipv6'] or '':20} "
                      f"{'sshd ' + str(n['sshd_pid']) if n['sshd_pid'] else 'sshd DOWN'}")
        return 0 if healthy else EXIT_DEGRADED
    # no manifest: list what exists on the machine
    out = subprocess.run([IP, 'netns', 'list'], capture_output=True, text=True, check=False).stdout
    namespaces = [l.split()[0] for l in out.splitlines() if re.match(r'\S+-node-\d+\b', l)]
    prefixes = sorted({n.rsplit('-node-', 1)[0] for n in namespaces} | ({a.prefix} if a.prefix else set()))
    if a.prefix:
        prefixes = [a.prefix]
    report = {p: {'namespaces': lab_namespaces(p), 'links': lab_links(p)} for p in prefixes}
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        if not report:
            print('no namespace nodes found')
        for p, r in report.items():
            print(f"prefix {p}: namespaces {' '.join(r['namespaces']) or '-'}; links {' '.join(r['links']) or '-'}")
    if a.prefix and not report[a.prefix]['namespaces']:
        return EXIT_DEGRADED
    return 0


def _cmd_env(a) -> int:
    try:
        lab = NodeLab.from_state_dir(a.state_dir)
    except (OSError, ValueError) as exc:
        print(f'nodes: no lab manifest in {a.state_dir}: {exc}', file=sys.stderr)
        return EXIT_FAILED
    for k, v in lab.env().items():
        print(f'export {k}={shlex.quote(v)}')
    return 0


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    return {'up': _cmd_up, 'down': _cmd_down, 'status': _cmd_status, 'env': _cmd_env}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
