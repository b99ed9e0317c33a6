"""Calico admission (API-server mode) for projectcalico.org/v3 HostEndpoint, GlobalNetworkPolicy, NetworkPolicy and,
from 3.29/3.30, Tier and the staged policy kinds.

An independent re-implementation of libcalico-go's v3 validator and clientv3 defaulting (as described in
SPEC §1-4 and §13 for 3.28, SPEC-3.29-3.32 §3, §4.2, §7 and §9.3 for later versions), so that collection tests
meet the errors a real Calico API server would raise. It deliberately shares no code with the collection's own
client-side validation. Without a profile (or with 3.28) it is exactly the 3.28 admission.

`admit(kind, obj, profile)` fills defaults in place and returns a list of causes ({'field', 'message', 'reason'});
an empty list means the object is accepted.
"""
from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from . import validation
from .profiles import CalicoProfile
from .selectors import SelectorError, parse_selector

ADMITTED_KINDS = ('HostEndpoint', 'GlobalNetworkPolicy', 'NetworkPolicy')   # 3.28
TIER_KINDS = ('Tier',)                                                       # 3.29+
STAGED_KINDS = ('StagedGlobalNetworkPolicy', 'StagedNetworkPolicy', 'StagedKubernetesNetworkPolicy')  # 3.30+

INTERFACE_NAME_RE = re.compile(r'^[a-zA-Z0-9_.-]{1,15}$')
NAMED_PORT_RE = re.compile(r'^[a-zA-Z0-9_.-]{1,128}$')
PORT_RANGE_RE = re.compile(r'^(\d+):(\d+)$')
NP_NAME_RE = re.compile(r'^((knp|ossg)\.default\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'
                        r'|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$')
# 3.29+ validator regexes (SPEC-3.29-3.32 §3.2): one optional dot.
_LABEL = r'[a-z0-9]([-a-z0-9]*[a-z0-9])?'
_SUBDOMAIN = _LABEL + r'(\.' + _LABEL + r')*'
GNP_NAME_RE_329 = re.compile(rf'^({_LABEL}\.)?{_LABEL}$')
NP_NAME_RE_329 = re.compile(rf'^(({_LABEL})(\.{_LABEL})?|((knp|ossg)\.default\.({_SUBDOMAIN})))$')
NAME_REGEX_MESSAGE = f"name must consist of lower case alphanumeric characters or '-' (regex: {_LABEL})"
STAGED_ACTIONS = ('Set', 'Delete', 'Learn', 'Ignore')
TIER_ACTIONS = ('Deny', 'Pass')
SKNP_SPEC_FIELDS = {'podSelector', 'policyTypes', 'ingress', 'egress', 'stagedAction'}
ACTIONS = ('Allow', 'Deny', 'Log', 'Pass')
PROTOCOL_NAMES = ('TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite')
PORT_PROTOCOL_NAMES = ('TCP', 'UDP', 'SCTP')
PORT_PROTOCOL_NUMBERS = (6, 17, 132)
POLICY_TYPES = ('Ingress', 'Egress')
PERFORMANCE_HINTS = ('AssumeNeededOnEveryNode',)
MAX_ANNOTATIONS_BYTES = 256 * 1024

HEP_SPEC_FIELDS = {'node', 'interfaceName', 'expectedIPs', 'profiles', 'ports'}
NP_SPEC_FIELDS = {'order', 'selector', 'serviceAccountSelector', 'types', 'ingress', 'egress', 'performanceHints'}
GNP_SPEC_FIELDS = NP_SPEC_FIELDS | {'namespaceSelector', 'doNotTrack', 'preDNAT', 'applyOnForward'}
RULE_FIELDS = {'action', 'ipVersion', 'protocol', 'icmp', 'notProtocol', 'notICMP', 'source', 'destination',
               'http', 'metadata'}
ENTITY_FIELDS = {'nets', 'selector', 'namespaceSelector', 'ports', 'notNets', 'notSelector', 'notPorts',
                 'serviceAccounts', 'services'}


