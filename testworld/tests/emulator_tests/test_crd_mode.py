"""Unit tests of emulator.crd_mode: kube-apiserver's handling of projectcalico.org/v3 writes in Calico 3.32 v3-CRD mode.

No server is started. Section numbers refer to /work/shared/calico/SPEC-3.29-3.32.md. The CRDs are the 3.32.1 ones in
`../shared/calico/crds-3.32` (or `$CALICO_REFERENCE_DIR/crds-3.32`); without them the module is skipped.
"""
from __future__ import annotations

import copy
import glob
import os
import re
import shutil
import time
import types

import pytest
import yaml

from clusteredge_testworld.emulator import crd_mode
from clusteredge_testworld.emulator.crd_mode import AdmissionPolicyDenied, CrdSchemasMissing, admit, admit_delete, denial_error

pytestmark = pytest.mark.skipif(crd_mode.missing_reason() is not None,
                                reason=crd_mode.missing_reason() or 'CRDs present')

CRD_PROFILE = types.SimpleNamespace(crd_mode=True, minor=(3, 32), patch=1, name='3.32.1-crd')
NOT_CHECKED = ('Invalid value: null: some validation rules were not checked because the object was invalid; '
               'correct the existing errors to complete validation')


# --- builders -----------------------------------------------------------------------------------------------
def obj(kind, name='x', namespace=None, **spec):
    meta = {'name': name}
    if namespace:
        meta['namespace'] = namespace
    return {'apiVersion': 'projectcalico.org/v3', 'kind': kind, 'metadata': meta, 'spec': spec}


def gnp(name='allow-x', **spec):
    return obj('GlobalNetworkPolicy', name, **spec)


def np_(name='allow-x', **spec):
    return obj('NetworkPolicy', name, 'shop', **spec)


def hep(name='node1-eth0', **spec):
    spec.setdefault('node', 'node1')
    spec.setdefault('interfaceName', 'eth0')
    return obj('HostEndpoint', name, **spec)


def tier(name, **spec):
    return obj('Tier', name, **spec)


def ippool(name='pool', **spec):
    spec.setdefault('cidr', '10.10.0.0/16')
    return obj('IPPool', name, **spec)


def run(o, old=None, profile=None):
    """admit() on a copy: (causes, warnings, stored object)."""
    o = copy.deepcopy(o)
    causes, warnings = admit(o['kind'], o, copy.deepcopy(old), profile)
    return causes, warnings, o


def causes_of(o, old=None):
    return run(o, old)[0]


def cause(field, reason, message):
    return {'field': field, 'reason': reason, 'message': message}


def forbidden(field, detail):
    return cause(field, 'FieldValueForbidden', f'Forbidden: {detail}')


def invalid_object(field, detail, type_='object'):
    return cause(field, 'FieldValueInvalid', f'Invalid value: "{type_}": {detail}')


def accepted(o, old=None):
    causes, _warnings, stored = run(o, old)
    assert causes == []
    return stored


# --- CEL rules: every rule of the GNP, NP, HEP, Tier and IPPool CRDs --------------------------------------------------
# (kind, object, old object, the cause kube-apiserver reports)
CEL_CASES = {
    'gnp-prednat-donottrack': (
        gnp(preDNAT=True, doNotTrack=True, applyOnForward=True), None,
        forbidden('spec', 'preDNAT and doNotTrack cannot both be true')),
    'gnp-prednat-egress-rules': (
        gnp(preDNAT=True, applyOnForward=True, types=['Ingress'], egress=[{'action': 'Allow'}]), None,
        forbidden('spec', 'preDNAT policy cannot have any egress rules')),
    'gnp-prednat-egress-type': (
        gnp(preDNAT=True, applyOnForward=True, types=['Egress']), None,
        forbidden('spec', "preDNAT policy cannot have 'Egress' type")),
    'gnp-applyonforward-required': (
        gnp(doNotTrack=True, types=['Ingress']), None,
        invalid_object('spec', 'applyOnForward must be true if either preDNAT or doNotTrack is true')),
    'gnp-http-on-deny': (
        gnp(ingress=[{'action': 'Deny', 'http': {'methods': ['GET']}}]), None,
        forbidden('spec.ingress[0]', 'HTTP match is only valid on Allow rules')),
    'gnp-http-with-udp': (
        gnp(egress=[{'action': 'Allow', 'protocol': 'UDP', 'http': {'paths': [{'prefix': '/x'}]}}]), None,
        invalid_object('spec.egress[0]', 'rules with HTTP match must have protocol TCP or unset')),
    'gnp-ports-with-services': (
        gnp(egress=[{'action': 'Allow', 'destination': {'services': {'name': 'web', 'namespace': 'shop'},
                                                        'ports': [80]}}]), None,
        forbidden('spec.egress[0]', 'ports and notPorts cannot be specified with services')),
    'gnp-icmp-code-without-type': (
        gnp(ingress=[{'action': 'Allow', 'protocol': 'ICMP', 'icmp': {'code': 1}}]), None,
        invalid_object('spec.ingress[0].icmp', 'ICMP code specified without an ICMP type')),
    'gnp-noticmp-code-without-type': (
        gnp(egress=[{'action': 'Allow', 'protocol': 'ICMP', 'notICMP': {'code': 3}}]), None,
        invalid_object('spec.egress[0].notICMP', 'ICMP code specified without an ICMP type')),
    'np-http-on-pass': (
        np_(egress=[{'action': 'Pass', 'http': {'methods': ['GET']}}]), None,
        forbidden('spec.egress[0]', 'HTTP match is only valid on Allow rules')),
    'np-http-with-protocol-17': (
        np_(ingress=[{'action': 'Allow', 'protocol': 17, 'http': {'methods': ['GET']}}]), None,
        invalid_object('spec.ingress[0]', 'rules with HTTP match must have protocol TCP or unset')),
    'np-notports-with-services': (
        np_(ingress=[{'action': 'Allow', 'destination': {'services': {'name': 'web'}, 'notPorts': ['http']}}]), None,
        forbidden('spec.ingress[0]', 'ports and notPorts cannot be specified with services')),
    'np-icmp-code-without-type': (
        np_(ingress=[{'action': 'Allow', 'notICMP': {'code': 0}}]), None,
        invalid_object('spec.ingress[0].notICMP', 'ICMP code specified without an ICMP type')),
    'hep-node-required': (
        obj('HostEndpoint', 'h', interfaceName='eth0'), None,
        invalid_object('spec', 'node must be specified')),
    'hep-interface-or-expectedips': (
        obj('HostEndpoint', 'h', node='node1', expectedIPs=[]), None,
        invalid_object('spec', 'at least one of interfaceName or expectedIPs must be specified')),
    'tier-default-must-deny': (
        tier('default', order=1000000, defaultAction='Pass'), None,
        invalid_object('<nil>', "The 'default' tier must have default action 'Deny'")),
    'tier-kube-admin-must-pass': (
        tier('kube-admin', order=1000, defaultAction='Deny'), None,
        invalid_object('<nil>', "The 'kube-admin' tier must have default action 'Pass'")),
    'tier-kube-baseline-must-pass': (
        tier('kube-baseline', order=10000000), None,  # the schema default (Deny) applies first
        invalid_object('<nil>', "The 'kube-baseline' tier must have default action 'Pass'")),
    'ippool-cidr-immutable': (
        ippool(cidr='10.20.0.0/16'), ippool(),
        invalid_object('spec.cidr', 'CIDR cannot be changed; follow IP pool migration guide to avoid corruption.',
                       'string')),
    'ippool-blocksize-immutable': (
        ippool(blockSize=28), ippool(blockSize=26),
        invalid_object('spec.blockSize',
                       'Block size cannot be changed; follow IP pool migration guide to avoid corruption.',
                       'integer')),
    'ippool-ipip-and-vxlan': (
        ippool(ipipMode='Always', vxlanMode='CrossSubnet'), None,
        forbidden('spec', 'ipipMode and vxlanMode cannot both be enabled')),
    'ippool-loadbalancer-encapsulated': (
        ippool(allowedUses=['LoadBalancer'], vxlanMode='Always'), None,
        forbidden('spec', 'LoadBalancer IP pool cannot have IPIP or VXLAN enabled')),
    'ippool-loadbalancer-with-workload': (
        ippool(allowedUses=['Workload', 'LoadBalancer']), None,
        forbidden('spec', 'LoadBalancer cannot be combined with Workload or Tunnel allowed uses')),
    'ippool-ipip-on-ipv6': (
        ippool(cidr='fd00:10::/64', ipipMode='CrossSubnet'), None,
        forbidden('spec', 'IPIP is not supported on IPv6 pools')),
}


