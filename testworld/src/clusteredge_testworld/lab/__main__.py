"""python -m clusteredge_testworld.lab up|down --state-dir DIR [--scenario cluster|local|dualstack|canary] [--prefix P]"""

from __future__ import annotations

import argparse
import sys

from clusteredge_testworld.lab import SCENARIOS, Lab


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m clusteredge_testworld.lab")
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--scenario", default="cluster", choices=sorted(SCENARIOS))
    parser.add_argument("--prefix", default="ce")
    parser.add_argument("--subnet", default="10.200.0.0/24")
    args = parser.parse_args(argv)
    lab = Lab(args.state_dir, scenario=args.scenario, prefix=args.prefix, subnet=args.subnet)
    if args.command == "up":
        lab.up()
        print(lab.inventory)
    else:
        lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