class _Causes(list):
    def add(self, field: str, message: str, reason: str = 'FieldValueInvalid'):
        self.append({'field': field, 'message': message, 'reason': reason})

    def invalid(self, field: str, value: Any, why: str):
        self.add(field, f'Invalid value: {json.dumps(value, default=str)}: {why}')

    def unknown_fields(self, field: str, value: Any, allowed: set[str]):
        if not isinstance(value, dict):
            self.invalid(field, value, 'must be an object')
            return False
        for key in sorted(set(value) - allowed):
            self.add(f'{field}.{key}', f'unknown field "{key}"', reason='FieldValueNotSupported')
        return True


def admits(kind: str, profile: CalicoProfile | None = None) -> bool:
    """Whether this module validates `kind` on the profile (other Calico kinds only get ObjectMeta checks)."""
    if kind in ADMITTED_KINDS:
        return True
    if profile is None:
        return False
    return (kind in TIER_KINDS and profile.has_tiers) or (kind in STAGED_KINDS and profile.has_staged)


# --- defaulting -------------------------------------------------------------------------------------
def apply_defaults(kind: str, obj: dict, profile: CalicoProfile | None = None) -> None:
    """clientv3 defaulting: empty policy `types` become Ingress/Egress depending on the rules present; Tier order and
    defaultAction (3.29+, SPEC-3.29-3.32 §4.2); staged `stagedAction` Set (§7; a staged Delete keeps an empty
    spec)."""
    spec = obj.get('spec')
    if kind == 'Tier':
        if spec is None:
            spec = obj['spec'] = {}
        if isinstance(spec, dict):
            spec.setdefault('order', 1_000_000)
            spec.setdefault('defaultAction', 'Deny')
        return
    if kind in STAGED_KINDS and isinstance(spec, dict):
        spec.setdefault('stagedAction', 'Set')
        if spec['stagedAction'] == 'Delete' or kind == 'StagedKubernetesNetworkPolicy':
            return
    elif kind not in ('GlobalNetworkPolicy', 'NetworkPolicy'):
        return
    if not isinstance(spec, dict) or spec.get('types'):
        return
    has_egress = bool(spec.get('egress'))
    has_ingress = bool(spec.get('ingress'))
    if has_egress and has_ingress:
        spec['types'] = ['Ingress', 'Egress']
    elif has_egress:
        spec['types'] = ['Egress']
    else:
        spec['types'] = ['Ingress']


def admit(kind: str, obj: dict, profile: CalicoProfile | None = None) -> list[dict]:
    apply_defaults(kind, obj, profile)
    return validate(kind, obj, profile)


def validate(kind: str, obj: dict, profile: CalicoProfile | None = None) -> list[dict]:
    causes = _Causes()
    meta = obj.get('metadata') or {}
    _validate_metadata(kind, meta, causes, profile)
    spec = obj.get('spec')
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        causes.invalid('spec', spec, 'must be an object')
        return causes
    tiers = profile is not None and profile.has_tiers
    if kind == 'HostEndpoint':
        _validate_hep_spec(spec, causes)
    elif kind == 'GlobalNetworkPolicy':
        _validate_policy_spec(spec, causes, is_global=True, profile=profile, extra=_tier_field(tiers))
    elif kind == 'NetworkPolicy':
        _validate_policy_spec(spec, causes, is_global=False, profile=profile, extra=_tier_field(tiers))
    elif kind == 'Tier':
        _validate_tier(meta.get('name'), spec, causes, profile)
    elif kind in ('StagedGlobalNetworkPolicy', 'StagedNetworkPolicy'):
        _validate_staged_spec(spec, causes, kind == 'StagedGlobalNetworkPolicy', profile)
    elif kind == 'StagedKubernetesNetworkPolicy':
        _validate_staged_k8s_spec(spec, causes)
    return list(causes)


