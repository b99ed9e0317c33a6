"""Calico profiles: which Calico release (and serving mode) the emulator behaves as, and every per-version fact.

A profile is `'3.28'`, `'3.29'`, `'3.30'`, `'3.31'`, `'3.32'` (aggregated Calico API server) or `'3.32-crd'`
(3.32 native v3 CRDs, no API server), optionally with a patch level (`'3.29.2'`, `'3.32.0-crd'`); without one, the
latest patch of SPEC-3.29-3.32 §1 is meant. "§" below refers to ../shared/calico/SPEC-3.29-3.32.md.

Everything version-dependent lives here as data or small predicates, so the rest of the emulator asks
`profile.has_tiers`, `profile.name_rules`, ... instead of comparing version numbers.
"""
from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

PROFILES = ('3.28', '3.29', '3.30', '3.31', '3.32', '3.32-crd')
PROFILE_ENV = 'EMULATOR_CALICO_PROFILE'
DEFAULT_PROFILE = '3.28'

# Patch tags per release line (§1); a profile without a patch level means the last one.
PATCH_RANGES: dict[tuple[int, int], range] = {
    (3, 28): range(0, 6), (3, 29): range(0, 8), (3, 30): range(0, 8), (3, 31): range(0, 8), (3, 32): range(0, 2),
}

# /version per profile: a Kubernetes release inside each line's tested range (§1). 3.28 keeps the emulator's
# historical answer byte for byte.
_K8S_1_33 = {
    'major': '1', 'minor': '33', 'gitVersion': 'v1.33.1', 'gitCommit': '8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828',
    'gitTreeState': 'clean', 'buildDate': '2025-05-15T08:19:08Z', 'goVersion': 'go1.24.2', 'compiler': 'gc',
    'platform': 'linux/amd64',
}
_K8S_1_30 = dict(_K8S_1_33, minor='30', gitVersion='v1.30.14', gitCommit='9e18483918821121abdf9aa82bc14d66df5d68cd',
                 buildDate='2025-06-17T18:29:45Z', goVersion='go1.23.10')
_K8S_1_35 = dict(_K8S_1_33, minor='35', gitVersion='v1.35.0', gitCommit='66452049f3d692768c39c797b21b793dce80314e',
                 buildDate='2025-12-17T12:32:06Z', goVersion='go1.25.5')

# Policy name rules (§3.2 table); see CalicoProfile.name_rules.
NAMES_LABEL = 'label'                 # 3.28: GNP a DNS-1123 label, no tiers
NAMES_TIERED_ALIAS = 'tiered-alias'   # 3.29.0-3.29.3: `foo` and `default.foo` are one object, read back `default.foo`
NAMES_TIERED = 'tiered'               # 3.29.4+, 3.30, 3.31: read back as created; the other spelling collides
NAMES_FREE = 'free'                   # 3.32 API server: any name in any tier, `default.foo` is just a name
NAMES_K8S = 'k8s'                     # 3.32 v3 CRDs: any DNS-1123 subdomain

TIER_LABEL = 'projectcalico.org/tier'
DEFAULT_TIER = 'default'
TIER_FINALIZER = 'projectcalico.org/tier-controller'


@dataclasses.dataclass(frozen=True)
class CalicoKind:
    """One projectcalico.org/v3 kind across profiles (§2.1 tables; API-server short names from storage_calico.go)."""
    plural: str
    kind: str
    namespaced: bool
    api_short: tuple[str, ...] = ()        # aggregated API server
    crd_short: tuple[str, ...] = ()        # v3 CRD `spec.names.shortNames`
    since: tuple[int, int] = (3, 28)
    short_since: tuple[int, int, int] = (3, 28, 0)   # API-server short names from this release on
    api_mode: bool = True                  # served by the aggregated API server
    crd_mode: bool = True                  # served as a v3 CRD
    crd_status: bool = False               # /status subresource in CRD mode (API server: KCC only)


@dataclasses.dataclass(frozen=True)
class ServedKind:
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...]
    subresources: tuple[str, ...]


