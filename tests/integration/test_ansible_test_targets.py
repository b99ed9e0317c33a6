"""`ansible-test integration` runs every target of tests/integration/targets/ against a cluster, and all pass.

The cluster is the emulator, seeded with what any Calico cluster has (Nodes, an IPPool, a running pod) and reached
only through K8S_AUTH_* carried into integration_config.yml, as CI does for kind.
"""

from __future__ import annotations

import re
import sys

import pytest

from integration import integration_config
from clusteredge_testworld.lab.cluster import nodes
from quality.tools import COLLECTION_LINK, REPO_ROOT, collection_copy, run_tool, tool

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PYTHON = f'{sys.version_info[0]}.{sys.version_info[1]}'
TARGETS = sorted(path.name for path in (REPO_ROOT / 'tests' / 'integration' / 'targets').iterdir()
                 if (path / 'tasks' / 'main.yml').is_file())


def any_calico_cluster():
    """What a fresh cluster with Calico holds: Nodes with Calico's annotations, the default IPPool, a running pod."""
    return nodes({'node-1': '10.200.0.11', 'node-2': '10.200.0.12'}) + [
        {'apiVersion': 'projectcalico.org/v3', 'kind': 'IPPool', 'metadata': {'name': 'default-ipv4-ippool'},
         'spec': {'cidr': '192.168.0.0/16', 'ipipMode': 'Always', 'natOutgoing': True}},
        {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'kube-system'}},
        {'apiVersion': 'v1', 'kind': 'Pod',
         'metadata': {'namespace': 'kube-system', 'name': 'coredns-1', 'labels': {'k8s-app': 'kube-dns'}},
         'spec': {'nodeName': 'node-1', 'containers': [{'name': 'coredns', 'image': 'registry.k8s.io/coredns/coredns:v1.11.3'}]},
         'status': {'phase': 'Running', 'podIP': '192.168.0.66', 'podIPs': [{'ip': '192.168.0.66'}]}},
    ]


def test_the_targets_are_the_modules_and_the_role():
    modules = sorted(path.stem for path in (REPO_ROOT / 'plugins' / 'modules').glob('*.py'))
    roles = sorted('role_' + path.name for path in (REPO_ROOT / 'roles').iterdir() if path.is_dir())
    assert TARGETS == sorted(modules + roles)


@pytest.mark.parametrize('k8s_api_profile', ['3.28', '3.32'], indirect=True)
def test_every_target_passes_through_ansible_test_integration(k8s_api_profile, tmp_path):
    api = k8s_api_profile
    api.seed(any_calico_cluster())
    content = collection_copy(tmp_path)
    # kubernetes.core beside the copy, where ansible-test points ANSIBLE_COLLECTIONS_PATH.
    (content.parents[1] / 'kubernetes').symlink_to(COLLECTION_LINK.parents[1] / 'kubernetes')
    integration_config.write(content / 'tests' / 'integration' / 'integration_config.yml',
                             {'K8S_AUTH_HOST': api.url, 'K8S_AUTH_API_KEY': 'test-token'})

    # An empty HOME: no ~/.kube/config can stand in for the connection integration_config.yml carries.
    (tmp_path / 'home').mkdir()
    result = run_tool([tool('ansible-test'), 'integration', '--local', '--python', PYTHON, '--color', 'no'],
                      cwd=content, timeout=1200, ANSIBLE_TEST_CONTENT_ROOT=str(content), HOME=str(tmp_path / 'home'))
    assert result.returncode == 0, result.report(tail=80)
    ran = sorted(re.findall(r'^Running (\S+) integration test role$', result.output, re.MULTILINE))
    assert ran == TARGETS, result.report(tail=40)
    recaps = re.findall(r'^testhost\s+: ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)', result.output, re.MULTILINE)
    assert len(recaps) == len(TARGETS) and all(recap == ('0', '0') for recap in recaps), result.report(tail=40)
