"""Calico tiered RBAC in RBAC mode (SPEC-3.29-3.32 §5, §13, §14.18-19): plain RBAC first, then `get` on the tier and
the request's verb on `tier.<plural>` by name or `<tier>.*`; API server 403s and list filtering, v3-CRD webhook 400s."""
import pytest

from clusteredge_testworld.emulator import EmulatorServer
from clusteredge_testworld.emulator.rbac import log_line, rules_from
from clusteredge_testworld.emulator.reference import profile_missing_reason
from helpers import http, policy

USER = 'system:serviceaccount:awx:clusteredge-calico'
V3 = '/apis/projectcalico.org/v3'
GNP = f'{V3}/globalnetworkpolicies'
NP = f'{V3}/namespaces/shop/networkpolicies'
PLAIN = {'apiGroups': ['projectcalico.org'], 'resources': ['globalnetworkpolicies', 'networkpolicies'],
         'verbs': ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection']}
NAMESPACE = {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'shop'}}


def tier_rules(*tiers, verbs=('get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection')):
    """The documented least-privilege shape (§14.18): get on the tiers by name, all verbs on `<tier>.*`."""
    return [{'apiGroups': ['projectcalico.org'], 'resources': ['tiers'], 'verbs': ['get'],
             'resourceNames': list(tiers)},
            {'apiGroups': ['projectcalico.org'], 'resources': ['tier.globalnetworkpolicies', 'tier.networkpolicies'],
             'verbs': list(verbs), 'resourceNames': [f'{t}.*' for t in tiers]}]


@pytest.fixture
def rbac_server(tmp_path, monkeypatch):
    """rbac_server(profile, rules) -> started server where token 'sa' holds `rules` and 'admin' is unrestricted; a
    tier `sec` with policy `sec.db` (GNP) exists. A v3-CRD profile skips the test when Calico's 3.32 CRDs (reference
    data outside the repository) cannot be read."""
    monkeypatch.setenv('TMPDIR', str(tmp_path))
    servers = []

    def start(profile, rules):
        reason = profile_missing_reason(profile)
        if reason:
            pytest.skip(reason)
        server = EmulatorServer(token='admin', rbac={'sa': {'user': USER, 'rules': rules}}, profile=profile).start()
        servers.append(server)
        server.seed([NAMESPACE])
        assert http(server, 'POST', f'{V3}/tiers', policy('Tier', 'sec', order=100), token='admin')[0] == 201
        assert http(server, 'POST', GNP, policy('GlobalNetworkPolicy', 'sec.db', tier='sec'), token='admin')[0] == 201
        return server
    yield start
    for server in servers:
        server.stop()


def gnp(name, **spec):
    return policy('GlobalNetworkPolicy', name, **spec)


@pytest.mark.parametrize('profile', ['3.29', '3.30', '3.31', '3.32'])
def test_the_documented_rules_allow_the_default_tier_and_nothing_else(rbac_server, profile):
    """SPEC-3.29-3.32 §5.1 / §14.18: `tiers` get by name plus `tier.globalnetworkpolicies` with `default.*`."""
    server = rbac_server(profile, [PLAIN] + tier_rules('default'))
    assert http(server, 'POST', GNP, gnp('web'), token='sa')[0] == 201
    assert http(server, 'GET', f'{GNP}/web', token='sa')[0] == 200
    code, obj, _headers = http(server, 'PATCH', f'{GNP}/web', {'spec': {'order': 3}}, token='sa',
                               content_type='application/merge-patch+json')
    assert code == 200
    listing = http(server, 'GET', GNP, token='sa')[1]
    assert [o['metadata']['name'] for o in listing['items']] == ['web']   # silently restricted to readable tiers
    assert len(http(server, 'GET', GNP, token='admin')[1]['items']) == 2
    assert http(server, 'DELETE', f'{GNP}/web', token='sa')[0] == 200


@pytest.mark.parametrize('profile', ['3.29', '3.31'])
def test_forbidden_bodies_name_the_tier(rbac_server, profile):
    """SPEC-3.29-3.32 §5.1: 403 wording, the namespace for NetworkPolicies and "(user cannot get tier)"."""
    server = rbac_server(profile, [PLAIN] + tier_rules('default'))
    code, status, _headers = http(server, 'POST', GNP, gnp('sec.web', tier='sec'), token='sa')
    assert (code, status['reason']) == (403, 'Forbidden')
    assert status['message'] == (f'globalnetworkpolicies.projectcalico.org "sec.web" is forbidden: User "{USER}" '
                                 'cannot create globalnetworkpolicies.projectcalico.org in tier "sec" '
                                 '(user cannot get tier)')
    assert status['details'] == {'name': 'sec.web', 'group': 'projectcalico.org', 'kind': 'globalnetworkpolicies'}
    code, status, _headers = http(server, 'GET', f'{GNP}/sec.db', token='sa')
    assert code == 403 and 'cannot get globalnetworkpolicies.projectcalico.org in tier "sec"' in status['message']
    code, status, _headers = http(server, 'GET', f'{GNP}/sec.missing', token='sa')
    assert code == 403   # 3.29-3.31: the tier comes from the name, checked before the lookup
    code, status, _headers = http(server, 'DELETE', f'{NP}/sec.x', token='sa')
    assert status['message'].endswith('cannot delete networkpolicies.projectcalico.org in tier "sec" and '
                                      'namespace "shop" (user cannot get tier)')


