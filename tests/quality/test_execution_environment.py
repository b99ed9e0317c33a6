"""Quality gate: the AWX execution environment definitions in docs/awx/ produce a sound ansible-builder build context.

`ansible-builder create` only writes the context (Containerfile and _build/), so no container engine is needed.
"""

from __future__ import annotations

import re
import runpy
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from doc_snippets import of_kind
from quality.tools import REPO_ROOT, build_collection, run_tool, tool

pytestmark = pytest.mark.quality

AWX_DIR = REPO_ROOT / 'docs' / 'awx'
PUBLISHED = AWX_DIR / 'execution-environment.yml'
LOCAL = AWX_DIR / 'execution-environment-local.yml'
GALAXY = yaml.safe_load((REPO_ROOT / 'galaxy.yml').read_text(encoding='utf-8'))


@pytest.fixture(scope='module')
def tarball(tmp_path_factory) -> Path:
    tarball = build_collection(tmp_path_factory.mktemp('ee-tarball'))
    assert tarball.name == f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
    return tarball


def create_context(definition: Path, context: Path) -> Path:
    result = run_tool([tool('ansible-builder'), 'create', '-f', str(definition), '-c', str(context),
                       '--output-filename', 'Containerfile'], cwd=definition.parent, timeout=300)
    assert result.returncode == 0, result.report()
    assert 'No matches' not in result.output and 'does not exist' not in result.output, result.report()
    return context


@pytest.fixture(scope='module')
def published_context(tmp_path_factory) -> Path:
    return create_context(PUBLISHED, tmp_path_factory.mktemp('ee-published') / 'context')


@pytest.fixture(scope='module')
def local_context(tmp_path_factory, tarball) -> Path:
    # As the documented steps do: the tarball is built next to the definition.
    workdir = tmp_path_factory.mktemp('ee-local')
    shutil.copy(LOCAL, workdir)
    shutil.copy(tarball, workdir)
    return create_context(workdir / LOCAL.name, workdir / 'context')


@pytest.fixture(params=['published', 'local'])
def context(request) -> Path:
    return request.getfixturevalue(f'{request.param}_context')


def definition_of(context: Path) -> dict:
    path = LOCAL if context.parent.name.startswith('ee-local') else PUBLISHED
    return yaml.safe_load(path.read_text(encoding='utf-8'))


def galaxy_requirements(context: Path) -> dict[str, dict]:
    data = yaml.safe_load((context / '_build' / 'requirements.yml').read_text(encoding='utf-8'))
    return {entry['name']: entry for entry in data['collections']}


def test_base_image_is_pinned_and_used(context):
    image = definition_of(context)['images']['base_image']['name']
    repository, separator, tag = image.rpartition(':')
    assert separator and repository and '/' not in tag and tag not in ('', 'latest'), f'base image {image} is not pinned to a tag'
    containerfile = (context / 'Containerfile').read_text(encoding='utf-8')
    assert f'ARG EE_BASE_IMAGE="{image}"' in containerfile
    assert 'FROM $EE_BASE_IMAGE AS base' in containerfile


def test_both_definitions_share_base_image_and_ansible(published_context, local_context):
    published, local = definition_of(published_context), definition_of(local_context)
    assert published['images'] == local['images']
    assert published['dependencies']['ansible_core'] == local['dependencies']['ansible_core']
    assert published['dependencies']['ansible_runner'] == local['dependencies']['ansible_runner']


def test_ansible_core_range_honours_requires_ansible(context):
    """The EE's ansible-core range must not allow a release older than meta/runtime.yml requires."""
    requires = yaml.safe_load((REPO_ROOT / 'meta' / 'runtime.yml').read_text(encoding='utf-8'))['requires_ansible']
    minimum = re.fullmatch(r'>=\s*([\d.]+)', requires).group(1)
    spec = Requirement(definition_of(context)['dependencies']['ansible_core']['package_pip']).specifier
    lower_bounds = [Version(s.version) for s in spec if s.operator in ('>=', '>', '==', '~=')]
    assert lower_bounds and min(lower_bounds) >= Version(minimum), (
        f'{spec} allows an ansible-core older than requires_ansible {requires}')


