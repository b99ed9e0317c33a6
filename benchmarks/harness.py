"""Role vs kubernetes.core.k8s loop: the same desired state against the API emulator, measured per run.

For each size N x M (N nodes with one interface each, M exposed Services), two emulator instances are seeded
identically. (a) runs `ansible-playbook clusteredge.calico.expose` on N local-connection hosts (each mapped to its
node, interface lo), (b) runs benchmarks/k8s_loop.yml on localhost: one kubernetes.core.k8s invocation per object.
Each runs three times: first run, no-op re-run, and a re-run after one Service's sources changed. Every run is
measured: wall time, API requests by verb (discovery apart), the controller's peak RSS. After the first and the
changed runs the resulting objects of (a) and (b) are compared.

Run: `. scripts/env.sh && python -m benchmarks [--sizes 10x5,100x50,1000x500] [--out DIR]` (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import ipaddress
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.svg_plot import write_plot

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_SIZES = "10x5,100x50,1000x500"
DEFAULT_OUT = REPO / "tests" / "output" / "benchmarks"
if str(REPO / "tests") not in sys.path:
    sys.path.append(str(REPO / "tests"))  # the suite's helpers: hosts written and objects compared as the tests do
OWNER = "clusteredge.calico"
NAME_PREFIX = "clusteredge"
NODE_LABELS = {"k8s-role": "node"}
OWNER_LABEL = "clusteredge.calico/owner"
BENCH_NAMESPACES = 5
FIRST_SERVICE_IP = ipaddress.ip_address("10.100.0.1")   # inside the seeded 10.96.0.0/12, away from allocated IPs
FIRST_POD_IP = ipaddress.ip_address("192.168.251.0")    # above every node's tunnel address (192.168.0.0 + 64 * i)
CHANGED_SOURCES = ["198.51.100.0/24"]
APPROACHES = (("a", "role"), ("b", "k8s loop"))
PHASES = (("first", "first run"), ("noop", "no-op re-run"), ("change", "one Service changed"))
VERBS = ("get", "list", "create", "update", "patch", "delete")
SHOWN_VERBS = VERBS + tuple("dry-run " + v for v in VERBS[2:])


# -- inputs ---------------------------------------------------------------------------------------------------

def parse_sizes(text):
    sizes = []
    for part in text.split(","):
        nodes, services = part.strip().lower().split("x")
        sizes.append((int(nodes), int(services)))
    return sizes


def node_names(nodes):
    return ["node-%04d" % i for i in range(nodes)]


def tunnel_address(index):
    """lab.cluster.nodes gives the node at sorted position `index` (from 1) this IPIP tunnel address."""
    return str(ipaddress.ip_address("192.168.0.0") + 64 * index)


def bench_services(count):
    """M ClusterIP Services spread over a few namespaces, each with its own cluster IP and source network."""
    services = []
    for i in range(count):
        services.append(dict(namespace="bench-%d" % (i % BENCH_NAMESPACES), name="svc-%04d" % i,
                             cluster_ip=str(FIRST_SERVICE_IP + i), pod_ip=str(FIRST_POD_IP + i),
                             sources=["100.%d.%d.0/24" % (64 + i // 256, i % 256)]))
    return services


def seed_manifests(nodes, services):
    """lab.cluster's realistic cluster on N loopback nodes, plus the M Services with one backend pod each."""
    from clusteredge_testworld.lab.cluster import cluster

    names = node_names(nodes)
    manifests = cluster(dict((name, "127.0.0.1") for name in names))
    manifests += [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench-%d" % i}} for i in range(BENCH_NAMESPACES)]
    for i, svc in enumerate(services):
        meta = {"namespace": svc["namespace"], "name": svc["name"]}
        pod = "%s-0" % svc["name"]
        node = names[i % len(names)]
        manifests.append({"apiVersion": "v1", "kind": "Service", "metadata": dict(meta),
                          "spec": {"type": "ClusterIP", "selector": {"app": svc["name"]}, "clusterIP": svc["cluster_ip"],
                                   "clusterIPs": [svc["cluster_ip"]],
                                   "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}})
        manifests.append({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"namespace": svc["namespace"], "name": pod, "labels": {"app": svc["name"]}},
                          "spec": {"nodeName": node, "containers": [{"name": "app", "image": "registry.invalid/app:1",
                                                                     "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]}]},
                          "status": {"phase": "Running", "podIP": svc["pod_ip"], "podIPs": [{"ip": svc["pod_ip"]}]}})
        manifests.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                          "metadata": {"namespace": svc["namespace"], "name": svc["name"] + "-abc12",
                                       "labels": {"kubernetes.io/service-name": svc["name"]}},
                          "addressType": "IPv4",
                          "endpoints": [{"addresses": [svc["pod_ip"]], "conditions": {"ready": True}, "nodeName": node,
                                         "targetRef": {"kind": "Pod", "namespace": svc["namespace"], "name": pod}}],
                          "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})
    return manifests


def role_inputs(workdir, nodes, services, verify):
    """Inventory (one local host per node, interface lo) and the role's variables."""
    from integration.ansible_cli import write_local_inventory

    write_local_inventory(workdir / "inventory.yml", dict(("h%04d" % i, name) for i, name in enumerate(node_names(nodes))))
    role_vars = {"clusterip_exposure_services": [dict(namespace=s["namespace"], name=s["name"], sources=s["sources"]) for s in services],
                 # No Felix here to settle; the canary's connection and API checks still run.
                 "clusterip_exposure_canary_settle": 0, "clusterip_exposure_verify": verify}
    (workdir / "role-vars.json").write_text(json.dumps(role_vars))


def loop_inputs(workdir, nodes, services):
    """The k8s loop's variables: the same inputs, as a user would keep them next to hand-written templates."""

    names = node_names(nodes)
    tunnels = [tunnel_address(i + 1) for i in range(nodes)]
    addresses = sorted(set(["127.0.0.1"] + tunnels), key=ipaddress.ip_address)
    loop_vars = {
        "bench_owner": OWNER, "bench_name_prefix": NAME_PREFIX, "bench_node_labels": NODE_LABELS,
        "bench_node_nets": ["%s/32" % ip for ip in addresses],
        "bench_services": [dict(namespace=s["namespace"], name=s["name"], cluster_ips=[s["cluster_ip"]]) for s in services],
        "bench_hostendpoints": [dict(node=name, interface="lo", expected_ips=["127.0.0.1", tunnel]) for name, tunnel in zip(names, tunnels)],
    }
    (workdir / "loop-vars.json").write_text(json.dumps(loop_vars))
    (workdir / "loop-policies.json").write_text(json.dumps({"bench_policies": render_policies(services, addresses)}))


def render_policies(services, node_addresses):
    """The policies the collection renders for these Services, as a hand-written loop would need them.

    The same as the module's state=rendered with node_addresses, called directly so that preparing the loop's
    input needs no Ansible run of its own.
    """
    from clusteredge_testworld.lab.cluster import SERVICE_CIDR_V4, SERVICE_CIDR_V6, POD_POOL_V4, OLD_POD_POOL_V4, POD_POOL_V6

    for path in os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".build" / "collections")).split(os.pathsep):
        if path not in sys.path:
            sys.path.append(path)
    from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import params as xp
    from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import render as xr
    from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import resolve as xs

    params = {"name_prefix": NAME_PREFIX, "node_selector": "%s == '%s'" % (OWNER_LABEL, OWNER), "nodeport_range": "30000:32767"}
    # What the role discovers: the ServiceCIDR object and BGPConfiguration for the service ranges, the IPPools for pods.
    ctx = xs.context(params, OWNER, [SERVICE_CIDR_V4, SERVICE_CIDR_V6], [POD_POOL_V4, OLD_POD_POOL_V4, POD_POOL_V6], node_addresses)
    items = [dict(namespace=s["namespace"], name=s["name"], sources=s["sources"], ports=None, cluster_ip=None, mode=None,
                  allow_cluster_clients=None, allow_any_source=False, repin=False, allow_failsafe_ports=False,
                  service={"cluster_ips": [s["cluster_ip"]], "type": "ClusterIP", "external_traffic_policy": "Cluster",
                           "selector": {"app": s["name"]}, "ports": [{"name": "http", "port": 80, "protocol": "TCP", "target_port": 8080}]})
             for s in services]
    items_by_key = dict((xp.service_key(i["namespace"], i["name"]), (index, i)) for index, i in enumerate(items))
    target = dict((key, item) for key, (_index, item) in items_by_key.items())
    overrides = dict((key, xs.service_from_override(item)) for key, item in target.items())
    errors = []
    exposures, records = xs.resolve_all(target, items_by_key, overrides, ctx, errors, [], lambda key: "unreachable")
    if errors:
        raise RuntimeError("rendering the policies failed: %s" % "; ".join(errors))
    gnps, nps = xr.render(exposures, records, ctx)
    return gnps + nps


# -- running and measuring -------------------------------------------------------------------------------------

def _vm_hwm_kib(pid):
    try:
        with open("/proc/%d/status" % pid, encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def measure(cmd, env, cwd, log_path):
    """Run cmd; wall time, exit code, the process's own peak RSS (VmHWM, polled) and the peak of its whole tree (wait4)."""
    with open(log_path, "w", encoding="utf-8") as log:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, cwd=str(cwd), stdout=log, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
        controller_kib = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            controller_kib = max(controller_kib, _vm_hwm_kib(proc.pid))
            time.sleep(0.05)
        wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return dict(wall_s=round(wall, 2), rc=proc.returncode, controller_rss_mib=round(controller_kib / 1024.0, 1),
                tree_rss_mib=round(usage.ru_maxrss / 1024.0, 1))


_TASK_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*? (?:TASK|RUNNING HANDLER) \[(?P<name>.*?)\] \**$")
_ANY_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")
SLOWEST_SHOWN = 5


def slowest_tasks(ansible_log, top=SLOWEST_SHOWN):
    """Where a run's time went: [task name, seconds] from Ansible's own log, slowest first.

    A task lasts from its TASK line to the next line that starts something else (the next task, or the recap);
    a task that runs more than once (an include in a loop, a second play) adds up under its name.
    """
    if not Path(ansible_log).exists():
        return []
    totals = collections.OrderedDict()
    current, started, last = None, None, None
    for line in Path(ansible_log).read_text(encoding="utf-8", errors="replace").splitlines():
        stamp = _ANY_LINE.match(line)
        if not stamp:
            continue
        when = datetime.datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S,%f")
        task = _TASK_LINE.match(line)
        if task or "PLAY RECAP" in line or " PLAY [" in line:
            if current is not None:
                totals[current] = totals.get(current, 0.0) + (when - started).total_seconds()
            current, started = (task.group("name"), when) if task else (None, None)
        last = when
    if current is not None:
        totals[current] = totals.get(current, 0.0) + (last - started).total_seconds()
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return [[name, round(seconds, 2)] for name, seconds in ranked]


def request_summary(requests):
    """Requests by verb (admin endpoints left out, discovery apart) and reads per resource."""
    by_verb = collections.Counter()
    reads_by_kind = collections.Counter()
    writes_by_kind = collections.Counter()
    for req in requests:
        verb = req["verb"]
        if verb == "admin":
            continue
        if req.get("dry_run"):
            by_verb["dry-run " + verb] += 1
        by_verb[verb] += 1
        if verb in ("get", "list"):
            reads_by_kind[req["resource"]] += 1
        elif verb in VERBS:
            writes_by_kind["%s %s" % (verb, req["resource"])] += 1
    api = sum(n for verb, n in by_verb.items() if verb != "discovery" and not verb.startswith("dry-run "))
    return dict(by_verb=dict(by_verb), api_total=api, discovery=by_verb.get("discovery", 0),
                reads_by_kind=dict(sorted(reads_by_kind.items())), writes_by_kind=dict(sorted(writes_by_kind.items())))


def compare(role_api, loop_api, diff_path):
    """Both emulators' objects; the differing ones, side by side, go to diff_path."""
    from integration.cluster import comparable_objects

    role_objects, loop_objects = comparable_objects(role_api), comparable_objects(loop_api)
    differing = sorted(k for k in set(role_objects) | set(loop_objects) if role_objects.get(k) != loop_objects.get(k))
    diff_path.write_text(json.dumps(dict((k, {"role": role_objects.get(k), "k8s_loop": loop_objects.get(k)}) for k in differing), indent=1))
    return dict(same=not differing, objects=len(role_objects), differing=differing[:10], differing_count=len(differing))


class Case(object):
    """One size: its inputs, two identically seeded emulators, and the six measured runs."""

    def __init__(self, nodes, services, out, forks, role_verify, approaches=("a", "b")):
        self.nodes, self.services_count = nodes, services
        self.approaches = [(a, name) for a, name in APPROACHES if a in approaches]
        self.role_verify = role_verify
        self.label = "%dx%d" % (nodes, services)
        self.workdir = out / self.label
        self.forks = forks
        self.services = bench_services(services)
        self.results = {"nodes": nodes, "services": services, "role_verify": role_verify, "forks": forks, "runs": {}, "same_state": {}}

    def env(self, api, approach, phase):
        tmp = self.workdir / ("tmp-" + approach)
        tmp.mkdir(parents=True, exist_ok=True)
        ansible_log = self.workdir / ("%s-%s.ansible.log" % (approach, phase))
        if ansible_log.exists():
            ansible_log.unlink()
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("K8S_AUTH_"))
        # Each approach keeps its own kubernetes client discovery cache (in TMPDIR) across its three runs.
        env.update(K8S_AUTH_HOST=api.url, K8S_AUTH_API_KEY="bench", ANSIBLE_FORKS=str(self.forks), TMPDIR=str(tmp),
                   ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   # Ansible's own log has a timestamp per line: where the time of a run went, task by task.
                   ANSIBLE_LOG_PATH=str(ansible_log))
        return env

    def command(self, approach):
        playbook_bin = str(Path(sys.executable).parent / "ansible-playbook")
        if approach == "a":
            return [playbook_bin, "-i", str(self.workdir / "inventory.yml"), "clusteredge.calico.expose",
                    "-e", "@%s" % (self.workdir / "role-vars.json")]
        return [playbook_bin, "-i", "localhost,", str(BENCH_DIR / "k8s_loop.yml"), "-e", "@%s" % (self.workdir / "loop-vars.json"),
                "-e", "@%s" % (self.workdir / "loop-policies.json")]

    def write_inputs(self):
        role_inputs(self.workdir, self.nodes, self.services, self.role_verify)
        loop_inputs(self.workdir, self.nodes, self.services)

    def run(self, report):
        from clusteredge_testworld.emulator import EmulatorServer
        from clusteredge_testworld.lab.cluster import SERVICE_CIDR_V4, SERVICE_CIDR_V6

        self.workdir.mkdir(parents=True, exist_ok=True)
        seed = seed_manifests(self.nodes, self.services)
        apis = dict((a, EmulatorServer(service_cidrs=(SERVICE_CIDR_V4, SERVICE_CIDR_V6)).start()) for a, _n in self.approaches)
        try:
            for api in apis.values():
                api.seed(seed)
            for phase, phase_name in PHASES:
                if phase == "change":
                    self.services[0]["sources"] = list(CHANGED_SOURCES)
                if phase in ("first", "change"):
                    self.write_inputs()
                for approach, approach_name in self.approaches:
                    api = apis[approach]
                    api.clear_requests()
                    run = measure(self.command(approach), self.env(api, approach, phase), self.workdir,
                                  self.workdir / ("%s-%s.log" % (approach, phase)))
                    run.update(request_summary(api.requests))
                    run["slowest_tasks"] = slowest_tasks(self.workdir / ("%s-%s.ansible.log" % (approach, phase)))
                    self.results["runs"]["%s-%s" % (approach, phase)] = run
                    report.run_done(self, approach_name, phase_name, run)
                    if run["rc"] != 0:
                        log = self.workdir / ("%s-%s.log" % (approach, phase))
                        raise RuntimeError("%s %s failed (rc %s), see %s" % (approach_name, phase_name, run["rc"], log))
                if phase in ("first", "change") and len(apis) == 2:
                    self.results["same_state"][phase] = compare(apis["a"], apis["b"], self.workdir / ("differences-%s.json" % phase))
                    report.compared(self, phase_name, self.results["same_state"][phase])
        finally:
            for api in apis.values():
                api.stop()
        return self.results


# -- reporting ------------------------------------------------------------------------------------------------

def ratio(b_value, a_value):
    return round(b_value / a_value, 2) if a_value else None


def case_table(results):
    """Per phase: (a), (b) and (b)/(a) for wall time, API requests and controller memory."""
    lines = ["%-20s %-9s %8s  %-44s %6s %6s %8s %8s" % ("phase", "approach", "wall s", "API requests by verb",
                                                        "total", "disc.", "ctl MiB", "tree MiB")]
    for phase, phase_name in PHASES:
        a_run, b_run = results["runs"].get("a-" + phase), results["runs"].get("b-" + phase)
        for approach, run in (("(a) role", a_run), ("(b) k8s", b_run)):
            if run is None:
                continue
            verbs = " ".join("%s=%d" % (v, run["by_verb"][v]) for v in SHOWN_VERBS if run["by_verb"].get(v))
            lines.append("%-20s %-9s %8.1f  %-44s %6d %6d %8.1f %8.1f" % (
                phase_name, approach, run["wall_s"], verbs, run["api_total"], run["discovery"], run["controller_rss_mib"], run["tree_rss_mib"]))
        if a_run and b_run:
            lines.append("%-20s %-9s %8s  %-44s %6s %6s %8s %8s" % (
                "", "(b)/(a)", ratio(b_run["wall_s"], a_run["wall_s"]), "", ratio(b_run["api_total"], a_run["api_total"]),
                "", ratio(b_run["controller_rss_mib"], a_run["controller_rss_mib"]), ratio(b_run["tree_rss_mib"], a_run["tree_rss_mib"])))
    for phase, phase_name in PHASES:
        for approach, approach_name in APPROACHES:
            run = results["runs"].get("%s-%s" % (approach, phase))
            if run and run.get("slowest_tasks"):
                lines.append("slowest tasks, %s, %s: %s" % (approach_name, phase_name, slowest_text(run)))
    noop = results["runs"].get("a-noop")
    if noop:
        reads = noop["reads_by_kind"]
        lines.append("no-op re-run, role: %d reads over %d kinds, %.1f per kind (at most %d); by kind: %s" % (
            sum(reads.values()), len(reads), sum(reads.values()) / float(len(reads) or 1), max(reads.values() or [0]),
            ", ".join("%s=%d" % kv for kv in reads.items())))
        lines.append("  role writes in the no-op re-run: %s" % (noop["writes_by_kind"] or "none"))
    b_noop = results["runs"].get("b-noop")
    if b_noop:
        b_reads = b_noop["reads_by_kind"]
        lines.append("no-op re-run, k8s loop reads: %d (%s)" % (sum(b_reads.values()), ", ".join("%s=%d" % kv for kv in b_reads.items())))
        lines.append("  k8s loop writes in the no-op re-run: %s" % (b_noop["writes_by_kind"] or "none"))
    for phase, same in sorted(results["same_state"].items()):
        lines.append("same desired state after %s: %s (%d objects compared%s)" % (
            dict(PHASES)[phase], "yes" if same["same"] else "NO", same["objects"],
            "" if same["same"] else "; %d differ, e.g. %s" % (same["differing_count"], ", ".join(same["differing"]))))
    return lines


def slowest_text(run):
    """The slowest tasks of a run on one line, without the role's prefix."""
    names = [(name.split(" : ", 1)[-1], seconds) for name, seconds in run.get("slowest_tasks") or []]
    return "; ".join("%s %.1f s" % (name if len(name) <= 60 else name[:57] + "...", seconds) for name, seconds in names)


def markdown_tables(cases):
    """The docs' tables: one row per phase and approach, the (b)/(a) ratios, the no-op reads."""
    lines = []
    for results in cases:
        lines.append("**%d nodes x %d Services** (role verify %s, %d forks)" % (
            results["nodes"], results["services"], "on" if results.get("role_verify", True) else "off", results.get("forks", 25)))
        lines.append("")
        lines.append("| phase | approach | wall s | API requests by verb | API total | discovery | controller peak RSS MiB |")
        lines.append("| --- | --- | ---: | --- | ---: | ---: | ---: |")
        for phase, phase_name in PHASES:
            a_run, b_run = results["runs"].get("a-" + phase), results["runs"].get("b-" + phase)
            for approach, run in (("(a) role", a_run), ("(b) k8s loop", b_run)):
                if run:
                    verbs = ", ".join("%s %d" % (v, run["by_verb"][v]) for v in SHOWN_VERBS if run["by_verb"].get(v))
                    lines.append("| %s | %s | %.1f | %s | %d | %d | %.1f |" % (
                        phase_name, approach, run["wall_s"], verbs, run["api_total"], run["discovery"], run["controller_rss_mib"]))
            if a_run and b_run:
                lines.append("| | **(b)/(a)** | **%s** | | **%s** | | **%s** |" % (
                    ratio(b_run["wall_s"], a_run["wall_s"]), ratio(b_run["api_total"], a_run["api_total"]),
                    ratio(b_run["controller_rss_mib"], a_run["controller_rss_mib"])))
        lines.append("")
        noop = results["runs"].get("a-noop")
        if noop:
            reads = noop["reads_by_kind"]
            lines.append("No-op re-run of the role: %d reads over %d kinds (%.1f per kind, at most %d), writes: %s." % (
                sum(reads.values()), len(reads), sum(reads.values()) / float(len(reads) or 1), max(reads.values() or [0]),
                ", ".join("%s %d" % kv for kv in noop["writes_by_kind"].items()) or "none"))
        b_noop = results["runs"].get("b-noop")
        if b_noop:
            lines.append("No-op re-run of the k8s loop: %d reads, writes: %s." % (
                sum(b_noop["reads_by_kind"].values()), ", ".join("%s %d" % kv for kv in b_noop["writes_by_kind"].items()) or "none"))
        for phase, phase_name in PHASES:
            run = results["runs"].get("a-" + phase)
            if run and run.get("slowest_tasks"):
                lines.append("Slowest tasks of the role, %s: %s." % (phase_name, slowest_text(run)))
        for phase, same in sorted(results["same_state"].items()):
            lines.append("Same objects after %s: %s (%d compared)." % (dict(PHASES)[phase], "yes" if same["same"] else "**no**", same["objects"]))
        lines.append("")
    return lines


class Report(object):
    def __init__(self, out):
        self.out = out
        self.cases = []
        self.started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    def run_done(self, case, approach_name, phase_name, run):
        self.save()  # after every run: a long case leaves its partial numbers behind
        print("[%s] %-8s %-20s %7.1f s  %5d requests (+%d discovery)  controller %.0f MiB  rc=%d"
              % (case.label, approach_name, phase_name, run["wall_s"], run["api_total"], run["discovery"],
                 run["controller_rss_mib"], run["rc"]), flush=True)
        if run.get("slowest_tasks"):
            print("[%s] %-8s %-20s slowest tasks: %s" % (case.label, approach_name, phase_name, slowest_text(run)), flush=True)

    def compared(self, case, phase_name, same):
        self.save()
        print("[%s] same desired state after %s: %s" % (case.label, phase_name, "yes" if same["same"] else "NO %s" % same["differing"]),
              flush=True)

    def save(self):
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "results.json").write_text(json.dumps({"started": self.started, "cases": self.cases}, indent=1))
        write_plot(self.out / "results.svg", self.cases, PHASES)
        lines = []
        for results in self.cases:
            lines.append("== %d nodes x %d Services (role verify %s, %d forks)" % (
                results["nodes"], results["services"], "on" if results["role_verify"] else "off", results["forks"]))
            lines.extend(case_table(results))
            lines.append("")
        (self.out / "results.txt").write_text("\n".join(lines))
        return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="NxM,... nodes x Services (default %(default)s)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output directory (default %(default)s)")
    parser.add_argument("--forks", type=int, default=25, help="ANSIBLE_FORKS for both approaches (default %(default)s)")
    parser.add_argument("--role-verify", choices=("off", "on"), default="on",
                        help="the role's verify step (clusterip_exposure_verify, on by default in the role), which the k8s "
                             "loop has no equivalent of (default %(default)s: the role as users run it)")
    parser.add_argument("--approaches", default="a,b", help="a (the role), b (the k8s loop) or both (default %(default)s)")
    parser.add_argument("--markdown", nargs="+", metavar="RESULTS_JSON", help="only print Markdown tables of earlier results.json files")
    args = parser.parse_args(argv)
    if args.markdown:
        cases = [case for path in args.markdown for case in json.loads(Path(path).read_text())["cases"]]
        print("\n".join(markdown_tables(cases)))
        return 0
    out = Path(args.out).resolve()
    report = Report(out)
    status = 0
    for nodes, services in parse_sizes(args.sizes):
        case = Case(nodes, services, out, args.forks, args.role_verify == "on", args.approaches.split(","))
        report.cases.append(case.results)
        try:
            case.run(report)
        except RuntimeError as exc:
            print("[%s] stopped: %s" % (case.label, exc), flush=True)
            status = 1
        lines = report.save()
    print("\n".join(lines))
    print("results: %s (table), %s (plot), %s (data)" % (out / "results.txt", out / "results.svg", out / "results.json"))
    return status
