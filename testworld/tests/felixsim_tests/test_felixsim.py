"""felixsim.decide_ssh against Calico 3.28 host-endpoint semantics (SPEC = /work/shared/calico/SPEC.md)."""
from __future__ import annotations

import subprocess

import pytest

from clusteredge_testworld.felixsim import FelixSim, decide_ssh, nft_commands

NODE, ADDR = 'node-1', '10.99.0.11'
NO_FAILSAFES = ({'apiVersion': 'projectcalico.org/v3', 'kind': 'FelixConfiguration', 'metadata': {'name': 'default'},
                 'spec': {'failsafeInboundHostPorts': []}},)


def hep(name='node-1-eth0', iface='eth0', node=NODE, labels=None, profiles=None, ips=(ADDR,)):
    spec = {'node': node, 'interfaceName': iface, 'expectedIPs': list(ips)}
    if profiles:
        spec['profiles'] = profiles
    return {'kind': 'HostEndpoint', 'metadata': {'name': name, 'labels': labels or {'role': 'node'}}, 'spec': spec}


def gnp(name, rules=(), order=None, selector='role == "node"', types=('Ingress',), **extra):
    spec = {'selector': selector, 'ingress': list(rules), 'types': list(types), **extra}
    if order is not None:
        spec['order'] = order
    return {'kind': 'GlobalNetworkPolicy', 'metadata': {'name': name}, 'spec': spec}


def fc(name, ports):
    return {'kind': 'FelixConfiguration', 'metadata': {'name': name}, 'spec': {'failsafeInboundHostPorts': ports}}


ALLOW_22 = {'action': 'Allow', 'protocol': 'TCP', 'destination': {'ports': [22]}}
DENY_ALL = {'action': 'Deny'}


def decide(heps, policies=(), configs=None):
    return decide_ssh(NODE, list(heps), list(policies), list(NO_FAILSAFES if configs is None else configs), ADDR)


def test_no_hostendpoint_allows():                                  # SPEC §1.3: other interfaces untouched
    assert decide([hep(node='node-2')]) == (True, 'allowed: no HostEndpoint of node-1 covers eth0')


def test_named_hep_without_policy_or_profile_denies():              # SPEC §1.4, §5.3
    allowed, reason = decide([hep()])
    assert not allowed and 'no policy, no allowing profile' in reason and 'node-1-eth0' in reason


def test_default_allow_profile_allows():                            # SPEC §1.4, §5.1 step 6
    allowed, reason = decide([hep(profiles=['projectcalico-default-allow'])])
    assert allowed and 'projectcalico-default-allow' in reason


def test_failsafe_defaults_cover_ssh():                             # SPEC §6: field absent -> Felix defaults
    allowed, reason = decide([hep()], [gnp('deny', [DENY_ALL])], configs=[fc('default', None)])
    assert allowed and 'failsafe' in reason and 'Felix 3.28 default' in reason


def test_empty_failsafe_list_means_none():                          # SPEC §6: [] disables failsafes
    allowed, reason = decide([hep()], configs=[fc('default', [])])
    assert not allowed and 'no failsafe (FelixConfiguration default)' in reason


def test_node_felixconfiguration_overrides_default():               # SPEC §6: node.<name> overrides default
    configs = [fc('default', []), fc('node.node-1', [{'protocol': 'tcp', 'port': 22}])]
    assert decide([hep()], configs=configs) == (
        True, 'allowed: tcp/22 is an inbound failsafe port (FelixConfiguration node.node-1)')
    configs = [fc('default', [{'protocol': 'tcp', 'port': 22}]), fc('node.node-1', [])]
    assert not decide([hep()], configs=configs)[0]


def test_failsafe_with_foreign_source_net_does_not_cover():        # SPEC §6: net is a source CIDR
    assert not decide([hep()], configs=[fc('default', [{'protocol': 'tcp', 'port': 22, 'net': '10.0.0.0/8'}])])[0]
    assert decide([hep()], configs=[fc('default', [{'protocol': 'tcp', 'port': 22, 'net': '0.0.0.0/0'}])])[0]


def test_allow_tcp_not_nodeports_allows():                          # SPEC §3.2 notPorts ranges
    rule = {'action': 'Allow', 'protocol': 'TCP', 'destination': {'notPorts': ['30000:32767']}}
    assert decide([hep()], [gnp('allow-non-nodeport', [rule])])[0]


