"""Service clusterIP allocation from the configured service CIDRs (one range per IP family)."""
from __future__ import annotations

import ipaddress

from .errors import ApiError


class ClusterIPAllocator:
    def __init__(self, cidrs: tuple[str, ...]):
        self.networks = {}
        for cidr in cidrs:
            net = ipaddress.ip_network(cidr)
            family = 'IPv4' if net.version == 4 else 'IPv6'
            if family in self.networks:
                raise ValueError(f'only one service CIDR per IP family is supported: {cidr}')
            self.networks[family] = net
        if not self.networks:
            raise ValueError('at least one service CIDR is required')
        self.primary_family = 'IPv4' if ipaddress.ip_network(cidrs[0]).version == 4 else 'IPv6'
        self.allocated: set[str] = set()

    @property
    def families(self) -> list[str]:
        return [self.primary_family] + [f for f in self.networks if f != self.primary_family]

    def reset(self) -> None:
        self.allocated.clear()

    def next_free(self, family: str) -> str:
        net = self.networks[family]
        for host in net.hosts():
            if str(host) not in self.allocated:
                return str(host)
        raise ApiError(500, f'range is full: no more IPs available in {net}')

    def check_requested(self, field: str, ip: str, name: str) -> str:
        """Validate a user-requested clusterIP; returns its family or raises 422."""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            raise _invalid(name, field, ip, 'must be a valid IP address') from None
        family = 'IPv4' if addr.version == 4 else 'IPv6'
        net = self.networks.get(family)
        if net is None or addr not in net:
            ranges = ', '.join(str(n) for n in self.networks.values())
            raise _invalid(name, field, ip, f'failed to allocate IP {ip}: provided IP is not in the valid range. '
                                            f'The range of valid IPs is {ranges}')
        if ip in self.allocated:
            raise _invalid(name, field, ip, f'failed to allocate IP {ip}: provided IP is already allocated')
        return family


def _invalid(name: str, field: str, value: str, message: str) -> ApiError:
    cause = {'reason': 'FieldValueInvalid', 'field': field, 'message': f'Invalid value: "{value}": {message}'}
    return ApiError(422, f'Service "{name}" is invalid: {field}: {cause["message"]}',
                    details={'name': name, 'kind': 'Service', 'causes': [cause]})


def invalid_field(name: str, field: str, value, message: str) -> ApiError:
    return _invalid(name, field, str(value), message)


def prepare_service_create(alloc: ClusterIPAllocator, svc: dict, reserve: bool) -> None:
    """Fill type/ipFamilies/clusterIP(s) like the Service REST strategy; reserve=False for dry runs."""
    name = svc.get('metadata', {}).get('name', '')
    spec = svc.setdefault('spec', {})
    spec.setdefault('type', 'ClusterIP')
    spec.setdefault('sessionAffinity', 'None')
    for port in spec.get('ports') or []:
        if isinstance(port, dict):
            port.setdefault('protocol', 'TCP')
            if 'port' in port:
                port.setdefault('targetPort', port['port'])
    if spec['type'] == 'ExternalName':
        return
    spec.setdefault('internalTrafficPolicy', 'Cluster')

    requested = list(spec.get('clusterIPs') or ([spec['clusterIP']] if spec.get('clusterIP') else []))
    if spec.get('clusterIP') and requested and requested[0] != spec['clusterIP']:
        raise invalid_field(name, 'spec.clusterIPs', requested, 'element [0] must match clusterIP')
    policy = spec.get('ipFamilyPolicy') or 'SingleStack'
    if policy not in ('SingleStack', 'PreferDualStack', 'RequireDualStack'):
        raise invalid_field(name, 'spec.ipFamilyPolicy', policy, 'supported values: "SingleStack", '
                                                                 '"PreferDualStack", "RequireDualStack"')
    if policy == 'RequireDualStack' and len(alloc.networks) < 2:
        raise invalid_field(name, 'spec.ipFamilyPolicy', policy,
                            'this cluster is not configured for dual-stack services')

    if requested == ['None']:  # headless
        spec['clusterIP'] = 'None'
        spec['clusterIPs'] = ['None']
        spec['ipFamilyPolicy'] = policy
        spec.setdefault('ipFamilies', [alloc.primary_family])
        return

    families = list(spec.get('ipFamilies') or [])
    for i, ip in enumerate(requested):
        fam = alloc.check_requested(f'spec.clusterIPs[{i}]', ip, name)
        if i < len(families) and families[i] != fam:
            raise invalid_field(name, f'spec.clusterIPs[{i}]', ip, f'expected an {families[i]} value as indicated by '
                                                                   f'`ipFamilies[{i}]`')
        if i >= len(families):
            families.append(fam)
    if not families:
        families = [alloc.primary_family]
    if policy != 'SingleStack' and len(families) == 1 and len(alloc.networks) > 1:
        families.append('IPv6' if families[0] == 'IPv4' else 'IPv4')
    for fam in families:
        if fam not in alloc.networks:
            raise invalid_field(name, 'spec.ipFamilies', fam, 'not configured on this cluster')
    if policy == 'SingleStack' and len(families) > 1:
        raise invalid_field(name, 'spec.ipFamilyPolicy', policy, 'must be RequireDualStack or PreferDualStack '
                                                                 'when multiple IP families are specified')

    ips = list(requested)
    for fam in families[len(ips):]:
        ip = alloc.next_free(fam)
        ips.append(ip)
    if reserve:
        alloc.allocated.update(ips)
    spec['clusterIP'] = ips[0]
    spec['clusterIPs'] = ips
    spec['ipFamilies'] = families
    spec['ipFamilyPolicy'] = policy


def prepare_service_update(old: dict, new: dict) -> None:
    """clusterIP(s) are immutable; an update that omits them keeps the allocated ones."""
    name = new.get('metadata', {}).get('name', '')
    old_spec, spec = old.get('spec', {}), new.setdefault('spec', {})
    old_ip = old_spec.get('clusterIP')
    if not old_ip:
        return
    new_ip = spec.get('clusterIP')
    if new_ip and new_ip != old_ip:
        raise invalid_field(name, 'spec.clusterIP', new_ip, 'field is immutable')
    new_ips = spec.get('clusterIPs')
    if new_ips and new_ips[0] != old_spec.get('clusterIPs', [old_ip])[0]:
        raise invalid_field(name, 'spec.clusterIPs[0]', new_ips[0], 'may not change once set')
    spec['clusterIP'] = old_ip
    spec['clusterIPs'] = new_ips or old_spec.get('clusterIPs', [old_ip])
    for key in ('ipFamilies', 'ipFamilyPolicy'):
        if key in old_spec:
            spec.setdefault(key, old_spec[key])


def release_service(alloc: ClusterIPAllocator, svc: dict) -> None:
    for ip in svc.get('spec', {}).get('clusterIPs') or []:
        alloc.allocated.discard(ip)
