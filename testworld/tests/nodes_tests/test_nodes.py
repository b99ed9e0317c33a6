"""NodeLab: namespace nodes with sshd, driven by real ansible runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clusteredge_testworld.nodes import NodeLab, NodeLabError, free_subnet, lab_links, lab_namespaces
from clusteredge_testworld.nodes.lab import _alive
from clusteredge_testworld.nodes.pytest_fixtures import session_prefix

pytestmark = [pytest.mark.integration]

TIMINGS: dict[str, float] = {}
CALLBACKS = Path(__file__).resolve().parent / 'callback_plugins'


def ansible(lab: NodeLab, inventory, module: str, args: str | None = None, pattern: str = 'nodes',
            timeout: float = 120) -> tuple[dict, float, subprocess.CompletedProcess]:
    """Run an ad-hoc module with the json callback; return ({host: result}, seconds, process)."""
    env = {**os.environ, **lab.env(), 'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1',
           'ANSIBLE_STDOUT_CALLBACK': 'nodelab_json', 'ANSIBLE_CALLBACK_PLUGINS': str(CALLBACKS),
           'ANSIBLE_DEPRECATION_WARNINGS': 'False', 'ANSIBLE_FORKS': '10'}
    cmd = ['ansible', '-i', str(inventory), pattern, '-m', module] + (['-a', args] if args else [])
    t0 = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    elapsed = time.monotonic() - t0
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except ValueError:
        pytest.fail(f'no JSON from ansible (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}')
    return data['hosts'], elapsed, proc


def assert_nothing_left(prefix: str, state_dir: Path) -> None:
    assert lab_namespaces(prefix) == []
    links = subprocess.run(['ip', 'link', 'show'], capture_output=True, text=True, check=False).stdout
    assert not [l for l in links.splitlines() if f' {prefix}v' in l or f' {prefix}br0' in l], links
    assert lab_links(prefix) == []
    pg = subprocess.run(['pgrep', '-af', str(state_dir)], capture_output=True, text=True, check=False)
    procs = [l for l in pg.stdout.splitlines() if 'pgrep' not in l and str(os.getpid()) != l.split()[0]]
    assert procs == [], procs
    assert not os.path.exists(f'/run/netns/{prefix}-node-1')


# ---------------------------------------------------------------------------------------------- facts
def test_network_facts(node_lab, node_inventory, record_property):
    hosts, elapsed, proc = ansible(node_lab, node_inventory, 'ansible.builtin.setup', 'gather_subset=network')
    TIMINGS['facts_3_nodes'] = elapsed
    record_property('facts_seconds', round(elapsed, 2))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(hosts) == ['node-1', 'node-2', 'node-3']
    for i in (1, 2, 3):
        facts = hosts[f'node-{i}']['ansible_facts']
        assert facts['ansible_hostname'] == f'node-{i}'
        assert facts['ansible_default_ipv4']['interface'] == 'eth0'
        assert facts['ansible_default_ipv4']['address'] == node_lab.address(i)
        assert facts['ansible_default_ipv4']['gateway'] == str(node_lab.gateway)
        assert sorted(facts['ansible_interfaces']) == ['eth0', 'lo']
        assert facts['ansible_all_ipv4_addresses'] == [node_lab.address(i)]


def test_addresses_and_names(node_lab):
    a = node_lab.addresses(2)
    assert a['ipv4'] == node_lab.address('node-2') and a['hostname'] == 'node-2' and a['ipv6'] is None
    assert a['netns'] == f'{node_lab.prefix}-node-2'
    assert all(len(n) <= 15 for n in lab_links(node_lab.prefix))
    assert sorted(lab_links(node_lab.prefix)) == sorted([node_lab.bridge] + [node_lab.veth(i) for i in (1, 2, 3)])


def test_namespace_guard_installed(node_lab):
    """Outgoing traffic from a node is limited to loopback and the lab subnet (nft guard)."""
    if node_lab.block_method != 'nft':
        pytest.skip('nft not installed: no output guard')
    out = node_lab.exec(1, 'nft', 'list', 'table', 'inet', 'nodelab_guard').stdout
    assert 'policy drop' in out and str(node_lab.subnet) in out


# ---------------------------------------------------------------------------------------------- failures
def test_block_port_makes_node_unreachable(node_lab, node_inventory):
    hosts, _out, _err = ansible(node_lab, node_inventory, 'ansible.builtin.ping')   # masters exist now
    assert all(h.get('ping') == 'pong' for h in hosts.values()), hosts
    node_lab.block_port('node-2', 22)
    try:
        hosts, elapsed, proc = ansible(node_lab, node_inventory, 'ansible.builtin.ping')
        TIMINGS['ping_with_blocked_node'] = elapsed
        assert hosts['node-2'].get('unreachable') is True, hosts['node-2']
        assert hosts['node-1'].get('ping') == 'pong' and hosts['node-3'].get('ping') == 'pong'
        assert proc.returncode != 0
        assert elapsed < 15, f'unreachable took {elapsed:.1f}s'
        node_lab.block_port('node-2', 22)        # idempotent
    finally:
        node_lab.unblock_port('node-2', 22)
    hosts, _out, proc = ansible(node_lab, node_inventory, 'ansible.builtin.ping')
    assert proc.returncode == 0 and all(h.get('ping') == 'pong' for h in hosts.values()), hosts


def test_stop_and_start_sshd(node_lab, node_inventory):
    node_lab.stop_sshd(3)
    try:
        assert node_lab.sshd_pid(3) is None
        hosts, _out, _err = ansible(node_lab, node_inventory, 'ansible.builtin.ping', pattern='node-3')
        assert hosts['node-3'].get('unreachable') is True
    finally:
        node_lab.start_sshd(3)
    hosts, _out, _err = ansible(node_lab, node_inventory, 'ansible.builtin.ping', pattern='node-3')
    assert hosts['node-3'].get('ping') == 'pong'


def test_up_again_checks_and_repairs(node_lab, node_inventory):
    old = node_lab.sshd_pid(1)
    node_lab.stop_sshd(1)
    subprocess.run(['ip', '-n', node_lab.netns(2), 'route', 'del', 'default'], check=True)
    subprocess.run(['ip', 'link', 'del', node_lab.veth(3)], check=True)      # takes eth0 of node-3 with it
    node_lab.up()
    assert node_lab.sshd_pid(1) not in (None, old)
    hosts, _out, proc = ansible(node_lab, node_inventory, 'ansible.builtin.setup', 'gather_subset=network')
    assert proc.returncode == 0, proc.stdout
    for i in (1, 2, 3):
        facts = hosts[f'node-{i}']['ansible_facts']
        assert facts['ansible_default_ipv4']['interface'] == 'eth0'
        assert sorted(facts['ansible_interfaces']) == ['eth0', 'lo']
    pids = [node_lab.sshd_pid(i) for i in (1, 2, 3)]
    node_lab.up()                                  # healthy lab: nothing restarted
    assert [node_lab.sshd_pid(i) for i in (1, 2, 3)] == pids


# ---------------------------------------------------------------------------------------------- lifecycle
def test_up_down_twice_leaves_nothing(tmp_path):
    prefix = session_prefix(900)
    subnet = free_subnet(seed=os.getpid() + 77)
    for round_ in (1, 2):
        state_dir = tmp_path / f'lab{round_}'
        lab = NodeLab(count=3, prefix=prefix, subnet=subnet, state_dir=state_dir)
        t0 = time.monotonic()
        with lab:
            TIMINGS[f'up_{round_}'] = time.monotonic() - t0
            inv = lab.inventory(state_dir / 'inventory.yml')
            hosts, _out, proc = ansible(lab, inv, 'ansible.builtin.ping')
            assert proc.returncode == 0 and len(hosts) == 3, hosts
            assert any(p.is_socket() for p in lab.control_path_dir.iterdir()), 'no ControlPersist master'
            t1 = time.monotonic()
        TIMINGS[f'down_{round_}'] = time.monotonic() - t1
        assert_nothing_left(prefix, state_dir)
        assert not state_dir.exists()          # the lab created it, so it removes it
        lab.down()                             # second down is a no-op
        assert_nothing_left(prefix, state_dir)


def test_down_after_half_up(tmp_path):
    prefix = session_prefix(901)
    lab = NodeLab(count=3, prefix=prefix, subnet=free_subnet(seed=os.getpid() + 78), state_dir=tmp_path / 's')
    lab._prepare_state_dir()
    lab._keys()
    lab._bridge()
    lab._node_network(1)
    lab._node_sshd(1)
    subprocess.run(['ip', 'netns', 'add', lab.netns(2)], check=True)     # node 2: namespace only
    lab.down()
    assert_nothing_left(prefix, lab.state_dir)
    lab.down()


def test_down_all_recovers_after_crash(tmp_path):
    prefix = session_prefix(902)
    state_dir = tmp_path / 'crashed'
    lab = NodeLab(count=2, prefix=prefix, subnet=free_subnet(seed=os.getpid() + 79), state_dir=state_dir).up()
    ansible(lab, lab.inventory(state_dir / 'inv.ini'), 'ansible.builtin.ping')
    # crash: the namespace disappears without its processes being stopped
    subprocess.run(['ip', 'netns', 'del', lab.netns(1)], check=True)
    del lab
    removed = NodeLab.down_all(prefix, state_dir)
    assert removed
    assert_nothing_left(prefix, state_dir)


def test_a_lab_whose_process_was_killed_is_reaped_by_the_next_lab(tmp_path):
    """A SIGKILLed test run leaves its lab up; the next lab on that subnet removes it instead of failing."""
    orphan_prefix, prefix = session_prefix(904), session_prefix(905)
    subnet = free_subnet(seed=os.getpid() + 81)
    script = (
        "import os, subprocess, sys, time\n"
        "from clusteredge_testworld.nodes import NodeLab\n"
        f"lab = NodeLab(count=1, prefix={orphan_prefix!r}, subnet={subnet!r}, state_dir={str(tmp_path / 'orphan')!r})\n"
        "lab.__enter__()\n"
        f"helper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {str(tmp_path / 'orphan')!r}],"
        " start_new_session=True)\n"
        f"lab.add_companion(helper.pid, {str(tmp_path / 'orphan')!r})\n"
        "print(helper.pid, flush=True)\n"
        "time.sleep(600)\n")
    owner = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, text=True)
    helper_pid = int(owner.stdout.readline())
    assert lab_namespaces(orphan_prefix) == [f'{orphan_prefix}-node-1']
    owner.kill()
    owner.wait()
    assert lab_namespaces(orphan_prefix), 'SIGKILL left the lab up, as a killed CI job does'

    with NodeLab(count=1, prefix=prefix, subnet=subnet, state_dir=tmp_path / 'next') as lab:
        assert lab.sshd_pid(1)
        assert_nothing_left(orphan_prefix, tmp_path / 'orphan')
        assert not _alive(helper_pid), 'the orphan\'s companion process still runs'
    assert_nothing_left(prefix, tmp_path / 'next')


def test_a_lab_left_by_the_cli_is_not_reaped(tmp_path):
    """Labs made without an owner (the CLI's, molecule's) outlive their creator and name the way to remove them."""
    left, prefix = session_prefix(906), session_prefix(907)
    subnet = free_subnet(seed=os.getpid() + 82)
    kept = NodeLab(count=1, prefix=left, subnet=subnet, state_dir=tmp_path / 'kept').up()
    try:
        with pytest.raises(NodeLabError, match=rf'python -m clusteredge_testworld.nodes down --prefix {left}'):
            NodeLab(count=1, prefix=prefix, subnet=subnet, state_dir=tmp_path / 'other').up()
        assert kept.sshd_pid(1)
    finally:
        kept.down()
        NodeLab.down_all(prefix)
    assert_nothing_left(left, tmp_path / 'kept')


def test_context_manager_tears_down_on_error(tmp_path):
    prefix = session_prefix(903)
    with pytest.raises(RuntimeError, match='boom'):
        with NodeLab(count=1, prefix=prefix, subnet=free_subnet(seed=os.getpid() + 80),
                     state_dir=tmp_path / 'cm') as lab:
            assert lab.sshd_pid(1)
            raise RuntimeError('boom')
    assert_nothing_left(prefix, tmp_path / 'cm')


def test_rejects_bad_parameters(node_lab, tmp_path):
    with pytest.raises(ValueError, match='exceed'):
        NodeLab(prefix='averyveryverylongprefix')
    with pytest.raises(ValueError, match='private'):
        NodeLab(subnet='8.8.8.0/24')
    with pytest.raises(ValueError):
        NodeLab(count=300)
    clash = NodeLab(count=1, prefix=session_prefix(904), subnet=str(node_lab.subnet), state_dir=tmp_path / 'x')
    with pytest.raises(NodeLabError, match='overlaps'):
        clash.up()
    clash.down()
    assert_nothing_left(clash.prefix, clash.state_dir)


# ---------------------------------------------------------------------------------------------- IPv6
def test_ipv6_variant(node_lab_factory):
    lab = node_lab_factory(count=2, ipv6=True)
    inv = lab.inventory(lab.state_dir / 'inventory.ini')
    hosts, _out, proc = ansible(lab, inv, 'ansible.builtin.setup', 'gather_subset=network')
    assert proc.returncode == 0, proc.stdout
    for i in (1, 2):
        facts = hosts[f'node-{i}']['ansible_facts']
        assert lab.address6(i) in facts['ansible_all_ipv6_addresses']
        assert facts['ansible_default_ipv6']['interface'] == 'eth0'
        assert facts['ansible_default_ipv6']['address'] == lab.address6(i)
        assert facts['ansible_default_ipv4']['address'] == lab.address(i)
        assert sorted(facts['ansible_interfaces']) == ['eth0', 'lo']
    # ssh over IPv6 works too
    v6_inventory = lab.inventory(lab.state_dir / 'v6.yml', extra_vars={'ansible_host': lab.address6(1)})
    hosts, _out, proc = ansible(lab, v6_inventory, 'ansible.builtin.ping', pattern='node-1')
    assert hosts['node-1'].get('ping') == 'pong', hosts


# ---------------------------------------------------------------------------------------------- inventory
def test_yaml_and_ini_inventory_with_extra_vars(node_lab, tmp_path):
    extra = {'role_flag': True, 'note': 'two words', 'items': [1, 2]}
    for name in ('inv.yml', 'inv.ini'):
        path = node_lab.inventory(tmp_path / name, extra_vars=extra)
        assert path == tmp_path / name
        out = subprocess.run(['ansible-inventory', '-i', str(path), '--list'], capture_output=True, text=True,
                             check=True, env={**os.environ, **node_lab.env()}).stdout
        data = json.loads(out)
        assert sorted(data['nodes']['hosts']) == ['node-1', 'node-2', 'node-3']
        hv = data['_meta']['hostvars']['node-2']
        assert hv['ansible_host'] == node_lab.address(2)
        assert hv['ansible_user'] == 'root'
        assert hv['ansible_python_interpreter'] == sys.executable
        assert hv['ansible_control_path_dir'] == str(node_lab.control_path_dir)
        assert 'StrictHostKeyChecking=no' in hv['ansible_ssh_common_args']
        assert hv['note'] == 'two words' and hv['items'] == [1, 2] and hv['role_flag'] in (True, 'true')


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_up_status_down(tmp_path):
    prefix = session_prefix(905)
    state_dir = tmp_path / 'cli'
    env = dict(os.environ)

    def cli(*args):
        return subprocess.run([sys.executable, '-m', 'clusteredge_testworld.nodes', *args], capture_output=True, text=True, env=env,
                              timeout=120, check=False)

    subnet = free_subnet(seed=os.getpid() + 81)
    up = cli('up', '--count', '2', '--prefix', prefix, '--state-dir', str(state_dir), '--subnet', subnet,
             '--inventory', str(state_dir / 'hosts.ini'))
    try:
        assert up.returncode == 0, up.stderr
        assert up.stdout.strip() == str(state_dir / 'hosts.ini')
        st = cli('status', '--state-dir', str(state_dir), '--json')
        assert st.returncode == 0 and json.loads(st.stdout)['healthy'] is True
        assert cli('status', '--prefix', prefix).returncode == 0
        assert cli('up', '--prefix', 'Bad_Prefix', '--state-dir', str(tmp_path / 'bad')).returncode == 2
    finally:
        down = cli('down', '--prefix', prefix, '--state-dir', str(state_dir))
    assert down.returncode == 0, down.stderr
    assert_nothing_left(prefix, state_dir)
    assert cli('status', '--prefix', prefix).returncode == 4
    assert cli('down', '--prefix', prefix, '--state-dir', str(state_dir)).returncode == 0   # twice is fine


def test_zz_report_timings(node_lab):
    """Not a check: prints the measured timings (run with -s, or see the -ra summary)."""
    lines = [f'  {k}: {v:.2f}s' for k, v in sorted(TIMINGS.items())]
    lines.insert(0, f'  session up (3 nodes): {getattr(node_lab, "up_seconds", float("nan")):.2f}s')
    print('\nNodeLab timings:\n' + '\n'.join(lines))
