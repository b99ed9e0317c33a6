"""Fixtures for end-to-end tests: the emulator plus an Ansible environment pointed at it."""

from __future__ import annotations

import pytest

from integration.ansible_cli import ansible_env, run_module

HEP_MODULE = "clusteredge.calico.calico_hostendpoint"
CALICO_PREFIX = "/apis/projectcalico.org/v3/"


def resource_requests(api, method=None, plural="hostendpoints"):
    """Requests the API received for one Calico resource (discovery and admin calls excluded)."""
    found = []
    for request in api.requests:
        path = request["path"]
        if not path.startswith(CALICO_PREFIX + plural):
            continue
        if method is None or request["method"] == method:
            found.append(request)
    return found


def persisted_writes(api):
    """Writes that changed state: dry runs and reads excluded."""
    return [r for r in api.requests
            if r["method"] in ("POST", "PUT", "PATCH", "DELETE") and not r["path"].startswith("/_emulator")
            and not r.get("dry_run") and r.get("status", 200) < 400]


def all_writes(api):
    return [r for r in api.requests if r["method"] in ("POST", "PUT", "PATCH", "DELETE") and not r["path"].startswith("/_emulator")]


@pytest.fixture
def env(k8s_api, tmp_path):
    return ansible_env(k8s_api.url, tmp_path)


@pytest.fixture
def hep(env):
    """Run calico_hostendpoint ad hoc: hep(config=[...], state=..., check=True, diff=True)."""

    def run(check=False, diff=False, **args):
        return run_module(env, HEP_MODULE, args, check=check, diff=diff)

    return run


def node_hep(name, node, ip, interface="eth0", **extra):
    item = dict(name=name, node=node, interface_name=interface, expected_ips=[ip], labels={"k8s-role": "node"})
    item.update(extra)
    return item


@pytest.fixture(autouse=True)
def _never_touches_calico_internal_crds(request):
    """Whatever a test does, the collection must never send a request to crd.projectcalico.org/v1."""
    api = request.getfixturevalue("k8s_api") if "k8s_api" in request.fixturenames else None
    yield
    if api is not None:
        # Discovery of the group (the tests' own DynamicClient does it) is harmless; objects are not.
        internal = [r["method"] + " " + r["path"] for r in api.requests
                    if r["path"].startswith("/apis/crd.projectcalico.org/") and r.get("verb") != "discovery"]
        assert internal == [], "requests to Calico's internal CRD API: %s" % internal


EXPOSURE_MODULE = "clusteredge.calico.calico_clusterip_exposure"


@pytest.fixture
def expose(env):
    """Run calico_clusterip_exposure ad hoc: expose(config=[...], state=..., check=True, diff=True)."""

    def run(check=False, diff=False, **args):
        return run_module(env, EXPOSURE_MODULE, args, check=check, diff=diff)

    return run