_STAGED_SHORT = (3, 30, 1)   # sgnp/snp/sknp came with 3.30.1 (#10424, §7)
CALICO_KINDS = (
    CalicoKind('hostendpoints', 'HostEndpoint', False, ('hep', 'heps'), ('hep', 'heps')),
    CalicoKind('globalnetworkpolicies', 'GlobalNetworkPolicy', False,
               ('gnp', 'cgnp', 'calicoglobalnetworkpolicies'), ('gnp', 'cgnp')),
    CalicoKind('networkpolicies', 'NetworkPolicy', True, ('cnp', 'caliconetworkpolicy', 'caliconetworkpolicies'),
               ('cnp', 'caliconetworkpolicy')),
    CalicoKind('ippools', 'IPPool', False, crd_status=True),
    CalicoKind('bgpconfigurations', 'BGPConfiguration', False, ('bgpconfig', 'bgpconfigs'),
               ('bgpconfig', 'bgpconfigs')),
    CalicoKind('felixconfigurations', 'FelixConfiguration', False, ('felixconfig', 'felixconfigs')),
    # 3.28's emulator (SPEC.md §8) served KCC without short names; `kcconfig` is read from the 3.29+ storage list
    CalicoKind('kubecontrollersconfigurations', 'KubeControllersConfiguration', False, ('kcconfig',), ('kcc', 'kccs'),
               short_since=(3, 29, 0), crd_status=True),
    CalicoKind('clusterinformations', 'ClusterInformation', False, ('clusterinfo',), ('clusterinfo', 'clusterinfos')),
    CalicoKind('globalnetworksets', 'GlobalNetworkSet', False, (), ('gns',)),
    CalicoKind('networksets', 'NetworkSet', True, ('netsets',)),
    CalicoKind('ipreservations', 'IPReservation', False),
    CalicoKind('bgppeers', 'BGPPeer', False),
    CalicoKind('bgpfilters', 'BGPFilter', False),
    CalicoKind('profiles', 'Profile', False, crd_mode=False),   # the Profile CRD was removed (3.32 #11792)
    CalicoKind('caliconodestatuses', 'CalicoNodeStatus', False, ('caliconodestatus',)),
    CalicoKind('ipamconfigurations', 'IPAMConfiguration', False, ('ipamconfig',)),
    CalicoKind('blockaffinities', 'BlockAffinity', False, ('blockaffinity', 'affinity', 'affinities')),
    CalicoKind('tiers', 'Tier', False, since=(3, 29), crd_status=True),
    CalicoKind('stagedglobalnetworkpolicies', 'StagedGlobalNetworkPolicy', False, ('sgnp',), ('sgnp',), since=(3, 30),
               short_since=_STAGED_SHORT),
    CalicoKind('stagednetworkpolicies', 'StagedNetworkPolicy', True, ('snp',), ('scnp', 'snp'), since=(3, 30),
               short_since=_STAGED_SHORT),
    CalicoKind('stagedkubernetesnetworkpolicies', 'StagedKubernetesNetworkPolicy', True, ('sknp',), ('sknp',),
               since=(3, 30), short_since=_STAGED_SHORT),
    CalicoKind('ipamblocks', 'IPAMBlock', False, api_mode=False),
    CalicoKind('ipamhandles', 'IPAMHandle', False, api_mode=False),
)


@dataclasses.dataclass(frozen=True)
class BuiltinTier:
    name: str
    order: int
    default_action: str


_DEFAULT_TIER = BuiltinTier(DEFAULT_TIER, 1_000_000, 'Deny')