@pytest.mark.parametrize('case', sorted(CEL_CASES))
def test_cel_rule(case):
    """§6.1: the CEL rules of the 3.32 v3 CRDs are enforced at admission, worded and placed as kube-apiserver does
    (`Forbidden: <message>` for reason FieldValueForbidden, `Invalid value: "<schema type>": <message>` otherwise);
    §4.1: built-in tier defaultAction pins; §6.1/§9.5: IPPool CIDR and blockSize immutable on update."""
    o, old, expected = CEL_CASES[case]
    assert causes_of(o, old) == [expected]


def test_every_cel_rule_of_the_policy_hep_tier_ippool_crds_is_covered():
    """§6.1: each x-kubernetes-validations rule of the GNP, NP, HEP, Tier and IPPool CRDs is hit by CEL_CASES."""
    wanted = set()
    for name in ('globalnetworkpolicies', 'networkpolicies', 'hostendpoints', 'tiers', 'ippools'):
        with open(os.path.join(crd_mode.crd_dir(), f'projectcalico.org_{name}.yaml'), encoding='utf-8') as fh:
            doc = yaml.safe_load(fh)

        def walk(node, kind=doc['spec']['names']['kind']):
            if isinstance(node, dict):
                for rule in node.get('x-kubernetes-validations') or ():
                    wanted.add((kind, rule['message'].strip()))
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)
        walk(doc['spec']['versions'][0]['schema'])
    hit = {(o['kind'], c['message'].split(': ', 1)[1].split('": ', 1)[-1]) for o, _old, c in CEL_CASES.values()}
    assert wanted - hit == set()
    assert len(wanted) == 23  # GNP 8, NP 4, HEP 2, Tier 3, IPPool 6


def test_cel_rules_pass_on_valid_objects():
    """§6.1: valid objects pass every rule (protocol 6 and 'TCP' both satisfy the HTTP rule; ICMP with type)."""
    accepted(gnp(preDNAT=True, applyOnForward=True, types=['Ingress'], ingress=[
        {'action': 'Allow', 'protocol': 6, 'http': {'methods': ['GET']}},
        {'action': 'Allow', 'protocol': 'TCP', 'http': {'paths': [{'exact': '/'}]}},
        {'action': 'Allow', 'protocol': 'ICMP', 'icmp': {'type': 8, 'code': 0}},
        {'action': 'Allow', 'destination': {'services': {'name': 'web', 'namespace': 'shop'}, 'ports': []}}]))
    accepted(gnp(doNotTrack=True, applyOnForward=True, ingress=[{'action': 'Allow'}]))
    accepted(hep(expectedIPs=['10.0.0.1']))
    accepted(obj('HostEndpoint', 'h', node='node1', expectedIPs=['10.0.0.1']))
    accepted(tier('default', order=1000000, defaultAction='Deny'))
    accepted(tier('kube-admin', order=1000, defaultAction='Pass'))
    accepted(tier('kube-baseline', order=10000000, defaultAction='Pass'))
    accepted(ippool(cidr='fd00:10::/64', vxlanMode='Always'))
    accepted(ippool(allowedUses=['LoadBalancer'], ipipMode='Never'))