def _tier_field(tiers: bool) -> set[str]:
    """3.29 added `spec.tier` to the policy kinds (SPEC-3.29-3.32 §3.1); on 3.28 it stays an unknown field."""
    return {'tier'} if tiers else set()


# --- metadata ---------------------------------------------------------------------------------------
def _validate_metadata(kind: str, meta: dict, causes: _Causes, profile: CalicoProfile | None = None) -> None:
    name = meta.get('name')
    if not name:
        causes.add('metadata.name', 'Required value: name is required', reason='FieldValueRequired')
    elif not isinstance(name, str):
        causes.invalid('metadata.name', name, 'must be a string')
    else:
        err = validation.dns1123_subdomain_error(name)
        if err:
            causes.invalid('metadata.name', name, err)
        elif profile is not None and profile.has_tiers:
            _validate_tiered_name(kind, name, causes)
        elif kind == 'GlobalNetworkPolicy' and not validation.DNS1123_LABEL_RE.match(name):
            causes.invalid('metadata.name', name, 'name must be a DNS-1123 label (no dots) for GlobalNetworkPolicy')
        elif kind == 'NetworkPolicy' and not NP_NAME_RE.match(name):
            causes.invalid('metadata.name', name, 'name must be a DNS-1123 label (no dots) for NetworkPolicy')
    _validate_labels('metadata.labels', meta.get('labels'), causes)
    _validate_annotations('metadata.annotations', meta.get('annotations'), causes)


def _validate_tiered_name(kind: str, name: str, causes: _Causes) -> None:
    """3.29+ name regexes: GNP label or label.label; NP also knp.default./ossg.default. names; Tier a label."""
    if kind in ('GlobalNetworkPolicy', 'StagedGlobalNetworkPolicy'):
        ok = GNP_NAME_RE_329.match(name)
    elif kind in ('NetworkPolicy', 'StagedNetworkPolicy'):
        ok = NP_NAME_RE_329.match(name)
    elif kind == 'Tier':
        if len(name) > 63:
            causes.invalid('metadata.name', name, f'name is too long by {len(name) - 63} bytes')
        ok = validation.DNS1123_LABEL_RE.match(name)
    else:
        return
    if not ok:
        causes.invalid('metadata.name', name, NAME_REGEX_MESSAGE)


def _validate_labels(field: str, labels: Any, causes: _Causes) -> None:
    if labels is None:
        return
    if not isinstance(labels, dict):
        causes.invalid(field, labels, 'must be a map of strings')
        return
    for key, value in labels.items():
        err = validation.qualified_name_error(key)
        if err:
            causes.invalid(field, key, f'label key: {err}')
        if not isinstance(value, str):
            causes.invalid(f'{field}[{key}]', value, 'label value must be a string')
            continue
        err = validation.label_value_error(value)
        if err:
            causes.invalid(f'{field}[{key}]', value, f'label value: {err}')


def _validate_annotations(field: str, annotations: Any, causes: _Causes) -> None:
    if annotations is None:
        return
    if not isinstance(annotations, dict):
        causes.invalid(field, annotations, 'must be a map of strings')
        return
    total = 0
    for key, value in annotations.items():
        err = validation.qualified_name_error(key)
        if err:
            causes.invalid(field, key, f'annotation key: {err}')
        if not isinstance(value, str):
            causes.invalid(f'{field}[{key}]', value, 'annotation value must be a string')
            continue
        total += len(key) + len(value)
    if total > MAX_ANNOTATIONS_BYTES:
        causes.add(field, f'Too long: annotations may not exceed {MAX_ANNOTATIONS_BYTES} bytes (got {total})',
                   reason='FieldValueTooLong')


