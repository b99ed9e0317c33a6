import json

import pytest
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

from clusteredge_testworld.emulator import EmulatorServer
from helpers import core, custom, hep, status_of

CALICO = ('projectcalico.org', 'v3')


def test_create_answers_201_with_server_metadata(k8s_api):
    ns = core(k8s_api).create_namespace({'metadata': {'name': 'demo'}})
    assert ns is not None and ns.metadata.uid and ns.metadata.creation_timestamp
    assert ns.metadata.labels['kubernetes.io/metadata.name'] == 'demo'
    created = custom(k8s_api).create_cluster_custom_object(*CALICO, 'hostendpoints', hep())
    meta = created['metadata']
    assert meta['uid'] and meta['creationTimestamp'] and meta['generation'] == 1
    assert int(meta['resourceVersion']) > int(ns.metadata.resource_version)
    last = k8s_api.requests[-1]
    assert last['status'] == 201 and last['verb'] == 'create' and last['body']['kind'] == 'HostEndpoint'


def test_duplicate_create_is_already_exists(k8s_api):
    api = custom(k8s_api)
    api.create_cluster_custom_object(*CALICO, 'hostendpoints', hep())
    with pytest.raises(ApiException) as exc:
        api.create_cluster_custom_object(*CALICO, 'hostendpoints', hep())
    assert exc.value.status == 409
    body = status_of(exc.value)
    assert body['kind'] == 'Status' and body['reason'] == 'AlreadyExists'
    assert body['details']['name'] == 'node1-eth0'


def test_get_missing_is_not_found_status(k8s_api):
    with pytest.raises(ApiException) as exc:
        custom(k8s_api).get_cluster_custom_object(*CALICO, 'hostendpoints', 'nope')
    body = status_of(exc.value)
    assert exc.value.status == 404 and body['reason'] == 'NotFound'
    assert body['message'] == 'hostendpoints.projectcalico.org "nope" not found'
    assert 'traceback' not in json.dumps(body)


def test_replace_bumps_version_and_keeps_identity(k8s_api):
    api = custom(k8s_api)
    first = api.create_cluster_custom_object(*CALICO, 'hostendpoints', hep())
    changed = dict(first, spec=dict(first['spec'], expectedIPs=['10.0.0.1']))
    second = api.replace_cluster_custom_object(*CALICO, 'hostendpoints', 'node1-eth0', changed)
    assert second['metadata']['uid'] == first['metadata']['uid']
    assert second['metadata']['creationTimestamp'] == first['metadata']['creationTimestamp']
    assert int(second['metadata']['resourceVersion']) > int(first['metadata']['resourceVersion'])
    assert second['metadata']['generation'] == 2
    # A stale resourceVersion is a Conflict.
    with pytest.raises(ApiException) as exc:
        api.replace_cluster_custom_object(*CALICO, 'hostendpoints', 'node1-eth0', changed)
    assert exc.value.status == 409 and status_of(exc.value)['reason'] == 'Conflict'
    # Aggregated/custom resources refuse unconditional updates.
    no_rv = json.loads(json.dumps(changed))
    del no_rv['metadata']['resourceVersion']
    with pytest.raises(ApiException) as exc:
        api.replace_cluster_custom_object(*CALICO, 'hostendpoints', 'node1-eth0', no_rv)
    assert exc.value.status == 422


def test_replace_missing_is_not_found(k8s_api):
    with pytest.raises(ApiException) as exc:
        custom(k8s_api).replace_cluster_custom_object(*CALICO, 'hostendpoints', 'ghost', hep('ghost'))
    assert exc.value.status == 404


def test_patch_flavours(k8s_api):
    api = core(k8s_api)
    api.create_namespace({'metadata': {'name': 'demo'}})
    cm = {'metadata': {'name': 'cfg', 'labels': {'a': '1'}}, 'data': {'x': '1'}}
    api.create_namespaced_config_map('demo', cm)
    out = api.patch_namespaced_config_map('cfg', 'demo', {'data': {'y': '2'}})  # strategic → merge
    assert out.data == {'x': '1', 'y': '2'}
    out = api.patch_namespaced_config_map('cfg', 'demo', [{'op': 'remove', 'path': '/data/x'},
                                                          {'op': 'add', 'path': '/metadata/labels/b', 'value': '2'}])
    assert out.data == {'y': '2'} and out.metadata.labels == {'a': '1', 'b': '2'}
    dyn = DynamicClient(k8s_api.api_client())
    cms = dyn.resources.get(api_version='v1', kind='ConfigMap')
    out = cms.patch(name='cfg', namespace='demo', body={'data': {'y': None}},
                    content_type='application/merge-patch+json')
    assert out.to_dict()['data'] == {}
    with pytest.raises(ApiException) as exc:  # stale resourceVersion inside a patch
        api.patch_namespaced_config_map('cfg', 'demo', {'metadata': {'resourceVersion': '1'}})
    assert exc.value.status == 409
    with pytest.raises(ApiException) as exc:
        api.patch_namespaced_config_map('missing', 'demo', {'data': {}})
    assert exc.value.status == 404


