"""Whether new inbound TCP/22 from outside reaches a node, under Calico 3.28 host-endpoint semantics.

The packet: source 198.51.100.7:40000 (TEST-NET-2, no Calico endpoint, no network set) -> node address:22,
arriving on the node's ``eth0``, terminated by a host process (sshd). SPEC = /work/shared/calico/SPEC.md.
"""
from __future__ import annotations

import ipaddress

from clusteredge_testworld.emulator.selectors import parse_selector

SOURCE_IP = ipaddress.ip_address('198.51.100.7')
SOURCE_PORT = 40000             # a typical Linux ephemeral client port
DEFAULT_ALLOW_PROFILE = 'projectcalico-default-allow'
# SPEC §6: Felix 3.28 FailsafeInboundHostPorts default (config_params.go).
DEFAULT_INBOUND_FAILSAFES = tuple({'protocol': p, 'port': n} for p, n in (
    ('tcp', 22), ('udp', 68), ('tcp', 179), ('tcp', 2379), ('tcp', 2380), ('tcp', 5473), ('tcp', 6443),
    ('tcp', 6666), ('tcp', 6667)))


def _meta(obj: dict) -> dict:
    return obj.get('metadata') or {}


def _spec(obj: dict) -> dict:
    return obj.get('spec') or {}


def _labels(obj: dict) -> dict:
    return _meta(obj).get('labels') or {}


def _eval_unlabelled(node) -> bool:
    """A namespace/service-account selector against an endpoint without such labels (a HEP; SPEC §2.1, §13.2)."""
    if node.op == 'all':        # all() becomes has(projectcalico.org/namespace)
        return False
    if node.op == 'global':
        return True
    if node.op == 'not':
        return not _eval_unlabelled(node.children[0])
    if node.op in ('and', 'or'):
        results = [_eval_unlabelled(c) for c in node.children]
        return all(results) if node.op == 'and' else any(results)
    return node.evaluate({})


def _in_nets(ip, nets) -> bool:
    return ip is not None and any(ip in ipaddress.ip_network(n, strict=False) for n in nets)


def _port_in(port: int, items) -> bool:
    for item in items:
        text = str(item)
        if text.isdigit() and int(text) == port:
            return True
        lo, sep, hi = text.partition(':')
        if sep and lo.isdigit() and hi.isdigit() and int(lo) <= port <= int(hi):
            return True
    return False                # named ports: not resolved here (treated as not matching)


def _is_tcp(proto) -> bool:
    return str(proto) in ('TCP', '6')


def _entity_matches(ent: dict, ip, port: int, owners: list[dict]) -> bool:
    """SPEC §3.2. ``owners``: label dicts of the Calico endpoints that own ``ip`` (HEPs via expectedIPs)."""
    if ent.get('nets') and not _in_nets(ip, ent['nets']):
        return False
    if ent.get('notNets') and _in_nets(ip, ent['notNets']):
        return False
    if ent.get('ports') and not _port_in(port, ent['ports']):
        return False
    if ent.get('notPorts') and _port_in(port, ent['notPorts']):
        return False
    if ent.get('services') or ent.get('serviceAccounts'):
        return False            # pods/EndpointSlice backends only; never the outside client or a HEP address
    sel, nssel, notsel = ent.get('selector'), ent.get('namespaceSelector'), ent.get('notSelector')
    if sel or nssel:
        sel_node = parse_selector(sel or '')
        ns_ok = not nssel or _eval_unlabelled(parse_selector(nssel))
        if not ns_ok or not any(sel_node.evaluate(labels) for labels in owners):
            return False
    if notsel and any(parse_selector(notsel).evaluate(labels) for labels in owners):
        return False
    return True


