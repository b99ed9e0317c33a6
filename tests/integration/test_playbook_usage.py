"""What users write: module EXAMPLES, module_defaults through the action group, AWX's credential."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from integration.ansible_cli import REPO, ansible_env, run_playbook
from integration.conftest import all_writes

pytestmark = pytest.mark.integration


def module_examples(name):
    source = (REPO / "plugins" / "modules" / (name + ".py")).read_text()
    namespace = {}
    # Only the documentation strings: they precede every import in the module file.
    exec(compile(source.split("\nfrom ansible_collections")[0], name, "exec"), namespace)  # pylint: disable=exec-used
    return yaml.safe_load(namespace["EXAMPLES"])


def test_every_example_of_calico_hostendpoint_runs(k8s_api, env, tmp_path):
    tasks = module_examples("calico_hostendpoint")
    assert len(tasks) >= 5
    play = [{"name": "Run the module's EXAMPLES in order", "hosts": "localhost", "connection": "local",
             "gather_facts": False, "tasks": tasks + [
                 {"name": "Keep registered results", "ansible.builtin.copy": {
                     "content": "{{ {'gathered': hostendpoints, 'rendered': manifests} | to_json }}",
                     "dest": str(tmp_path / "examples.json"), "mode": "0600"}}]}]
    playbook = tmp_path / "examples.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    run = run_playbook(env, playbook)
    assert run.rc == 0, run
    registered = json.loads((tmp_path / "examples.json").read_text())
    assert [h["name"] for h in registered["gathered"]["gathered"]] == ["node-1-eth0"]
    assert registered["rendered"]["rendered"][0]["spec"]["node"] == "node-3"
    assert k8s_api.objects("HostEndpoint") == [], "the last example removes everything it created"


def test_module_defaults_through_the_calico_action_group(k8s_api, tmp_path):
    env = ansible_env(k8s_api.url, tmp_path, auth=False)  # no K8S_AUTH_*: only module_defaults can connect
    play = [{"name": "Connection set once for the group", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "module_defaults": {"group/clusteredge.calico.calico": {"host": k8s_api.url, "api_key": "test-token"}},
             "tasks": [{"name": "Create", "clusteredge.calico.calico_hostendpoint": {
                 "config": [{"name": "node-1-eth0", "node": "node-1", "interface_name": "eth0"}]}}]}]
    playbook = tmp_path / "defaults.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    run = run_playbook(env, playbook)
    assert run.rc == 0, run
    assert [o["metadata"]["name"] for o in k8s_api.objects("HostEndpoint")] == ["node-1-eth0"]


def test_awx_kubernetes_bearer_token_credential_over_tls(tmp_path):
    """ansible-runner with exactly the four variables AWX's Kubernetes credential injects."""
    from clusteredge_testworld.emulator import EmulatorServer

    token = "awx-token-" + os.urandom(8).hex()
    with EmulatorServer(token=token, tls_dir=str(tmp_path / "tls")) as api:
        private = tmp_path / "runner"
        (private / "env").mkdir(parents=True)
        (private / "project").mkdir()
        (private / "inventory").mkdir()
        (private / "inventory" / "hosts").write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
        (private / "project" / "heps.yml").write_text(yaml.safe_dump([{
            "name": "AWX job", "hosts": "localhost", "gather_facts": False,
            "tasks": [{"name": "HostEndpoints", "clusteredge.calico.calico_hostendpoint": {"config": "{{ heps }}"}}]}]))
        (private / "env" / "extravars").write_text(yaml.safe_dump({"heps": [
            {"name": "node-1-eth0", "node": "node-1", "interface_name": "eth0", "labels": {"k8s-role": "node"}}]}))
        (private / "env" / "envvars").write_text(yaml.safe_dump({
            "K8S_AUTH_HOST": api.url,
            "K8S_AUTH_API_KEY": token,
            "K8S_AUTH_VERIFY_SSL": "True",
            "K8S_AUTH_SSL_CA_CERT": api.ca_cert_path,
            "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
            "TMPDIR": str(tmp_path),
            "HOME": str(tmp_path),
        }))
        runner = Path(sys.executable).parent / "ansible-runner"
        # AWX runs jobs in an environment where ansible-playbook is on PATH; nothing else is inherited.
        runner_env = {"PATH": "%s:%s" % (runner.parent, os.environ.get("PATH", "")), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
        proc = subprocess.run([str(runner), "run", str(private), "-p", "heps.yml"], capture_output=True, text=True, check=False,
                              timeout=300, env=runner_env)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        assert [o["metadata"]["name"] for o in api.objects("HostEndpoint")] == ["node-1-eth0"]
        assert token not in proc.stdout, "the token must never be printed"
        unauthenticated = [r for r in api.requests if r.get("status") == 401]
        assert unauthenticated == []
        assert all_writes(api), "the write went through the TLS endpoint with the token"


def test_secrets_never_reach_the_output_even_at_vvv(k8s_api, tmp_path):
    secret = "s3cr3t-" + os.urandom(6).hex()
    env = ansible_env(k8s_api.url, tmp_path, auth=False)
    args = {"host": k8s_api.url, "api_key": secret, "state": "gathered"}
    cmd = [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-vvv",
           "-m", "clusteredge.calico.calico_hostendpoint", "-a", json.dumps(args)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=120, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "SUCCESS" in proc.stdout
    assert secret not in proc.stdout + proc.stderr


def test_every_example_of_calico_clusterip_exposure_runs(tmp_path):
    from clusteredge_testworld.emulator import EmulatorServer
    from integration import cluster

    with EmulatorServer(service_cidrs=("10.96.0.0/12", "fd00:10:96::/112")) as api:
        api.seed([cluster.namespace("shop"), cluster.node(1), cluster.bgp_default(["10.96.0.0/12", "fd00:10:96::/112"]),
                  cluster.ippool("v6-pool", "fd00:192:168::/64")])
        cluster.create(api, [cluster.service("shop", "frontend", ports=((80, "TCP", 8080), (443, "TCP", 8443))),
                             cluster.service("shop", "api", dual_stack=True)])
        tasks = module_examples("calico_clusterip_exposure")
        assert len(tasks) >= 5
        play = [{"name": "Run the module's EXAMPLES in order", "hosts": "localhost", "connection": "local",
                 "gather_facts": False, "tasks": tasks + [
                     {"name": "Keep registered results", "ansible.builtin.copy": {
                         "content": "{{ {'exposure': exposure, 'exposed': exposed, 'manifests': manifests} | to_json }}",
                         "dest": str(tmp_path / "examples.json"), "mode": "0600"}}]}]
        playbook = tmp_path / "examples.yml"
        playbook.write_text(yaml.safe_dump(play, sort_keys=False))
        run = run_playbook(ansible_env(api.url, tmp_path), playbook)
        assert run.rc == 0, run
        registered = json.loads((tmp_path / "examples.json").read_text())
        assert [e["name"] for e in registered["exposure"]["exposures"]] == ["api", "frontend"]
        assert [e["name"] for e in registered["exposed"]["gathered"]] == ["api", "frontend"]
        rendered = registered["manifests"]["rendered"]
        assert len(rendered) == 7, "5 host policies, the pod policy, the node network set (node_addresses given)"
        assert [o["spec"]["nets"] for o in rendered if o["kind"] == "GlobalNetworkSet"] == [
            ["10.200.0.11/32", "10.200.0.12/32", "192.168.1.0/32", "192.168.2.0/32"]]
        assert api.objects("GlobalNetworkPolicy") == [] and api.objects("NetworkPolicy") == [], "the last example removes everything"


def test_hostendpoints_playbook_with_the_example_variables(k8s_api, tmp_path):
    kubeconfig = k8s_api.write_kubeconfig(str(tmp_path / "kubeconfig"))
    env = ansible_env(k8s_api.url, tmp_path, auth=False, extra={"K8S_AUTH_KUBECONFIG": kubeconfig})
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "clusteredge.calico.hostendpoints",
           "-e", "@%s" % (REPO / "docs" / "examples" / "hostendpoints.yml")]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=180, cwd=str(tmp_path))
    assert first.returncode == 0, first.stdout[-3000:]
    assert "created: node-1-eth0, node-2-eth0, node-3-eth0" in first.stdout
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=180, cwd=str(tmp_path))
    assert "changed=0" in again.stdout and "created: -" in again.stdout