# --- HostEndpoint -----------------------------------------------------------------------------------
def _validate_hep_spec(spec: dict, causes: _Causes) -> None:
    causes.unknown_fields('spec', spec, HEP_SPEC_FIELDS)
    node = spec.get('node')
    if not node:
        causes.add('spec.node', 'Required value: no node has been specified', reason='FieldValueRequired')
    elif not isinstance(node, str) or validation.dns1123_subdomain_error(node):
        causes.invalid('spec.node', node, 'node must be a valid name (lowercase RFC 1123 subdomain)')

    iface = spec.get('interfaceName') or ''
    expected = spec.get('expectedIPs') or []
    if not isinstance(iface, str):
        causes.invalid('spec.interfaceName', iface, 'must be a string')
    elif iface and iface != '*' and not INTERFACE_NAME_RE.match(iface):
        causes.invalid('spec.interfaceName', iface,
                       'must be "*" or an interface name matching ^[a-zA-Z0-9_.-]{1,15}$')
    if not iface and not expected:
        causes.add('spec.interfaceName', 'Required value: no interface or expected IPs have been specified',
                   reason='FieldValueRequired')
    if not isinstance(expected, list):
        causes.invalid('spec.expectedIPs', expected, 'must be a list of IP addresses')
    else:
        for i, ip in enumerate(expected):
            if not _is_ip(ip):
                causes.invalid(f'spec.expectedIPs[{i}]', ip, 'must be an IP address (not a CIDR)')

    profiles = spec.get('profiles') or []
    if not isinstance(profiles, list):
        causes.invalid('spec.profiles', profiles, 'must be a list of profile names')
    else:
        for i, prof in enumerate(profiles):
            if not isinstance(prof, str) or validation.dns1123_subdomain_error(prof):
                causes.invalid(f'spec.profiles[{i}]', prof, 'profile name must be a valid name')

    ports = spec.get('ports') or []
    if not isinstance(ports, list):
        causes.invalid('spec.ports', ports, 'must be a list')
        return
    for i, port in enumerate(ports):
        _validate_endpoint_port(f'spec.ports[{i}]', port, causes)


def _validate_endpoint_port(field: str, port: Any, causes: _Causes) -> None:
    if not causes.unknown_fields(field, port, {'name', 'port', 'protocol'}):
        return
    name = port.get('name')
    err = validation.port_name_error(name) if isinstance(name, str) else 'port name is required'
    if err:
        causes.invalid(f'{field}.name', name, err)
    num = port.get('port')
    if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= 65535:
        causes.invalid(f'{field}.port', num, 'port must be an integer between 1 and 65535')
    proto = port.get('protocol')
    if not _protocol_supports_ports(proto):
        causes.invalid(f'{field}.protocol', proto, 'EndpointPort protocol does not support ports '
                                                   '(must be TCP, UDP or SCTP)')


# --- tiers and staged policies (3.29+ / 3.30+) -------------------------------------------------------
def _validate_tier(name: Any, spec: dict, causes: _Causes, profile: CalicoProfile | None) -> None:
    causes.unknown_fields('spec', spec, {'order', 'defaultAction'})
    order = spec.get('order')
    if order is not None and (isinstance(order, bool) or not isinstance(order, (int, float))):
        causes.invalid('spec.order', order, 'order must be a number')
    action = spec.get('defaultAction')
    if action is not None and action not in TIER_ACTIONS:
        causes.invalid('spec.defaultAction', action, 'defaultAction must be Deny or Pass')
    # libcalico pins the order of its built-in tiers ("default tier order must be 1e+06").
    for builtin in (profile.builtin_tiers if profile is not None else ()):
        if name == builtin.name and order != builtin.order:
            causes.invalid('spec.order', order, f'{builtin.name} tier order must be {_go_float(builtin.order)}')


def _go_float(value: float) -> str:
    """Go's %v of a float64 for these round numbers (1000 -> 1000, 1000000 -> 1e+06)."""
    return f'{float(value):g}'


