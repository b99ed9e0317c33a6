"""RBAC mode and the request log: the emulator decides and words 403s as kube-apiserver's RBAC authorizer does."""
import os
import subprocess
import sys

import pytest
import yaml

from clusteredge_testworld.emulator import EmulatorServer
from clusteredge_testworld.emulator.admin import AdminClient
from clusteredge_testworld.emulator.rbac import REQUEST_LOG_ENV, PolicyRule, read_log
from helpers import http

USER = 'system:serviceaccount:awx:clusteredge-calico'
SVC = {'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': 'x', 'namespace': 'default'},
       'spec': {'ports': [{'port': 80}]}}


def call(server, method, path, token='sa', body=None, content_type='application/json'):
    """(status, body) of one raw HTTP request; the body decoded when it is one JSON document."""
    status, decoded, _headers = http(server, method, path, body=body, token=token, content_type=content_type)
    return status, decoded


def server_with(rules, **kwargs):
    return EmulatorServer(token='admin', rbac={'sa': {'user': USER, 'rules': rules}}, **kwargs)


def test_forbidden_is_a_real_403_status_naming_user_verb_resource_and_namespace():
    with server_with([{'apiGroups': [''], 'resources': ['services'], 'verbs': ['get', 'list']}]) as server:
        server.seed([SVC])
        code, status = call(server, 'PATCH', '/api/v1/namespaces/default/services/x', body={'metadata': {'labels': {'a': 'b'}}},
                            content_type='application/merge-patch+json')
        assert code == 403
        assert status == {
            'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure', 'reason': 'Forbidden', 'code': 403,
            'message': f'services "x" is forbidden: User "{USER}" cannot patch resource "services" in API group "" '
                       'in the namespace "default"',
            'details': {'name': 'x', 'group': '', 'kind': 'services'}}
        assert server.objects('Service', namespace='default')[0]['metadata'].get('labels') != {'a': 'b'}
        assert call(server, 'GET', '/api/v1/namespaces/default/services/x')[0] == 200
        code, status = call(server, 'GET', '/apis/projectcalico.org/v3/hostendpoints')
        assert code == 403 and status['message'] == (
            f'hostendpoints.projectcalico.org is forbidden: User "{USER}" cannot list resource "hostendpoints" in API group '
            '"projectcalico.org" at the cluster scope')


# (method, path, query, RBAC verb) as kube-apiserver maps them.
VERBS = [
    ('GET', '/api/v1/namespaces/default/services/kubernetes', '', 'get'),
    ('GET', '/api/v1/namespaces/default/services', '', 'list'),
    ('GET', '/api/v1/services', '', 'list'),
    ('GET', '/api/v1/namespaces/default/services', '?watch=true', 'watch'),
    ('POST', '/api/v1/namespaces/default/services', '', 'create'),
    ('POST', '/api/v1/namespaces/default/services', '?dryRun=All', 'create'),
    ('PUT', '/api/v1/namespaces/default/services/x', '', 'update'),
    ('PATCH', '/api/v1/namespaces/default/services/x', '', 'patch'),
    ('PATCH', '/api/v1/namespaces/default/services/x', '?dryRun=All', 'patch'),
    ('DELETE', '/api/v1/namespaces/default/services/x', '', 'delete'),
    ('DELETE', '/api/v1/namespaces/default/services', '', 'deletecollection'),
]


@pytest.mark.parametrize('method, path, query, verb', VERBS, ids=[f'{m} {q or p.rsplit("/", 1)[-1]}' for m, p, q, _v in VERBS])
def test_each_http_request_needs_exactly_its_rbac_verb(method, path, query, verb):
    others = [v for v in ('get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection') if v != verb]
    body = {'metadata': {'labels': {'a': 'b'}}} if method == 'PATCH' else dict(SVC, spec={'ports': [{'port': 81}]}) \
        if method in ('POST', 'PUT') else None
    if method == 'POST':
        body = dict(body, metadata={'name': 'y', 'namespace': 'default'})
    content_type = 'application/merge-patch+json' if method == 'PATCH' else 'application/json'
    with server_with([{'apiGroups': [''], 'resources': ['services'], 'verbs': others}]) as server:
        server.seed([SVC])
        code, status = call(server, method, path + query, body=body, content_type=content_type)
        assert code == 403 and f'cannot {verb} resource "services"' in status['message']
    with server_with([{'apiGroups': [''], 'resources': ['services'], 'verbs': [verb]}]) as server:
        server.seed([SVC])
        code, status = call(server, method, path + query, body=body, content_type=content_type)
        assert code < 400, status


def test_resource_names_restrict_to_the_named_objects():
    rules = [{'apiGroups': [''], 'resources': ['services'], 'resourceNames': ['kubernetes'], 'verbs': ['get']}]
    with server_with(rules) as server:
        server.seed([SVC])
        assert call(server, 'GET', '/api/v1/namespaces/default/services/kubernetes')[0] == 200
        code, status = call(server, 'GET', '/api/v1/namespaces/default/services/x')
        assert code == 403 and status['message'].startswith('services "x" is forbidden')
        assert call(server, 'GET', '/api/v1/namespaces/default/services')[0] == 403, 'a list has no name to match'