def test_allow_only_port_80_ends_in_deny():                         # SPEC §5.1 step 4 (end of policies)
    rule = {'action': 'Allow', 'protocol': 'TCP', 'destination': {'ports': [80]}}
    allowed, reason = decide([hep(profiles=['projectcalico-default-allow'])], [gnp('web', [rule])])
    assert not allowed and 'end of policies' in reason and 'web' in reason


def test_non_selecting_policy_leaves_profile_in_charge():           # SPEC §5.1 steps 5-6, §4 evaluation
    policies = [gnp('deny', [DENY_ALL], selector='role == "db"')]
    assert decide([hep(profiles=['projectcalico-default-allow'])], policies)[0]
    assert not decide([hep()], policies)[0]


def test_pre_dnat_deny_beats_normal_allow():                        # SPEC §5.2: pre-DNAT runs before filter
    policies = [gnp('allow-ssh', [ALLOW_22], order=10),
                gnp('pre-deny-ssh', [{'action': 'Deny', 'protocol': 'TCP', 'destination': {'ports': [22]}}],
                    order=100, preDNAT=True, applyOnForward=True)]
    allowed, reason = decide([hep()], policies)
    assert not allowed and reason.startswith('denied: pre-DNAT policy pre-deny-ssh ingress rule 0')


def test_pre_dnat_without_match_falls_through():                    # SPEC §5.1 step 4, §5.2: no pre-DNAT drop
    pre = gnp('pre-deny-cip', [{'action': 'Deny', 'destination': {'nets': ['10.43.0.0/16']}}],
              preDNAT=True, applyOnForward=True)
    assert decide([hep()], [pre, gnp('allow-ssh', [ALLOW_22])])[0]
    assert decide([hep(profiles=['projectcalico-default-allow'])], [pre])[0]   # no normal policy -> profile


def test_lab_node_address_lies_inside_default_service_cidr():       # SPEC §5.2, §13.9: scope pre-DNAT denies
    pre = gnp('pre-deny-cip', [{'action': 'Deny', 'destination': {'nets': ['10.96.0.0/12']}}],
              preDNAT=True, applyOnForward=True)
    assert not decide([hep()], [pre, gnp('allow-ssh', [ALLOW_22])])[0]     # 10.99.0.11 is in 10.96.0.0/12


def test_untracked_deny_and_not_on_star_hep():                      # SPEC §5.2 untracked; §1.3 not on `*`
    untracked = gnp('raw-deny', [DENY_ALL], doNotTrack=True, applyOnForward=True)
    assert not decide([hep()], [untracked, gnp('allow-ssh', [ALLOW_22])])[0]
    assert decide([hep(iface='*')], [untracked, gnp('allow-ssh', [ALLOW_22])])[0]


def test_log_rule_continues():                                      # SPEC §3.1: Log moves on
    rules = [{'action': 'Log'}, ALLOW_22]
    assert decide([hep()], [gnp('log-then-allow', rules)]) == (
        True, 'allowed: policy log-then-allow ingress rule 1 allows tcp/22 on HostEndpoint node-1-eth0')


def test_pass_jumps_to_profiles():                                  # SPEC §3.1, §5.1 step 3
    policies = [gnp('a-pass', [{'action': 'Pass'}], order=1), gnp('b-deny', [DENY_ALL], order=2)]
    assert decide([hep(profiles=['projectcalico-default-allow'])], policies)[0]
    allowed, reason = decide([hep()], policies)
    assert not allowed and 'passes to the profiles' in reason


def test_order_nil_last_and_ties_by_name():                         # SPEC §5.1, §13.7
    assert not decide([hep()], [gnp('b-allow', [ALLOW_22], order=5), gnp('a-deny', [DENY_ALL], order=5)])[0]
    assert decide([hep()], [gnp('a-allow', [ALLOW_22], order=5), gnp('b-deny', [DENY_ALL], order=5)])[0]
    assert decide([hep()], [gnp('a-deny', [DENY_ALL]), gnp('z-allow', [ALLOW_22], order=1000)])[0]


def test_star_hep_and_named_hep_precedence():                       # SPEC §1.3 dispatch
    star = hep('node-1-all', iface='*')
    assert not decide([star])[0]
    allowed, reason = decide([star, hep(profiles=['projectcalico-default-allow'])])
    assert allowed and 'node-1-eth0' in reason                      # the eth0 HEP wins over `*`
    assert decide([hep('b', profiles=['projectcalico-default-allow']), hep('a')])[1].startswith(
        'denied: HostEndpoint a ')                                  # two eth0 HEPs: first by name


