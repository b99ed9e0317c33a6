"""Calico 3.28 admission through the official client: invalid objects → 422 Invalid, valid ones accepted."""
import copy

import pytest
from kubernetes.client.rest import ApiException

from clusteredge_testworld.emulator.calico_admission import admit
from clusteredge_testworld.emulator.crd_schema import missing_reason, validate_against_crd
from helpers import custom, gnp, hep, status_of

PLURALS = {'HostEndpoint': 'hostendpoints', 'GlobalNetworkPolicy': 'globalnetworkpolicies',
           'NetworkPolicy': 'networkpolicies'}


def np_(name='allow-x', **spec):
    return {'apiVersion': 'projectcalico.org/v3', 'kind': 'NetworkPolicy',
            'metadata': {'name': name, 'namespace': 'default'}, 'spec': spec}


def hep_with(meta=None, **spec):
    obj = hep(**spec)
    obj['metadata'].update(meta or {})
    return obj


def rule(**kw):
    kw.setdefault('action', 'Allow')
    return kw


def submit(server, obj, dry_run=None):
    api = custom(server)
    plural = PLURALS[obj['kind']]
    kw = {'dry_run': dry_run} if dry_run else {}
    if obj['kind'] == 'NetworkPolicy':
        return api.create_namespaced_custom_object('projectcalico.org', 'v3', obj['metadata']['namespace'], plural,
                                                   obj, **kw)
    return api.create_cluster_custom_object('projectcalico.org', 'v3', plural, obj, **kw)


