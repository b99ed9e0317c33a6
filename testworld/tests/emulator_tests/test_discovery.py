import json
import urllib.request

import kubernetes.client
from kubernetes.dynamic import DynamicClient

from clusteredge_testworld.emulator import EmulatorServer


def get_json(server, path):
    with urllib.request.urlopen(server.url + path) as resp:
        assert resp.status == 200
        return json.load(resp)


def test_version_api_and_core_resources(k8s_api):
    assert get_json(k8s_api, '/version')['gitVersion'].startswith('v1.')
    assert get_json(k8s_api, '/api')['versions'] == ['v1']
    core = get_json(k8s_api, '/api/v1')
    assert core['kind'] == 'APIResourceList' and core['groupVersion'] == 'v1'
    by_name = {r['name']: r for r in core['resources']}
    assert by_name['namespaces']['namespaced'] is False
    assert by_name['nodes']['namespaced'] is False
    for plural, kind in [('services', 'Service'), ('pods', 'Pod'), ('endpoints', 'Endpoints')]:
        assert by_name[plural]['namespaced'] is True
        assert by_name[plural]['kind'] == kind
        assert {'get', 'list', 'create', 'update', 'patch', 'delete'} <= set(by_name[plural]['verbs'])


def test_groups_and_calico_resources(k8s_api):
    groups = {g['name']: g for g in get_json(k8s_api, '/apis')['groups']}
    assert {'projectcalico.org', 'crd.projectcalico.org', 'discovery.k8s.io', 'networking.k8s.io'} <= set(groups)
    assert groups['projectcalico.org']['preferredVersion']['groupVersion'] == 'projectcalico.org/v3'
    calico = {r['name']: r for r in get_json(k8s_api, '/apis/projectcalico.org/v3')['resources']}
    expected = {'hostendpoints': False, 'globalnetworkpolicies': False, 'networkpolicies': True, 'ippools': False,
                'bgpconfigurations': False, 'felixconfigurations': False, 'kubecontrollersconfigurations': False,
                'clusterinformations': False, 'globalnetworksets': False, 'networksets': True}
    for plural, namespaced in expected.items():
        assert calico[plural]['namespaced'] is namespaced, plural
    assert 'kubecontrollersconfigurations/status' in calico
    assert calico['hostendpoints']['kind'] == 'HostEndpoint'
    assert 'hep' in calico['hostendpoints']['shortNames']
    slices = get_json(k8s_api, '/apis/discovery.k8s.io/v1')['resources']
    assert [r['name'] for r in slices] == ['endpointslices']
    net = {r['name'] for r in get_json(k8s_api, '/apis/networking.k8s.io/v1')['resources']}
    assert {'networkpolicies', 'servicecidrs'} <= net
    assert get_json(k8s_api, '/apis/projectcalico.org')['kind'] == 'APIGroup'


def test_dynamic_client_discovers_and_lists(k8s_api):
    dyn = DynamicClient(k8s_api.api_client())
    heps = dyn.resources.get(api_version='projectcalico.org/v3', kind='HostEndpoint')
    assert heps.namespaced is False
    assert heps.get().kind == 'HostEndpointList'
    nps = dyn.resources.get(api_version='projectcalico.org/v3', kind='NetworkPolicy')
    assert nps.namespaced is True
    kcc = dyn.resources.get(api_version='projectcalico.org/v3', kind='KubeControllersConfiguration')
    assert kcc.subresources['status']
    info = dyn.resources.get(api_version='projectcalico.org/v3', kind='ClusterInformation').get(name='default')
    assert info.spec.calicoVersion.startswith('v3.28')


def test_without_calico_api_server(tmp_path, monkeypatch):
    monkeypatch.setenv('TMPDIR', str(tmp_path))
    with EmulatorServer(calico_api=False) as server:
        groups = {g['name'] for g in get_json(server, '/apis')['groups']}
        assert 'projectcalico.org' not in groups and 'crd.projectcalico.org' in groups
        crd_plurals = {r['name'] for r in get_json(server, '/apis/crd.projectcalico.org/v1')['resources']}
        assert {'hostendpoints', 'globalnetworkpolicies', 'networkpolicies'} <= crd_plurals
        try:
            urllib.request.urlopen(server.url + '/apis/projectcalico.org/v3')
            raise AssertionError('expected 404')
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
            assert json.load(exc)['reason'] == 'NotFound'
        dyn = DynamicClient(server.api_client())
        from kubernetes.dynamic.exceptions import ResourceNotFoundError
        try:
            dyn.resources.get(api_version='projectcalico.org/v3', kind='HostEndpoint')
            raise AssertionError('expected ResourceNotFoundError')
        except ResourceNotFoundError:
            pass
        # Writes to the CRD group are accepted and recorded (the collection must never make them).
        api = kubernetes.client.CustomObjectsApi(server.api_client())
        api.create_cluster_custom_object('crd.projectcalico.org', 'v1', 'hostendpoints',
                                         {'apiVersion': 'crd.projectcalico.org/v1', 'kind': 'HostEndpoint',
                                          'metadata': {'name': 'x'}, 'spec': {}})
        assert [w['group'] for w in server.writes()] == ['crd.projectcalico.org']