def test_discovery_is_always_allowed_and_admin_endpoints_are_outside_rbac():
    with server_with([]) as server:
        for path in ('/api', '/api/v1', '/apis', '/apis/projectcalico.org', '/apis/projectcalico.org/v3', '/version'):
            assert call(server, 'GET', path)[0] == 200, path
        assert call(server, 'GET', '/healthz', token=None)[0] == 200
        code, status = call(server, 'GET', '/metrics')
        assert code == 403 and status['message'] == f'forbidden: User "{USER}" cannot get path "/metrics"'
        assert call(server, 'GET', '/api/v1/nodes')[0] == 403
        assert AdminClient(server.url).objects('Namespace'), 'no token needed for /_emulator'


def test_unknown_tokens_are_unauthorized_and_the_admin_token_is_unrestricted():
    with server_with([]) as server:
        assert call(server, 'GET', '/api/v1/nodes', token='nobody')[0] == 401
        assert call(server, 'GET', '/api/v1/nodes', token=None)[0] == 401
        assert call(server, 'GET', '/api/v1/nodes', token='admin')[0] == 200
        assert [r['authorized'] for r in server.requests] == [False, False, True]


def test_a_forbidden_request_changes_nothing_even_for_a_missing_object():
    with server_with([{'apiGroups': ['projectcalico.org'], 'resources': ['hostendpoints'], 'verbs': ['list']}]) as server:
        hep = {'apiVersion': 'projectcalico.org/v3', 'kind': 'HostEndpoint', 'metadata': {'name': 'h'},
               'spec': {'node': 'n', 'interfaceName': 'eth0'}}
        assert call(server, 'POST', '/apis/projectcalico.org/v3/hostendpoints', body=hep)[0] == 403
        assert call(server, 'GET', '/apis/projectcalico.org/v3/hostendpoints/missing')[0] == 403, 'RBAC before 404'
        assert server.objects('HostEndpoint') == []


def test_policy_rule_matching_wildcards_and_subresources():
    rule = PolicyRule.from_dict({'apiGroups': [''], 'resources': ['services'], 'verbs': ['get'], 'resourceNames': ['kubernetes']})
    assert rule.allows('get', '', 'services', None, 'kubernetes')
    assert not rule.allows('get', '', 'services', 'status', 'kubernetes'), 'a subresource needs its own entry'
    wildcard = PolicyRule.from_dict({'apiGroups': ['*'], 'resources': ['*/status'], 'verbs': ['*']})
    assert wildcard.allows('patch', 'projectcalico.org', 'kubecontrollersconfigurations', 'status', 'default')
    assert not wildcard.allows('patch', 'projectcalico.org', 'kubecontrollersconfigurations', None, 'default')
    with pytest.raises(ValueError, match='nonResourceURLs'):
        PolicyRule.from_dict({'nonResourceURLs': ['/metrics'], 'verbs': ['get']})


def test_request_log_from_in_process_and_subprocess_servers(tmp_path, monkeypatch):
    log = tmp_path / 'requests.jsonl'
    monkeypatch.setenv(REQUEST_LOG_ENV, str(log))
    with server_with([{'apiGroups': [''], 'resources': ['nodes'], 'verbs': ['list']}]) as server:
        assert call(server, 'GET', '/api/v1/nodes')[0] == 200
        assert call(server, 'DELETE', '/api/v1/nodes/n1')[0] == 403
        AdminClient(server.url).objects('Node')
    rbac_file = tmp_path / 'rbac.yaml'
    rbac_file.write_text(yaml.safe_dump({'sub-token': {'user': 'sub', 'rules': [
        {'apiGroups': ['projectcalico.org'], 'resources': ['ippools'], 'verbs': ['list']}]}}))
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, '-m', 'clusteredge_testworld.emulator', 'serve', '--port', '0', '--rbac', str(rbac_file)],
                            env=env, stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        sub = type('Sub', (), {'url': url})
        assert call(sub, 'GET', '/apis/projectcalico.org/v3/ippools', token='sub-token')[0] == 200
        assert call(sub, 'GET', '/apis/projectcalico.org/v3/hostendpoints', token='sub-token')[0] == 403
    finally:
        proc.terminate()
        proc.wait(10)
    lines = read_log(str(log))
    assert [(r['method'], r['verb'], r['resource'], r['name'], r['status'], r['user']) for r in lines] == [
        ('GET', 'list', 'nodes', None, 200, USER),
        ('DELETE', 'delete', 'nodes', 'n1', 403, USER),
        ('GET', 'list', 'ippools', None, 200, 'sub'),
        ('GET', 'list', 'hostendpoints', None, 403, 'sub'),
    ], 'admin requests are not logged'
    assert {r['api_group'] for r in lines[2:]} == {'projectcalico.org'}
    assert len({r['server_pid'] for r in lines}) == 2
    assert all(r['test'].endswith('test_request_log_from_in_process_and_subprocess_servers') for r in lines)
    assert 'Bearer' not in log.read_text() and 'sub-token' not in log.read_text(), 'no credentials in the log'