def test_rule_errors_are_collected_together():
    """§6.1: every failing rule is reported in one 422 (spec-level rules first, then the rules of each list item)."""
    causes = causes_of(gnp(preDNAT=True, doNotTrack=True, egress=[
        {'action': 'Deny', 'protocol': 'UDP', 'http': {'methods': ['GET']}, 'icmp': {'code': 1}}]))
    assert [c['message'].rsplit(': ', 1)[-1] for c in causes] == [
        'preDNAT and doNotTrack cannot both be true', 'preDNAT policy cannot have any egress rules',
        "preDNAT policy cannot have 'Egress' type", 'applyOnForward must be true if either preDNAT or doNotTrack is true',
        'rules with HTTP match must have protocol TCP or unset', 'HTTP match is only valid on Allow rules',
        'ICMP code specified without an ICMP type']


def test_transition_rules_only_run_on_updates():
    """§9.5: `self == oldSelf` (CIDR, blockSize) is a transition rule: not evaluated on create, passes when unchanged."""
    accepted(ippool(cidr='10.30.0.0/16', blockSize=26))
    accepted(ippool(blockSize=26, natOutgoing=True), ippool(blockSize=26))


def test_other_crds_rules():
    """§9.7, §9.6: FelixConfiguration nodeSelector (root rule using startsWith) and routeTableRange(s); BGPConfiguration
    node-mesh fields need the mesh enabled."""
    assert causes_of(obj('FelixConfiguration', 'node.worker1', nodeSelector='all()')) == [
        forbidden('<nil>', "nodeSelector must not be set on the 'default' or per-node ('node.*') FelixConfiguration")]
    accepted(obj('FelixConfiguration', 'edge-nodes', nodeSelector="role == 'edge'"))
    assert causes_of(obj('FelixConfiguration', 'default', routeTableRange={'min': 1, 'max': 250},
                         routeTableRanges=[{'min': 1, 'max': 250}])) == [
        forbidden('spec', 'routeTableRange and routeTableRanges cannot both be set')]
    causes = causes_of(obj('BGPConfiguration', 'default', nodeToNodeMeshEnabled=False, nodeMeshMaxRestartTime='120s'))
    assert causes == [forbidden('spec', 'nodeMeshMaxRestartTime cannot be set when nodeToNodeMeshEnabled is false')]


def test_cel_error_wording_for_missing_keys():
    """§6.1: a rule that fails to evaluate is reported as kube-apiserver words a cel-go error."""
    node = crd_mode.Node({'type': 'object', 'x-kubernetes-validations': [
        {'rule': 'self.a == 1', 'message': 'a must be 1'},
        {'rule': "self.b > 2"}]})
    errs, warns = [], []
    crd_mode._validate_rules(node, {'b': 'x'}, 'spec', errs, warns)
    assert errs == [
        invalid_object('spec', 'no such key: a evaluating rule: a must be 1'),
        invalid_object('spec', "'no such overload': call arguments did not match a supported operator, function or "
                               'macro signature for rule: self.b > 2')]


def test_message_expression_reason_and_field_path_are_honoured():
    """§6.1 (CEL rules): messageExpression beats message, reason picks the error type, fieldPath moves the error;
    without message the text is `failed rule: <rule>`."""
    node = crd_mode.Node({'type': 'object', 'properties': {'ports': {'type': 'array', 'items': {'type': 'integer'}}},
                          'x-kubernetes-validations': [
                              {'rule': 'size(self.ports) < 2', 'message': 'static',
                               'messageExpression': "'too many ports: ' + string(size(self.ports))",
                               'reason': 'FieldValueForbidden', 'fieldPath': '.ports'},
                              {'rule': 'self.ports.all(p, p > 10)', 'reason': 'FieldValueRequired'},
                              {'rule': 'self.ports.all(p, p > 10)', 'reason': 'FieldValueDuplicate'},
                              {'rule': 'false', 'messageExpression': "''", 'message': 'fallback'}]})
    errs, warns = [], []
    crd_mode._validate_rules(node, {'ports': [1, 2]}, 'spec', errs, warns)
    assert errs == [
        forbidden('spec.ports', 'too many ports: 2'),
        cause('spec', 'FieldValueRequired', 'Required value: failed rule: self.ports.all(p, p > 10)'),
        cause('spec', 'FieldValueDuplicate', 'Duplicate value: "object"'),
        invalid_object('spec', 'fallback')]


# --- schema: enums, lists, sets, lengths, formats ----------------------------------------------------------------
def test_types_min_items():
    """§6.2: `types: []` is not defaulted by the MAP (types present) and fails minItems: 1."""
    assert causes_of(gnp(types=[], ingress=[{'action': 'Allow'}])) == [
        cause('spec.types', 'FieldValueInvalid', 'Invalid value: 0: spec.types in body should have at least 1 items')]


def test_types_enum_max_items_and_duplicates():
    """§6.1: `types` is 1-2 items of Ingress/Egress, list-type set (duplicates are an error, not merged)."""
    assert causes_of(gnp(types=['Ingress', 'Foo'])) == [
        cause('spec.types[1]', 'FieldValueNotSupported', 'Unsupported value: "Foo": supported values: "Ingress", "Egress"'),
        cause('<nil>', 'FieldValueInvalid', NOT_CHECKED)]
    assert causes_of(gnp(types=['Ingress', 'Ingress'])) == [
        cause('spec.types[1]', 'FieldValueDuplicate', 'Duplicate value: "Ingress"')]
    assert causes_of(gnp(types=['Ingress', 'Egress', 'Ingress']))[:2] == [
        cause('spec.types', 'FieldValueTooMany', 'Too many: 3: must have at most 2 items'),
        cause('spec.types[2]', 'FieldValueDuplicate', 'Duplicate value: "Ingress"')]