def test_server_side_apply_creates_then_updates(k8s_api):
    dyn = DynamicClient(k8s_api.api_client())
    heps = dyn.resources.get(api_version='projectcalico.org/v3', kind='HostEndpoint')
    created = heps.server_side_apply(body=hep(), name='node1-eth0', field_manager='test')
    assert created.metadata.uid
    assert k8s_api.requests[-1]['status'] == 201
    updated = heps.server_side_apply(body=hep(expectedIPs=['10.0.0.9']), name='node1-eth0', field_manager='test')
    assert updated.spec.expectedIPs == ['10.0.0.9'] and updated.metadata.uid == created.metadata.uid
    assert k8s_api.requests[-1]['status'] == 200


def test_dry_run_persists_nothing(k8s_api):
    api = custom(k8s_api)
    would_be = api.create_cluster_custom_object(*CALICO, 'hostendpoints', hep(), dry_run='All')
    assert would_be['metadata']['uid']
    assert k8s_api.objects('HostEndpoint') == []
    real = api.create_cluster_custom_object(*CALICO, 'hostendpoints', hep())
    changed = dict(real, spec=dict(real['spec'], interfaceName='eth1'))
    out = api.replace_cluster_custom_object(*CALICO, 'hostendpoints', 'node1-eth0', changed, dry_run='All')
    assert out['spec']['interfaceName'] == 'eth1'
    api.patch_cluster_custom_object(*CALICO, 'hostendpoints', 'node1-eth0', {'spec': {'interfaceName': 'eth2'}},
                                    dry_run='All')
    api.delete_cluster_custom_object(*CALICO, 'hostendpoints', 'node1-eth0', dry_run='All')
    [stored] = k8s_api.objects('HostEndpoint')
    assert stored['spec']['interfaceName'] == 'eth0'
    assert stored['metadata']['resourceVersion'] == real['metadata']['resourceVersion']
    # Admission still runs on dry runs.
    with pytest.raises(ApiException) as exc:
        api.create_cluster_custom_object(*CALICO, 'hostendpoints', hep('bad', node=''), dry_run='All')
    assert exc.value.status == 422
    dry = [w for w in k8s_api.writes() if w['dry_run']]
    assert [w['verb'] for w in dry] == ['create', 'update', 'patch', 'delete', 'create']


def test_delete_returns_object(k8s_api):
    api = custom(k8s_api)
    api.create_cluster_custom_object(*CALICO, 'hostendpoints', hep())
    out = api.delete_cluster_custom_object(*CALICO, 'hostendpoints', 'node1-eth0')
    assert out['metadata']['name'] == 'node1-eth0'
    with pytest.raises(ApiException) as exc:
        api.delete_cluster_custom_object(*CALICO, 'hostendpoints', 'node1-eth0')
    assert exc.value.status == 404


def test_list_kind_version_and_selectors(k8s_api):
    api = custom(k8s_api)
    for name, labels in [('a', {'role': 'node', 'zone': 'x'}), ('b', {'role': 'node', 'zone': 'y'}),
                         ('c', {'role': 'edge'})]:
        body = hep(f'{name}-eth0')
        body['metadata']['labels'] = labels
        api.create_cluster_custom_object(*CALICO, 'hostendpoints', body)

    def names(**kw):
        out = api.list_cluster_custom_object(*CALICO, 'hostendpoints', **kw)
        assert out['kind'] == 'HostEndpointList' and out['apiVersion'] == 'projectcalico.org/v3'
        assert out['metadata']['resourceVersion']
        return [i['metadata']['name'][0] for i in out['items']]

    assert names() == ['a', 'b', 'c']
    assert names(label_selector='role=node') == ['a', 'b']
    assert names(label_selector='role==node,zone!=x') == ['b']
    assert names(label_selector='zone in (x, y)') == ['a', 'b']
    assert names(label_selector='zone notin (x)') == ['b', 'c']
    assert names(label_selector='!zone') == ['c']
    assert names(label_selector='zone') == ['a', 'b']
    assert names(field_selector='metadata.name=c-eth0') == ['c']
    assert names(field_selector='metadata.name!=c-eth0') == ['a', 'b']
    with pytest.raises(ApiException) as exc:
        names(label_selector='role in (')
    assert exc.value.status == 400 and status_of(exc.value)['reason'] == 'BadRequest'
    page = api.list_cluster_custom_object(*CALICO, 'hostendpoints', limit=2)
    assert len(page['items']) == 2 and page['metadata']['continue']
    rest = api.list_cluster_custom_object(*CALICO, 'hostendpoints', limit=2, _continue=page['metadata']['continue'])
    assert [i['metadata']['name'] for i in rest['items']] == ['c-eth0']


