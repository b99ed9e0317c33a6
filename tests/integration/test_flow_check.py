"""calico_flow_check against objects the collection created, and from rendered output with no cluster at all."""

from __future__ import annotations

import json

import pytest
import yaml

from doc_snippets import REPO, of_kind
from integration import cluster
from integration.ansible_cli import ansible_env, run_module, run_playbook
from integration.conftest import all_writes
from integration.test_playbook_usage import module_examples

pytestmark = pytest.mark.integration

FLOW_MODULE = "clusteredge.calico.calico_flow_check"


@pytest.fixture
def protected(k8s_api, expose, hep):
    """frontend (10.96.0.40:443 -> 8443) exposed to 50.60.0.0/16; pods on node-1 and node-2; HostEndpoints on all 3."""
    k8s_api.seed([cluster.namespace("shop"), cluster.bgp_default(["10.96.0.0/12"])] + [cluster.node(i) for i in (1, 2, 3)])
    cluster.create(k8s_api, [cluster.service("shop", "frontend", ports=((443, "TCP", 8443),), cluster_ip="10.96.0.40")])
    k8s_api.seed([{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "frontend-%d" % i, "namespace": "shop", "labels": {"app": "frontend"}},
                   "spec": {"nodeName": "node-%d" % i, "containers": [{"name": "web", "ports": [{"containerPort": 8443}]}]},
                   "status": {"podIP": "192.168.%d.10" % i, "podIPs": [{"ip": "192.168.%d.10" % i}]}} for i in (1, 2)])
    assert not expose(config=[dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"])]).failed
    assert not hep(config=[cluster.node_hep_item(i) for i in (1, 2, 3)]).failed
    k8s_api.clear_requests()
    return k8s_api


def flow(name, source, destination, port, node, expect):
    return dict(name=name, source=source, destination=destination, port=port, ingress_node=node, expect=expect)


def test_verdicts_with_paths_from_the_live_objects_and_no_write(protected, env):
    result = run_module(env, FLOW_MODULE, dict(flows=[
        flow("listed via node-3", "50.60.0.10", "10.96.0.40", 443, "node-3", "allow"),
        flow("unlisted via node-1", "203.0.113.9", "10.96.0.40", 443, "node-1", "deny"),
        flow("ssh", "203.0.113.9", "10.200.0.11", 22, "node-1", "allow"),
    ]))
    assert not result.failed, result
    assert result["checked"] == 3 and result["mismatches"] == 0
    listed, unlisted, ssh = result["flows"]
    assert [v["backend"] for v in listed["verdicts"]] == ["remote"], "node-3 hosts no backend"
    assert "pod ingress" in listed["verdicts"][0]["explanation"]
    assert [v["backend"] for v in unlisted["verdicts"]] == ["none"], "dropped before kube-proxy picks a backend"
    assert "clusteredge-deny-service-ranges" in unlisted["verdicts"][0]["decided_by"]
    assert "failsafe" in ssh["verdicts"][0]["decided_by"]
    assert all_writes(protected) == []


def test_a_broken_expectation_fails_naming_the_flow_and_the_rule(protected, env):
    result = run_module(env, FLOW_MODULE, dict(flows=[flow("stranger must get in", "203.0.113.9", "10.96.0.40", 443, "node-2", "allow")]))
    assert result.failed
    assert "1 of 1 flows do not behave as intended" in result["msg"]
    assert "stranger must get in: expected allow" in result["msg"] and "clusteredge-deny-service-ranges" in result["msg"]


def test_rendered_output_is_checked_without_any_cluster(tmp_path):
    env = ansible_env("https://127.0.0.1:9", tmp_path)
    service = dict(cluster_ips=["10.20.30.40"], selector={"k8s-svc": "svc-a"}, ports=[dict(port=80)])
    rendered = run_module(env, "clusteredge.calico.calico_clusterip_exposure", dict(
        config=[dict(namespace="default", name="svc-a", sources=["50.60.0.0/16"], service=service)],
        node_selector="k8s-role == 'node'", service_cidrs=["10.20.30.0/24"], pod_cidrs=["192.168.0.0/16"], state="rendered"))
    nodes = [cluster.node(i) for i in (1, 2)]
    heps = [{"apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint", "metadata": {"name": "node-%d-eth0" % i, "labels": {"k8s-role": "node"}},
             "spec": {"node": "node-%d" % i, "interfaceName": "eth0", "expectedIPs": ["10.200.0.%d" % (10 + i), "192.168.%d.0" % i]}}
            for i in (1, 2)]
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc-a", "namespace": "default"},
           "spec": {"clusterIP": "10.20.30.40", "clusterIPs": ["10.20.30.40"], "selector": {"k8s-svc": "svc-a"}, "ports": [{"port": 80}]}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a-0", "namespace": "default", "labels": {"k8s-svc": "svc-a"}},
           "spec": {"nodeName": "node-2"}, "status": {"podIP": "192.168.2.10"}}
    objects = rendered["rendered"] + nodes + heps + [svc, pod]
    result = run_module(env, FLOW_MODULE, dict(objects=objects, pod_cidrs=["192.168.0.0/16"], service_cidrs=["10.20.30.0/24"], flows=[
        flow("listed, remote backend", "50.60.0.10", "10.20.30.40", 80, "node-1", "allow"),
        flow("unlisted", "203.0.113.9", "10.20.30.40", 80, "node-1", "deny")]))
    assert not result.failed, result
    assert result["api_requests"] == {}


def test_every_example_of_calico_flow_check_runs(protected, env, tmp_path):
    tasks = module_examples("calico_flow_check")
    play = [{"name": "Run the module's EXAMPLES", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "tasks": tasks + [{"name": "Keep the result", "ansible.builtin.copy": {
                 "content": "{{ flows | to_json }}", "dest": str(tmp_path / "flows.json"), "mode": "0600"}}]}]
    playbook = tmp_path / "examples.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    run = run_playbook(env, playbook)
    assert run.rc == 0, run
    assert json.loads((tmp_path / "flows.json").read_text())["mismatches"] == 0


def test_in_cluster_client_pods_reach_the_service_and_its_pods(protected, env):
    protected.seed([cluster.namespace("ops"),
                    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "namespace": "ops", "labels": {"app": "client"}},
                     "spec": {"nodeName": "node-3", "containers": [{"name": "c"}]}, "status": {"podIP": "192.168.3.20"}}])
    result = run_module(env, FLOW_MODULE, dict(flows=[
        flow("client pod to the cluster IP", "pod:any", "10.96.0.40", 443, "node-1", "allow"),
        flow("client pod to a backend pod", "pod:any", "pod:shop/frontend", 443, "node-1", "allow"),
    ]))
    assert not result.failed, result
    to_service, to_pod = result["flows"]
    assert "192.168.3.20" in to_service["verdicts"][0]["explanation"], "the ops/client pod is the source"
    assert ":8443" in to_pod["verdicts"][0]["explanation"], "service port 443 maps to target port 8443 on the pod"


def test_the_task_of_docs_flow_check_md_passes_on_the_cluster_it_describes(protected, env):
    """docs/flow-check.md's task, on the cluster its text describes (frontend at 10.96.0.40 exposed to 50.60.0.0/16)."""
    [snippet] = of_kind("checked-by", REPO / "docs" / "flow-check.md")
    [task] = snippet.data()
    result = run_module(env, FLOW_MODULE, task["clusteredge.calico.calico_flow_check"])
    assert not result.failed, result
    assert result["checked"] == 2 and result["mismatches"] == 0
