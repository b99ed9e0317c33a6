"""The full fault matrix, run on its own (scripts/fault-matrix.sh): every recorded API step x every fault kind.

python -m faultmatrix [--target module|module-update|role|all] [--jobs N] [--workdir DIR] [--quick] [--role-full]
Prints one table per target (step x fault kind -> outcome), then the details of every wrong cell; exits 1 if any.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import tempfile
import threading
import time
from pathlib import Path

from faultmatrix.matrix import KINDS, SINGLE_KINDS, WRITE_METHODS, Bench, cells_for, distinct_steps

SHORT = {"ok": "ok", "clean-fail, re-run ok": "fail>ok"}
CALICO_GROUP = "/apis/projectcalico.org/v3"


def choose_cells(target, steps, quick, module_paths=frozenset(), full=False):
    """Which steps get which faults.

    Module: every single fault at every step (`quick`: at each distinct step); a persistent fault at the first
    request of each (method, path) and every write. Module-update: the same at its writes. Role (each cell is two or three playbook runs): what the module
    matrix does not already cover, i.e. the first request of every module call, the role's own reads, the first
    policy create and every HostEndpoint create; `full`: every single fault there, and a persistent fault at each
    module call's first request and each write; else a sample (below).
    """
    persistent = [k for k, (_o, _w, p) in KINDS.items() if p]
    if target in ("module", "module-update"):
        every = distinct_steps(steps) if quick else steps
        if target == "module-update":  # its reads are the module target's; its writes are what is new
            every = [s for s in every if s[1] in WRITE_METHODS]
        firsts = [s for s in distinct_steps(steps) if s[1] in WRITE_METHODS or s[3] == 0]
        return cells_for(target, every, SINGLE_KINDS) + cells_for(target, firsts, persistent)
    call_starts = [s for s in steps if s[1:3] == ("GET", CALICO_GROUP)]
    own_reads = [s for s in steps if s[1] == "GET" and s[3] == 0 and s[2] not in module_paths]
    writes = [s for s in steps if (s[1], s[3]) == ("POST", 0) and s[2].endswith("/globalnetworkpolicies")]
    writes += [s for s in steps if s[1] == "POST" and s[2].endswith("/hostendpoints")]
    if full:
        chosen = sorted(set(call_starts + own_reads + writes))
        return cells_for(target, chosen, SINGLE_KINDS) + cells_for(target, sorted(set(call_starts + writes)), persistent)
    # The sample: one fault kind per read step, taking the kinds in turn; every kind at the canary's HostEndpoint
    # create; a persistent fault at each HostEndpoint create.
    reads = sorted(set(call_starts + own_reads))
    read_kinds = [k for k in SINGLE_KINDS if not KINDS[k][1]]
    cells = [c for n, step in enumerate(reads) for c in cells_for(target, [step], [read_kinds[n % len(read_kinds)]])]
    canary = [s for s in writes if s[2].endswith("/hostendpoints")][:1]
    cells += cells_for(target, canary, SINGLE_KINDS)
    cells += [c for n, step in enumerate(s for s in writes if s not in canary)
              for c in cells_for(target, [step], [SINGLE_KINDS[(n + 4) % len(SINGLE_KINDS)]])]
    return cells + cells_for(target, [s for s in writes if s[2].endswith("/hostendpoints")], persistent)


def run_target(target, workdir, jobs, quick, full_role=False):
    module_paths = frozenset()
    if target == "role":
        with Bench(workdir / "module-paths", "module") as bench:
            module_paths = frozenset(path for _i, _m, path, _o in bench.clean_reference()[0])
    with Bench(workdir / ("%s-reference" % target), target) as bench:
        steps, reference = bench.clean_reference()
    cells = choose_cells(target, steps, quick, module_paths, full_role)
    print("%s: %d API requests in a clean run, %d cells" % (target, len(steps), len(cells)), flush=True)
    pending = list(cells)
    lock = threading.Lock()

    def worker(number):
        with Bench(workdir / ("%s-worker-%d" % (target, number)), target) as bench:
            while True:
                with lock:
                    if not pending:
                        return
                    cell = pending.pop(0)
                bench.run_cell(cell, reference)
                print("  [%s] %-70s %-20s %s" % (target, cell.step[:70], cell.kind, cell.outcome), flush=True)

    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for future in [pool.submit(worker, n) for n in range(jobs)]:
            future.result()
    return cells


def table(target, cells):
    kinds = list(KINDS)
    rows = []
    for cell in sorted(cells, key=lambda c: c.index):
        if not rows or rows[-1][0] != cell.index:
            rows.append((cell.index, cell.step, {}))
        rows[-1][2][cell.kind] = SHORT.get(cell.outcome, "WRONG")
    width = max(len(step) for _i, step, _c in rows)
    lines = ["", "%s: step x fault kind" % target, "%4s  %-*s  %s" % ("#", width, "step", "  ".join("%-9s" % k[:9] for k in kinds))]
    for index, step, outcome in rows:
        lines.append("%4d  %-*s  %s" % (index, width, step, "  ".join("%-9s" % outcome.get(k, "-") for k in kinds)))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m faultmatrix", description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("module", "module-update", "role", "all"), default="all")
    parser.add_argument("--jobs", type=int, default=2, help="cells run in parallel, each on its own emulator")
    parser.add_argument("--workdir", type=Path, help="where runs keep their temp files (default: a fresh temp dir)")
    parser.add_argument("--quick", action="store_true", help="the module targets at distinct steps only")
    parser.add_argument("--role-full", action="store_true", help="every fault kind at every role step chosen (slow)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fault-matrix-"))
    started = time.time()
    results = {}
    for target in (("module", "module-update", "role") if args.target == "all" else (args.target,)):
        results[target] = run_target(target, workdir, max(1, args.jobs), args.quick, args.role_full)
    wrong = []
    for target, cells in results.items():
        print(table(target, cells))
        wrong += [c for c in cells if not c.right]
    print("")
    for cell in wrong:
        print("WRONG [%s] %s / %s: %s\n%s\n" % (cell.target, cell.step, cell.kind, cell.outcome, cell.detail))
    total = sum(len(c) for c in results.values())
    counts = {}
    for cells in results.values():
        for cell in cells:
            label = SHORT.get(cell.outcome, "WRONG")
            counts[label] = counts.get(label, 0) + 1
    print("%d cells in %.0f s: %s" % (total, time.time() - started, ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
