"""Calico profiles: the emulator behaves as Calico 3.28 ... 3.32 (and 3.32 v3-CRD mode) per SPEC-3.29-3.32.md.

Every test names the SPEC-3.29-3.32 section ("§") it checks; SPEC.md is the 3.28 baseline.
"""
import json
import os
import subprocess
import sys
import time

import pytest

from clusteredge_testworld import emulator
from clusteredge_testworld.emulator import EmulatorServer
from clusteredge_testworld.emulator.admin import AdminClient
from clusteredge_testworld.emulator.profiles import PROFILE_ENV, PROFILES, parse_profile
from clusteredge_testworld.emulator.reference import profile_missing_reason
from clusteredge_testworld.emulator.state import ClusterState
from helpers import http, policy

V3 = '/apis/projectcalico.org/v3'
GNP = f'{V3}/globalnetworkpolicies'
NP = f'{V3}/namespaces/default/networkpolicies'
TIERS = f'{V3}/tiers'
API_PROFILES = ['3.29', '3.30', '3.31', '3.32']
TIERED = API_PROFILES + ['3.32-crd']


@pytest.fixture
def serve(tmp_path, monkeypatch):
    """serve(profile, **options) -> a started EmulatorServer, stopped after the test. A v3-CRD profile skips the test
    when Calico's 3.32 CRDs (reference data outside the repository) cannot be read."""
    monkeypatch.setenv('TMPDIR', str(tmp_path))
    servers = []

    def start(profile, **options):
        reason = profile_missing_reason(profile)
        if reason:
            pytest.skip(reason)
        servers.append(EmulatorServer(profile=profile, **options).start())
        return servers[-1]
    yield start
    for server in servers:
        server.stop()


def gnp(name, **spec):
    return policy('GlobalNetworkPolicy', name, **spec)


def tier(name, **spec):
    return policy('Tier', name, **spec)


def names(server, path=GNP):
    return sorted(o['metadata']['name'] for o in http(server, 'GET', path)[1]['items'])


# --- §0/§1: profiles -------------------------------------------------------------------------------
@pytest.mark.parametrize('text, name, version', [
    ('3.28', '3.28.5', 'v3.28.5'), ('3.29', '3.29.7', 'v3.29.7'), ('3.29.2', '3.29.2', 'v3.29.2'),
    ('3.30', '3.30.7', 'v3.30.7'), ('3.30.0', '3.30.0', 'v3.30.0'), ('3.31', '3.31.7', 'v3.31.7'),
    ('3.32', '3.32.1', 'v3.32.1'), ('3.32-crd', '3.32.1-crd', 'v3.32.1'), ('3.32.0-crd', '3.32.0-crd', 'v3.32.0'),
])
def test_a_profile_without_patch_level_is_the_latest_patch(text, name, version):
    """SPEC-3.29-3.32 §0, §1: the checked tags; 3.32 has a v3-CRD variant."""
    profile = parse_profile(text)
    assert (profile.name, profile.calico_version) == (name, version)
    assert profile.crd_mode is text.endswith('-crd')
    assert profile.key in PROFILES and profile.minor == tuple(int(p) for p in text.split('-')[0].split('.')[:2])


@pytest.mark.parametrize('text', ['3.27', '3.33', '3.29.8', '3.31-crd', 'latest', '3.32.2', ''])
def test_an_unknown_profile_names_the_valid_ones(text):
    """SPEC-3.29-3.32 §1: only the patch tags that exist."""
    with pytest.raises(ValueError, match='valid profiles are 3.28, 3.29, 3.30, 3.31, 3.32, 3.32-crd'):
        parse_profile(text)


def test_the_default_profile_comes_from_the_environment_else_3_28(monkeypatch):
    """SPEC-3.29-3.32 §0: 3.28 stays the default so the existing suite runs unchanged."""
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    assert ClusterState().profile.name == '3.28.5'
    monkeypatch.setenv(PROFILE_ENV, '3.30.2')
    assert ClusterState().profile.name == '3.30.2'
    assert ClusterState(profile='3.31').profile.name == '3.31.7'


def test_healthz_reports_the_profile(serve):
    """SPEC-3.29-3.32 §0."""
    server = serve('3.29.3')
    assert AdminClient(server.url).healthz() == {'ok': True, 'calico_api': True, 'profile': '3.29.3',
                                                 'profile_key': '3.29', 'calico_version': 'v3.29.3',
                                                 'crd_mode': False}
    assert server.profile.name == '3.29.3'


# --- §2: discovery, APIService, /version, ClusterInformation ---------------------------------------
@pytest.mark.parametrize('profile', PROFILES)
def test_projectcalico_org_v3_resources_per_profile(serve, profile):
    """SPEC-3.29-3.32 §2.1 (resource list per version and mode) and §2.2 (no crd.projectcalico.org in CRD mode)."""
    server = serve(profile)
    p = server.profile
    plurals = {r['name'] for r in http(server, 'GET', V3)[1]['resources'] if '/' not in r['name']}
    assert {'globalnetworkpolicies', 'networkpolicies', 'hostendpoints', 'globalnetworksets', 'ippools',
            'felixconfigurations', 'kubecontrollersconfigurations', 'clusterinformations', 'bgpconfigurations',
            'bgppeers', 'ipreservations', 'caliconodestatuses', 'ipamconfigurations', 'blockaffinities'} <= plurals
    assert ('tiers' in plurals) is p.has_tiers
    staged = {'stagednetworkpolicies', 'stagedglobalnetworkpolicies', 'stagedkubernetesnetworkpolicies'}
    assert (staged <= plurals) is p.has_staged and (staged & plurals == set()) is (not p.has_staged)
    assert ('profiles' in plurals) is (not p.crd_mode)
    assert {'ipamblocks', 'ipamhandles'} <= plurals if p.crd_mode else not {'ipamblocks', 'ipamhandles'} & plurals
    groups = {g['name'] for g in http(server, 'GET', '/apis')[1]['groups']}
    assert ('crd.projectcalico.org' in groups) is (not p.crd_mode)
    assert {'projectcalico.org', 'apiregistration.k8s.io'} <= groups


