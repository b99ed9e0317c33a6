import json
import os
import signal
import subprocess
import sys

import kubernetes.client
import pytest
import urllib3
from kubernetes.client.rest import ApiException

from clusteredge_testworld.emulator import EmulatorServer
from clusteredge_testworld.emulator.admin import AdminClient
from helpers import core, custom, hep, status_of


def no_retry_core(server):
    cfg = server.client_configuration()
    cfg.retries = False  # urllib3 otherwise honours Retry-After on 429/503 by retrying itself
    return kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(cfg))


def test_faults_are_consumed_in_order(k8s_api):
    api = no_retry_core(k8s_api)
    k8s_api.inject_fault(method='GET', path=r'/namespaces$', status=429, retry_after=3)
    k8s_api.inject_fault(method='GET', path=r'/namespaces$', status=503)
    k8s_api.inject_fault(method='*', path=r'/namespaces$', status=500)
    with pytest.raises(ApiException) as exc:
        api.list_namespace()
    assert exc.value.status == 429 and exc.value.headers['Retry-After'] == '3'
    assert status_of(exc.value)['reason'] == 'TooManyRequests'
    with pytest.raises(ApiException) as exc:
        api.list_namespace()
    assert exc.value.status == 503 and status_of(exc.value)['reason'] == 'ServiceUnavailable'
    with pytest.raises(ApiException) as exc:
        api.list_namespace()
    assert exc.value.status == 500 and status_of(exc.value)['reason'] == 'InternalError'
    assert api.list_namespace().items
    assert [r['status'] for r in k8s_api.requests] == [429, 503, 500, 200]


def test_default_client_retries_429_with_retry_after(k8s_api):
    k8s_api.inject_fault(method='GET', path=r'/namespaces$', status=429, retry_after=1)
    assert core(k8s_api).list_namespace().items
    assert [r['status'] for r in k8s_api.requests] == [429, 200]


def test_conflict_fault_on_patch_only(k8s_api):
    api = custom(k8s_api)
    api.create_cluster_custom_object('projectcalico.org', 'v3', 'hostendpoints', hep())
    k8s_api.inject_fault(method='PATCH', path='hostendpoints/node1-eth0', status=409, times=1)
    assert api.get_cluster_custom_object('projectcalico.org', 'v3', 'hostendpoints', 'node1-eth0')
    with pytest.raises(ApiException) as exc:
        api.patch_cluster_custom_object('projectcalico.org', 'v3', 'hostendpoints', 'node1-eth0',
                                        {'metadata': {'labels': {'a': 'b'}}})
    assert exc.value.status == 409 and status_of(exc.value)['reason'] == 'Conflict'
    out = api.patch_cluster_custom_object('projectcalico.org', 'v3', 'hostendpoints', 'node1-eth0',
                                          {'metadata': {'labels': {'a': 'b'}}})
    assert out['metadata']['labels'] == {'a': 'b'}


def test_connection_reset(k8s_api):
    k8s_api.inject_fault(path='/api/v1/namespaces', reset=True)
    cfg = k8s_api.client_configuration()
    cfg.retries = False
    api = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(cfg))
    with pytest.raises((urllib3.exceptions.HTTPError, ConnectionError)):
        api.list_namespace()
    assert api.list_namespace().items
    assert k8s_api.requests[0]['status'] is None


def test_bearer_token(tmp_path, monkeypatch):
    monkeypatch.setenv('TMPDIR', str(tmp_path))
    with EmulatorServer(token='s3cret') as server:
        assert core(server).list_namespace().items
        cfg = server.client_configuration()
        cfg.api_key = {'authorization': 'Bearer wrong'}
        with pytest.raises(ApiException) as exc:
            kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(cfg)).list_namespace()
        assert exc.value.status == 401 and status_of(exc.value)['reason'] == 'Unauthorized'
        assert [r['authorized'] for r in server.requests] == [True, False]
        assert server.requests[0]['headers']['Authorization'] == '<present>'


def test_tls_with_generated_ca(tmp_path, monkeypatch):
    monkeypatch.setenv('TMPDIR', str(tmp_path))
    with EmulatorServer(tls_dir=str(tmp_path / 'pki'), token='t') as server:
        assert server.url.startswith('https://127.0.0.1:')
        assert os.path.exists(server.ca_cert_path)
        assert core(server).list_namespace().items
        cfg = server.client_configuration()
        cfg.ssl_ca_cert = None  # the system store does not trust the throwaway CA
        cfg.retries = False
        with pytest.raises(ApiException, match='CERTIFICATE_VERIFY_FAILED'):
            kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(cfg)).list_namespace()
        kubeconfig = server.write_kubeconfig(str(tmp_path / 'kubeconfig'))
        client = kubernetes.config.new_client_from_config(config_file=kubeconfig)
        assert kubernetes.client.CoreV1Api(client).read_namespace('default').metadata.name == 'default'


def test_cli_and_admin_client_from_another_process(tmp_path):
    state_file = tmp_path / 'state.json'
    seed = tmp_path / 'seed.yaml'
    seed.write_text('apiVersion: v1\nkind: Node\nmetadata:\n  name: node1\n  labels: {k8s-role: node}\n---\n'
                    'apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n')
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, '-m', 'clusteredge_testworld.emulator', 'serve', '--port', '0', '--state-file',
                             str(state_file), '--seed', str(seed), '--tls-dir', str(tmp_path / 'pki')],
                            env=env, stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith('https://127.0.0.1:')
        state = json.loads(state_file.read_text())
        assert state['url'] == url and state['pid'] == proc.pid
        admin = AdminClient.from_state_file(str(state_file))
        admin.wait_ready()
        assert [n['metadata']['name'] for n in admin.objects('Node')] == ['node1']
        admin.seed([hep('seeded', node='node1')])
        assert admin.objects('HostEndpoint')[0]['metadata']['uid']
        admin.inject_fault(method='GET', path='/api/v1/nodes', status=500)
        cfg = kubernetes.client.Configuration()
        cfg.host, cfg.ssl_ca_cert = url, state['ca_cert_path']
        api = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(cfg))
        with pytest.raises(ApiException):
            api.list_node()
        assert api.list_node().items[0].metadata.name == 'node1'
        assert [r['status'] for r in admin.requests()] == [500, 200]
        assert admin.writes() == []
        api.create_namespaced_config_map('demo', {'metadata': {'name': 'x'}})
        assert [w['verb'] for w in admin.writes()] == ['create']
        admin.clear_requests()
        assert admin.requests() == []
        admin.reset()
        assert admin.objects('Node') == []
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    assert not state_file.exists()


def test_session_fixture_and_reset(k8s_api_session):
    k8s_api_session.seed([{'apiVersion': 'v1', 'kind': 'Node', 'metadata': {'name': 'n1'}}])
    assert len(k8s_api_session.objects('Node')) == 1
    k8s_api_session.reset()
    assert k8s_api_session.objects('Node') == [] and k8s_api_session.requests == []


def test_errors_never_leak_tracebacks(k8s_api):
    import urllib.request
    req = urllib.request.Request(k8s_api.url + '/api/v1/namespaces', data=b'{not json', method='POST',
                                 headers={'Content-Type': 'application/json'})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req)
    body = json.load(exc.value)
    assert exc.value.code == 400 and body['kind'] == 'Status' and 'Traceback' not in json.dumps(body)
