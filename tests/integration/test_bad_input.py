"""Every bad input, all together (the table is in bad_inputs.py): the run fails, the user reads what is wrong, no Python
traceback, and the API receives no write at all (not even a dry run).

Module rows run the module ad hoc against a fresh emulator. Role and inventory rows run the expose playbook on local
hosts (interface lo, no SSH) against an emulator of their own; they cost a playbook run each, so they run a few at a
time, started by the first of them to need its result.
"""

from __future__ import annotations

import collections
import copy
import json
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from clusteredge_testworld.emulator import EmulatorServer
from integration import bad_inputs as table
from integration import cluster
from integration.ansible_cli import ansible_env, run_module, run_playbook
from integration.conftest import all_writes
from clusteredge_testworld.lab.cluster import SERVICE_CIDR_V4, SERVICE_CIDR_V6
from clusteredge_testworld.lab.cluster import cluster as lab_cluster

pytestmark = pytest.mark.integration

TOKEN = "test-token"  # what ansible_env sends; emulators of rows that check auth accept only this one
MODULE_ROWS = [r for r in table.ROWS if r.surface in table.MODULE_SURFACES]
PLAYBOOK_ROWS = [r for r in table.ROWS if r.surface in table.PLAYBOOK_SURFACES]
MODULE_NODES = {"node-1": "10.200.0.11", "node-2": "10.200.0.12"}
# Not this machine's addresses: local hosts map to these nodes only by clusterip_exposure_node_name.
ROLE_NODES = {"node-1": "10.200.30.11", "node-2": "10.200.30.12", "node-3": "10.200.30.13"}
PLAYBOOK_WORKERS = 3


def _row_id(row):
    return "%s:%s" % (row.surface, row.id)


class Context(object):
    """What a row's seed may read or change before the run."""

    def __init__(self, tmp_path, env, args=None, expose=None):
        self.tmp_path = tmp_path
        self.env = env
        self.args = args if args is not None else {}
        self.ips = {}
        self.expose = expose

    @staticmethod
    def require(value, reason):
        if not value:
            pytest.skip(reason)
        return value


def _server_options(row):
    if row is None or row.surface in (table.HEP, table.EXPOSURE):
        return {}  # what these rows were written against: a default emulator
    options = dict(token=TOKEN, service_cidrs=(SERVICE_CIDR_V4, SERVICE_CIDR_V6))
    if row.seed == table.NO_CALICO_API:
        options["calico_api"] = False
    return options


@pytest.fixture
def k8s_api(request, tmp_path, monkeypatch):
    """A fresh emulator, shaped by the row when the test is parametrized with one (indirectly)."""
    cache_dir = tmp_path / "tmp"
    cache_dir.mkdir()
    monkeypatch.setenv("TMPDIR", str(cache_dir))
    monkeypatch.setattr("tempfile.tempdir", None)
    with EmulatorServer(**_server_options(getattr(request, "param", None))) as server:
        yield server


def seed_lab(api, node_addresses, row):
    """The lab cluster (Services with pods in shop, payments, ops); its Calico objects only where the Calico API is served."""
    manifests = lab_cluster(node_addresses)
    if row.seed == table.NO_CALICO_API:
        manifests = [m for m in manifests if not m["apiVersion"].startswith("projectcalico.org/")]
    api.seed(manifests)


def shop(api):
    """Namespace shop with Services of every shape; returns {service name: cluster IP}."""
    created = cluster.standard_cluster(api, services=[
        cluster.service("shop", "frontend", ports=((80, "TCP", 8080), (443, "TCP", 8443))),
        cluster.service("shop", "api", ports=((8080, "TCP", "http-api"),)),
        cluster.service("shop", "headless", headless=True),
        cluster.service("shop", "extname", svc_type="ExternalName"),
        cluster.service("shop", "manual", selector={}),
        cluster.service("shop", "nodeport", svc_type="NodePort", etp="Cluster"),
    ])
    return dict((s["metadata"]["name"], s["spec"].get("clusterIP")) for s in created)