@pytest.mark.parametrize('profile, short, status', [
    ('3.28', {'globalnetworkpolicies': ['gnp', 'cgnp', 'calicoglobalnetworkpolicies'],
              'kubecontrollersconfigurations': None, 'globalnetworksets': None},
     {'kubecontrollersconfigurations/status'}),
    ('3.30.0', {'stagedglobalnetworkpolicies': None, 'kubecontrollersconfigurations': ['kcconfig']},
     {'kubecontrollersconfigurations/status'}),
    ('3.30.1', {'stagedglobalnetworkpolicies': ['sgnp'], 'stagednetworkpolicies': ['snp'],
                'stagedkubernetesnetworkpolicies': ['sknp']}, {'kubecontrollersconfigurations/status'}),
    ('3.32', {'globalnetworkpolicies': ['gnp', 'cgnp', 'calicoglobalnetworkpolicies'],
              'networkpolicies': ['cnp', 'caliconetworkpolicy', 'caliconetworkpolicies'], 'tiers': None,
              'clusterinformations': ['clusterinfo'], 'felixconfigurations': ['felixconfig', 'felixconfigs']},
     {'kubecontrollersconfigurations/status'}),
    ('3.32-crd', {'globalnetworkpolicies': ['gnp', 'cgnp'], 'networkpolicies': ['cnp', 'caliconetworkpolicy'],
                  'globalnetworksets': ['gns'], 'kubecontrollersconfigurations': ['kcc', 'kccs'],
                  'stagednetworkpolicies': ['scnp', 'snp'], 'clusterinformations': ['clusterinfo', 'clusterinfos'],
                  'felixconfigurations': None},
     {'kubecontrollersconfigurations/status', 'ippools/status', 'tiers/status'}),
])
def test_short_names_and_status_subresources(serve, profile, short, status):
    """SPEC-3.29-3.32 §2.1 table (short names per mode; /status: KCC, plus IPPool and Tier in CRD mode) and §7 (staged
    short names from 3.30.1)."""
    resources = {r['name']: r for r in http(serve(profile), 'GET', V3)[1]['resources']}
    for plural, expected in short.items():
        assert resources[plural].get('shortNames') == expected, plural
    assert {n for n in resources if n.endswith('/status')} == status


@pytest.mark.parametrize('profile, namespace', [('3.28', 'calico-apiserver'), ('3.29', 'calico-apiserver'),
                                                ('3.30', 'calico-apiserver'), ('3.31', 'calico-system'),
                                                ('3.32', 'calico-system'), ('3.32-crd', None)])
def test_the_apiservice_tells_the_serving_mode_apart(serve, profile, namespace):
    """SPEC-3.29-3.32 §2.2 rule 1: API-server mode names the calico-api Service; CRD mode is Local and automanaged."""
    server = serve(profile)
    code, svc, _headers = http(server, 'GET', '/apis/apiregistration.k8s.io/v1/apiservices/v3.projectcalico.org')
    assert code == 200 and svc['spec']['group'] == 'projectcalico.org' and svc['spec']['version'] == 'v3'
    if namespace is None:
        assert 'service' not in svc['spec']
        assert 'kube-aggregator.kubernetes.io/automanaged' in svc['metadata']['labels']
    else:
        assert svc['spec']['service'] == {'namespace': namespace, 'name': 'calico-api', 'port': 443}
    assert svc['status']['conditions'][0]['type'] == 'Available'


def test_without_the_calico_api_server_there_is_no_apiservice(serve):
    """SPEC.md §8: no aggregated API, no v3.projectcalico.org APIService."""
    server = serve('3.31', calico_api=False)
    assert http(server, 'GET', '/apis/apiregistration.k8s.io/v1/apiservices')[1]['items'] == []


@pytest.mark.parametrize('profile, minor, tested', [('3.28', '33', None), ('3.29', '30', (29, 32)),
                                                    ('3.30', '33', (31, 35)), ('3.31', '33', (32, 35)),
                                                    ('3.32', '35', (34, 36)), ('3.32-crd', '35', (34, 36))])
def test_version_is_a_kubernetes_release_the_calico_line_was_tested_with(serve, profile, minor, tested):
    """SPEC-3.29-3.32 §1 (tested Kubernetes versions; v3-CRD mode needs >= 1.34)."""
    version = http(serve(profile), 'GET', '/version')[1]
    assert version['minor'] == minor and version['gitVersion'].startswith(f'v1.{minor}.')
    if tested:
        assert tested[0] <= int(minor) <= tested[1]


@pytest.mark.parametrize('profile', PROFILES)
def test_cluster_information_reports_the_calico_version(serve, profile):
    """SPEC-3.29-3.32 §2.2 / §14.1: ClusterInformation default .spec.calicoVersion."""
    server = serve(profile)
    info = http(server, 'GET', f'{V3}/clusterinformations/default')[1]
    assert info['spec']['calicoVersion'] == server.profile.calico_version


# --- §4: tiers -------------------------------------------------------------------------------------
@pytest.mark.parametrize('profile, expected', [
    ('3.29', {'default': (1000000, 'Deny'), 'adminnetworkpolicy': (1000, 'Pass')}),
    ('3.30', {'default': (1000000, 'Deny'), 'adminnetworkpolicy': (1000, 'Pass'),
              'baselineadminnetworkpolicy': (10000000, 'Pass')}),
    ('3.31', {'default': (1000000, 'Deny'), 'adminnetworkpolicy': (1000, 'Pass'),
              'baselineadminnetworkpolicy': (10000000, 'Pass')}),
    ('3.32', {'default': (1000000, 'Deny'), 'kube-admin': (1000, 'Pass'), 'kube-baseline': (10000000, 'Pass')}),
    ('3.32-crd', {'default': (1000000, 'Deny'), 'kube-admin': (1000, 'Pass'), 'kube-baseline': (10000000, 'Pass')}),
])
def test_builtin_tiers_per_version(serve, profile, expected):
    """SPEC-3.29-3.32 §4.1 table."""
    items = http(serve(profile), 'GET', TIERS)[1]['items']
    assert {t['metadata']['name']: (t['spec']['order'], t['spec']['defaultAction']) for t in items} == expected