def _validate_staged_spec(spec: dict, causes: _Causes, is_global: bool, profile: CalicoProfile | None) -> None:
    action = spec.get('stagedAction', 'Set')
    if action not in STAGED_ACTIONS:
        causes.invalid('spec.stagedAction', action, 'stagedAction must be one of Set, Delete, Learn, Ignore')
    enforced = {k: v for k, v in spec.items() if k != 'stagedAction'}
    if action == 'Delete':
        if any(v not in (None, '', [], {}, False, 0) for k, v in enforced.items() if k != 'tier'):
            causes.invalid('spec', spec, 'Spec fields, except Tier, should all be zero-value if stagedAction is Delete')
        return
    _validate_policy_spec(enforced, causes, is_global=is_global, profile=profile, extra={'tier'})


def _validate_staged_k8s_spec(spec: dict, causes: _Causes) -> None:
    """A Kubernetes NetworkPolicy spec plus `stagedAction` (SPEC-3.29-3.32 §7); the rules are not checked deeper."""
    causes.unknown_fields('spec', spec, SKNP_SPEC_FIELDS)
    action = spec.get('stagedAction', 'Set')
    if action not in STAGED_ACTIONS:
        causes.invalid('spec.stagedAction', action, 'stagedAction must be one of Set, Delete, Learn, Ignore')
    if action == 'Delete' and any(v not in (None, [], {}) for k, v in spec.items() if k != 'stagedAction'):
        causes.invalid('spec', spec, 'Spec fields should all be zero-value if stagedAction is Delete')
    for field in ('podSelector',):
        if field in spec and not isinstance(spec[field], dict):
            causes.invalid(f'spec.{field}', spec[field], 'must be an object')


# --- policies ---------------------------------------------------------------------------------------
def _validate_policy_spec(spec: dict, causes: _Causes, is_global: bool, profile: CalicoProfile | None = None,
                          extra: set[str] = frozenset()) -> None:
    causes.unknown_fields('spec', spec, (GNP_SPEC_FIELDS if is_global else NP_SPEC_FIELDS) | extra)

    order = spec.get('order')
    if order is not None and (isinstance(order, bool) or not isinstance(order, (int, float))):
        causes.invalid('spec.order', order, 'order must be a number')

    for sel_field in ('selector', 'serviceAccountSelector') + (('namespaceSelector',) if is_global else ()):
        _validate_selector(f'spec.{sel_field}', spec.get(sel_field), causes, allow_global=False)

    types = spec.get('types') or []
    if not isinstance(types, list):
        causes.invalid('spec.types', types, 'must be a list')
        types = []
    seen = set()
    for i, t in enumerate(types):
        if t not in POLICY_TYPES:
            causes.invalid(f'spec.types[{i}]', t, 'must be one of "Ingress", "Egress"')
        elif t in seen:
            causes.invalid(f'spec.types[{i}]', t, 'duplicate policy type')
        seen.add(t)

    hints = spec.get('performanceHints') or []
    if isinstance(hints, list):
        for i, h in enumerate(hints):
            if h not in PERFORMANCE_HINTS or hints.index(h) != i:
                causes.invalid(f'spec.performanceHints[{i}]', h, 'must be a unique "AssumeNeededOnEveryNode"')
    else:
        causes.invalid('spec.performanceHints', hints, 'must be a list')

    for flag in ('doNotTrack', 'preDNAT', 'applyOnForward'):
        if flag in spec and not isinstance(spec[flag], bool):
            causes.invalid(f'spec.{flag}', spec[flag], 'must be a boolean')
    pre_dnat = spec.get('preDNAT') is True
    do_not_track = spec.get('doNotTrack') is True
    if is_global:
        if pre_dnat and do_not_track:
            causes.invalid('spec.preDNAT', True, 'PreDNAT and DoNotTrack cannot both be true, for a given PolicySpec')
        if pre_dnat and spec.get('egress'):
            causes.invalid('spec.egress', spec.get('egress'), 'PreDNAT PolicySpec cannot have any Egress rules')
        if pre_dnat and 'Egress' in types:
            causes.invalid('spec.types', types, 'PreDNAT PolicySpec cannot have Egress in Types')
        if (pre_dnat or do_not_track) and spec.get('applyOnForward') is not True:
            causes.invalid('spec.applyOnForward', spec.get('applyOnForward', False),
                           'ApplyOnForward must be true if either PreDNAT or DoNotTrack is true, for a given PolicySpec')

    for direction in ('ingress', 'egress'):
        rules = spec.get(direction) or []
        if not isinstance(rules, list):
            causes.invalid(f'spec.{direction}', rules, 'must be a list of rules')
            continue
        for i, rule in enumerate(rules):
            _validate_rule(f'spec.{direction}[{i}]', rule, direction, is_global, causes, profile)