def test_published_definition_installs_the_collection_from_galaxy(published_context):
    requirements = galaxy_requirements(published_context)
    wanted = requirements[f"{GALAXY['namespace']}.{GALAXY['name']}"]
    assert SpecifierSet(wanted['version']).contains(GALAXY['version']), f'{wanted} excludes {GALAXY["version"]}'
    assert requirements['kubernetes.core']['version'] == GALAXY['dependencies']['kubernetes.core']
    assert 'ansible-galaxy collection install' in (published_context / 'Containerfile').read_text(encoding='utf-8')


def test_local_definition_copies_in_the_tarball_and_installs_it_from_a_file(local_context, tarball):
    copied = local_context / '_build' / 'collections' / tarball.name
    assert copied.is_file(), f'{tarball.name} (galaxy.yml version) is not copied in: update {LOCAL.name}'
    assert copied.read_bytes() == tarball.read_bytes()
    requirements = galaxy_requirements(local_context)
    # The galaxy stage copies _build to /build and installs from there.
    local_entry = requirements[f'/build/collections/{tarball.name}']
    assert local_entry.get('type') == 'file'
    assert requirements['kubernetes.core']['version'] == GALAXY['dependencies']['kubernetes.core']
    containerfile = (local_context / 'Containerfile').read_text(encoding='utf-8')
    assert containerfile.index('COPY _build /build') < containerfile.index('ansible-galaxy collection install')


def test_collection_python_requirements_are_installed(context, tarball, tmp_path):
    """The image pip-installs what the installed collections' meta/execution-environment.yml names.

    That step runs inside the build; its script ships in the context, so it is run here on the built collection.
    """
    containerfile = (context / 'Containerfile').read_text(encoding='utf-8')
    assert 'introspect.py introspect' in containerfile and '/output/scripts/assemble' in containerfile
    installed = tmp_path / 'collections' / 'ansible_collections' / GALAXY['namespace'] / GALAXY['name']
    installed.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(installed, filter='data')
    pip_file = tmp_path / 'requirements.txt'
    result = run_tool([tool('python'), str(context / '_build' / 'scripts' / 'introspect.py'), 'introspect',
                       str(tmp_path / 'collections'), '--write-pip', str(pip_file)], cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.report()
    to_install = {line.split('#')[0].strip() for line in pip_file.read_text(encoding='utf-8').splitlines()}
    runtime = [line.strip() for line in (REPO_ROOT / 'requirements.txt').read_text(encoding='utf-8').splitlines()
               if line.strip() and not line.startswith('#')]
    # ansible-builder drops what every EE has already (PyYAML comes with ansible-core).
    already_present = runpy.run_path(str(context / '_build' / 'scripts' / 'introspect.py'))['EXCLUDE_REQUIREMENTS']
    missing = [spec for spec in runtime
               if spec not in to_install and canonicalize_name(Requirement(spec).name) not in already_present]
    assert runtime and not missing, f'{missing} would not be installed; the image gets {sorted(to_install)}'


def test_the_documented_local_build_steps_run(tmp_path):
    """docs/awx.md's two commands, from a copy of the repository root; `ansible-builder build` needs a container
    engine, so the test runs `ansible-builder create`, which the doc names as the same step without one."""
    [snippet] = [s for s in of_kind('checked-by', REPO_ROOT / 'docs' / 'awx.md')
                 if s.argument == 'tests/quality/test_execution_environment.py']
    assert 'ansible-builder build -f docs/awx/execution-environment-local.yml' in snippet.body
    root = tmp_path / 'checkout'
    shutil.copytree(REPO_ROOT, root, ignore=shutil.ignore_patterns('.git', '.venv', '.build', 'output', '__pycache__'),
                    symlinks=True)
    # `create` takes the same -f but no image tag
    script = re.sub(r'ansible-builder build (-f \S+) -t \S+', r'ansible-builder create \1', snippet.body)
    result = run_tool(['bash', '-euo', 'pipefail', '-c', script], cwd=root, timeout=600)
    assert result.returncode == 0, result.report()
    # `Dockerfile` or `Containerfile`, by the container runtime ansible-builder assumes
    [containerfile] = [path.read_text(encoding='utf-8') for path in (root / 'context').glob('*file')]
    tarball = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
    assert (root / 'context' / '_build' / 'collections' / tarball).is_file(), 'the tarball built by step one is copied in'
    assert 'EE_BASE_IMAGE="ghcr.io/ansible-community/community-ee-minimal:' in containerfile