def rule_matches(rule: dict, dst_ip, owners: list[dict]) -> bool:
    """SPEC §3.1: all criteria ANDed; the packet is IPv4 TCP 198.51.100.7:40000 -> dst_ip:22."""
    if rule.get('ipVersion') == 6 or rule.get('icmp') or rule.get('http'):
        return False            # http (ALP) is not enforceable on HEPs: treated as not matching
    if rule.get('protocol') is not None and not _is_tcp(rule['protocol']):
        return False
    if rule.get('notProtocol') is not None and _is_tcp(rule['notProtocol']):
        return False
    return (_entity_matches(rule.get('source') or {}, SOURCE_IP, SOURCE_PORT, [])
            and _entity_matches(rule.get('destination') or {}, dst_ip, 22, owners))


def policy_types(spec: dict) -> list[str]:
    """SPEC §2.1 defaulting of an empty ``types``."""
    if spec.get('types'):
        return list(spec['types'])
    ingress, egress = bool(spec.get('ingress')), bool(spec.get('egress'))
    return ['Ingress', 'Egress'] if ingress and egress else ['Egress'] if egress else ['Ingress']


def policy_selects(policy: dict, hep: dict) -> bool:
    spec = _spec(policy)
    if not parse_selector(spec.get('selector') or '').evaluate(_labels(hep)):
        return False
    return all(not (spec.get(f) or '').strip() or _eval_unlabelled(parse_selector(spec[f]))
               for f in ('namespaceSelector', 'serviceAccountSelector'))


def _sort_key(policy: dict):
    """SPEC §5.1/§13.7: order asc, nil last, ties by Felix's key (``default.<name>`` for a GNP)."""
    name = _meta(policy).get('name', '')
    order = _spec(policy).get('order')
    return (order is None, float(order or 0), name if name.startswith(('knp.', 'ossg.')) else 'default.' + name)


def _ingress_policies(policies, hep: dict, stage: str) -> list[dict]:
    def stage_of(spec):
        return 'untracked' if spec.get('doNotTrack') else 'pre-DNAT' if spec.get('preDNAT') else 'normal'
    found = [p for p in policies if p.get('kind', 'GlobalNetworkPolicy') == 'GlobalNetworkPolicy'
             and stage_of(_spec(p)) == stage and 'Ingress' in policy_types(_spec(p)) and policy_selects(p, hep)]
    return sorted(found, key=_sort_key)


def _first_verdict(policies, dst_ip, owners):
    """(action, policy name, rule index) of the first Allow/Deny/Pass; Log rules continue (SPEC §3.1, §5.1)."""
    for policy in policies:
        for index, rule in enumerate(_spec(policy).get('ingress') or []):
            if rule.get('action') in ('Allow', 'Deny', 'Pass') and rule_matches(rule, dst_ip, owners):
                return rule['action'], _meta(policy).get('name'), index
    return None, None, None


def select_hep(node_name: str, hostendpoints, node_address=None):
    """SPEC §1.3: eth0 HEP (first by name), else an interface-less HEP expecting the address, else ``*``."""
    mine = sorted((h for h in hostendpoints if _spec(h).get('node') == node_name), key=lambda h: _meta(h).get('name', ''))
    for wanted in ('eth0', None, '*'):
        for hep in mine:
            iface = _spec(hep).get('interfaceName') or None
            if iface == wanted and (wanted or (node_address and node_address in (_spec(hep).get('expectedIPs') or []))):
                return hep
    return None


def inbound_failsafes(node_name: str, felix_configs) -> tuple[list, str]:
    """SPEC §6: ``node.<name>`` overrides ``default`` per field; absent everywhere -> Felix defaults; [] -> none."""
    by_name = {_meta(c).get('name'): _spec(c) for c in felix_configs}
    for name in (f'node.{node_name}', 'default'):
        value = (by_name.get(name) or {}).get('failsafeInboundHostPorts')
        if value is not None:
            return list(value), f'FelixConfiguration {name}'
    return list(DEFAULT_INBOUND_FAILSAFES), 'Felix 3.28 default'