def _validate_selector(field: str, text: Any, causes: _Causes, allow_global: bool) -> None:
    if text is None:
        return
    if not isinstance(text, str):
        causes.invalid(field, text, 'selector must be a string')
        return
    try:
        node = parse_selector(text)
    except SelectorError as exc:
        causes.invalid(field, text, f'invalid selector: {exc}')
        return
    if not allow_global and node.uses_global():
        causes.invalid(field, text, 'global() is not allowed in this selector')


def _validate_rule(field: str, rule: Any, direction: str, is_global: bool, causes: _Causes,
                   profile: CalicoProfile | None = None) -> None:
    if not causes.unknown_fields(field, rule, RULE_FIELDS):
        return
    action = rule.get('action')
    if action not in ACTIONS:
        causes.invalid(f'{field}.action', action, 'action must be one of Allow, Deny, Log, Pass (exact case)')

    proto = rule.get('protocol')
    for pfield in ('protocol', 'notProtocol'):
        if rule.get(pfield) is not None and _protocol_error(rule[pfield]):
            causes.invalid(f'{field}.{pfield}', rule[pfield], _protocol_error(rule[pfield]))

    ip_version = rule.get('ipVersion')
    if ip_version is not None and ip_version not in (4, 6) or isinstance(ip_version, bool):
        causes.invalid(f'{field}.ipVersion', ip_version, 'ipVersion must be 4 or 6')
        ip_version = None
    if proto == 'ICMP' and ip_version == 6:
        causes.invalid(f'{field}.ipVersion', ip_version, 'ICMP protocol requires ipVersion 4')
    if proto == 'ICMPv6' and ip_version == 4:
        causes.invalid(f'{field}.ipVersion', ip_version, 'ICMPv6 protocol requires ipVersion 6')

    for ifield in ('icmp', 'notICMP'):
        icmp = rule.get(ifield)
        if icmp is None:
            continue
        if not causes.unknown_fields(f'{field}.{ifield}', icmp, {'type', 'code'}):
            continue
        itype, icode = icmp.get('type'), icmp.get('code')
        if itype is not None and (not _is_int(itype) or not 0 <= itype <= 254):
            causes.invalid(f'{field}.{ifield}.type', itype, 'ICMP type must be between 0 and 254')
        if icode is not None:
            if itype is None:
                causes.invalid(f'{field}.{ifield}.code', icode, 'ICMP code specified without an ICMP type')
            if not _is_int(icode) or not 0 <= icode <= 255:
                causes.invalid(f'{field}.{ifield}.code', icode, 'ICMP code must be between 0 and 255')
        if ifield == 'icmp' and proto not in ('ICMP', 'ICMPv6'):
            causes.invalid(f'{field}.protocol', proto, 'ICMP fields require the protocol ICMP or ICMPv6 (by name)')

    versions: set[int] = set()
    for side in ('source', 'destination'):
        entity = rule.get(side)
        if entity is None:
            continue
        _validate_entity_rule(f'{field}.{side}', entity, side, direction, is_global, proto, causes, versions)
        if profile is not None and profile.rejects_catch_all_not_nets and isinstance(entity, dict):
            _reject_catch_all_not_nets(f'{field}.{side}', entity.get('notNets'), causes)
    if len(versions) > 1:
        causes.invalid(field, sorted(versions), 'rule contains both IPv4 and IPv6 CIDRs')
    if ip_version is not None and versions and versions != {ip_version}:
        causes.invalid(f'{field}.ipVersion', ip_version, "rule IP version doesn't match CIDR version")

    http = rule.get('http')
    if http is not None:
        _validate_http(f'{field}.http', http, rule, direction, causes)

    rule_meta = rule.get('metadata')
    if rule_meta is not None and causes.unknown_fields(f'{field}.metadata', rule_meta, {'annotations'}):
        _validate_annotations(f'{field}.metadata.annotations', rule_meta.get('annotations'), causes)