def test_namespaces_and_namespaced_lists(k8s_api):
    api = core(k8s_api)
    names = [n.metadata.name for n in api.list_namespace().items]
    assert 'default' in names and 'kube-system' in names
    with pytest.raises(ApiException) as exc:  # namespaced objects need their namespace
        custom(k8s_api).create_namespaced_custom_object(*CALICO, 'ghost', 'networkpolicies', {
            'apiVersion': 'projectcalico.org/v3', 'kind': 'NetworkPolicy', 'metadata': {'name': 'np'}, 'spec': {}})
    assert exc.value.status == 404
    api.create_namespace({'metadata': {'name': 'demo'}})
    custom(k8s_api).create_namespaced_custom_object(*CALICO, 'demo', 'networkpolicies', {
        'apiVersion': 'projectcalico.org/v3', 'kind': 'NetworkPolicy', 'metadata': {'name': 'np'}, 'spec': {}})
    all_nps = custom(k8s_api).list_cluster_custom_object(*CALICO, 'networkpolicies')
    assert [i['metadata']['namespace'] for i in all_nps['items']] == ['demo']
    assert all_nps['items'][0]['spec']['types'] == ['Ingress']  # Calico defaulting
    assert api.list_namespaced_service('demo').items == []
    assert [s.metadata.name for s in api.list_service_for_all_namespaces().items] == ['kubernetes']


def svc(name, **spec):
    spec.setdefault('ports', [{'port': 80}])
    return {'metadata': {'name': name}, 'spec': spec}


def test_service_cluster_ip_allocation_and_immutability(k8s_api):
    api = core(k8s_api)
    a = api.create_namespaced_service('default', svc('a'))
    b = api.create_namespaced_service('default', svc('b'))
    assert a.spec.cluster_ip.startswith('10.') and a.spec.cluster_ip != b.spec.cluster_ip
    assert a.spec.cluster_ips == [a.spec.cluster_ip] and a.spec.ip_families == ['IPv4']
    fixed = api.create_namespaced_service('default', svc('fixed', clusterIP='10.96.100.100'))
    assert fixed.spec.cluster_ip == '10.96.100.100'
    headless = api.create_namespaced_service('default', svc('headless', clusterIP='None'))
    assert headless.spec.cluster_ip == 'None'
    for bad_ip in ('10.96.100.100', '192.168.1.1'):  # taken / out of range
        with pytest.raises(ApiException) as exc:
            api.create_namespaced_service('default', svc('bad', clusterIP=bad_ip))
        assert exc.value.status == 422 and status_of(exc.value)['reason'] == 'Invalid'
    with pytest.raises(ApiException) as exc:
        api.patch_namespaced_service('a', 'default', {'spec': {'clusterIP': '10.96.200.200'}})
    assert exc.value.status == 422
    assert status_of(exc.value)['details']['causes'][0]['field'] == 'spec.clusterIP'
    # A replace without clusterIP keeps the allocated one.
    body = api.read_namespaced_service('a', 'default').to_dict()
    replaced = api.replace_namespaced_service('a', 'default', {
        'metadata': {'name': 'a', 'resourceVersion': body['metadata']['resource_version']},
        'spec': {'ports': [{'port': 81}]}})
    assert replaced.spec.cluster_ip == a.spec.cluster_ip
    api.delete_namespaced_service('fixed', 'default')
    assert api.create_namespaced_service('default', svc('again', clusterIP='10.96.100.100'))
    with pytest.raises(ApiException) as exc:
        api.create_namespaced_service('default', svc('dual', ipFamilyPolicy='RequireDualStack'))
    assert exc.value.status == 422


def test_dual_stack_services(tmp_path, monkeypatch):
    monkeypatch.setenv('TMPDIR', str(tmp_path))
    with EmulatorServer(service_cidrs=('10.43.0.0/16', 'fd00:43::/112')) as server:
        api = core(server)
        dual = api.create_namespaced_service('default', svc('dual', ipFamilyPolicy='PreferDualStack'))
        assert dual.spec.ip_families == ['IPv4', 'IPv6']
        assert dual.spec.cluster_ips[0].startswith('10.43.') and dual.spec.cluster_ips[1].startswith('fd00:43::')
        single = api.create_namespaced_service('default', svc('single'))
        assert len(single.spec.cluster_ips) == 1
        cidrs = server.objects('ServiceCIDR')[0]['spec']['cidrs']
        assert cidrs == ['10.43.0.0/16', 'fd00:43::/112']


def test_status_subresource(k8s_api):
    api = custom(k8s_api)
    kcc = api.get_cluster_custom_object(*CALICO, 'kubecontrollersconfigurations', 'default')
    assert kcc['status']['runningConfig']['controllers']['node']['hostEndpoint']['autoCreate'] == 'Disabled'
    out = api.patch_cluster_custom_object_status(*CALICO, 'kubecontrollersconfigurations', 'default',
                                                 {'status': {'environmentVars': {'AUTO_HOST_ENDPOINTS': 'enabled'}}})
    assert out['status']['environmentVars']['AUTO_HOST_ENDPOINTS'] == 'enabled'
    # Writing the main resource does not touch status.
    out = api.patch_cluster_custom_object(*CALICO, 'kubecontrollersconfigurations', 'default',
                                          {'spec': {'controllers': {'node': {'hostEndpoint': {'autoCreate': 'Enabled'}}}},
                                           'status': {'environmentVars': {}}})
    assert out['status']['environmentVars']['AUTO_HOST_ENDPOINTS'] == 'enabled'
    assert out['spec']['controllers']['node']['hostEndpoint']['autoCreate'] == 'Enabled'