def policy_objects(api):
    return sorted("%s/%s/%s" % (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
                  for kind in ("GlobalNetworkPolicy", "NetworkPolicy") for o in api.objects(kind))


def with_env(env, changes):
    env = dict(env)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def assert_no_traceback(*outputs):
    for output in outputs:
        assert "Traceback (most recent call last)" not in output, "a Python traceback reached the user:\n%s" % output[-3000:]


@pytest.mark.parametrize("row,k8s_api", [pytest.param(r, r, id=_row_id(r)) for r in MODULE_ROWS], indirect=["k8s_api"])
def test_module_bad_input_fails_clearly_and_writes_nothing(row, k8s_api, tmp_path):
    env = ansible_env(k8s_api.url, tmp_path)
    if row.surface == table.AUTH:
        module, args, env = row.input["module"], copy.deepcopy(row.input["args"]), with_env(env, row.input["env"])
    else:
        module, args = row.surface, copy.deepcopy(row.input)
    if module == table.HEP and args.get("config") and all(isinstance(i, dict) and "node" in i for i in args["config"]):
        # A valid item first: the bad one must still stop the whole call before any write.
        args["config"] = [table.VALID_FIRST] + args["config"]
    ctx = Context(tmp_path, env, args, expose=lambda **a: run_module(env, "clusteredge.calico." + table.EXPOSURE, a))
    if row.surface == table.EXPOSURE:
        ctx.ips.update(shop(k8s_api))
    elif row.surface != table.HEP:
        seed_lab(k8s_api, MODULE_NODES, row)
    if callable(row.seed):
        row.seed(k8s_api, ctx)
    policies_before = policy_objects(k8s_api)
    if row.surface == table.EXPOSURE and row.seed is None:
        assert policies_before == []
    k8s_api.clear_requests()  # only what the failing call sends counts

    result = run_module(ctx.env, "clusteredge.calico." + module, ctx.args)

    assert result.failed, result
    message = result["msg"]
    for fragment in row.fragments:
        fragment = fragment.format(**ctx.ips)
        assert fragment in message, "%r not in %r" % (fragment, message)
    assert_no_traceback(result.stdout, result.stderr)
    assert "exception" not in result.result, result.result["exception"]
    assert all_writes(k8s_api) == [], "a bad input must not write anything, not even a dry run"
    assert policy_objects(k8s_api) == policies_before, "no policy object may appear or change"
    assert not any(o["metadata"]["name"] == "valid-first" for o in k8s_api.objects("HostEndpoint"))


# -- the role and its inventories ----------------------------------------------------------------------------

LOCAL_HOST = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "clusterip_exposure_interfaces": ["lo"]}


def role_hosts(overrides):
    """h1 -> node-1 and h2 -> node-2 on lo, then the row's hosts and variables (None removes a variable)."""
    hosts = {"h1": dict(LOCAL_HOST, clusterip_exposure_node_name="node-1"), "h2": dict(LOCAL_HOST, clusterip_exposure_node_name="node-2")}
    for host, variables in (overrides or {}).items():
        entry = dict(hosts.get(host) or LOCAL_HOST)
        for key, value in variables.items():
            if value is None:
                entry.pop(key, None)
            else:
                entry[key] = value
        hosts[host] = entry
    return hosts


PlaybookRun = collections.namedtuple("PlaybookRun", "run writes")
_FAILURE = re.compile(r"^fatal: \[[^\]]+\]: (?:FAILED|UNREACHABLE)! => (\{.*\})$", re.M)


def last_failure(stdout):
    """The message of the last failed task: what stops the run."""
    found = _FAILURE.findall(stdout)
    assert found, "no failed task in the output:\n%s" % stdout[-3000:]
    result = json.loads(found[-1])
    return result.get("msg") or json.dumps(result)