def _validate_entity_rule(field: str, entity: Any, side: str, direction: str, is_global: bool, proto: Any,
                          causes: _Causes, versions: set[int]) -> None:
    if not causes.unknown_fields(field, entity, ENTITY_FIELDS):
        return
    for nfield in ('nets', 'notNets'):
        nets = entity.get(nfield) or []
        if not isinstance(nets, list):
            causes.invalid(f'{field}.{nfield}', nets, 'must be a list of CIDRs')
            continue
        for i, net in enumerate(nets):
            err, version = _cidr_check(net)
            if err:
                causes.invalid(f'{field}.{nfield}[{i}]', net, err)
            else:
                versions.add(version)

    _validate_selector(f'{field}.selector', entity.get('selector'), causes, allow_global=False)
    # 3.28 only checks `selector` for global(); notSelector: global() passes (SPEC §13.3).
    _validate_selector(f'{field}.notSelector', entity.get('notSelector'), causes, allow_global=True)
    ns_sel = entity.get('namespaceSelector')
    _validate_selector(f'{field}.namespaceSelector', ns_sel, causes, allow_global=True)
    if isinstance(ns_sel, str) and 'global(' in ns_sel:
        try:
            node = parse_selector(ns_sel)
            if node.uses_global() and node.op != 'global':
                causes.invalid(f'{field}.namespaceSelector', ns_sel, 'global() cannot be combined with other selectors')
        except SelectorError:
            pass

    for pfield in ('ports', 'notPorts'):
        ports = entity.get(pfield)
        if not ports:
            continue
        if not isinstance(ports, list):
            causes.invalid(f'{field}.{pfield}', ports, 'must be a list of ports')
            continue
        if not _protocol_supports_ports(proto):
            causes.invalid(f'{field}.{pfield}', ports, 'rules that specify ports must set protocol to TCP or UDP or SCTP')
        for i, port in enumerate(ports):
            err = _port_error(port)
            if err:
                causes.invalid(f'{field}.{pfield}[{i}]', port, err)

    sas = entity.get('serviceAccounts')
    if sas is not None and causes.unknown_fields(f'{field}.serviceAccounts', sas, {'names', 'selector'}):
        names = sas.get('names') or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            causes.invalid(f'{field}.serviceAccounts.names', names, 'must be a list of names')
        _validate_selector(f'{field}.serviceAccounts.selector', sas.get('selector'), causes, allow_global=False)

    services = entity.get('services')
    if services is not None:
        sfield = f'{field}.services'
        if not causes.unknown_fields(sfield, services, {'name', 'namespace'}):
            return
        if not services.get('name'):
            causes.add(f'{sfield}.name', 'Required value: must specify a service name', reason='FieldValueRequired')
        if is_global and not services.get('namespace'):
            causes.add(f'{sfield}.namespace', 'Required value: must specify a namespace', reason='FieldValueRequired')
        if direction == 'ingress' and side == 'destination':
            causes.invalid(sfield, services, 'ingress rules may not use destination services')
        if direction == 'egress' and side == 'source':
            causes.invalid(sfield, services, 'egress rules may not use source services')
        for other in ('selector', 'notSelector', 'namespaceSelector', 'serviceAccounts', 'nets', 'notNets'):
            if entity.get(other):
                causes.invalid(sfield, services, f'cannot specify {other} together with services')
        if side == 'destination' and (entity.get('ports') or entity.get('notPorts')):
            causes.invalid(sfield, services, 'cannot specify ports or notPorts with a destination services match')