def test_tier_get_without_policy_rights_omits_the_suffix(rbac_server):
    """SPEC-3.29-3.32 §5.1: the suffix only when the `get tiers` check failed."""
    rules = [PLAIN, {'apiGroups': ['projectcalico.org'], 'resources': ['tiers'], 'verbs': ['get']}]
    server = rbac_server('3.30', rules + tier_rules('default', verbs=('get',)))
    code, status, _headers = http(server, 'POST', GNP, gnp('web'), token='sa')
    assert code == 403 and status['message'].endswith('cannot create globalnetworkpolicies.projectcalico.org in '
                                                      'tier "default"')


def test_plain_rbac_comes_first(rbac_server):
    """SPEC-3.29-3.32 §5.1: kube-apiserver authorizes the resource itself before Calico's tier check."""
    server = rbac_server('3.31', tier_rules('default'))
    code, status, _headers = http(server, 'GET', GNP, token='sa')
    assert code == 403 and 'cannot list resource "globalnetworkpolicies" in API group "projectcalico.org"' \
        in status['message']


def test_create_needs_the_tier_wildcard_not_a_policy_name(rbac_server):
    """SPEC-3.29-3.32 §5.1: a create carries no name in its request attributes, so per-policy resourceNames never
    allow it (API-server mode); get and update by name do."""
    by_name = [{'apiGroups': ['projectcalico.org'], 'resources': ['tiers'], 'verbs': ['get'],
                'resourceNames': ['default']},
               {'apiGroups': ['projectcalico.org'], 'resources': ['tier.globalnetworkpolicies'],
                'verbs': ['get', 'create', 'update'], 'resourceNames': ['web']}]
    server = rbac_server('3.31', [PLAIN] + by_name)
    assert http(server, 'POST', GNP, gnp('web'), token='sa')[0] == 403
    assert http(server, 'POST', GNP, gnp('web'), token='admin')[0] == 201
    assert http(server, 'GET', f'{GNP}/web', token='sa')[0] == 200


def test_lists_without_any_readable_tier_are_forbidden(rbac_server):
    """SPEC-3.29-3.32 §5.1: 403 "operation on Calico tiered policy is forbidden"; an explicit unreadable tier
    selector is a 403 naming it."""
    server = rbac_server('3.30', [PLAIN])
    code, status, _headers = http(server, 'GET', GNP, token='sa')
    assert (code, status['message']) == (403, 'globalnetworkpolicies.projectcalico.org is forbidden: operation on '
                                         'Calico tiered policy is forbidden')
    server = rbac_server('3.30', [PLAIN] + tier_rules('default'))
    code, status, _headers = http(server, 'GET', f'{GNP}?labelSelector=projectcalico.org/tier%3Dsec', token='sa')
    assert code == 403 and status['message'].startswith('globalnetworkpolicies.projectcalico.org is forbidden: User')
    code, listing, _headers = http(server, 'GET', f'{GNP}?fieldSelector=spec.tier%3Ddefault', token='sa')
    assert code == 200 and listing['items'] == []
    code, status, _headers = http(server, 'GET', f'{GNP}?labelSelector=projectcalico.org/tier!%3Dsec', token='sa')
    assert code == 500 and 'non equal selector operator' in status['message']


def test_3_32_takes_the_tier_from_spec_tier(rbac_server):
    """SPEC-3.29-3.32 §5.1 (3.32 column): the stored object is fetched first (404 before the tier check); its
    spec.tier decides; moving a policy to another tier needs both tiers."""
    server = rbac_server('3.32', [PLAIN] + tier_rules('default'))
    assert http(server, 'POST', GNP, gnp('db', tier='sec'), token='admin')[0] == 201
    code, status, _headers = http(server, 'GET', f'{GNP}/db', token='sa')
    assert code == 403 and 'in tier "sec"' in status['message']
    assert http(server, 'GET', f'{GNP}/missing', token='sa')[0] == 404
    assert http(server, 'POST', GNP, gnp('web'), token='sa')[0] == 201
    code, status, _headers = http(server, 'PATCH', f'{GNP}/web', {'spec': {'tier': 'sec'}}, token='sa',
                                  content_type='application/merge-patch+json')
    assert code == 403 and 'cannot patch globalnetworkpolicies.projectcalico.org in tier "sec"' in status['message']