def test_rule_enums():
    """§6.1: `action` enum Allow/Deny/Log/Pass, `ipVersion` enum 4/6; an enum failure blocks the CEL rules."""
    assert causes_of(gnp(ingress=[{'action': 'Reject', 'ipVersion': 5}])) == [
        cause('spec.ingress[0].action', 'FieldValueNotSupported',
              'Unsupported value: "Reject": supported values: "Allow", "Deny", "Log", "Pass"'),
        cause('spec.ingress[0].ipVersion', 'FieldValueNotSupported', 'Unsupported value: 5: supported values: "4", "6"'),
        cause('<nil>', 'FieldValueInvalid', NOT_CHECKED)]
    assert causes_of(gnp(ingress=[{'protocol': 'TCP'}])) == [
        cause('spec.ingress[0].action', 'FieldValueRequired', 'Required value'),
        cause('<nil>', 'FieldValueInvalid', NOT_CHECKED)]


def test_blocking_schema_error_skips_cel():
    """§6.1 / [K8s]: with a type/enum/required/too-long error present, the CEL rules are not run."""
    causes = causes_of(gnp(preDNAT=True, doNotTrack=True, order='first'))
    assert causes == [
        cause('spec.order', 'FieldValueTypeInvalid',
              'Invalid value: "string": spec.order in body must be of type number: "string"'),
        cause('<nil>', 'FieldValueInvalid', NOT_CHECKED)]


def test_set_duplicates():
    """§6.1, §9.2: list-type set makes duplicates an error: HEP expectedIPs and profiles, GNS nets, rule nets (not
    notNets), serviceAccounts.names."""
    assert causes_of(hep(expectedIPs=['10.0.0.1', '10.0.0.2', '10.0.0.1'], profiles=['p', 'p'])) == [
        cause('spec.expectedIPs[2]', 'FieldValueDuplicate', 'Duplicate value: "10.0.0.1"'),
        cause('spec.profiles[1]', 'FieldValueDuplicate', 'Duplicate value: "p"')]
    assert causes_of(obj('GlobalNetworkSet', 'blocked', nets=['192.0.2.0/24', '192.0.2.0/24'])) == [
        cause('spec.nets[1]', 'FieldValueDuplicate', 'Duplicate value: "192.0.2.0/24"')]
    assert causes_of(gnp(ingress=[{'action': 'Deny', 'source': {'nets': ['10.0.0.0/8', '10.0.0.0/8'],
                                                                'notNets': ['10.1.0.0/16', '10.1.0.0/16']},
                                   'destination': {'serviceAccounts': {'names': ['a', 'a']}}}])) == [
        cause('spec.ingress[0].destination.serviceAccounts.names[1]', 'FieldValueDuplicate', 'Duplicate value: "a"'),
        cause('spec.ingress[0].source.nets[1]', 'FieldValueDuplicate', 'Duplicate value: "10.0.0.0/8"')]


def test_lengths_ranges_and_list_limits():
    """§6.1: interfaceName <= 15, node <= 253, HEP port 1-65535, HTTP methods/paths <= 20, path <= 1024."""
    assert causes_of(hep(interfaceName='a-very-long-ifname')) == [
        cause('spec.interfaceName', 'FieldValueTooLong', 'Too long: may not be more than 15 bytes'),
        cause('<nil>', 'FieldValueInvalid', NOT_CHECKED)]
    assert causes_of(hep(node='n' * 254))[0] == cause('spec.node', 'FieldValueTooLong',
                                                      'Too long: may not be more than 253 bytes')
    assert causes_of(hep(ports=[{'name': 'web', 'port': 0, 'protocol': 'TCP'},
                                {'name': 'big', 'port': 70000, 'protocol': 6}])) == [
        cause('spec.ports[0].port', 'FieldValueInvalid',
              'Invalid value: 0: spec.ports[0].port in body should be greater than or equal to 1'),
        cause('spec.ports[1].port', 'FieldValueInvalid',
              'Invalid value: 70000: spec.ports[1].port in body should be less than or equal to 65535')]
    causes = causes_of(gnp(ingress=[{'action': 'Allow', 'http': {'methods': ['GET'] * 21,
                                                                 'paths': [{'exact': '/' + 'p' * 1024}]}}]))
    assert causes[:2] == [
        cause('spec.ingress[0].http.methods', 'FieldValueTooMany', 'Too many: 21: must have at most 20 items'),
        cause('spec.ingress[0].http.paths[0].exact', 'FieldValueTooLong', 'Too long: may not be more than 1024 bytes')]


def test_int_or_string_fields():
    """§9.3: protocol and ports are int-or-string; other types are refused by the schema."""
    accepted(gnp(ingress=[{'action': 'Allow', 'protocol': 'TCP', 'destination': {'ports': [80, '8000:8080', 'web']}},
                          {'action': 'Allow', 'protocol': 132}]))
    causes = causes_of(gnp(ingress=[{'action': 'Allow', 'protocol': True}]))
    assert cause('spec.ingress[0].protocol', 'FieldValueTypeInvalid',
                 'Invalid value: "boolean": spec.ingress[0].protocol in body must be of type integer,string: "boolean"'
                 ) in causes


def test_ippool_cidr_format_is_a_schema_check():
    """§9.5: IPPool spec.cidr has `format: cidr` (net.ParseCIDR: host bits allowed); Calico's stricter checks don't run."""
    assert causes_of(ippool(cidr='10.0.0.0/33')) == [
        cause('spec.cidr', 'FieldValueTypeInvalid',
              'Invalid value: "10.0.0.0/33": spec.cidr in body must be of type cidr: "10.0.0.0/33"'),
        cause('<nil>', 'FieldValueInvalid', NOT_CHECKED)]
    accepted(ippool(cidr='10.0.0.1/16'))  # host bits: Calico's validator would refuse this
    assert causes_of(ippool(allowedUses=['Workload', 'Workload']))[0]['reason'] == 'FieldValueDuplicate'
    assert causes_of(obj('IPPool', 'p', blockSize=26)) == [
        cause('spec.cidr', 'FieldValueRequired', 'Required value'), cause('<nil>', 'FieldValueInvalid', NOT_CHECKED)]


