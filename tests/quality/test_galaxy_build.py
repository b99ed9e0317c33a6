"""Quality gate: the collection builds, with the right version and without dev/test-only content."""

from __future__ import annotations

import json
import tarfile

import pytest
import yaml

from quality.tools import REPO_ROOT, build_collection

pytestmark = pytest.mark.quality

# Must never be shipped (see build_ignore in galaxy.yml and .gitignore).
FORBIDDEN_PREFIXES = ('.build/', '.venv/', '.git/', '.ci/', 'tests/output/', '.pytest_cache/', '.ansible/', 'benchmarks/',
                      'testworld/')


@pytest.fixture(scope='module')
def tarball(tmp_path_factory):
    return build_collection(tmp_path_factory.mktemp('galaxy-build'))


def test_manifest_version(tarball):
    galaxy = yaml.safe_load((REPO_ROOT / 'galaxy.yml').read_text(encoding='utf-8'))
    with tarfile.open(tarball) as tar:
        manifest = json.load(tar.extractfile('MANIFEST.json'))
    info = manifest['collection_info']
    assert (info['namespace'], info['name']) == ('clusteredge', 'calico')
    assert info['version'] == galaxy['version'] == '0.2.0'
    assert info['dependencies'] == galaxy['dependencies']
    assert tarball.name == 'clusteredge-calico-0.2.0.tar.gz'


def test_no_dev_content(tarball):
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    leaked = [n for n in names if n.startswith(FORBIDDEN_PREFIXES) or '/__pycache__/' in f'/{n}/' or n.endswith('.pyc')]
    assert not leaked, f'build contains dev/test-only files: {leaked[:20]}'
    assert 'meta/runtime.yml' in names
    assert 'galaxy.yml' not in names  # replaced by MANIFEST.json / FILES.json


def test_runtime_requirements_ship_and_the_dev_lock_does_not(tarball):
    """Users (and ansible-builder) read requirements.txt as the collection's runtime needs, as with kubernetes.core."""
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        runtime = tar.extractfile('requirements.txt').read().decode()
        ee = yaml.safe_load(tar.extractfile('meta/execution-environment.yml'))
    assert 'requirements-dev.txt' not in names
    assert ee['dependencies']['python'] == 'requirements.txt'
    specs = [line for line in runtime.splitlines() if line and not line.startswith('#')]
    assert sorted(spec.split('>=')[0] for spec in specs) == ['PyYAML', 'jmespath', 'kubernetes'], runtime
    # lower bounds only: pip install -r must never replace the user's ansible-core or pin a client
    assert all('==' not in spec and 'ansible' not in spec for spec in specs), specs
