"""pytest plugin: namespace nodes with sshd.

Loaded through the package's ``pytest11`` entry point when clusteredge-calico-testworld is installed.

Fixtures
--------
``node_lab``          session: a running 3-node ``NodeLab`` (IPv4), unique prefix ``nl<pid base36>`` and a free
                      10.99.x.0/24 per session, so parallel sessions (xdist workers too) do not collide.
                      Skips (with the reason) when not root or when ``ip netns`` is not permitted; always torn down.
``node_inventory``    session: path of an INI inventory for ``node_lab`` (group ``nodes``).
``node_env``          session: ``os.environ`` + ``node_lab.env()`` — pass as ``env=`` to ansible subprocesses.
``node_lab_factory``  function: ``factory(count=..., ipv6=True, ...)`` → an extra running lab (own prefix/subnet),
                      torn down at the end of the test.
"""

from __future__ import annotations

import os
import time

import pytest

from .lab import NodeLab, NodeLabError, free_subnet, lab_namespaces, machine_lock, preflight, reap_orphaned_labs

_B36 = '0123456789abcdefghijklmnopqrstuvwxyz'
_counter = [0]


def _b36(n: int) -> str:
    out = ''
    while True:
        n, r = divmod(n, 36)
        out = _B36[r] + out
        if not n:
            return out


def session_prefix(extra: int | None = None) -> str:
    """``nl<pid>`` (base 36), plus ``x<n>`` for extra labs of the same session; ≤ 11 chars."""
    base = f'nl{_b36(os.getpid())}'
    return base if extra is None else f'{base}x{_b36(extra)}'


def _skip_reason() -> str | None:
    return preflight()


def _start(count: int, prefix: str, state_dir, ipv6: bool, **kwargs) -> NodeLab:
    with machine_lock():
        reap_orphaned_labs()   # labs of killed sessions first: their subnets become free again
        subnet = kwargs.pop('subnet', None) or free_subnet('10.99.0.0/16', seed=os.getpid() + _counter[0])
        v6 = None
        if ipv6:
            third = int(subnet.split('.')[2])
            v6 = kwargs.pop('ipv6_subnet', None) or f'fd00:99:{third:x}::/64'
        # owned by this session: if it is killed, the next lab's up() tears this one down
        lab = NodeLab(count=count, prefix=prefix, subnet=subnet, state_dir=state_dir, ipv6_subnet=v6,
                      owner_pid=os.getpid(), **kwargs)
        # create the bridge while holding the lock, so another session cannot pick the same subnet
        lab._prepare_state_dir()
        lab._check_subnet_free()
        lab._bridge()
    try:
        t0 = time.monotonic()
        lab.up()
        lab.up_seconds = time.monotonic() - t0
    except BaseException:
        lab.down()
        raise
    return lab


@pytest.fixture(scope='session')
def node_lab(tmp_path_factory):
    reason = _skip_reason()
    if reason:
        pytest.skip(f'namespace nodes unavailable: {reason}')
    state_dir = tmp_path_factory.mktemp('nodelab')
    prefix = session_prefix()
    try:
        lab = _start(3, prefix, state_dir, ipv6=False)
    except NodeLabError as exc:
        NodeLab.down_all(prefix)
        pytest.fail(f'NodeLab.up() failed: {exc}')
    try:
        yield lab
    finally:
        try:
            lab.down()
        finally:
            NodeLab.down_all(prefix)


@pytest.fixture(scope='session')
def node_inventory(node_lab):
    return node_lab.inventory(node_lab.state_dir / 'inventory.ini')


@pytest.fixture(scope='session')
def node_env(node_lab):
    return {**os.environ, **node_lab.env()}


@pytest.fixture
def node_lab_factory(tmp_path_factory):
    reason = _skip_reason()
    if reason:
        pytest.skip(f'namespace nodes unavailable: {reason}')
    labs: list[NodeLab] = []

    def factory(count: int = 3, ipv6: bool = False, up: bool = True, **kwargs) -> NodeLab:
        _counter[0] += 1
        prefix = kwargs.pop('prefix', None) or session_prefix(_counter[0])
        state_dir = kwargs.pop('state_dir', None) or tmp_path_factory.mktemp('nodelab')
        if up:
            lab = _start(count, prefix, state_dir, ipv6, **kwargs)
        else:
            lab = NodeLab(count=count, prefix=prefix, state_dir=state_dir, **kwargs)
        labs.append(lab)
        return lab

    try:
        yield factory
    finally:
        errors = []
        for lab in reversed(labs):
            try:
                lab.down()
            except NodeLabError as exc:
                errors.append(str(exc))
            if lab_namespaces(lab.prefix):
                NodeLab.down_all(lab.prefix)
        if errors:
            raise NodeLabError('; '.join(errors))