def run_expose(row, tmp_path):
    """The expose playbook with the row's variables and hosts, against an emulator of its own."""
    with EmulatorServer(**_server_options(row)) as api:
        seed_lab(api, ROLE_NODES, row)
        env = ansible_env(api.url, tmp_path)
        ctx = Context(tmp_path, env)
        if callable(row.seed):
            row.seed(api, ctx)
        inventory = tmp_path / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"children": {"nodes": {"hosts": role_hosts(row.input.get("hosts"))}}}}))
        variables = {"clusterip_exposure_services": table.SERVICES, "clusterip_exposure_canary_settle": 0}
        variables.update(row.input.get("vars") or {})
        vars_file = tmp_path / "vars.json"
        vars_file.write_text(json.dumps(variables))
        api.clear_requests()
        run = run_playbook(ctx.env, "clusteredge.calico.expose", extra_vars=vars_file, inventory=inventory)
        return PlaybookRun(run, all_writes(api))


class PlaybookRuns(object):
    """Runs every selected role and inventory row, PLAYBOOK_WORKERS at a time, once the first asks for its result."""

    def __init__(self, rows, tmp_path_factory):
        self._rows = rows
        self._tmp = tmp_path_factory
        self._lock = threading.Lock()
        self._pool = None
        self._futures = {}

    def result(self, row):
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(PLAYBOOK_WORKERS)
                for each in self._rows:
                    self._futures[_row_id(each)] = self._pool.submit(run_expose, each, self._tmp.mktemp(each.id))
        return self._futures[_row_id(row)].result()

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


@pytest.fixture(scope="module")
def playbook_runs(request, tmp_path_factory):
    selected = [item.callspec.params["row"] for item in request.session.items
                if item.module is request.module and item.originalname == "test_role_bad_input_fails_before_any_write"]
    runs = PlaybookRuns(selected, tmp_path_factory)
    yield runs
    runs.close()


@pytest.mark.slow
@pytest.mark.parametrize("row", [pytest.param(r, id=_row_id(r)) for r in PLAYBOOK_ROWS])
def test_role_bad_input_fails_before_any_write(row, playbook_runs):
    run, writes = playbook_runs.result(row)
    assert run.rc != 0, run
    for fragment in row.fragments:
        assert fragment in run.stdout, "%r not in the playbook's output: %r" % (fragment, run)
    assert_no_traceback(run.stdout, run.stderr)
    # The failure that ends the run is the role's (or a module's) own words, not a template error.
    assert "Error while resolving value" not in last_failure(run.stdout), "a template error ends the run: %r" % run
    assert writes == [], "the API received writes before the run failed: %s" % ["%s %s" % (w["method"], w["path"]) for w in writes]


# -- beyond the table ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    pytest.param(dict(config=[table.VALID, table.api_item(sources=["70.80.90.7/24"])]), id="parameter-check"),
    pytest.param(dict(config=[table.VALID, dict(table.VALID, name="headless")]), id="cluster-check"),
])
def test_exposure_check_mode_fails_the_same_way_without_dry_runs(k8s_api, expose, args):
    shop(k8s_api)
    k8s_api.clear_requests()
    result = expose(check=True, **args)
    assert result.failed and "config[1]" in result["msg"], result
    assert all_writes(k8s_api) == []
    assert policy_objects(k8s_api) == []


def test_exposure_reports_every_problem_at_once(k8s_api, expose):
    shop(k8s_api)
    k8s_api.clear_requests()
    result = expose(config=[table.VALID, table.api_item(sources=["0.0.0.0/0"], ports=[0]), dict(table.VALID, name="Web")],
                    nodeport_range="1-2")
    assert result.failed
    errors = result["errors"]
    assert len(errors) == 4 and result["msg"].startswith("4 invalid inputs, nothing was changed: "), errors
    assert all_writes(k8s_api) == []


def test_the_table_gathers_every_surface():
    ids = [_row_id(r) for r in table.ROWS]
    assert len(ids) == len(set(ids)), "case ids must be unique within a surface"
    per_surface = collections.Counter(r.surface for r in table.ROWS)
    # The two tables this one replaced had 27 (calico_hostendpoint) and 61 (calico_clusterip_exposure) rows.
    assert per_surface[table.HEP] >= 27 and per_surface[table.EXPOSURE] >= 61
    assert all(per_surface[s] >= 4 for s in table.MODULE_SURFACES + table.PLAYBOOK_SURFACES), per_surface
    assert len(ids) >= 60
    assert all(r.fragments for r in table.ROWS), "every row names what the user must read"
