"""python -m clusteredge_testworld.felixsim --admin-url URL --node node-1=NS1=10.99.0.11 ... [--interval 0.3] [--pidfile F]"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .sim import FelixSim, log


def parse_node(text: str) -> tuple[str, tuple[str, str]]:
    parts = text.split('=')
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError(f'expected NODE=NETNS=ADDRESS, got {text!r}')
    return parts[0], (parts[1], parts[2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='felixsim', description=__doc__)
    parser.add_argument('--admin-url', required=True, help='emulator base URL (its /_emulator/ endpoints)')
    parser.add_argument('--node', action='append', type=parse_node, required=True, metavar='NODE=NETNS=ADDRESS')
    parser.add_argument('--interval', type=float, default=0.3)
    parser.add_argument('--pidfile')
    parser.add_argument('--api-version', default='projectcalico.org/v3')
    args = parser.parse_args(argv)
    sim = FelixSim(args.admin_url, dict(args.node), args.interval, args.api_version)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.pidfile:
        with open(args.pidfile, 'w', encoding='utf-8') as fh:
            fh.write(f'{os.getpid()}\n')
    log(f'watching {", ".join(sorted(sim.nodes))} every {args.interval}s')
    try:
        sim.run_forever(stop)
    finally:
        sim.cleanup()
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
        log('stopped, rules removed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