def _reject_catch_all_not_nets(field: str, nets: Any, causes: _Causes) -> None:
    """3.29.6 / 3.30.3 / 3.31.0+ (SPEC-3.29-3.32 §9.3): a negated catch-all matches no traffic."""
    if not isinstance(nets, list):
        return
    for i, net in enumerate(nets):
        try:
            parsed = ipaddress.ip_network(net, strict=False) if isinstance(net, str) else None
        except ValueError:
            parsed = None
        if parsed is not None and parsed.prefixlen == 0:
            causes.invalid(f'{field}.notNets[{i}]', net,
                           'catch-all CIDR in negation creates logical contradiction (matches no traffic)')


def _validate_http(field: str, http: Any, rule: dict, direction: str, causes: _Causes) -> None:
    if not causes.unknown_fields(field, http, {'methods', 'paths'}):
        return
    if direction == 'egress':
        causes.invalid(field, http, 'HTTP match is not allowed in egress rules')
    if rule.get('action') != 'Allow':
        causes.invalid(field, http, 'HTTP match is only allowed on Allow rules')
    if rule.get('protocol') not in (None, 'TCP', 6):
        causes.invalid(field, http, 'HTTP match requires protocol TCP (or unset)')
    methods = http.get('methods') or []
    if len(set(map(str, methods))) != len(methods):
        causes.invalid(f'{field}.methods', methods, 'HTTP methods must not repeat')
    for i, path in enumerate(http.get('paths') or []):
        pf = f'{field}.paths[{i}]'
        if not causes.unknown_fields(pf, path, {'exact', 'prefix'}):
            continue
        if len(path) != 1:
            causes.invalid(pf, path, 'exactly one of exact or prefix must be set')
            continue
        value = next(iter(path.values()))
        if not isinstance(value, str) or not value.startswith('/') or '?' in value or '#' in value:
            causes.invalid(pf, path, "path must start with '/' and contain no '?' or '#'")


# --- scalar helpers ---------------------------------------------------------------------------------
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_ip(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _cidr_check(value: Any) -> tuple[str | None, int]:
    if not isinstance(value, str):
        return 'must be a CIDR string', 0
    if '/' not in value:
        return 'invalid CIDR: a prefix length (/len) is required', 0
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return 'invalid CIDR', 0
    if str(net.network_address) != str(ipaddress.ip_interface(value).ip):
        return 'invalid CIDR: host bits must be zero', 0
    return None, net.version


def _protocol_number(value: Any) -> int | None:
    if _is_int(value):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _protocol_error(value: Any) -> str | None:
    num = _protocol_number(value)
    if num is not None:
        return None if 1 <= num <= 255 else 'protocol number must be between 1 and 255'
    if isinstance(value, str) and value in PROTOCOL_NAMES:
        return None
    return 'protocol must be one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite (case-sensitive) or a number 1-255'


def _protocol_supports_ports(value: Any) -> bool:
    num = _protocol_number(value)
    if num is not None:
        return num in PORT_PROTOCOL_NUMBERS
    return value in PORT_PROTOCOL_NAMES


def _port_error(port: Any) -> str | None:
    if _is_int(port):
        return None if 1 <= port <= 65535 else 'port must be between 1 and 65535'
    if not isinstance(port, str):
        return 'port must be an integer, a "min:max" range string or a port name'
    m = PORT_RANGE_RE.match(port)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if not (1 <= lo <= 65535 and 1 <= hi <= 65535):
            return 'port range bounds must be between 1 and 65535'
        if lo > hi:
            return 'port range minimum must not exceed the maximum'
        return None
    if port.isdigit():
        return None if 1 <= int(port) <= 65535 else 'port must be between 1 and 65535'
    if not NAMED_PORT_RE.match(port):
        return 'invalid port name'
    err = validation.port_name_error(port)
    return f'invalid port name: {err}' if err else None
