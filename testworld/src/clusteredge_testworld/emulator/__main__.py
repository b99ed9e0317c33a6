"""CLI: `python -m clusteredge_testworld.emulator serve --port 0 [--token T] [--tls-dir D] [--state-file F] [--seed X.yaml]
[--rbac R] [--profile P]`.

Prints the URL as the first stdout line, optionally writes a JSON state file
({url, pid, token, ca_cert_path, calico_api, kubeconfig, profile}) and serves until SIGTERM/SIGINT.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

import yaml

from .profiles import PROFILE_ENV, PROFILES
from .rbac import Authorizer
from .server import DEFAULT_SERVICE_CIDRS, EmulatorServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m clusteredge_testworld.emulator')
    sub = parser.add_subparsers(dest='command', required=True)
    serve = sub.add_parser('serve', help='run the emulated API server until SIGTERM')
    serve.add_argument('--host', default='127.0.0.1')
    serve.add_argument('--port', type=int, default=0)
    serve.add_argument('--token')
    serve.add_argument('--tls-dir')
    serve.add_argument('--state-file')
    serve.add_argument('--kubeconfig', help='also write a kubeconfig pointing at the server')
    serve.add_argument('--seed', action='append', default=[], help='YAML file of manifests (repeatable)')
    serve.add_argument('--no-calico-api', action='store_true', help='do not serve projectcalico.org/v3')
    serve.add_argument('--service-cidr', action='append', help='service CIDR (repeat for dual stack)')
    serve.add_argument('--rbac', help='RBAC mode: YAML/JSON file {token: {user: ..., rules: [ClusterRole rules]}}')
    serve.add_argument('--profile', help=f'Calico profile: {", ".join(PROFILES)}, optionally with a patch level '
                                         f'(default: ${PROFILE_ENV}, else 3.28)')
    args = parser.parse_args(argv)

    server = EmulatorServer(port=args.port, token=args.token, tls_dir=args.tls_dir, host=args.host,
                            calico_api=not args.no_calico_api,
                            service_cidrs=tuple(args.service_cidr or DEFAULT_SERVICE_CIDRS),
                            rbac=Authorizer.from_file(args.rbac) if args.rbac else None, profile=args.profile)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    try:
        for path in args.seed:
            with open(path) as fh:
                server.seed([doc for doc in yaml.safe_load_all(fh) if doc])
        if args.kubeconfig:
            server.write_kubeconfig(args.kubeconfig)
        if args.state_file:
            tmp = args.state_file + '.tmp'
            with open(tmp, 'w') as fh:
                json.dump({'url': server.url, 'pid': os.getpid(), 'token': args.token,
                           'ca_cert_path': server.ca_cert_path, 'calico_api': not args.no_calico_api,
                           'kubeconfig': args.kubeconfig, 'profile': server.profile.name}, fh)
            os.replace(tmp, args.state_file)  # atomic: readers never see a half-written file
        print(server.url, flush=True)
        stop.wait()
    finally:
        server.stop()
        if args.state_file and os.path.exists(args.state_file):
            os.unlink(args.state_file)
    return 0


if __name__ == '__main__':
    sys.exit(main())