def test_pre_dnat_on_star_hep_applies_to_named_interface():         # SPEC §13.1
    star = hep('node-1-all', iface='*', labels={'role': 'all'})
    pre = gnp('pre-deny', [DENY_ALL], selector='role == "all"', preDNAT=True, applyOnForward=True)
    allowed, reason = decide([star, hep(profiles=['projectcalico-default-allow'])], [pre])
    assert not allowed and 'node-1-all' in reason


def test_destination_selector_needs_expected_ips():                 # SPEC §3.2: selected HEPs -> expectedIPs
    rule = {'action': 'Allow', 'protocol': 'TCP', 'destination': {'selector': 'role == "node"', 'ports': [22]}}
    assert decide([hep()], [gnp('to-nodes', [rule])])[0]
    assert not decide([hep(ips=())], [gnp('to-nodes', [rule])])[0]


def test_source_rules_see_an_unknown_external_client():             # SPEC §3.2 selector vs notSelector, nets
    def allow(src):
        return gnp('p', [{'action': 'Allow', 'protocol': 'TCP', 'source': src}])
    assert not decide([hep()], [allow({'selector': 'all()'})])[0]
    assert decide([hep()], [allow({'notSelector': 'has(x)'})])[0]
    assert decide([hep()], [allow({'nets': ['198.51.100.0/24']})])[0]
    assert not decide([hep()], [allow({'nets': ['10.0.0.0/8']})])[0]


def test_egress_only_policy_does_not_apply():                       # SPEC §5.1: types pick the direction
    egress = gnp('egress-only', types=('Egress',), egress=[DENY_ALL])
    assert decide([hep(profiles=['projectcalico-default-allow'])], [egress])[0]
    defaulted = gnp('egress-defaulted', types=(), egress=[DENY_ALL])               # §2.1 defaulting -> [Egress]
    assert decide([hep(profiles=['projectcalico-default-allow'])], [defaulted])[0]


def test_positive_namespace_selector_excludes_heps():               # SPEC §2.1, §13.2
    policies = [gnp('ns', [DENY_ALL], namespaceSelector='has(team)'),
                gnp('neg-ns', [ALLOW_22], namespaceSelector='!has(team)')]
    assert decide([hep()], policies)[0]


def test_protocol_and_named_ports():                                # SPEC §3.1 protocol, §3.2 named ports
    assert not decide([hep()], [gnp('udp', [{'action': 'Allow', 'protocol': 'UDP'}])])[0]
    assert not decide([hep()], [gnp('n', [{'action': 'Allow', 'notProtocol': 'TCP'}])])[0]
    assert not decide([hep()], [gnp('named', [{'action': 'Allow', 'protocol': 'TCP',
                                               'destination': {'ports': ['ssh']}}])])[0]


def test_run_once_builds_nft_commands(monkeypatch):
    calls = []

    def runner(argv, **kwargs):
        calls.append((argv, kwargs['input']))
        return subprocess.CompletedProcess(argv, 0, '', '')

    class Admin:
        def objects(self, kind, api_version):
            return {'HostEndpoint': [hep()], 'GlobalNetworkPolicy': [], 'FelixConfiguration': NO_FAILSAFES}[kind]

    sim = FelixSim('http://unused', {NODE: ('ce-node-1', ADDR)}, runner=runner, admin=Admin())
    assert sim.run_once() == {NODE: decide([hep()])}
    sim.run_once()                                                  # unchanged -> no second nft call
    assert len(calls) == 1
    argv, ruleset = calls[0]
    assert argv[1:4] == ['netns', 'exec', 'ce-node-1'] and argv[-2:] == ['-f', '-']
    assert 'iifname "eth0" tcp dport 22 tcp flags & (syn | ack) == syn drop' in ruleset   # new connections only
    assert ruleset.startswith('table inet felixsim\ndelete table inet felixsim\n')
    sim.cleanup()
    assert calls[-1][1] == 'table inet felixsim\ndelete table inet felixsim\n'
    assert 'iifname "eth0" tcp dport 22 drop' in nft_commands('x', True, drop_established=True)[1]   # untracked


@pytest.mark.parametrize('node_arg', ['node-1=ns', 'node-1==10.0.0.1'])
def test_cli_rejects_bad_node(node_arg, capsys):
    from clusteredge_testworld.felixsim.__main__ import main
    with pytest.raises(SystemExit):
        main(['--admin-url', 'http://x', '--node', node_arg])