@dataclasses.dataclass(frozen=True)
class CalicoProfile:
    minor: tuple[int, int]
    patch: int
    crd_mode: bool = False

    # --- identity -----------------------------------------------------------------------------------
    @property
    def key(self) -> str:
        """The PROFILES entry this profile belongs to ('3.32-crd')."""
        return f'{self.minor[0]}.{self.minor[1]}' + ('-crd' if self.crd_mode else '')

    @property
    def name(self) -> str:
        """Full, parseable spelling ('3.29.2', '3.32.1-crd')."""
        return f'{self.minor[0]}.{self.minor[1]}.{self.patch}' + ('-crd' if self.crd_mode else '')

    @property
    def calico_version(self) -> str:
        """ClusterInformation `spec.calicoVersion`."""
        return f'v{self.minor[0]}.{self.minor[1]}.{self.patch}'

    def __str__(self) -> str:
        return self.name

    def at_least(self, minor: tuple[int, int], patch: int = 0) -> bool:
        return (self.minor, self.patch) >= (minor, patch)

    @property
    def api_server(self) -> bool:
        """projectcalico.org/v3 served by the aggregated Calico API server (every mode but v3 CRDs)."""
        return not self.crd_mode

    # --- features (§15) -----------------------------------------------------------------------------
    @property
    def has_tiers(self) -> bool:
        return self.minor >= (3, 29)

    @property
    def has_staged(self) -> bool:
        return self.minor >= (3, 30)

    @property
    def kube_version(self) -> dict[str, str]:
        if self.minor == (3, 29):
            return dict(_K8S_1_30)
        if self.minor >= (3, 32):
            return dict(_K8S_1_35)
        return dict(_K8S_1_33)

    @property
    def apiserver_namespace(self) -> str | None:
        """Namespace of the `calico-api` Service behind APIService v3.projectcalico.org (§2.2); None in CRD mode."""
        if self.crd_mode:
            return None
        return 'calico-apiserver' if self.minor <= (3, 30) else 'calico-system'

    @property
    def builtin_tiers(self) -> tuple[BuiltinTier, ...]:
        """Tiers Calico creates at start-up (§4.1)."""
        if not self.has_tiers:
            return ()
        if self.minor >= (3, 32):
            return (_DEFAULT_TIER, BuiltinTier('kube-admin', 1000, 'Pass'),
                    BuiltinTier('kube-baseline', 10_000_000, 'Pass'))
        tiers = (_DEFAULT_TIER, BuiltinTier('adminnetworkpolicy', 1000, 'Pass'))
        if self.minor >= (3, 30):
            tiers += (BuiltinTier('baselineadminnetworkpolicy', 10_000_000, 'Pass'),)
        return tiers

    @property
    def protected_tiers(self) -> tuple[str, ...]:
        """Built-in tiers that refuse deletion (§4.1): the baseline ANP tier of 3.30/3.31 is deletable."""
        if self.minor >= (3, 32):
            return tuple(t.name for t in self.builtin_tiers)
        return (DEFAULT_TIER, 'adminnetworkpolicy') if self.has_tiers else ()

    @property
    def name_rules(self) -> str:
        """Which row of the §3.2 name table applies (NAMES_* constants)."""
        if not self.has_tiers:
            return NAMES_LABEL
        if self.minor >= (3, 32):
            return NAMES_K8S if self.crd_mode else NAMES_FREE
        if self.minor == (3, 29) and self.patch <= 3:
            return NAMES_TIERED_ALIAS
        return NAMES_TIERED

    @property
    def records_policy_names(self) -> bool:
        """Stores the name used at create (the backend `projectcalico.org/metadata` annotation): 3.29.4+, 3.30, 3.31."""
        return self.name_rules == NAMES_TIERED

    @property
    def strips_legacy_default_prefix(self) -> bool:
        """Objects without a recorded name lose their leading `default.` on read (`determinePolicyName`); not on
        3.30.0, which shows pre-3.30 objects as `default.<name>` (#10389)."""
        return self.name_rules == NAMES_TIERED and (self.minor, self.patch) != ((3, 30), 0)

    @property
    def tier_from_spec(self) -> bool:
        """Tier RBAC takes the tier from `spec.tier` (3.32) rather than the name prefix (3.29-3.31) (§5.1)."""
        return self.minor >= (3, 32)

    @property
    def stores_tier_label(self) -> bool:
        """Every write stores `projectcalico.org/tier` (3.32, both modes); 3.29-3.31 only for non-default tiers
        (§3.1)."""
        return self.minor >= (3, 32)

    @property
    def tier_rbac_on_reads(self) -> bool:
        """get/list/watch are tier-checked by the API server; the v3-CRD webhook only sees writes (§5.2)."""
        return self.has_tiers and not self.crd_mode

    @property
    def tier_rbac_on_deletecollection(self) -> bool:
        """API-server deletecollection is tier-filtered from 3.31.6 and in 3.32.1, not in 3.32.0 (§5.1 table)."""
        if self.crd_mode or not self.has_tiers:
            return False
        if self.minor == (3, 31):
            return self.patch >= 6
        return self.minor >= (3, 32) and self.patch >= 1

    @property
    def rejects_catch_all_not_nets(self) -> bool:
        """`notNets` with 0.0.0.0/0 or ::/0 refused by Calico's Go validator: 3.29.6+, 3.30.3+, 3.31+ (§9.3)."""
        if self.crd_mode:
            return False
        if self.minor == (3, 29):
            return self.patch >= 6
        if self.minor == (3, 30):
            return self.patch >= 3
        return self.minor >= (3, 31)

    @property
    def go_validation(self) -> bool:
        """Calico's Go validation runs at admission (not in v3-CRD mode, §6.1)."""
        return not self.crd_mode

    @property
    def strategic_merge_patch(self) -> bool:
        """Custom resources refuse strategic merge patch with 415 (§6.3)."""
        return not self.crd_mode

    @property
    def ssa_create_tiered_policy_fails(self) -> bool:
        """3.32.0's API server answered NotFound to a server-side-apply create of a tiered policy (§6.3, #12906)."""
        return self.minor == (3, 32) and self.patch == 0 and not self.crd_mode

    @property
    def ssa_bgp_lists_fail(self) -> bool:
        """3.32.0 could not server-side-apply BGPConfiguration lists of objects (§6.3, #12705)."""
        return self.minor == (3, 32) and self.patch == 0

    def v3_kinds(self) -> list[ServedKind]:
        """projectcalico.org/v3 as this profile serves it: kinds, short names and /status per mode (§2.1)."""
        found = []
        for k in CALICO_KINDS:
            if self.minor < k.since or not (k.crd_mode if self.crd_mode else k.api_mode):
                continue
            if self.crd_mode:
                short, status = k.crd_short, k.crd_status
            else:
                short = k.api_short if self.at_least(k.short_since[:2], k.short_since[2]) else ()
                status = k.plural == 'kubecontrollersconfigurations'
            found.append(ServedKind(k.plural, k.kind, k.namespaced, short, ('status',) if status else ()))
        return found

    # --- server-filled fields (§6.2) -----------------------------------------------------------------
    def read_defaults(self, kind: str) -> tuple[tuple[tuple[str, ...], Any], ...]:
        """(path, value) pairs a read returns filled when absent; a path is filled only when its parent object exists
        (structural-schema defaulting). The v1 CRD `default:` counts of §6.2 (0/1/3/4/13 at 3.28-3.32) read as:
        3.30 IPPool assignmentMode + KCC loadBalancer.assignIPs (spec and status), 3.31 + BGP
        serviceLoadBalancerAggregation, 3.32 the rest of the v3 CRD defaults. Policy `spec.tier` and Tier defaults are
        applied by the tier logic (tiers.py)."""
        found: list[tuple[tuple[str, ...], Any]] = []
        if kind == 'IPPool' and self.minor >= (3, 30):
            found.append((('spec', 'assignmentMode'), 'Automatic'))
        elif kind == 'KubeControllersConfiguration':
            if self.minor >= (3, 30):
                found += [(('spec', 'controllers', 'loadBalancer', 'assignIPs'), 'AllServices'),
                          (('status', 'runningConfig', 'controllers', 'loadBalancer', 'assignIPs'), 'AllServices')]
            if self.minor >= (3, 32):
                found += [(('spec', 'healthChecks'), 'Enabled'),
                          (('spec', 'controllers', 'policyMigration', 'enabled'), 'Enabled'),
                          (('status', 'runningConfig', 'healthChecks'), 'Enabled'),
                          (('status', 'runningConfig', 'controllers', 'policyMigration', 'enabled'), 'Enabled')]
        elif kind == 'BGPConfiguration':
            if self.minor >= (3, 31):
                found.append((('spec', 'serviceLoadBalancerAggregation'), 'Enabled'))
            if self.minor >= (3, 32):
                found += [(('spec', 'logSeverityScreen'), 'Info'),
                          (('spec', 'nodeMeshPassword', 'secretKeyRef', 'name'), '')]
        elif kind == 'FelixConfiguration' and self.minor >= (3, 32):
            found.append((('spec', 'nftablesMode'), 'Auto'))
        elif kind in ('StagedGlobalNetworkPolicy', 'StagedNetworkPolicy', 'StagedKubernetesNetworkPolicy'):
            found.append((('spec', 'stagedAction'), 'Set'))
        return tuple(found)