def test_tier_default_action_enums():
    """§4.2: Tier defaultAction is Deny or Pass (two enums, allOf)."""
    assert causes_of(tier('security', order=100, defaultAction='Allow')) == [
        cause('spec.defaultAction', 'FieldValueNotSupported',
              'Unsupported value: "Allow": supported values: "Pass", "Deny"'),
        cause('<nil>', 'FieldValueInvalid',
              'Invalid value: "": "spec.defaultAction" must validate all the schemas (allOf)'),
        cause('<nil>', 'FieldValueInvalid', NOT_CHECKED)]


# --- no Calico Go validation (§6.1) ----------------------------------------------------------------------------
def test_calico_go_validation_does_not_run():
    """§6.1: selector syntax, CIDR syntax, notNets catch-all, port ranges, protocol names, interface names, global()
    placement and services combinations are not checked at admission in v3-CRD mode: all of this is accepted."""
    stored = accepted(gnp(selector='this is ((( not a selector', namespaceSelector='global(',
                          ingress=[{'action': 'Allow', 'protocol': 'NotAProtocol',
                                    'source': {'selector': '!!!', 'nets': ['not-a-cidr', '10.0.0.1/8'],
                                               'notNets': ['0.0.0.0/0']},
                                    'destination': {'ports': ['99999:1', 'x:y:z'], 'notSelector': 'a =='}},
                                   {'action': 'Deny', 'ipVersion': 6, 'source': {'nets': ['10.0.0.0/8']},
                                    'destination': {'services': {'name': 'web'}, 'selector': 'all()'}}]))
    assert stored['spec']['selector'] == 'this is ((( not a selector'
    accepted(hep(interfaceName='eth 0!', expectedIPs=['999.1.1.1']))
    accepted(obj('GlobalNetworkSet', 'bad', nets=['garbage']))
    accepted(np_(selector='role ==', types=['Ingress', 'Egress']))


# --- pruning ---------------------------------------------------------------------------------------------------
def test_unknown_fields_are_pruned_with_warnings():
    """§6.3: CRDs are structural with preserveUnknownFields: false: unknown fields are dropped, each reported as a
    warning `unknown field "<path>"` (fieldValidation Warn)."""
    o = gnp(order=1, foo=1, ingress=[{'action': 'Allow', 'bar': {'x': 1}, 'source': {'nope': True}}])
    o['extra'] = 'x'
    o['status'] = {'a': 1}
    o['metadata']['bogus'] = 1
    causes, warnings, stored = run(o)
    assert causes == []
    assert warnings == ['unknown field "extra"', 'unknown field "spec.foo"', 'unknown field "spec.ingress[0].bar"',
                        'unknown field "spec.ingress[0].source.nope"', 'unknown field "status"',
                        'unknown field "metadata.bogus"']
    assert stored['spec']['ingress'] == [{'action': 'Allow', 'source': {}}]
    assert 'extra' not in stored and 'status' not in stored and 'bogus' not in stored['metadata']


def test_spec_tier_on_a_hep_is_pruned():
    """§6.3: a field the kind does not have (e.g. spec.tier on a HostEndpoint) is pruned, not rejected."""
    causes, warnings, stored = run(hep(tier='default'))
    assert causes == [] and warnings == ['unknown field "spec.tier"'] and 'tier' not in stored['spec']


def test_nulls_of_non_nullable_fields_are_dropped():
    """§6.3 / [K8s]: a null for a non-nullable field without default is dropped while decoding; one with a default
    gets the default."""
    causes, warnings, stored = run(gnp(order=None, selector=None, tier=None, ingress=[{'action': 'Allow'}]))
    assert causes == [] and warnings == []
    assert 'order' not in stored['spec'] and 'selector' not in stored['spec'] and stored['spec']['tier'] == 'default'


def test_status_subresource_strategy():
    """§2.1, §6.3: Tier and IPPool have /status in CRD mode: a create drops status, an update keeps the stored one."""
    o = tier('security', order=100)
    o['status'] = {'conditions': []}
    assert 'status' not in run(o)[2]
    old = ippool()
    old['status'] = {'conditions': [{'type': 'Allocatable', 'status': 'True', 'reason': 'OK', 'message': '',
                                     'lastTransitionTime': '2026-01-01T00:00:00Z'}]}
    new = ippool(disabled=True)
    new['status'] = {'conditions': []}
    causes, _warnings, stored = run(new, old)
    assert causes == [] and stored['status'] == old['status']


# --- mutating admission policies and schema defaults (§6.2, §3.1) ---------------------------------------------------------
@pytest.mark.parametrize('spec, expected', [
    ({}, ['Ingress']),
    ({'ingress': [{'action': 'Allow'}]}, ['Ingress']),
    ({'egress': [{'action': 'Allow'}]}, ['Egress']),
    ({'ingress': [{'action': 'Allow'}], 'egress': [{'action': 'Allow'}]}, ['Ingress', 'Egress']),
    ({'ingress': [], 'egress': [{'action': 'Allow'}]}, ['Ingress', 'Egress']),
    ({'ingress': [{'action': 'Allow'}], 'egress': []}, ['Ingress', 'Egress']),
    ({'types': ['Egress'], 'ingress': [{'action': 'Allow'}]}, ['Egress']),
])
@pytest.mark.parametrize('build', [gnp, np_, lambda **s: obj('StagedGlobalNetworkPolicy', 's', **s),
                                   lambda **s: obj('StagedNetworkPolicy', 's', 'shop', **s)])
def test_types_defaulting_by_presence(build, spec, expected):
    """§6.2: the policytypes MAP defaults `types` only when absent, by presence (has()) of ingress/egress, not length:
    `ingress: []` plus egress rules defaults to [Ingress, Egress] in CRD mode (the API server would say [Egress])."""
    assert accepted(build(**copy.deepcopy(spec)))['spec']['types'] == expected


