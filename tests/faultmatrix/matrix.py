"""Fault x step cells: inject one fault at one recorded API step, run, then re-run clean; say whether it went as it must.

A cell is right when:
- a single transient fault (429 with Retry-After, 500, 503, a reset before or after the server applied a write) is
  absorbed: the run succeeds and leaves exactly the state of a clean run;
- a 409 from another writer (who changed or created the object first) ends in success, or in a clear failure;
- a persistent fault (every attempt at that step fails) ends in a clear failure: a message naming the API status or
  the missing answer, no traceback;
and in every case the re-run without faults leaves the clean state and the run after it changes nothing.
"""

from __future__ import annotations

import re

from clusteredge_testworld.lab.cluster import cluster

from faultmatrix.scenario import NODES, SERVICES, Cluster, differences, state_of

PERSISTENT = 1000  # every attempt at that step, however many retries
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# name -> (fault options, applies to writes only, persistent)
KINDS = {
    "429": (dict(status=429, retry_after=1), False, False),
    "500": (dict(status=500), False, False),
    "503": (dict(status=503), False, False),
    "reset": (dict(reset=True), False, False),
    "reset-after-write": (dict(reset=True, after=True), True, False),
    "409-another-writer": (dict(status=409, another_writer=True), True, False),
    "500-persistent": (dict(status=500), False, True),
}
SINGLE_KINDS = [k for k, (_o, _w, persistent) in KINDS.items() if not persistent]


class Cell(object):
    def __init__(self, target, index, method, path, occurrence, kind):
        self.target = target          # "module" or "role"
        self.index = index            # position in the clean run's request sequence
        self.method = method
        self.path = path
        self.occurrence = occurrence  # how many earlier requests of the clean run had the same method and path
        self.kind = kind
        self.outcome = None           # "ok", "clean-fail, re-run ok", or "WRONG: ..."
        self.detail = ""

    @property
    def step(self):
        return "%s %s%s" % (self.method, self.path, "" if not self.occurrence else " #%d" % (self.occurrence + 1))

    @property
    def right(self):
        return self.outcome is not None and not self.outcome.startswith("WRONG")

    def applies(self):
        return self.method in WRITE_METHODS or not KINDS[self.kind][1]


def steps_of(requests):
    """(index, method, path, occurrence) of every API request of a recorded run, admin calls excluded."""
    seen = {}
    steps = []
    for request in requests:
        if request["verb"] == "admin":
            continue
        key = (request["method"], request["path"])
        steps.append((len(steps), key[0], key[1], seen.get(key, 0)))
        seen[key] = seen.get(key, 0) + 1
    return steps


def distinct_steps(steps):
    """First request of each (method, path), the first request of every module call, and every write."""
    chosen = []
    seen = set()
    for step in steps:
        _index, method, path, _occurrence = step
        first_of_call = method == "GET" and path == "/apis/projectcalico.org/v3"
        if (method, path) not in seen or first_of_call or method in WRITE_METHODS:
            chosen.append(step)
        seen.add((method, path))
    return chosen


class Bench(object):
    """One emulator, reset and re-seeded before each cell; `run` is the module or the playbook.

    Targets: "module" (a first run: creates and pins), "module-update" (one Service fewer after a first run: updates,
    a delete and a pin removal), "role" (the playbook on three local hosts).
    """

    def __init__(self, workdir, target, profile=None):
        self.cluster = Cluster(workdir, profile)
        self.target = target

    def __enter__(self):
        self.cluster.__enter__()
        return self

    def __exit__(self, *exc_info):
        self.cluster.__exit__(*exc_info)

    def fresh(self):
        api = self.cluster.api
        api.reset()
        api.seed(cluster(dict((name, "127.0.0.1") for name in NODES)))
        if self.target == "module-update":
            before = self.cluster.run_module()
            if not before.ok:
                raise AssertionError("the run before the update failed: %r" % before)
            api.clear_requests()

    def run(self):
        if self.target == "module-update":
            return self.cluster.run_module(SERVICES[:2])
        return self.cluster.run_module() if self.target == "module" else self.cluster.run_playbook()

    def state(self):
        return state_of(self.cluster.api)

    def clean_reference(self):
        """The clean run: its request sequence and the state it leaves."""
        self.fresh()
        first = self.run()
        if not first.ok or first.traceback:
            raise AssertionError("the clean run failed: %r" % first)
        requests = self.cluster.api.requests
        reference = self.state()
        again = self.run()
        if not again.ok or again.changed:
            raise AssertionError("the clean re-run is not a no-op: %r" % again)
        return steps_of(requests), reference

    def run_cell(self, cell, reference):
        api = self.cluster.api
        self.fresh()
        options, _writes_only, persistent = KINDS[cell.kind]
        rule = api.inject_fault(method=cell.method, path="^%s$" % re.escape(cell.path), skip=cell.occurrence,
                                times=PERSISTENT if persistent else 1, **options)
        faulted = self.run()
        hit = rule.times < (PERSISTENT if persistent else 1)
        api.clear_faults()
        cell.outcome, cell.detail = judge(cell, hit, faulted, self.state(), reference, self.run, self.state)
        return cell


def judge(cell, hit, faulted, state_after, reference, run, state):
    """(outcome, detail) of a cell from the faulted run and the re-runs it needs."""
    persistent = KINDS[cell.kind][2]
    if not hit:
        return "WRONG: the fault never fired (the run took another path)", ""
    if faulted.traceback:
        return "WRONG: traceback", repr(faulted)
    if faulted.ok:
        if persistent:
            return "WRONG: succeeded although every attempt failed", repr(faulted)
        drift = differences(reference, state_after)
        if drift:
            return "WRONG: succeeded with another state", "\n".join(drift)
    elif not faulted.clear:
        return "WRONG: failed unclearly", repr(faulted)
    elif not persistent and cell.kind != "409-another-writer":
        return "WRONG: one transient fault was not absorbed", repr(faulted)
    rerun = run()
    if not rerun.ok:
        return "WRONG: the re-run failed", repr(rerun)
    drift = differences(reference, state())
    if drift:
        return "WRONG: the re-run did not converge", "\n".join(drift)
    if faulted.ok:
        return ("WRONG: the run after a success still changed things", repr(rerun)) if rerun.changed else ("ok", "")
    settled = run()
    if not settled.ok or settled.changed:
        return "WRONG: the run after the re-run still changed things", repr(settled)
    return "clean-fail, re-run ok", faulted.messages[0] if faulted.messages else ""


def cells_for(target, steps, kinds):
    cells = []
    for index, method, path, occurrence in steps:
        for kind in kinds:
            cell = Cell(target, index, method, path, occurrence, kind)
            if cell.applies():
                cells.append(cell)
    return cells