# (id, object, field that must be named in a cause)
INVALID = [
    ('hep-name-upper', hep('Node1-eth0'), 'metadata.name'),
    ('hep-name-underscore', hep('node_1'), 'metadata.name'),
    ('hep-label-key', hep_with({'labels': {'bad key': 'x'}}), 'metadata.labels'),
    ('hep-label-value-too-long', hep_with({'labels': {'k': 'v' * 64}}), 'metadata.labels[k]'),
    ('hep-annotations-too-big', hep_with({'annotations': {'a': 'x' * (256 * 1024)}}), 'metadata.annotations'),
    ('hep-no-node', hep(node=''), 'spec.node'),
    ('hep-node-invalid', hep(node='Node_1'), 'spec.node'),
    ('hep-iface-too-long', hep(interfaceName='a' * 16), 'spec.interfaceName'),
    ('hep-iface-chars', hep(interfaceName='eth 0'), 'spec.interfaceName'),
    ('hep-no-iface-no-ips', hep(interfaceName=''), 'spec.interfaceName'),
    ('hep-expected-cidr', hep(expectedIPs=['10.0.0.0/24']), 'spec.expectedIPs[0]'),
    ('hep-expected-garbage', hep(expectedIPs=['node1']), 'spec.expectedIPs[0]'),
    ('hep-profile-name', hep(profiles=['Bad_Profile']), 'spec.profiles[0]'),
    ('hep-port-name-upper', hep(ports=[{'name': 'HTTP', 'port': 80, 'protocol': 'TCP'}]), 'spec.ports[0].name'),
    ('hep-port-name-digits', hep(ports=[{'name': '8080', 'port': 80, 'protocol': 'TCP'}]), 'spec.ports[0].name'),
    ('hep-port-zero', hep(ports=[{'name': 'web', 'port': 0, 'protocol': 'TCP'}]), 'spec.ports[0].port'),
    ('hep-port-too-big', hep(ports=[{'name': 'web', 'port': 65536, 'protocol': 'TCP'}]), 'spec.ports[0].port'),
    ('hep-port-icmp', hep(ports=[{'name': 'ping', 'port': 1, 'protocol': 'ICMP'}]), 'spec.ports[0].protocol'),
    ('hep-unknown-field', hep(interface='eth0'), 'spec.interface'),
    ('gnp-name-dot', gnp('allow.x'), 'metadata.name'),
    ('gnp-tier-3.29', gnp(tier='default'), 'spec.tier'),
    ('gnp-dnt-and-prednat', gnp(doNotTrack=True, preDNAT=True, applyOnForward=True), 'spec.preDNAT'),
    ('gnp-prednat-egress', gnp(preDNAT=True, applyOnForward=True, egress=[rule()]), 'spec.egress'),
    ('gnp-prednat-egress-type', gnp(preDNAT=True, applyOnForward=True, types=['Ingress', 'Egress']), 'spec.types'),
    ('gnp-prednat-no-aof', gnp(preDNAT=True, ingress=[rule()]), 'spec.applyOnForward'),
    ('gnp-dnt-no-aof', gnp(doNotTrack=True, ingress=[rule()]), 'spec.applyOnForward'),
    ('gnp-types-enum', gnp(types=['ingress']), 'spec.types[0]'),
    ('gnp-types-repeat', gnp(types=['Ingress', 'Ingress']), 'spec.types[1]'),
    ('gnp-action-case', gnp(ingress=[{'action': 'allow'}]), 'spec.ingress[0].action'),
    ('gnp-action-missing', gnp(ingress=[{'protocol': 'TCP'}]), 'spec.ingress[0].action'),
    ('gnp-protocol-lower', gnp(ingress=[rule(protocol='tcp')]), 'spec.ingress[0].protocol'),
    ('gnp-protocol-zero', gnp(ingress=[rule(protocol=0)]), 'spec.ingress[0].protocol'),
    ('gnp-protocol-256', gnp(ingress=[rule(notProtocol=256)]), 'spec.ingress[0].notProtocol'),
    ('gnp-icmp-needs-proto', gnp(ingress=[rule(icmp={'type': 8})]), 'spec.ingress[0].protocol'),
    ('gnp-icmp-numeric-proto', gnp(ingress=[rule(protocol=1, icmp={'type': 8})]), 'spec.ingress[0].protocol'),
    ('gnp-icmp-code-no-type', gnp(ingress=[rule(protocol='ICMP', icmp={'code': 0})]), 'spec.ingress[0].icmp.code'),
    ('gnp-icmp-type-255', gnp(ingress=[rule(protocol='ICMP', icmp={'type': 255})]), 'spec.ingress[0].icmp.type'),
    ('gnp-icmp-v6-mismatch', gnp(ingress=[rule(protocol='ICMP', ipVersion=6)]), 'spec.ingress[0].ipVersion'),
    ('gnp-net-host-bits', gnp(ingress=[rule(source={'nets': ['10.1.2.3/24']})]), 'spec.ingress[0].source.nets[0]'),
    ('gnp-net-bare-ip', gnp(ingress=[rule(source={'nets': ['10.1.2.3']})]), 'spec.ingress[0].source.nets[0]'),
    ('gnp-net-mixed', gnp(ingress=[rule(source={'nets': ['10.0.0.0/8']}, destination={'notNets': ['fd00::/64']})]),
     'spec.ingress[0]'),
    ('gnp-ipversion-vs-cidr', gnp(ingress=[rule(ipVersion=6, source={'nets': ['10.0.0.0/8']})]),
     'spec.ingress[0].ipVersion'),
    ('gnp-ports-no-proto', gnp(ingress=[rule(destination={'ports': [80]})]), 'spec.ingress[0].destination.ports'),
    ('gnp-ports-icmp', gnp(ingress=[rule(protocol='ICMP', destination={'ports': [80]})]),
     'spec.ingress[0].destination.ports'),
    ('gnp-port-range-reversed', gnp(ingress=[rule(protocol='TCP', destination={'notPorts': ['32767:30000']})]),
     'spec.ingress[0].destination.notPorts[0]'),
    ('gnp-port-range-zero', gnp(ingress=[rule(protocol='TCP', destination={'ports': ['0:80']})]),
     'spec.ingress[0].destination.ports[0]'),
    ('gnp-port-bad-name', gnp(ingress=[rule(protocol='UDP', destination={'ports': ['no_such port']})]),
     'spec.ingress[0].destination.ports[0]'),
    ('gnp-selector-single-eq', gnp(selector="k8s-role = 'node'"), 'spec.selector'),
    ('gnp-selector-unterminated', gnp(selector="k8s-role == 'node"), 'spec.selector'),
    ('gnp-selector-bare-label', gnp(selector='k8s-role'), 'spec.selector'),
    ('gnp-selector-single-amp', gnp(selector='has(a) & has(b)'), 'spec.selector'),
    ('gnp-selector-global', gnp(selector='global()'), 'spec.selector'),
    ('gnp-ns-selector-global', gnp(namespaceSelector='global()'), 'spec.namespaceSelector'),
    ('gnp-rule-selector-global', gnp(ingress=[rule(source={'selector': 'global()'})]),
     'spec.ingress[0].source.selector'),
    ('gnp-rule-ns-global-combined', gnp(ingress=[rule(source={'namespaceSelector': 'global() && has(a)'})]),
     'spec.ingress[0].source.namespaceSelector'),
    ('gnp-services-no-namespace', gnp(ingress=[rule(source={'services': {'name': 'web'}})]),
     'spec.ingress[0].source.services.namespace'),
    ('gnp-services-wrong-side', gnp(ingress=[rule(destination={'services': {'name': 'web', 'namespace': 'd'}})]),
     'spec.ingress[0].destination.services'),
    ('gnp-services-with-nets',
     gnp(egress=[rule(destination={'services': {'name': 'w', 'namespace': 'd'}, 'nets': ['10.0.0.0/8']})]),
     'spec.egress[0].destination.services'),
    ('gnp-services-dst-ports', gnp(egress=[rule(protocol='TCP', destination={'services': {'name': 'w', 'namespace': 'd'},
                                                                             'ports': [80]})]),
     'spec.egress[0].destination.services'),
    ('gnp-http-egress', gnp(egress=[rule(http={'methods': ['GET']})]), 'spec.egress[0].http'),
    ('gnp-http-deny', gnp(ingress=[rule(action='Deny', http={'methods': ['GET']})]), 'spec.ingress[0].http'),
    ('gnp-http-path', gnp(ingress=[rule(http={'paths': [{'exact': 'no-slash'}]})]), 'spec.ingress[0].http.paths[0]'),
    ('gnp-http-methods-repeat', gnp(ingress=[rule(http={'methods': ['GET', 'GET']})]),
     'spec.ingress[0].http.methods'),
    ('gnp-unknown-rule-field', gnp(ingress=[rule(sources={})]), 'spec.ingress[0].sources'),
    ('gnp-order-string', gnp(order='10'), 'spec.order'),
    ('np-name-dot', np_('a.b'), 'metadata.name'),
    ('np-prednat-field', np_(preDNAT=True), 'spec.preDNAT'),
    ('np-namespace-selector-field', np_(namespaceSelector='all()'), 'spec.namespaceSelector'),
    ('np-types-repeat', np_(types=['Egress', 'Egress']), 'spec.types[1]'),
]