_PROFILE_RE = re.compile(r'^3\.(\d+)(?:\.(\d+))?(-crd)?$')


def parse_profile(text: 'str | CalicoProfile') -> CalicoProfile:
    """'3.29' -> 3.29.7, '3.29.2' -> 3.29.2, '3.32-crd' / '3.32.0-crd' -> v3-CRD mode. ValueError otherwise."""
    if isinstance(text, CalicoProfile):
        return text
    spelled = str(text).strip()
    m = _PROFILE_RE.match(spelled)
    minor = (3, int(m.group(1))) if m else None
    valid = f'valid profiles are {", ".join(PROFILES)} (optionally with a patch level, e.g. 3.29.2 or 3.32.0-crd)'
    if m is None or minor not in PATCH_RANGES or (m.group(3) and minor != (3, 32)):
        raise ValueError(f'unknown Calico profile {text!r}: {valid}')
    patches = PATCH_RANGES[minor]
    patch = int(m.group(2)) if m.group(2) is not None else patches[-1]
    if patch not in patches:
        raise ValueError(f'unknown Calico profile {text!r}: {minor[0]}.{minor[1]} has patch levels '
                         f'{patches[0]}-{patches[-1]}; {valid}')
    return CalicoProfile(minor, patch, bool(m.group(3)))


def resolve_profile(profile: 'str | CalicoProfile | None' = None) -> CalicoProfile:
    """The given profile, else $EMULATOR_CALICO_PROFILE, else 3.28."""
    if profile is None:
        profile = os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    return parse_profile(profile)
