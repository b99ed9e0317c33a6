"""Quality gate: the antsibull-docs site (modules, filters, the role, the guides of docs/) lints and builds cleanly.

The build is the one `antsibull-docs sphinx-init` sets up (its build.sh runs Sphinx with -W), offline: intersphinx
is switched off, so only references into docs.ansible.com (which the published Ansible docsite resolves) may stay
unresolved; any other warning fails the build.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml

from quality.tools import COLLECTION_LINK, REPO_ROOT, run_tool, tool

pytestmark = pytest.mark.quality

DOCSITE = REPO_ROOT / 'docs' / 'docsite'
GALAXY = yaml.safe_load((REPO_ROOT / 'galaxy.yml').read_text(encoding='utf-8'))
FQCN = f"{GALAXY['namespace']}.{GALAXY['name']}"
REPOSITORY_BLOB = f"{GALAXY['repository']}/blob/main/"

# Appended to the generated conf.py: no network, and no warning for labels only the Ansible docsite defines.
OFFLINE_CONF = f'''
intersphinx_mapping = {{}}
nitpick_ignore_regex = [('std:ref', r'(?!ansible_collections\\.{re.escape(FQCN)}\\.).*')]
'''


def guides() -> list[str]:
    index = yaml.safe_load((DOCSITE / 'extra-docs.yml').read_text(encoding='utf-8'))
    return [entry for section in index['sections'] for entry in section['toctree']]


def plugin_names(kind: str) -> list[str]:
    if kind == 'module':
        return sorted(p.stem for p in (REPO_ROOT / 'plugins' / 'modules').glob('*.py') if not p.stem.startswith('_'))
    return sorted(p.stem for p in (REPO_ROOT / 'plugins' / 'filter').glob('*.yml'))


def page_title(page: Path) -> str:
    match = re.search(r'<title>(.*?)</title>', page.read_text(encoding='utf-8'), re.S)
    return html.unescape(match.group(1)) if match else ''


@pytest.fixture(scope='module')
def site(tmp_path_factory, collection_link) -> Path:
    dest = tmp_path_factory.mktemp('docsite')
    # sphinx-ansible-theme is not in the dev lock; alabaster comes with Sphinx.
    init = run_tool([tool('antsibull-docs'), 'sphinx-init', '--use-current', '--squash-hierarchy',
                     '--sphinx-theme', 'alabaster', '--title', f'{FQCN} documentation',
                     '--dest-dir', str(dest), FQCN], cwd=dest, timeout=300)
    assert init.returncode == 0, init.report()
    with (dest / 'conf.py').open('a', encoding='utf-8') as conf:
        conf.write(OFFLINE_CONF)
    build = run_tool(['bash', str(dest / 'build.sh')], cwd=dest, timeout=900)
    assert build.returncode == 0, build.report()
    warnings = [line for line in build.output.splitlines() if 'WARNING' in line or 'ERROR' in line]
    assert not warnings, 'Sphinx warnings:\n' + '\n'.join(warnings)
    return dest / 'build' / 'html'


def test_lint_collection_docs():
    result = run_tool([tool('antsibull-docs'), 'lint-collection-docs', '--plugin-docs', '--check-extra-docs-refs',
                       '--validate-collection-refs', 'all', '--disallow-unknown-collection-refs', str(COLLECTION_LINK)],
                      cwd=REPO_ROOT, timeout=600)
    # It exits non-zero on any finding; the output also holds Python deprecation warnings of its dependencies.
    assert result.returncode == 0, result.report()


@pytest.mark.parametrize('kind', ['module', 'filter'])
def test_a_page_per_plugin(site, kind):
    names = plugin_names(kind)
    assert names
    for name in names:
        page = site / f'{name}_{kind}.html'
        assert page.is_file(), f'no page for {kind} {name}'
        assert f'{FQCN}.{name}' in page_title(page)


def test_a_page_per_role(site):
    roles = sorted(p.name for p in (REPO_ROOT / 'roles').iterdir() if (p / 'meta' / 'argument_specs.yml').is_file())
    assert roles
    for role in roles:
        page = site / f'{role}_role.html'
        assert page.is_file(), f'no page for role {role}'
        assert f'{FQCN}.{role}' in page_title(page)


def test_every_markdown_guide_is_in_the_docsite():
    """A new guide in docs/ must get its page; a page must not outlive its guide."""
    markdown = sorted(p.stem for p in (REPO_ROOT / 'docs').glob('*.md'))
    assert sorted(guides()) == markdown
    assert sorted(p.stem for p in (DOCSITE / 'rst').glob('*.rst')) == markdown


def test_a_page_per_guide_pointing_to_its_text(site):
    for guide in guides():
        page = site / 'docsite' / f'{guide}.html'
        assert page.is_file(), f'no page for guide {guide}'
        text = page.read_text(encoding='utf-8')
        # The markdown in docs/ is the guide's only text; its page links to it.
        assert f'{REPOSITORY_BLOB}docs/{guide}.md' in text, f'{page.name} does not link to docs/{guide}.md'


def test_index_links_issue_tracker_and_repository(site):
    index = (site / 'index.html').read_text(encoding='utf-8')
    for key in ('issues', 'repository'):
        assert f'href="{GALAXY[key]}"' in index, f'the index page does not link galaxy.yml {key}'
    for guide in guides():
        assert f'docsite/{guide}.html' in index, f'the index page does not list the guide {guide}'