def test_no_tiers_on_3_28(serve):
    """SPEC-3.29-3.32 §15: tiers from 3.29."""
    assert http(serve('3.28'), 'GET', TIERS)[0] == 404


@pytest.mark.parametrize('profile', TIERED)
def test_tier_defaults_differ_by_mode(serve, profile):
    """SPEC-3.29-3.32 §4.2: the API server fills order 1,000,000 and Deny; the v3 CRD defaults defaultAction only."""
    server = serve(profile)
    code, created, _headers = http(server, 'POST', TIERS, tier('security'))
    assert code == 201
    read = http(server, 'GET', f'{TIERS}/security')[1]
    for obj in (created, read):
        assert obj['spec']['defaultAction'] == 'Deny'
        assert obj['spec'].get('order') == (None if server.profile.crd_mode else 1000000)


def test_tier_names_are_dns_labels_in_api_server_mode(serve):
    """SPEC-3.29-3.32 §4.2: tierNameRegex (a label); the built-in orders are fixed."""
    server = serve('3.30')
    code, status, _headers = http(server, 'POST', TIERS, tier('a.b', order=5))
    assert code == 422 and status['details']['causes'][0]['field'] == 'metadata.name'
    default = http(server, 'GET', f'{TIERS}/default')[1]
    default['spec']['order'] = 5
    code, status, _headers = http(server, 'PUT', f'{TIERS}/default', default)
    assert code == 422 and 'default tier order must be 1e+06' in status['message']


@pytest.mark.parametrize('profile, name, code, message', [
    ('3.29', 'default', 500, 'operation Delete is not supported on default: Cannot delete default tier'),
    ('3.30', 'adminnetworkpolicy', 500,
     'operation Delete is not supported on adminnetworkpolicy: Cannot delete adminnetworkpolicy tier'),
    ('3.32', 'kube-admin', 500, 'operation Delete is not supported on kube-admin: Cannot delete kube-admin tier'),
    ('3.32-crd', 'kube-baseline', 422,
     "tiers.projectcalico.org \"kube-baseline\" is forbidden: ValidatingAdmissionPolicy "
     "'protect-builtin-tiers.projectcalico.org' with binding 'protect-builtin-tiers.projectcalico.org' denied "
     "request: The built-in tier kube-baseline cannot be deleted"),
])
def test_builtin_tiers_refuse_deletion(serve, profile, name, code, message):
    """SPEC-3.29-3.32 §4.1 (protected tiers), §13 (API server: clientv3's error, passed on as a reason-less 500,
    inferred; CRD mode: the ValidatingAdmissionPolicy of 3.32.1)."""
    server = serve(profile)
    status_code, status, _headers = http(server, 'DELETE', f'{TIERS}/{name}')
    assert (status_code, status['message']) == (code, message)
    assert ('reason' in status) is (code != 500)
    assert http(server, 'GET', f'{TIERS}/{name}')[0] == 200


@pytest.mark.parametrize('profile, name', [('3.30', 'baselineadminnetworkpolicy'), ('3.32.0-crd', 'kube-admin')])
def test_unprotected_builtin_tiers_are_deletable(serve, profile, name):
    """SPEC-3.29-3.32 §4.1: baselineadminnetworkpolicy is not protected (re-created at start-up); the CRD-mode
    protection came with 3.32.1 (#12982)."""
    server = serve(profile)
    assert http(server, 'DELETE', f'{TIERS}/{name}')[0] == 200
    assert http(server, 'GET', f'{TIERS}/{name}')[0] == 404


@pytest.mark.parametrize('profile', API_PROFILES)
def test_a_non_empty_tier_cannot_be_deleted_in_api_server_mode(serve, profile):
    """SPEC-3.29-3.32 §4.2: "Cannot delete a non-empty tier"."""
    server = serve(profile)
    assert http(server, 'POST', TIERS, tier('sec', order=100))[0] == 201
    assert http(server, 'POST', GNP, gnp('sec.block', tier='sec'))[0] == 201
    code, status, _headers = http(server, 'DELETE', f'{TIERS}/sec')
    assert (code, status['message']) == (500, 'operation delete is not supported on sec: Cannot delete a '
                                              'non-empty tier')
    assert http(server, 'DELETE', f'{GNP}/sec.block')[0] == 200
    assert http(server, 'DELETE', f'{TIERS}/sec')[0] == 200


def test_a_non_empty_tier_terminates_in_crd_mode(serve):
    """SPEC-3.29-3.32 §4.2: v3-CRD finalizer: Terminating, new policies refused, gone with its last policy."""
    server = serve('3.32-crd')
    created = http(server, 'POST', TIERS, tier('sec', order=100))[1]
    assert created['metadata']['finalizers'] == ['projectcalico.org/tier-controller']
    assert http(server, 'POST', GNP, gnp('block', tier='sec'))[0] == 201
    code, gone, _headers = http(server, 'DELETE', f'{TIERS}/sec')
    assert code == 200 and gone['metadata']['deletionTimestamp']
    assert gone['status']['conditions'][0]['reason'] == 'Terminating'
    code, status, _headers = http(server, 'POST', GNP, gnp('another', tier='sec'))
    assert (code, status['reason']) == (400, 'Forbidden')
    assert status['message'].endswith('denied the request: Tier "sec" is being deleted')
    assert http(server, 'GET', f'{TIERS}/sec')[0] == 200
    assert http(server, 'DELETE', f'{GNP}/block')[0] == 200
    assert http(server, 'GET', f'{TIERS}/sec')[0] == 404