@pytest.mark.parametrize('obj,field', [pytest.param(o, f, id=i) for i, o, f in INVALID])
def test_invalid_objects_are_rejected(k8s_api_session, obj, field):
    with pytest.raises(ApiException) as exc:
        submit(k8s_api_session, copy.deepcopy(obj))
    body = status_of(exc.value)
    assert exc.value.status == 422 and body['reason'] == 'Invalid'
    causes = body['details']['causes']
    assert field in [c['field'] for c in causes], causes
    assert all(c['message'] for c in causes)
    assert body['details']['kind'] == obj['kind']
    assert field in body['message']


def test_at_least_thirty_distinct_rejections():
    assert len({case[0] for case in INVALID}) >= 30


def test_invalid_dry_run_is_also_rejected(k8s_api):
    with pytest.raises(ApiException) as exc:
        submit(k8s_api, gnp(types=['ingress']), dry_run='All')
    assert exc.value.status == 422
    assert k8s_api.objects('GlobalNetworkPolicy') == []


# Manifests of the "Apply Calico policy to services exposed externally as cluster IPs" guide, corrected
# (explicit order, string port ranges, /len on every net) — plus other shapes the collection writes.
VALID = [
    hep_with({'labels': {'k8s-role': 'node', 'host-endpoint': 'ingress'}}, interfaceName='eth0',
             expectedIPs=['10.99.0.11']),
    hep('node1-all', interfaceName='*', expectedIPs=['10.99.0.11', 'fd00:99::11'],
        profiles=['projectcalico-default-allow']),
    hep('node1-byip', interfaceName='', expectedIPs=['10.99.0.11']),
    hep('node1.example.com', ports=[{'name': 'https', 'port': 6443, 'protocol': 'TCP'},
                                    {'name': 'dns', 'port': 53, 'protocol': 17}]),
    gnp('allow-cluster-internal-ingress', order=10, preDNAT=True, applyOnForward=True,
        selector="k8s-role == 'node'",
        ingress=[rule(source={'nets': ['10.0.0.0/16', '10.96.0.0/12']})]),
    gnp('allow-cluster-ips', order=20, preDNAT=True, applyOnForward=True, selector="k8s-role == 'node'",
        types=['Ingress'],
        ingress=[rule(source={'nets': ['50.60.0.0/16']}, destination={'nets': ['10.20.30.40/32']}),
                 rule(source={'nets': ['70.80.90.0/24']}, destination={'nets': ['10.20.30.41/32']})]),
    gnp('deny-cluster-ips', order=30, preDNAT=True, applyOnForward=True, selector='has(host-endpoint)',
        ingress=[rule(action='Deny', destination={'nets': ['10.96.0.0/12'], 'notPorts': ['30000:32767']},
                      protocol='TCP')]),
    gnp('allow-nodeports', order=25, preDNAT=True, applyOnForward=True, selector='has(host-endpoint)',
        ingress=[rule(protocol='TCP', destination={'selector': 'has(host-endpoint)', 'ports': [31852, '30000:30100']})]),
    gnp('allow-to-pods', order=40, applyOnForward=True, selector="k8s-role == 'node'", types=['Egress'],
        egress=[rule(destination={'nets': ['192.168.0.0/16']})]),
    gnp('allow-outbound', order=50, selector='has(host-endpoint) && !has(projectcalico.org/namespace)',
        egress=[rule()], ingress=[rule(protocol='ICMP', icmp={'type': 8, 'code': 0}, ipVersion=4)]),
    gnp('v6-rules', order=60, selector='role in {"a", "b",} || role not in {} && name starts with "x"',
        ingress=[rule(protocol='ICMPv6', ipVersion=6, source={'nets': ['fd00::/8']}),
                 rule(protocol='UDPLite'), rule(protocol=132, destination={'ports': ['sctp-port']}),
                 rule(action='Log'), rule(action='Pass', notProtocol='6')]),
    gnp('rules-misc', order=1.5, doNotTrack=True, applyOnForward=True, performanceHints=['AssumeNeededOnEveryNode'],
        ingress=[rule(source={'namespaceSelector': 'global()', 'notSelector': 'global()',
                              'serviceAccounts': {'names': ['sa'], 'selector': 'a contains "b"'}}),
                 rule(source={'services': {'name': 'web', 'namespace': 'demo'}}, protocol='TCP',
                      destination={'ports': ['http']}),
                 rule(http={'methods': ['GET', 'POST'], 'paths': [{'exact': '/a'}, {'prefix': '/b'}]})]),
    np_('allow-from-hosts', order=5, selector='app == "web"',
        ingress=[rule(source={'namespaceSelector': 'global()', 'selector': 'has(host-endpoint)'})],
        egress=[rule(destination={'services': {'name': 'db'}})]),
]


