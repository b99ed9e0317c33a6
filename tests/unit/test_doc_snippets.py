"""Every snippet of README.md and docs/ says which test runs it, and the objects docs/clusterip-exposure.md shows are what
the collection renders for the task shown above them."""

from __future__ import annotations

import pytest

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import params as xp
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import render as xr
from doc_snippets import KINDS, REPO, all_snippets, of_kind

GUIDE_DOC = REPO / "docs" / "clusterip-exposure.md"


def test_every_snippet_names_the_test_that_runs_it():
    unmarked = ["%s (```%s)" % (s.where, s.lang) for s in all_snippets() if s.kind not in KINDS]
    assert not unmarked, ("snippets without a known `<!-- snippet: KIND -->` marker (see tests/doc_snippets.py): %s"
                          % ", ".join(unmarked))


@pytest.mark.parametrize("snippet", of_kind("checked-by"), ids=lambda s: s.where)
def test_a_checked_by_test_exists_and_names_the_document(snippet):
    test_file = REPO / snippet.argument
    assert test_file.is_file(), "%s: %s does not exist" % (snippet.where, snippet.argument)
    assert str(snippet.path.relative_to(REPO)) in test_file.read_text(), (
        "%s: %s does not name %s, so nothing ties it to this snippet" % (snippet.where, snippet.argument, snippet.path.name))


def test_only_the_user_sandbox_kinds_need_no_test_file():
    # shell/inventory/vars/playbook run in tests/integration/test_readme_as_a_user.py; rendered runs here.
    runner = (REPO / "tests" / "integration" / "test_readme_as_a_user.py").read_text()
    for kind in ("shell", "inventory", "vars", "playbook"):
        assert 'of_kind("%s"' % kind in runner or "of_kind('%s'" % kind in runner, kind


def guide_services():
    """The guide's cluster: Services A and B at 10.20.30.40/41 with ports 80 and 443, service range 10.20.30.0/24."""
    def service(name, cluster_ip):
        return dict(cluster_ips=[cluster_ip], type="ClusterIP", external_traffic_policy="Cluster", selector={"k8s-svc": name},
                    ports=[dict(name="http", port=80, protocol="TCP", target_port=None),
                           dict(name="https", port=443, protocol="TCP", target_port=None)])
    return {("default", "svc-a"): service("svc-a", "10.20.30.40"), ("default", "svc-b"): service("svc-b", "10.20.30.41")}


def render_the_documented_task():
    """The doc's task, rendered offline for the guide's cluster (the doc's objects are for that cluster)."""
    [task_snippet] = [s for s in of_kind("checked-by", GUIDE_DOC) if s.argument == "tests/unit/test_doc_snippets.py"]
    [task] = task_snippet.data()
    args = dict(task["clusteredge.calico.calico_clusterip_exposure"])
    services = guide_services()
    config = []
    for item in args.pop("config"):
        full = dict(cluster_ip=None, mode=None, allow_cluster_clients=None, allow_any_source=False, repin=False, ports=None)
        full.update(item, service=services[(item["namespace"], item["name"])])
        config.append(full)
    params = dict(owner="clusteredge.calico", adopt=False, name_prefix="clusteredge", nodeport_range="30000:32767",
                  service_cidrs=["10.20.30.0/24"], pod_cidrs=["192.168.0.0/16"], require_advertised=False,
                  node_selector="k8s-role == 'node'")
    params.update(args, config=config, state="rendered")
    assert xp.validate_params(params) == []
    manifests, _exposures, errors = xr.render_offline(params)
    assert errors == []
    return manifests


def contains(whole, part):
    """`part` is found in `whole`: mappings by key, lists item by item in order, a string ending in `...` by prefix."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(key in whole and contains(whole[key], value) for key, value in part.items())
    if isinstance(part, list):
        return isinstance(whole, list) and len(whole) == len(part) and all(contains(w, p) for w, p in zip(whole, part))
    if isinstance(part, str) and part.endswith("...}") and isinstance(whole, str):
        return whole.startswith(part[:-4])
    return whole == part


@pytest.mark.parametrize("snippet", of_kind("rendered", GUIDE_DOC), ids=lambda s: s.where)
def test_each_object_shown_is_what_the_documented_task_renders(snippet):
    shown = snippet.data()
    manifests = render_the_documented_task()
    # A whole object (kind, metadata, spec) or a fragment of some object's spec.
    found = [m["metadata"]["name"] for m in manifests if contains(m, shown) or contains(m["spec"], shown)]
    assert found, "%s shows what the collection does not render:\n%s" % (snippet.where, snippet.body)


def test_containment_is_strict_enough_to_catch_a_wrong_port():
    manifests = render_the_documented_task()
    wrong = {"ingress": [{"action": "Allow", "protocol": "TCP", "source": {"nets": ["50.60.0.0/16"]},
                          "destination": {"nets": ["10.20.30.40/32"], "ports": [8080]}}]}
    assert not [m for m in manifests if contains(m["spec"], wrong)]