def test_staged_kubernetes_policy_types_defaulting():
    """§6.2, §7: for StagedKubernetesNetworkPolicy the MAP sets `policyTypes`; egress alone gives [Ingress, Egress]."""
    stored = accepted(obj('StagedKubernetesNetworkPolicy', 's', 'shop', podSelector={}, egress=[{}]))
    assert stored['spec']['policyTypes'] == ['Ingress', 'Egress'] and 'types' not in stored['spec']
    assert stored['spec']['stagedAction'] == 'Set'
    assert 'projectcalico.org/tier' not in (stored['metadata'].get('labels') or {})  # not a tierlabel resource


def test_tier_and_label_defaulting():
    """§3.1, §6.2: schema default `spec.tier: default`, and the tierlabel MAP sets the projectcalico.org/tier label to
    spec.tier (creating metadata.labels, overwriting a different value, keeping other labels)."""
    stored = accepted(gnp())
    assert stored['spec']['tier'] == 'default'
    assert stored['metadata']['labels'] == {'projectcalico.org/tier': 'default'}
    o = np_(name='security.allow', tier='security')
    o['metadata']['labels'] = {'app': 'x', 'projectcalico.org/tier': 'wrong'}
    stored = accepted(o)
    assert stored['metadata']['labels'] == {'app': 'x', 'projectcalico.org/tier': 'security'}
    assert accepted(gnp(tier=''))['spec']['tier'] == 'default'
    stored = accepted(obj('StagedGlobalNetworkPolicy', 's', tier='t1'))
    assert stored['metadata']['labels'] == {'projectcalico.org/tier': 't1'} and stored['spec']['stagedAction'] == 'Set'
    assert 'labels' not in accepted(hep())['metadata']
    o = gnp()
    o['metadata']['labels'] = None
    assert accepted(o)['metadata']['labels'] == {'projectcalico.org/tier': 'default'}


def test_label_rules_apply_to_the_tier_label():
    """§3.1: the label mirrors spec.tier, so a spec.tier that is no valid label value fails ObjectMeta validation."""
    causes = causes_of(gnp(tier='not a tier'))
    assert causes[0]['field'] == 'metadata.labels' and causes[0]['message'].startswith('Invalid value: "not a tier": ')


def test_map_values_are_typed():
    """§9.3: rule metadata.annotations is a map of strings (additionalProperties)."""
    accepted(gnp(ingress=[{'action': 'Allow', 'metadata': {'annotations': {'owner': 'team-a'}}}]))
    assert causes_of(gnp(ingress=[{'action': 'Allow', 'metadata': {'annotations': {'n': 1}}}]))[0] == cause(
        'spec.ingress[0].metadata.annotations.n', 'FieldValueTypeInvalid',
        'Invalid value: "integer": spec.ingress[0].metadata.annotations.n in body must be of type string: "integer"')


def test_defaulting_on_update_too():
    """§3.1, §6.2: the MAPs run on UPDATE as well: a policy updated without tier/types/label gets them again."""
    old = accepted(gnp(ingress=[{'action': 'Allow'}]))
    new = gnp(ingress=[{'action': 'Deny'}])
    new['metadata'] = dict(old['metadata'], labels={})
    stored = accepted(new, old)
    assert stored['spec']['tier'] == 'default' and stored['spec']['types'] == ['Ingress']
    assert stored['metadata']['labels'] == {'projectcalico.org/tier': 'default'}


def test_crd_schema_defaults():
    """§6.2: 3.32 CRD defaults appear on every read: Tier defaultAction Deny, IPPool assignmentMode Automatic,
    FelixConfiguration nftablesMode Auto, BGPConfiguration logSeverityScreen Info / serviceLoadBalancerAggregation
    Enabled / nodeMeshPassword.secretKeyRef.name "", KCC healthChecks, loadBalancer.assignIPs, policyMigration."""
    assert accepted(tier('security', order=100))['spec'] == {'order': 100, 'defaultAction': 'Deny'}
    assert accepted(ippool())['spec']['assignmentMode'] == 'Automatic'
    assert accepted(obj('FelixConfiguration', 'default'))['spec'] == {'nftablesMode': 'Auto'}
    spec = accepted(obj('BGPConfiguration', 'default', nodeMeshPassword={'secretKeyRef': {'key': 'pw'}}))['spec']
    assert spec == {'logSeverityScreen': 'Info', 'serviceLoadBalancerAggregation': 'Enabled',
                    'nodeMeshPassword': {'secretKeyRef': {'key': 'pw', 'name': ''}}}
    assert 'nodeMeshPassword' not in accepted(obj('BGPConfiguration', 'default'))['spec']
    spec = accepted(obj('KubeControllersConfiguration', 'default',
                        controllers={'loadBalancer': {}, 'policyMigration': {}}))['spec']
    assert spec == {'healthChecks': 'Enabled', 'controllers': {'loadBalancer': {'assignIPs': 'AllServices'},
                                                               'policyMigration': {'enabled': 'Enabled'}}}


def test_policy_without_spec_fails_in_the_mutating_policy():
    """§6.1 end, §14.10: `spec` is required; for policy kinds the MAPs already fail on `object.spec` (failurePolicy
    Fail), so kube-apiserver answers 403 with reason Invalid naming the policy and binding."""
    o = gnp()
    del o['spec']
    with pytest.raises(AdmissionPolicyDenied) as exc:
        admit('GlobalNetworkPolicy', o, None, CRD_PROFILE)
    status = exc.value.status()
    assert status['code'] == 403 and status['reason'] == 'Invalid'
    assert status['message'] == (
        "policy 'policytypes.policy.projectcalico.org' with binding 'set-policytypes-binding' denied request: "
        "expression '!has(object.spec.types) && !has(object.spec.policyTypes)' resulted in error: no such key: spec")
    assert len(status['details']['causes']) == 2
    assert status['details']['causes'][1]['message'].startswith(
        "policy 'tierlabel.policy.projectcalico.org' with binding 'set-tier-label-binding' denied request: ")