@pytest.mark.parametrize('name, action', [('default', 'Pass'), ('kube-admin', 'Deny')])
def test_builtin_default_actions_are_pinned_in_crd_mode(serve, name, action):
    """SPEC-3.29-3.32 §4.1 (CEL on the Tier CRD: default must Deny, kube-admin/kube-baseline must Pass)."""
    server = serve('3.32-crd')
    current = http(server, 'GET', f'{TIERS}/{name}')[1]
    current['spec']['defaultAction'] = action
    code, status, _headers = http(server, 'PUT', f'{TIERS}/{name}', current)
    assert code == 422 and f"tier must have default action '{'Deny' if action == 'Pass' else 'Pass'}'" \
        in status['message']


# --- §3.1: spec.tier and the tier label ------------------------------------------------------------
def test_spec_tier_is_an_unknown_field_on_3_28(serve):
    """SPEC-3.29-3.32 §14.3 (and SPEC.md §2.4): no tiers before 3.29."""
    code, status, _headers = http(serve('3.28'), 'POST', GNP, gnp('x', tier='default'))
    assert code == 422 and 'unknown field "tier"' in status['message']


@pytest.mark.parametrize('profile', TIERED)
def test_reads_fill_spec_tier_and_the_tier_label(serve, profile):
    """SPEC-3.29-3.32 §3.1: every read (write responses, get, list, watch) shows spec.tier and the label, which
    overrides a client's differing value."""
    server = serve(profile)
    labelled = {**gnp('web', selector='all()'), 'metadata': {'name': 'web', 'labels': {'projectcalico.org/tier': 'x'}}}
    code, created, _headers = http(server, 'POST', GNP, labelled)
    assert code == 201
    watched = http(server, 'GET', f'{GNP}?watch=true')[1]   # one ADDED event: a single JSON document
    events = [watched['object']]
    for obj in [created, http(server, 'GET', f'{GNP}/web')[1], http(server, 'GET', GNP)[1]['items'][0], events[0]]:
        assert obj['spec']['tier'] == 'default'
        assert obj['metadata']['labels']['projectcalico.org/tier'] == 'default'


@pytest.mark.parametrize('profile, stored_default_label', [('3.29', False), ('3.31', False), ('3.32', True),
                                                           ('3.32-crd', True)])
def test_what_a_write_stores(serve, profile, stored_default_label):
    """SPEC-3.29-3.32 §3.1: 3.29-3.31 store the label for non-default tiers only; 3.32 on every write."""
    server = serve(profile)
    assert http(server, 'POST', TIERS, tier('sec', order=10))[0] == 201
    assert http(server, 'POST', GNP, gnp('web'))[0] == 201
    assert http(server, 'POST', GNP, gnp('sec.web', tier='sec'))[0] == 201
    raw = {o['metadata']['name']: o for o in server.objects('GlobalNetworkPolicy', 'projectcalico.org/v3', raw=True)}
    assert ('projectcalico.org/tier' in (raw['web']['metadata'].get('labels') or {})) is stored_default_label
    assert raw['sec.web']['metadata']['labels']['projectcalico.org/tier'] == 'sec'


@pytest.mark.parametrize('profile, code, reason, message', [
    ('3.29', 500, None,
     'StorageError: key not found, Code: 1, Key: /projectcalico.org/globalnetworkpolicies/nowhere.x, '
     'ResourceVersion: 0, AdditionalErrorMsg: '),
    ('3.32', 500, None,
     'StorageError: key not found, Code: 1, Key: /projectcalico.org/globalnetworkpolicies/nowhere.x, '
     'ResourceVersion: 0, AdditionalErrorMsg: '),
    ('3.32-crd', 400, 'Forbidden',
     'admission webhook "tiered-rbac.projectcalico.org" denied the request: Tier "nowhere" does not exist'),
])
def test_a_policy_in_a_missing_tier(serve, profile, code, reason, message):
    """SPEC-3.29-3.32 §3.1 / §13: API server most likely 500 with a storage key-not-found (inferred); CRD mode 400."""
    status_code, status, _headers = http(serve(profile), 'POST', GNP, gnp('nowhere.x', tier='nowhere'))
    assert (status_code, status.get('reason'), status['message']) == (code, reason, message)


@pytest.mark.parametrize('profile', TIERED)
def test_lists_select_on_spec_tier_and_the_tier_label(serve, profile):
    """SPEC-3.29-3.32 §3.1: the label and the spec.tier field selector name a tier."""
    server = serve(profile)
    http(server, 'POST', TIERS, tier('sec', order=10))
    http(server, 'POST', GNP, gnp('web'))
    http(server, 'POST', GNP, gnp('sec.web', tier='sec'))
    assert names(server, f'{GNP}?fieldSelector=spec.tier%3Dsec') == ['sec.web']
    assert names(server, f'{GNP}?labelSelector=projectcalico.org/tier%3Ddefault') == ['web']


