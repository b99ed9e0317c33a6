"""Quality gate: changelog fragments and config lint, and the release notes users read match changelog.yaml."""

from __future__ import annotations

import shutil

import pytest
import yaml

from quality.tools import REPO_ROOT, run_tool, tool

pytestmark = pytest.mark.quality

CONFIG = yaml.safe_load((REPO_ROOT / 'changelogs' / 'config.yaml').read_text(encoding='utf-8'))
OUTPUTS = {entry['file']: entry['format'] for entry in CONFIG['output']}


def galaxy_version() -> str:
    return yaml.safe_load((REPO_ROOT / 'galaxy.yml').read_text(encoding='utf-8'))['version']


def test_antsibull_changelog_lint():
    result = run_tool([tool('antsibull-changelog'), 'lint', '-v'], cwd=REPO_ROOT, timeout=300)
    assert result.returncode == 0 and not result.output.strip(), 'antsibull-changelog lint:\n' + result.report()


@pytest.mark.parametrize('filename', sorted(OUTPUTS))
def test_release_notes_are_generated_from_changelog_yaml(tmp_path, filename):
    """A hand edit of CHANGELOG.* would be lost at the next release: the file must be exactly what the tool writes."""
    # generate only needs galaxy.yml and changelogs/; a copy keeps the tool's caches out of the work tree
    (tmp_path / 'changelogs').mkdir()
    shutil.copy(REPO_ROOT / 'galaxy.yml', tmp_path)
    for name in ('config.yaml', 'changelog.yaml'):
        shutil.copy(REPO_ROOT / 'changelogs' / name, tmp_path / 'changelogs')
    expected = tmp_path / filename
    result = run_tool([tool('antsibull-changelog'), 'generate', '--output', str(expected),
                       '--output-format', OUTPUTS[filename]], cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.report()
    committed = REPO_ROOT / filename
    assert committed.is_file(), f'{filename} is missing: run antsibull-changelog generate'
    assert committed.read_text(encoding='utf-8') == expected.read_text(encoding='utf-8'), (
        f'{filename} differs from what antsibull-changelog generates from changelogs/changelog.yaml; '
        'run antsibull-changelog generate')


def test_the_galaxy_version_has_release_notes():
    """The version a build would carry is released in changelog.yaml and has its section in CHANGELOG.rst."""
    version = galaxy_version()
    changelog = yaml.safe_load((REPO_ROOT / 'changelogs' / 'changelog.yaml').read_text(encoding='utf-8'))
    assert version in changelog['releases'], f'galaxy.yml version {version} is not released in changelog.yaml'
    assert changelog['releases'][version]['changes'].get('release_summary'), f'{version} has no release summary'
    heading = f'v{version}'
    lines = (REPO_ROOT / 'CHANGELOG.rst').read_text(encoding='utf-8').splitlines()
    assert any(line == heading and underline == '=' * len(heading) for line, underline in zip(lines, lines[1:])), (
        f'CHANGELOG.rst has no section {heading}')


def test_release_notes_speak_to_users():
    """Internal design references must not leak into what users read."""
    for filename in sorted(OUTPUTS):
        text = (REPO_ROOT / filename).read_text(encoding='utf-8')
        assert '§' not in text and 'SPEC' not in text, f'{filename} cites the internal specification'
