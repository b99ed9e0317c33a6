"""python -m clusteredge_testworld.molecule init DIRECTORY [--force]"""

from __future__ import annotations

import argparse
import sys

from clusteredge_testworld.molecule import init


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m clusteredge_testworld.molecule")
    parser.add_argument("command", choices=["init"])
    parser.add_argument("directory", help="the scenario directory, e.g. molecule/calico")
    parser.add_argument("--force", action="store_true", help="overwrite files that exist")
    args = parser.parse_args(argv)
    for path in init(args.directory, force=args.force):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