# --- §3.2: policy names ----------------------------------------------------------------------------
@pytest.mark.parametrize('profile, name, spec_tier, code, shown', [
    ('3.28', 'web', None, 201, 'web'),
    ('3.28', 'default.web', None, 422, None),
    ('3.29.0', 'web', None, 201, 'default.web'),
    ('3.29.3', 'web', None, 201, 'default.web'),
    ('3.29.4', 'web', None, 201, 'web'),
    ('3.29.4', 'default.web', None, 201, 'default.web'),
    ('3.30.0', 'web', None, 201, 'web'),
    ('3.30.1', 'web', None, 201, 'web'),
    ('3.31', 'web', None, 201, 'web'),
    ('3.32', 'web', None, 201, 'web'),
    ('3.32-crd', 'web', None, 201, 'web'),
    ('3.29', 'sec.web', 'sec', 201, 'sec.web'),
    ('3.31', 'sec.web', 'sec', 201, 'sec.web'),
    ('3.32', 'sec.web', 'sec', 201, 'sec.web'),
    ('3.29.0', 'web', 'sec', 500, 'Incorrectly formatted policy name default.web'),
    ('3.29.4', 'web', 'sec', 500, 'Incorrectly formatted policy name web'),
    ('3.31', 'sec.web', None, 500, 'Incorrectly formatted policy name sec.web'),
    ('3.32', 'web', 'sec', 201, 'web'),
    ('3.32', 'sec.web', None, 201, 'sec.web'),
    ('3.32-crd', 'other.web', 'sec', 201, 'other.web'),
    ('3.31', 'a.b.c', None, 422, None),
    ('3.32', 'a.b.c', None, 422, None),
    ('3.32-crd', 'a.b.c', None, 201, 'a.b.c'),
])
def test_policy_name_rules(serve, profile, name, spec_tier, code, shown):
    """SPEC-3.29-3.32 §3.2 table: regex, tier coupling ("Incorrectly formatted policy name", likely 500) and the
    name returned on read."""
    server = serve(profile)
    if server.profile.has_tiers:
        http(server, 'POST', TIERS, tier('sec', order=10))
    spec = {'tier': spec_tier} if spec_tier else {}
    status_code, body, _headers = http(server, 'POST', GNP, gnp(name, **spec))
    assert status_code == code, body
    if code == 201:
        assert body['metadata']['name'] == shown
        assert names(server) == [shown]
    elif code == 500:
        assert body['message'] == shown and 'reason' not in body
    else:
        assert body['reason'] == 'Invalid' and body['details']['causes'][0]['field'] == 'metadata.name'


@pytest.mark.parametrize('profile', ['3.29.0', '3.29.3'])
def test_bare_and_default_prefixed_names_are_one_object_on_3_29_0_to_3(serve, profile):
    """SPEC-3.29-3.32 §3.2: `foo` and `default.foo` are aliases; reads say `default.foo` (#9437: patching by the
    created name then fails, the URL and object names differ)."""
    server = serve(profile)
    assert http(server, 'POST', GNP, gnp('web', selector='all()'))[0] == 201
    for spelling in ('web', 'default.web'):
        code, obj, _headers = http(server, 'GET', f'{GNP}/{spelling}')
        assert (code, obj['metadata']['name']) == (200, 'default.web')
    assert http(server, 'POST', GNP, gnp('default.web'))[0] == 409
    code, status, _headers = http(server, 'PATCH', f'{GNP}/web', {'spec': {'order': 5}},
                                  content_type='application/merge-patch+json')
    assert (code, status['message']) == (400, 'the name of the object (default.web) does not match the name on the '
                                              'URL (web)')
    code, obj, _headers = http(server, 'PATCH', f'{GNP}/default.web', {'spec': {'order': 5}},
                               content_type='application/merge-patch+json')
    assert code == 200 and obj['spec']['order'] == 5
    assert http(server, 'DELETE', f'{GNP}/web')[0] == 200
    assert names(server) == []


@pytest.mark.parametrize('profile', ['3.29.4', '3.30.1', '3.31'])
def test_the_other_spelling_collides_from_3_29_4(serve, profile):
    """SPEC-3.29-3.32 §3.2 consequences: second create AlreadyExists; GET by the other spelling a plain error (500)."""
    server = serve(profile)
    assert http(server, 'POST', GNP, gnp('web'))[0] == 201
    code, status, _headers = http(server, 'POST', GNP, gnp('default.web'))
    assert (code, status['reason']) == (409, 'AlreadyExists')
    code, status, _headers = http(server, 'GET', f'{GNP}/default.web')
    assert (code, status['message']) == (500, 'resource not found GlobalNetworkPolicy(default.web)')
    assert 'reason' not in status
    assert http(server, 'DELETE', f'{GNP}/default.web')[0] == 500
    assert http(server, 'GET', f'{GNP}/web')[0] == 200


@pytest.mark.parametrize('profile', ['3.32', '3.32-crd'])
def test_default_prefix_is_just_a_name_on_3_32(serve, profile):
    """SPEC-3.29-3.32 §3.2: on 3.32 `default.foo` is a distinct object and says nothing about the tier."""
    server = serve(profile)
    assert http(server, 'POST', GNP, gnp('web'))[0] == 201
    assert http(server, 'POST', GNP, gnp('default.web'))[0] == 201
    assert names(server) == ['default.web', 'web']


@pytest.mark.parametrize('profile, name, code, shown', [('3.29.0', 'web', 201, 'default.web'),
                                                        ('3.31', 'web', 201, 'web'),
                                                        ('3.31', 'knp.default.web', 201, 'knp.default.web'),
                                                        ('3.31', 'a.b.c', 422, None),
                                                        ('3.32-crd', 'a.b.c', 201, 'a.b.c')])
def test_network_policies_follow_the_same_name_rules(serve, profile, name, code, shown):
    """SPEC-3.29-3.32 §3.2 (GNP/NP; NP also allows knp.default./ossg.default. names)."""
    server = serve(profile)
    status_code, body, _headers = http(server, 'POST', NP, policy('NetworkPolicy', name, 'default'))
    assert status_code == code, body
    if shown:
        assert names(server, NP) == [shown]
        assert http(server, 'GET', f'{NP}/{name}')[1]['spec']['tier'] == 'default'