@pytest.mark.parametrize('obj', [pytest.param(o, id=o['metadata']['name']) for o in VALID])
def test_valid_objects_are_accepted(k8s_api, obj):
    created = submit(k8s_api, copy.deepcopy(obj))
    assert created['metadata']['uid']
    assert created['spec'].get('types') or obj['kind'] == 'HostEndpoint'


@pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))
@pytest.mark.parametrize('obj', [pytest.param(o, id=o['metadata']['name']) for o in VALID])
def test_valid_objects_conform_to_the_crd_schemas(obj):
    assert validate_against_crd(obj) == []


@pytest.mark.parametrize('spec,types', [
    ({}, ['Ingress']),
    ({'ingress': [{'action': 'Allow'}]}, ['Ingress']),
    ({'egress': [{'action': 'Allow'}]}, ['Egress']),
    ({'ingress': [{'action': 'Allow'}], 'egress': [{'action': 'Allow'}]}, ['Ingress', 'Egress']),
    ({'types': ['Egress']}, ['Egress']),
])
def test_types_defaulting(k8s_api, spec, types):
    assert submit(k8s_api, gnp(**spec))['spec']['types'] == types
    assert k8s_api.objects('GlobalNetworkPolicy')[0]['spec']['types'] == types


def test_admission_on_update_and_patch(k8s_api):
    api = custom(k8s_api)
    created = submit(k8s_api, gnp(order=10, ingress=[rule()]))
    bad = copy.deepcopy(created)
    bad['spec']['ingress'][0]['action'] = 'ALLOW'
    with pytest.raises(ApiException) as exc:
        api.replace_cluster_custom_object('projectcalico.org', 'v3', 'globalnetworkpolicies', 'allow-x', bad)
    assert exc.value.status == 422
    with pytest.raises(ApiException) as exc:
        api.patch_cluster_custom_object('projectcalico.org', 'v3', 'globalnetworkpolicies', 'allow-x',
                                        {'spec': {'preDNAT': True}})
    assert exc.value.status == 422
    assert k8s_api.objects('GlobalNetworkPolicy')[0]['spec'].get('preDNAT') is None


def test_admit_function_directly():
    assert admit('HostEndpoint', hep()) == []
    causes = admit('HostEndpoint', hep(node='', interfaceName='x' * 20))
    assert {c['field'] for c in causes} == {'spec.node', 'spec.interfaceName'}
