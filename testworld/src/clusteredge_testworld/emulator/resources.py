"""The resource types the emulated cluster serves (what discovery advertises and CRUD accepts)."""
from __future__ import annotations

import dataclasses

from .profiles import CalicoProfile, parse_profile

STANDARD_VERBS = ('create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch')

CALICO_GROUP = 'projectcalico.org'
CALICO_CRD_GROUP = 'crd.projectcalico.org'


@dataclasses.dataclass(frozen=True)
class ResourceType:
    group: str          # '' for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS

    @property
    def api_version(self) -> str:
        return f'{self.group}/{self.version}' if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified_plural(self) -> str:
        """`hostendpoints.projectcalico.org`, as the real server names a resource in messages."""
        return f'{self.plural}.{self.group}' if self.group else self.plural

    def collection_path(self, namespace: str | None = None) -> str:
        base = f'/apis/{self.group}/{self.version}' if self.group else f'/api/{self.version}'
        if self.namespaced and namespace:
            return f'{base}/namespaces/{namespace}/{self.plural}'
        return f'{base}/{self.plural}'


def _core(plural, kind, namespaced, short=(), sub=(), verbs=STANDARD_VERBS):
    return ResourceType('', 'v1', plural, kind, namespaced, tuple(short), tuple(sub), verbs)


CORE_RESOURCES = [
    _core('namespaces', 'Namespace', False, ('ns',), ('status', 'finalize'),
          ('create', 'delete', 'get', 'list', 'patch', 'update', 'watch')),
    _core('nodes', 'Node', False, ('no',), ('status',)),
    _core('services', 'Service', True, ('svc',), ('status',),
          ('create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch')),
    _core('pods', 'Pod', True, ('po',), ('status',)),
    _core('endpoints', 'Endpoints', True, ('ep',)),
    _core('configmaps', 'ConfigMap', True, ('cm',)),
]

K8S_GROUP_RESOURCES = [
    ResourceType('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', True),
    ResourceType('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', True, ('netpol',)),
    ResourceType('networking.k8s.io', 'v1', 'servicecidrs', 'ServiceCIDR', False, (), ('status',)),
]

# (plural, kind, namespaced, short names, subresources): the crd.projectcalico.org/v1 types the emulator serves (the
# projectcalico.org/v3 kinds per profile are in profiles.py).
_CALICO_TYPES = [
    ('hostendpoints', 'HostEndpoint', False, ('hep', 'heps'), ()),
    ('globalnetworkpolicies', 'GlobalNetworkPolicy', False, ('gnp', 'cgnp', 'calicoglobalnetworkpolicies'), ()),
    ('networkpolicies', 'NetworkPolicy', True, ('cnp', 'caliconetworkpolicy', 'caliconetworkpolicies'), ()),
    ('ippools', 'IPPool', False, (), ()),
    ('bgpconfigurations', 'BGPConfiguration', False, ('bgpconfig', 'bgpconfigs'), ()),
    ('felixconfigurations', 'FelixConfiguration', False, ('felixconfig', 'felixconfigs'), ()),
    ('kubecontrollersconfigurations', 'KubeControllersConfiguration', False, (), ('status',)),
    ('clusterinformations', 'ClusterInformation', False, ('clusterinfo',), ()),
    ('globalnetworksets', 'GlobalNetworkSet', False, (), ()),
    ('networksets', 'NetworkSet', True, ('netsets',), ()),
]


APISERVICES = ResourceType('apiregistration.k8s.io', 'v1', 'apiservices', 'APIService', False, (), ('status',))


def calico_resources(group: str, version: str) -> list[ResourceType]:
    return [ResourceType(group, version, p, k, ns, sn, sub) for p, k, ns, sn, sub in _CALICO_TYPES]


def calico_v3_resources(profile: CalicoProfile) -> list[ResourceType]:
    """projectcalico.org/v3 as the profile serves it (kinds, short names, /status: CalicoProfile.v3_kinds)."""
    return [ResourceType(CALICO_GROUP, 'v3', k.plural, k.kind, k.namespaced, k.short_names, k.subresources)
            for k in profile.v3_kinds()]


def build_registry(calico_api: bool, profile: CalicoProfile | None = None) -> list[ResourceType]:
    """All served resources. API-server profiles always have the CRD group (a real Calico install has it) and the
    aggregated projectcalico.org/v3 API when the Calico API server is 'installed'; v3-CRD mode has no
    crd.projectcalico.org group and serves projectcalico.org/v3 as CRDs (unless `calico_api=False`: not installed)."""
    profile = profile or parse_profile('3.28')
    resources = CORE_RESOURCES + K8S_GROUP_RESOURCES + [APISERVICES]
    if not profile.crd_mode:
        resources += calico_resources(CALICO_CRD_GROUP, 'v1')
    if calico_api:
        resources += calico_v3_resources(profile)
    return resources


class Registry:
    def __init__(self, resources: list[ResourceType]):
        self.resources = list(resources)
        self._by_path = {(r.group, r.version, r.plural): r for r in self.resources}

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_api_version_kind(self, api_version: str, kind: str) -> ResourceType | None:
        for r in self.resources:
            if r.api_version == api_version and r.kind == kind:
                return r
        return None

    def find(self, kind: str, api_version: str | None = None) -> list[ResourceType]:
        """Resolve 'HostEndpoint', 'hostendpoints', 'hep' or 'hostendpoints.projectcalico.org'."""
        found = []
        for r in self.resources:
            if api_version and r.api_version != api_version:
                continue
            names = {r.kind, r.kind.lower(), r.plural, r.singular, *r.short_names, r.qualified_plural,
                     f'{r.kind}.{r.group}' if r.group else r.kind}
            if kind in names:
                found.append(r)
        return found

    def group_versions(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for r in self.resources:
            if r.group and r.version not in groups.setdefault(r.group, []):
                groups[r.group].append(r.version)
        return groups

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [r for r in self.resources if r.group == group and r.version == version]