# --- §7: staged policies ---------------------------------------------------------------------------
@pytest.mark.parametrize('profile', ['3.30', '3.32', '3.32-crd'])
def test_staged_kinds_are_stored_with_staged_action_set(serve, profile):
    """SPEC-3.29-3.32 §7: SGNP / SNP / SKNP from 3.30, stagedAction defaults to Set, tiers like the enforced kinds."""
    server = serve(profile)
    sgnp = policy('StagedGlobalNetworkPolicy', 'canary', selector='all()')
    code, obj, _headers = http(server, 'POST', f'{V3}/stagedglobalnetworkpolicies', sgnp)
    assert code == 201 and obj['spec']['stagedAction'] == 'Set' and obj['spec']['tier'] == 'default'
    snp = policy('StagedNetworkPolicy', 'canary', 'default', selector='all()')
    assert http(server, 'POST', f'{V3}/namespaces/default/stagednetworkpolicies', snp)[0] == 201
    sknp = policy('StagedKubernetesNetworkPolicy', 'canary', 'default', podSelector={}, policyTypes=['Ingress'])
    code, obj, _headers = http(server, 'POST', f'{V3}/namespaces/default/stagedkubernetesnetworkpolicies', sknp)
    assert code == 201 and obj['spec']['stagedAction'] == 'Set'


def test_staged_kinds_do_not_exist_on_3_29(serve):
    """SPEC-3.29-3.32 §7: staged policies are 3.30+."""
    assert http(serve('3.29'), 'GET', f'{V3}/stagedglobalnetworkpolicies')[0] == 404


def test_a_staged_delete_carries_nothing_but_the_tier(serve):
    """SPEC-3.29-3.32 §7: "Spec fields, except Tier, should all be zero-value if stagedAction is Delete"."""
    server = serve('3.31')
    path = f'{V3}/stagedglobalnetworkpolicies'
    code, status, _headers = http(server, 'POST', path, policy('StagedGlobalNetworkPolicy', 'gone', stagedAction='Delete',
                                                               selector='all()'))
    assert code == 422 and 'should all be zero-value if stagedAction is Delete' in status['message']
    code, obj, _headers = http(server, 'POST', path, policy('StagedGlobalNetworkPolicy', 'gone', stagedAction='Delete',
                                                            tier='default'))
    assert code == 201 and 'types' not in obj['spec']


# --- §9.3: notNets catch-all -----------------------------------------------------------------------
@pytest.mark.parametrize('profile, rejected', [('3.28', False), ('3.29.5', False), ('3.29.6', True),
                                               ('3.30.2', False), ('3.30.3', True), ('3.31.0', True),
                                               ('3.32', True), ('3.32-crd', False)])
def test_catch_all_not_nets_are_rejected_from_the_fixing_patch(serve, profile, rejected):
    """SPEC-3.29-3.32 §9.3: 0.0.0.0/0 or ::/0 in notNets, refused from 3.29.6, 3.30.3, 3.31.0 (no Go validation in
    v3-CRD mode, §6.1)."""
    rule = {'action': 'Allow', 'source': {'notNets': ['0.0.0.0/0']}}
    code, body, _headers = http(serve(profile), 'POST', GNP, gnp('catch-all', ingress=[rule]))
    assert code == (422 if rejected else 201), body
    if rejected:
        assert 'catch-all CIDR in negation creates logical contradiction' in body['message']


# --- §6: defaults, patches, CRD-mode admission -----------------------------------------------------
@pytest.mark.parametrize('profile', PROFILES)
def test_server_filled_defaults_on_reads(serve, profile):
    """SPEC-3.29-3.32 §6.2: fields reads return filled (IPPool assignmentMode 3.30+, BGPConfiguration
    serviceLoadBalancerAggregation 3.31+, nftablesMode/logSeverityScreen/KCC policyMigration 3.32); not stored."""
    server = serve(profile)
    p = server.profile
    http(server, 'POST', f'{V3}/bgpconfigurations', policy('BGPConfiguration', 'default'))
    kcc = http(server, 'GET', f'{V3}/kubecontrollersconfigurations/default')[1]
    kcc['spec']['controllers'].update(loadBalancer={}, policyMigration={})
    assert http(server, 'PUT', f'{V3}/kubecontrollersconfigurations/default', kcc)[0] == 200
    pool = http(server, 'GET', f'{V3}/ippools/default-ipv4-ippool')[1]['spec']
    felix = http(server, 'GET', f'{V3}/felixconfigurations/default')[1]['spec']
    bgp = http(server, 'GET', f'{V3}/bgpconfigurations/default')[1]['spec']
    kcc = http(server, 'GET', f'{V3}/kubecontrollersconfigurations/default')[1]['spec']['controllers']
    assert pool.get('assignmentMode') == ('Automatic' if p.minor >= (3, 30) else None)
    assert bgp.get('serviceLoadBalancerAggregation') == ('Enabled' if p.minor >= (3, 31) else None)
    assert bgp.get('logSeverityScreen') == ('Info' if p.minor >= (3, 32) else None)
    assert felix.get('nftablesMode') == ('Auto' if p.minor >= (3, 32) else None)
    assert kcc['loadBalancer'].get('assignIPs') == ('AllServices' if p.minor >= (3, 30) else None)
    assert kcc['policyMigration'].get('enabled') == ('Enabled' if p.minor >= (3, 32) else None)
    stored = server.objects('IPPool', 'projectcalico.org/v3', raw=True)[0]['spec']
    assert 'assignmentMode' not in stored


@pytest.mark.parametrize('profile, code', [('3.31', 200), ('3.32', 200), ('3.32-crd', 415)])
def test_strategic_merge_patch_is_refused_in_crd_mode(serve, profile, code):
    """SPEC-3.29-3.32 §6.3: custom resources answer 415 to strategic merge patch."""
    server = serve(profile)
    http(server, 'POST', GNP, gnp('web'))
    status_code, body, _headers = http(server, 'PATCH', f'{GNP}/web', {'spec': {'order': 3}},
                                       content_type='application/strategic-merge-patch+json')
    assert status_code == code
    if code == 415:
        assert body['reason'] == 'UnsupportedMediaType'
    merge = http(server, 'PATCH', f'{GNP}/web', {'spec': {'order': 4}}, content_type='application/merge-patch+json')
    assert merge[0] == 200 and merge[1]['spec']['order'] == 4