def test_spec_required():
    """§6.1 end, §9.2, §14.10: every v3 CRD kind requires `spec`: a GlobalNetworkSet without it is refused, `spec: {}`
    is fine."""
    o = obj('GlobalNetworkSet', 'empty')
    del o['spec']
    assert causes_of(o) == [cause('spec', 'FieldValueRequired', 'Required value'),
                            cause('<nil>', 'FieldValueInvalid', NOT_CHECKED)]
    accepted(obj('GlobalNetworkSet', 'empty'))
    o = hep()
    o['spec'] = None  # a null spec is dropped while decoding, then missing
    assert causes_of(o)[0] == cause('spec', 'FieldValueRequired', 'Required value')


# --- names (§3.2) ----------------------------------------------------------------------------------------------
def test_names_are_dns_subdomains():
    """§3.2: v3-CRD mode checks only the Kubernetes object-name rule (DNS-1123 subdomain, <= 253, any number of dots):
    `default.foo` and `a.b.c` are fine, uppercase and underscores are not."""
    for name in ('default.foo', 'a.b.c', 'security.allow-dns', 'x' * 63 + '.' + 'y' * 63):
        accepted(gnp(name=name))
    message = ("Invalid value: \"Allow_DNS\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
               "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
               "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    assert causes_of(gnp(name='Allow_DNS')) == [cause('metadata.name', 'FieldValueInvalid', message)]
    assert causes_of(gnp(name='a' * 254))[0] == cause('metadata.name', 'FieldValueInvalid',
                                                      f'Invalid value: "{"a" * 254}": must be no more than 253 characters')
    o = gnp()
    del o['metadata']['name']
    assert causes_of(o)[0] == cause('metadata.name', 'FieldValueRequired',
                                    'Required value: name or generateName is required')


# --- ratcheting (updates) -------------------------------------------------------------------------------------
def test_update_ratchets_unchanged_invalid_values():
    """§6.1 / [K8s] validation ratcheting: on update, an unchanged value that no longer validates is let through (CEL
    errors on it become warnings); a changed one is checked."""
    old = ippool(ipipMode='Always', vxlanMode='Always', blockSize=26)  # stored before the rule existed
    causes, warnings = run(ippool(ipipMode='Always', vxlanMode='Always', blockSize=26, disabled=True), old)[:2]
    assert causes == [forbidden('spec', 'ipipMode and vxlanMode cannot both be enabled')]  # spec itself changed
    old = hep(interfaceName='a-very-long-ifname')
    new = copy.deepcopy(old)
    new['metadata']['labels'] = {'a': 'b'}
    assert run(new, old)[:2] == ([], [])
    old = obj('GlobalNetworkSet', 'n', nets=['10.0.0.0/8', '10.0.0.0/8'])
    new = copy.deepcopy(old)
    new['metadata']['labels'] = {'a': 'b'}
    assert causes_of(new, old) == []  # the old object already had duplicates
    new['spec']['nets'].append('10.1.0.0/16')
    assert causes_of(new, old) == []
    assert causes_of(obj('GlobalNetworkSet', 'n', nets=['1.1.1.1', '1.1.1.1']), obj('GlobalNetworkSet', 'n'))[0][
        'reason'] == 'FieldValueDuplicate'


def test_update_unchanged_cel_violation_is_a_warning():
    """[K8s] ratcheting of CEL rules: a rule failing on an unchanged, correlatable value is only a warning."""
    old = hep(node='', interfaceName='eth0')
    new = copy.deepcopy(old)
    new['metadata']['labels'] = {'a': 'b'}
    causes, warnings = run(new, old)[:2]
    assert causes == [] and warnings == ['spec: Invalid value: "object": node must be specified']


# --- DELETE: ValidatingAdmissionPolicy (§4.1, §13) ----------------------------------------------------------------
@pytest.mark.parametrize('name', ['default', 'kube-admin', 'kube-baseline'])
def test_builtin_tiers_cannot_be_deleted(name):
    """§4.1, §13: the protect-builtin-tiers VAP refuses DELETE of default, kube-admin and kube-baseline."""
    denials = admit_delete('Tier', tier(name), CRD_PROFILE)
    assert [d['message'] for d in denials] == [f'The built-in tier {name} cannot be deleted']
    status = denial_error('Tier', name, denials).status()
    text = (f"ValidatingAdmissionPolicy 'protect-builtin-tiers.projectcalico.org' with binding "
            f"'protect-builtin-tiers.projectcalico.org' denied request: The built-in tier {name} cannot be deleted")
    assert status['code'] == 422 and status['reason'] == 'Invalid'
    assert status['message'] == f'tiers.projectcalico.org "{name}" is forbidden: {text}'
    assert status['details'] == {'name': name, 'group': 'projectcalico.org', 'kind': 'tiers',
                                 'causes': [{'message': text}]}


def test_other_deletes_are_allowed():
    """§4.1, §4.2: other tiers (including the 3.29-3.31 adminnetworkpolicy tiers), and other kinds, may be deleted;
    3.32.0 had no such VAP (it shipped with 3.32.1, #12982)."""
    assert admit_delete('Tier', tier('adminnetworkpolicy'), CRD_PROFILE) == []
    assert admit_delete('Tier', tier('security'), None) == []
    assert admit_delete('GlobalNetworkPolicy', gnp(name='default'), CRD_PROFILE) == []
    assert admit_delete('Tier', tier('default'), types.SimpleNamespace(crd_mode=True, minor=(3, 32), patch=0)) == []


# --- interface, reference data, speed -----------------------------------------------------------------------------
def test_only_for_crd_mode_profiles():
    """§2: this module models v3-CRD mode only; None means 3.32.1 CRD mode."""
    with pytest.raises(ValueError):
        admit('GlobalNetworkPolicy', gnp(), None, types.SimpleNamespace(crd_mode=False, name='3.32.1'))
    assert admit('GlobalNetworkPolicy', gnp(), None, CRD_PROFILE) == ([], [])
    with pytest.raises(KeyError, match='Profile'):
        admit('Profile', obj('Profile', 'p'), None, None)  # no Profile CRD in CRD mode (§2.1)


def test_reference_dir_from_environment(tmp_path, monkeypatch):
    """The CRDs are read at run time; CALICO_REFERENCE_DIR may point at another shared/calico-like directory; without
    CRDs admit() raises CrdSchemasMissing naming the directory and the variable."""
    monkeypatch.setenv(crd_mode.ENV_VAR, str(tmp_path))
    with pytest.raises(CrdSchemasMissing) as exc:
        admit('GlobalNetworkPolicy', gnp(), None, None)
    assert str(tmp_path / 'crds-3.32') in str(exc.value) and 'CALICO_REFERENCE_DIR' in str(exc.value)
    shutil.copytree(os.path.join(crd_mode.DEFAULT_REFERENCE_DIR, 'crds-3.32'), tmp_path / 'crds-3.32')
    assert crd_mode.missing_reason() is None
    assert admit('GlobalNetworkPolicy', gnp(), None, None) == ([], [])


def test_every_rule_of_every_crd_compiles():
    """§6.1: the real CEL engine compiles every x-kubernetes-validations rule of all 3.32 CRDs and the MAP/VAP
    expressions (a loaded reference means all of them compiled)."""
    ref = crd_mode.load_reference(crd_mode.crd_dir())
    files = glob.glob(os.path.join(crd_mode.crd_dir(), 'projectcalico.org_*.yaml'))
    assert len(ref.crds) == len(files) == 14
    assert [p.name for p in ref.mutating] == ['policytypes.policy.projectcalico.org',
                                              'tierlabel.policy.projectcalico.org']
    assert [p.name for p in ref.validating] == ['protect-builtin-tiers.projectcalico.org']


def _sample(node: crd_mode.Node, depth=0):
    """A value with every property present (enum: first value; int-or-string: a string), for rule evaluation."""
    if node.enum:
        return node.enum[0]
    if node.props is not None and depth < 12:
        return {k: _sample(v, depth + 1) for k, v in node.props.items()}
    if node.items is not None and depth < 12:
        return [_sample(node.items, depth + 1)]
    if node.addl is not None:
        return {'k': _sample(node.addl, depth + 1)}
    return {'string': 'x', 'integer': node.minimum if node.minimum is not None else 1, 'number': 1.5,
            'boolean': False, 'object': {}, 'array': []}.get(node.types[-1] if node.types else 'string', 'x')


def test_cel_engine_evaluates_every_rule_of_every_crd():
    """§6.1: the CEL engine (cel-expr-python) evaluates every x-kubernetes-validations rule of all 14 3.32 CRDs to a
    bool (has(), exists, size, startsWith, contains, ternaries, self == oldSelf, int-or-string comparisons)."""
    ref = crd_mode.load_reference(crd_mode.crd_dir())
    evaluated = 0

    def walk(node, root=False):
        nonlocal evaluated
        if node.rules:
            value = _sample(node)
            if root:
                value['metadata'] = {'name': 'default'}
            for rule in node.rules:
                result = crd_mode._eval(rule.program, {'self': value, 'oldSelf': value})
                assert isinstance(result, bool), rule.rule
                evaluated += 1
        for child in list((node.props or {}).values()) + [c for c in (node.items, node.addl) if c]:
            walk(child)

    for crd in ref.crds.values():
        walk(crd.schema, root=True)
    assert evaluated == sum(len(re.findall(r'^ *rule:', open(f, encoding='utf-8').read(), re.M))
                            for f in glob.glob(os.path.join(crd_mode.crd_dir(), 'projectcalico.org_*.yaml')))


@pytest.mark.parametrize('expression, data, expected', [
    ("has(self.a) && !has(self.b)", {'self': {'a': 1}}, True),
    ("self.x.exists(t, t == 'Egress')", {'self': {'x': ['Ingress', 'Egress']}}, True),
    ("size(self.s) > 0 && size(self.l) == 2", {'self': {'s': 'ab', 'l': [1, 2]}}, True),
    ("self.n.startsWith('node.') && self.c.contains(':')", {'self': {'n': 'node.a', 'c': 'fd00::/64'}}, True),
    ("self.n == 'default' ? self.v == 'Deny' : true", {'self': {'n': 'default', 'v': 'Pass'}}, False),
    ("self == oldSelf", {'self': {'a': [1, 2]}, 'oldSelf': {'a': [1, 2]}}, True),
    ("self == oldSelf", {'self': '10.0.0.0/8', 'oldSelf': '10.0.0.0/16'}, False),
    ("self.p == 'TCP' || self.p == 6", {'self': {'p': 'UDP'}}, False),  # heterogeneous equality is false, no error
    ("self.p == 'TCP' || self.p == 6", {'self': {'p': 6}}, True),
])
def test_cel_semantics(expression, data, expected):
    """§6.1: the CEL constructs the 3.32 CRD rules use behave as in cel-go (Kubernetes' engine)."""
    assert crd_mode._eval(crd_mode._compile(expression, 'rule'), data) is expected


def test_admit_is_fast():
    """The emulator must stay fast: a policy write costs well under a millisecond after warm-up (generous bound)."""
    o = gnp(order=10, selector="role == 'db'", ingress=[
        {'action': 'Allow', 'protocol': 'TCP', 'source': {'selector': "role == 'web'", 'nets': ['10.0.0.0/8']},
         'destination': {'ports': [5432]}}] * 3, egress=[{'action': 'Allow'}])
    admit('GlobalNetworkPolicy', copy.deepcopy(o), None, None)
    n = 200
    start = time.process_time()
    for _round in range(n):
        admit('GlobalNetworkPolicy', copy.deepcopy(o), None, None)
    assert (time.process_time() - start) / n < 0.005