def _failsafe_covers(entry: dict) -> bool:
    net = entry.get('net') or ''
    return (str(entry.get('protocol', 'tcp')).lower() == 'tcp' and str(entry.get('port')) == '22'
            and (not net or _in_nets(SOURCE_IP, [net])))


def evaluate(node_name, hostendpoints, policies, felix_configs, node_address=None) -> tuple[bool, str, str]:
    """(allowed, reason, stage) with stage in none/failsafe/untracked/pre-DNAT/normal/profile."""
    hep = select_hep(node_name, hostendpoints, node_address)
    if hep is None:
        return True, f'allowed: no HostEndpoint of {node_name} covers eth0', 'none'
    hep_name = _meta(hep).get('name')
    node_address = node_address or next(iter(_spec(hep).get('expectedIPs') or []), None)
    dst_ip = ipaddress.ip_address(node_address) if node_address else None
    owners = [_labels(h) for h in hostendpoints if node_address and node_address in (_spec(h).get('expectedIPs') or [])]
    failsafes, source = inbound_failsafes(node_name, felix_configs)
    if any(_failsafe_covers(f) for f in failsafes):
        return True, f'allowed: tcp/22 is an inbound failsafe port ({source})', 'failsafe'
    no_fs = f'and tcp/22 is no failsafe ({source})'
    # Untracked (raw) and pre-DNAT (mangle) stages: explicit Allow/Deny only, no end-of-policy drop (SPEC §5.1, §5.2).
    star = select_hep(node_name, [h for h in hostendpoints if _spec(h).get('interfaceName') == '*'])
    stages = [('untracked', [hep] if _spec(hep).get('interfaceName') != '*' else []),   # not on `*` HEPs (§1.3)
              ('pre-DNAT', [h for h in (hep, star) if h is not None])]                 # falls back to `*` (§13.1)
    for stage, candidates in stages:
        for candidate in candidates:
            applicable = _ingress_policies(policies, candidate, stage)
            if not applicable:
                continue
            action, pname, index = _first_verdict(applicable, dst_ip, owners)
            where = f'{stage} policy {pname} ingress rule {index}'
            if action == 'Allow':
                return True, f'allowed: {where} allows tcp/22 on HostEndpoint {_meta(candidate).get("name")}', stage
            if action == 'Deny':
                return False, f'denied: {where} denies tcp/22 on HostEndpoint {_meta(candidate).get("name")} {no_fs}', stage
            break
    applicable = _ingress_policies(policies, hep, 'normal')
    head, action = f'HostEndpoint {hep_name}', None
    if applicable:
        action, pname, index = _first_verdict(applicable, dst_ip, owners)
        if action == 'Allow':
            return True, f'allowed: policy {pname} ingress rule {index} allows tcp/22 on {head}', 'normal'
        if action == 'Deny':
            return False, f'denied: policy {pname} ingress rule {index} denies tcp/22 on {head} {no_fs}', 'normal'
        if action is None:
            names = ', '.join(_meta(p).get('name', '?') for p in applicable)
            return False, (f'denied: {head} has ingress policies ({names}) but none allows tcp/22 '
                           f'(end of policies) {no_fs}'), 'normal'
        head = f'policy {pname} ingress rule {index} passes to the profiles of {head}'
    profiles = _spec(hep).get('profiles') or []
    if DEFAULT_ALLOW_PROFILE in profiles:
        return True, f'allowed: {head}: profile {DEFAULT_ALLOW_PROFILE}', 'profile'
    if action is None:
        head += ' has no ingress policy'
    return False, f'denied: {head} and no allowing profile (no policy, no allowing profile) {no_fs}', 'profile'


def decide_ssh(node_name, hostendpoints, policies, felix_configs, node_address=None) -> tuple[bool, str]:
    """Pure: (allowed, reason) for new TCP/22 from an outside client to ``node_address`` via eth0."""
    allowed, reason, _stage = evaluate(node_name, hostendpoints, policies, felix_configs, node_address)
    return allowed, reason