@pytest.mark.parametrize('profile, code', [('3.32.0', 404), ('3.32.1', 201), ('3.31', 201), ('3.32.0-crd', 201)])
def test_server_side_apply_create_of_a_tiered_policy(serve, profile, code):
    """SPEC-3.29-3.32 §6.3: 3.32.0's API server answered NotFound (fixed in 3.32.1, #12906)."""
    status_code, _body, _headers = http(serve(profile), 'PATCH', f'{GNP}/web?fieldManager=test', gnp('web'),
                                        content_type='application/apply-patch+yaml')
    assert status_code == code


@pytest.mark.parametrize('profile, code', [('3.32.0', 500), ('3.32.1', 201)])
def test_server_side_apply_of_bgp_lists_on_3_32_0(serve, profile, code):
    """SPEC-3.29-3.32 §6.3: 3.32.0 BGPConfiguration SSA of list fields failed (#12705)."""
    body = policy('BGPConfiguration', 'default', serviceClusterIPs=[{'cidr': '10.96.0.0/12'}])
    status_code, status, _headers = http(serve(profile), 'PATCH', f'{V3}/bgpconfigurations/default?fieldManager=t', body,
                                         content_type='application/apply-patch+yaml')
    assert status_code == code
    if code == 500:
        assert 'associative list without keys has an element that\'s a map type' in status['message']


def test_crd_mode_skips_calico_go_validation(serve):
    """SPEC-3.29-3.32 §6.1: v3-CRD mode has no Calico Go validation at admission (selector syntax, CIDRs)."""
    server = serve('3.32-crd')
    bad = gnp('bad', selector='a ==', ingress=[{'action': 'Allow', 'source': {'nets': ['10.0.0.1/8']}}])
    assert http(server, 'POST', GNP, bad)[0] == 201
    assert http(serve('3.32'), 'POST', GNP, bad)[0] == 422


def test_crd_mode_admission_hook_causes_and_warnings(serve, monkeypatch):
    """SPEC-3.29-3.32 §6.1-§6.3: in v3-CRD mode writes go through crd_mode.admit (schema, CEL, defaults, pruning):
    causes become 422 Invalid, warnings `Warning: 299` headers."""
    calls = []

    class FakeCrdMode:
        @staticmethod
        def admit(kind, obj, old, profile):
            calls.append((kind, obj['metadata']['name'], old is not None, profile.name))
            obj['spec'].pop('bogus', None)
            if obj['metadata']['name'] == 'refused':
                return [{'field': 'spec.types', 'message': 'Invalid value: 0: spec.types in body should have at '
                                                           'least 1 items', 'reason': 'FieldValueInvalid'}], []
            return [], ['unknown field "spec.bogus"']
    monkeypatch.setitem(sys.modules, 'clusteredge_testworld.emulator.crd_mode', FakeCrdMode)
    monkeypatch.setattr(emulator, 'crd_mode', FakeCrdMode, raising=False)
    server = serve('3.32-crd')
    code, obj, headers = http(server, 'POST', GNP, gnp('web', bogus=1))
    assert code == 201 and 'bogus' not in obj['spec']
    assert ('Warning', '299 - "unknown field \\"spec.bogus\\""') in headers
    code, status, _headers = http(server, 'POST', GNP, gnp('refused'))
    assert code == 422 and status['details']['causes'][0]['field'] == 'spec.types'
    assert calls[:2] == [('GlobalNetworkPolicy', 'web', False, '3.32.1-crd'),
                         ('GlobalNetworkPolicy', 'refused', False, '3.32.1-crd')]
    assert http(serve('3.32'), 'POST', GNP, gnp('web', bogus=1))[0] == 422   # API-server mode: today's behaviour


def test_crd_mode_ippool_conditions(serve):
    """SPEC-3.29-3.32 §6.3 / §9.5: v3-CRD mode IPPool status.conditions; an overlapping pool is accepted, then
    marked not allocatable (CIDROverlap)."""
    server = serve('3.32-crd')
    pool = policy('IPPool', 'overlap', cidr='192.168.10.0/24')
    assert http(server, 'POST', f'{V3}/ippools', pool)[0] == 201
    conditions = http(server, 'GET', f'{V3}/ippools/overlap')[1]['status']['conditions']
    assert (conditions[0]['type'], conditions[0]['status'], conditions[0]['reason']) == \
        ('Allocatable', 'False', 'CIDROverlap')
    default = http(server, 'GET', f'{V3}/ippools/default-ipv4-ippool')[1]['status']['conditions'][0]
    assert (default['status'], default['reason']) == ('True', 'OK')


# --- §11: upgrades ---------------------------------------------------------------------------------
def test_upgrade_from_3_28_to_3_30_0_shows_the_default_prefix(serve):
    """SPEC-3.29-3.32 §3.2 / §11: on 3.30.0 objects created before 3.30 read back as `default.<name>` (both spellings
    reach them); objects created on 3.30.0 read back as created."""
    server = serve('3.28')
    assert http(server, 'POST', GNP, gnp('web', selector='all()'))[0] == 201
    server.upgrade('3.30.0')
    assert names(server) == ['default.web']
    for spelling in ('web', 'default.web'):
        assert http(server, 'GET', f'{GNP}/{spelling}')[1]['metadata']['name'] == 'default.web'
    assert http(server, 'POST', GNP, gnp('api'))[1]['metadata']['name'] == 'api'
    assert http(server, 'GET', f'{GNP}/default.api')[0] == 500
    assert http(server, 'GET', f'{V3}/clusterinformations/default')[1]['spec']['calicoVersion'] == 'v3.30.0'
    assert {t['metadata']['name'] for t in http(server, 'GET', TIERS)[1]['items']} == \
        {'default', 'adminnetworkpolicy', 'baselineadminnetworkpolicy'}
    server.upgrade('3.30.1')
    assert names(server) == ['api', 'web']