@pytest.mark.parametrize('profile, filtered', [('3.29', False), ('3.31.5', False), ('3.31.6', True),
                                               ('3.32.0', False), ('3.32.1', True)])
def test_deletecollection_is_tier_filtered_from_3_31_6(rbac_server, profile, filtered):
    """SPEC-3.29-3.32 §5.1 table: no tier check before 3.31.6 (and on 3.32.0); tier-filtered like list after."""
    server = rbac_server(profile, [PLAIN] + tier_rules('default'))
    http(server, 'POST', GNP, gnp('web'), token='admin')
    assert http(server, 'DELETE', GNP, token='sa')[0] == 200
    left = [o['metadata']['name'] for o in http(server, 'GET', GNP, token='admin')[1]['items']]
    assert left == (['sec.db'] if filtered else [])


def test_crd_mode_webhook_checks_writes_only(rbac_server):
    """SPEC-3.29-3.32 §5.2: the webhook answers 400 with reason Forbidden; a PATCH is an `update`; reads are not
    tier-checked; the resource name is the object's even on create."""
    by_name = [{'apiGroups': ['projectcalico.org'], 'resources': ['tiers'], 'verbs': ['get'],
                'resourceNames': ['default']},
               {'apiGroups': ['projectcalico.org'], 'resources': ['tier.globalnetworkpolicies'],
                'verbs': ['create'], 'resourceNames': ['web']}]
    server = rbac_server('3.32-crd', [PLAIN] + by_name)
    assert http(server, 'POST', GNP, gnp('web'), token='sa')[0] == 201
    assert [o['metadata']['name'] for o in http(server, 'GET', GNP, token='sa')[1]['items']] == ['sec.db', 'web']
    assert http(server, 'GET', f'{GNP}/sec.db', token='sa')[0] == 200
    code, status, _headers = http(server, 'PATCH', f'{GNP}/web', {'spec': {'order': 1}}, token='sa',
                                  content_type='application/merge-patch+json')
    assert (code, status['reason']) == (400, 'Forbidden')
    assert status['message'] == ('admission webhook "tiered-rbac.projectcalico.org" denied the request: '
                                 f'Authorization failed: globalnetworkpolicies.projectcalico.org "web" is forbidden: '
                                 f'User "{USER}" cannot update globalnetworkpolicies.projectcalico.org in tier '
                                 '"default"')
    code, status, _headers = http(server, 'DELETE', f'{GNP}/sec.db', token='sa')
    assert code == 400 and status['message'].endswith('in tier "sec" (user cannot get tier)')


def test_tier_checks_are_recorded_for_replay(rbac_server):
    """SPEC-3.29-3.32 §14.18: each request records the SubjectAccess-like checks made, for the least-privilege
    replay against a ClusterRole."""
    server = rbac_server('3.31', [PLAIN] + tier_rules('default'))
    server.clear_requests()
    http(server, 'PATCH', f'{GNP}/web', {'spec': {}}, token='sa', content_type='application/merge-patch+json')
    record = server.requests[-1]
    assert [(c['verb'], c['resource'], c['name'], c['check'], c['allowed']) for c in record['tier_checks']] == [
        ('get', 'tiers', 'default', 'get-tier', True),
        ('patch', 'tier.globalnetworkpolicies', 'web', 'policy', False),
        ('patch', 'tier.globalnetworkpolicies', 'default.*', 'tier-wildcard', True)]
    line = log_line(record, USER)
    assert line['tier_checks'] == record['tier_checks'] and line['tier_filter'] is False
    role = rules_from(tier_rules('default'))
    assert all(any(r.allows(c['verb'], c['group'], c['resource'], None, c['name']) for r in role) == c['allowed']
               for c in record['tier_checks'])
    http(server, 'GET', GNP, token='sa')
    assert server.requests[-1]['tier_filter'] is True
    assert {c['tier'] for c in server.requests[-1]['tier_checks']} == {'default', 'adminnetworkpolicy',
                                                                       'baselineadminnetworkpolicy', 'sec'}


def test_without_rbac_mode_checks_are_recorded_as_allowed(tmp_path, monkeypatch):
    """SPEC-3.29-3.32 §5.1: the checks a real server would make, logged even when every caller is unrestricted."""
    monkeypatch.setenv('TMPDIR', str(tmp_path))
    with EmulatorServer(profile='3.30') as server:
        http(server, 'POST', GNP, gnp('web'))
        checks = server.requests[-1]['tier_checks']
        assert [c['check'] for c in checks] == ['get-tier', 'policy', 'tier-wildcard']
        assert all(c['allowed'] for c in checks) and checks[0]['name'] == 'default'


def test_3_28_makes_no_tier_checks(tmp_path, monkeypatch):
    """SPEC-3.29-3.32 §15: no tiers on 3.28."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with EmulatorServer(profile='3.28') as server:
        http(server, 'POST', GNP, gnp('web'))
        assert server.requests[-1]['tier_checks'] == []