def test_upgrade_through_3_29_0_to_3_29_4(serve):
    """SPEC-3.29-3.32 §11: to 3.29.0-3.29.3 default-tier names appear as `default.<name>`; from 3.29.4 they settle
    to the bare name."""
    server = serve('3.28')
    http(server, 'POST', GNP, gnp('web'))
    server.upgrade('3.29.2')
    assert names(server) == ['default.web']
    http(server, 'POST', GNP, gnp('api'))
    server.upgrade('3.29.4')
    assert names(server) == ['api', 'web']
    assert http(server, 'GET', f'{GNP}/default.web')[0] == 500


def test_upgrade_to_3_32_makes_names_plain(serve):
    """SPEC-3.29-3.32 §3.2 (3.32: the migrator renames backend objects; names as clients saw them)."""
    server = serve('3.31')
    http(server, 'POST', TIERS, tier('sec', order=10))
    for name, spec in (('web', {}), ('default.api', {}), ('sec.db', {'tier': 'sec'})):
        assert http(server, 'POST', GNP, gnp(name, **spec))[0] == 201
    server.upgrade('3.32')
    assert names(server) == ['default.api', 'sec.db', 'web']
    assert http(server, 'POST', GNP, gnp('api'))[0] == 201   # `api` and `default.api` are now two objects
    tiers = {t['metadata']['name'] for t in http(server, 'GET', TIERS)[1]['items']}
    assert {'kube-admin', 'kube-baseline', 'adminnetworkpolicy', 'baselineadminnetworkpolicy'} <= tiers
    assert http(server, 'DELETE', f'{TIERS}/adminnetworkpolicy')[0] == 200   # lingers as an ordinary tier


def test_upgrade_into_crd_mode_copies_calico_objects(serve):
    """SPEC-3.29-3.32 §2.2 / §11: the migration copies the v3 view (new UIDs), drops crd.projectcalico.org and
    profiles, and the APIService becomes Local."""
    server = serve('3.31')
    uid = http(server, 'POST', GNP, gnp('web'))[1]['metadata']['uid']
    server.upgrade('3.32-crd')
    moved = http(server, 'GET', f'{GNP}/web')[1]
    assert moved['metadata']['uid'] != uid and moved['spec']['tier'] == 'default'
    groups = {g['name'] for g in http(server, 'GET', '/apis')[1]['groups']}
    assert 'crd.projectcalico.org' not in groups
    assert http(server, 'GET', f'{V3}/profiles')[0] == 404
    svc = http(server, 'GET', '/apis/apiregistration.k8s.io/v1/apiservices/v3.projectcalico.org')[1]
    assert 'service' not in svc['spec']
    assert server.profile.crd_mode and http(server, 'GET', '/version')[1]['minor'] == '35'


def test_downgrades_are_refused(serve):
    """SPEC-3.29-3.32 §11 covers upgrades only."""
    server = serve('3.31')
    for target in ('3.30', '3.31.2'):
        with pytest.raises(ValueError, match='only upgrades'):
            server.upgrade(target)
    server.upgrade('3.32-crd')
    with pytest.raises(ValueError):
        server.upgrade('3.32')


def test_the_admin_endpoint_upgrades_a_running_emulator(serve):
    """SPEC-3.29-3.32 §11, for emulators in other processes (POST /_emulator/upgrade)."""
    server = serve('3.28')
    http(server, 'POST', GNP, gnp('web'))
    health = AdminClient(server.url).upgrade('3.29.1')
    assert health['profile'] == '3.29.1' and health['calico_version'] == 'v3.29.1'
    assert names(server) == ['default.web']
    code, status, _headers = http(server, 'POST', '/_emulator/upgrade', {'profile': '3.99'})
    assert code == 400 and 'unknown Calico profile' in status['message']


def test_the_cli_takes_a_profile(tmp_path):
    """SPEC-3.29-3.32 §0: `python -m clusteredge_testworld.emulator serve --profile P` (subprocesses also inherit the environment)."""
    state_file = tmp_path / 'state.json'
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, '-m', 'clusteredge_testworld.emulator', 'serve', '--profile', '3.31.2', '--state-file',
                             str(state_file)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        deadline = time.monotonic() + 20
        while not state_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert json.loads(state_file.read_text())['profile'] == '3.31.2'
        assert AdminClient(url).healthz()['calico_version'] == 'v3.31.2'
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize('k8s_api_profile', ['3.30.4', '3.32-crd'], indirect=True)
def test_the_k8s_api_profile_fixture(k8s_api_profile):
    """SPEC-3.29-3.32 §0: the fixture factory takes the profile by indirect parametrization."""
    assert k8s_api_profile.profile.name in ('3.30.4', '3.32.1-crd')


def test_crd_mode_without_the_crd_mode_module(serve, monkeypatch):
    """SPEC-3.29-3.32 §4.1 / §6.1: without crd_mode.py (no schema/CEL engine) CRD mode still protects the built-in
    tiers (3.32.1 ValidatingAdmissionPolicy) and pins their defaultAction."""
    monkeypatch.delattr(emulator, 'crd_mode', raising=False)
    monkeypatch.setitem(sys.modules, 'clusteredge_testworld.emulator.crd_mode', None)   # the import then fails
    server = serve('3.32-crd')
    code, status, _headers = http(server, 'DELETE', f'{TIERS}/default')
    assert (code, status['reason']) == (422, 'Invalid') and status['message'].endswith('cannot be deleted')
    current = http(server, 'GET', f'{TIERS}/kube-admin')[1]
    current['spec']['defaultAction'] = 'Deny'
    assert http(server, 'PUT', f'{TIERS}/kube-admin', current)[0] == 422
    created = http(server, 'POST', GNP, gnp('web'))[1]
    assert created['spec']['tier'] == 'default' and created['metadata']['labels']['projectcalico.org/tier'] == 'default'
