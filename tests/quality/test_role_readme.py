"""Quality gate: the role's README, the page Galaxy shows for the role, matches the role's argument spec (every entry
point: main, unexpose), and the role's defaults are the defaults the argument spec documents."""

from __future__ import annotations

import re

import pytest
import yaml

from quality.tools import REPO_ROOT

pytestmark = pytest.mark.quality

ROLE = REPO_ROOT / 'roles' / 'clusterip_exposure'
VARIABLE = re.compile(r'\bclusterip_exposure_[a-z0-9_]+\b')


def readme() -> str:
    return (ROLE / 'README.md').read_text(encoding='utf-8')


def entry_points() -> dict[str, dict]:
    return yaml.safe_load((ROLE / 'meta' / 'argument_specs.yml').read_text(encoding='utf-8'))['argument_specs']


def all_options() -> dict[str, dict]:
    """The options of every entry point; one shared by several has the same type and default in each (tested below)."""
    options = {}
    for entry_point in entry_points().values():
        options.update(entry_point['options'])
    return options


def playbook_variables() -> set[str]:
    """Variables of the collection's playbooks themselves (e.g. the hosts pattern of `expose`), not role options."""
    return {name for path in (REPO_ROOT / 'playbooks').glob('*.yml')
            for name in VARIABLE.findall(path.read_text(encoding='utf-8'))}


def variable_table_rows(text: str) -> list[dict[str, str]]:
    """Rows of the README's tables whose header starts with `variable`, as {column: cell}."""
    rows, header = [], None
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip('|').split('|')] if line.startswith('|') else None
        if cells is None:
            header = None
        elif header is None:
            header = cells if cells[0] == 'variable' else []
        elif header and not set(line) <= set('|- '):
            rows.append(dict(zip(header, cells)))
    return rows


def test_readme_names_only_variables_that_exist():
    unknown = set(VARIABLE.findall(readme())) - set(all_options()) - playbook_variables()
    assert not unknown, f'README.md names variables neither the argument spec nor the playbooks know: {sorted(unknown)}'


def test_readme_tables_list_only_role_options():
    listed = {name for row in variable_table_rows(readme()) for name in VARIABLE.findall(row['variable'])}
    assert listed, 'README.md has no variable table'
    assert listed <= set(all_options()), sorted(listed - set(all_options()))


def test_readme_mentions_every_option_of_every_entry_point():
    assert set(entry_points()) >= {'main', 'unexpose'}
    missing = set(all_options()) - set(VARIABLE.findall(readme()))
    assert not missing, f'README.md does not mention: {sorted(missing)}'


def test_readme_names_every_entry_point():
    missing = [name for name in entry_points() if f'`{name}`' not in readme()]
    assert not missing, f'README.md does not name the entry points: {missing}'


def test_options_shared_by_entry_points_are_the_same_option():
    seen, different = {}, []
    for entry_point in entry_points().values():
        for name, spec in entry_point['options'].items():
            kind = {key: spec.get(key) for key in ('type', 'elements', 'default', 'required', 'no_log')}
            if seen.setdefault(name, kind) != kind:
                different.append(name)
    assert not different, f'options with another type or default in another entry point: {sorted(different)}'


def test_role_defaults_are_the_documented_defaults():
    defaults = yaml.safe_load((ROLE / 'defaults' / 'main.yml').read_text(encoding='utf-8'))
    wrong = [f'{name}: defaults/main.yml has {defaults.get(name)!r}, argument spec says {spec.get("default")!r}'
             for name, spec in all_options().items() if not spec.get('required') and defaults.get(name) != spec.get('default')]
    assert not wrong, '\n'.join(wrong)


def test_readme_defaults_match_the_argument_spec():
    options = all_options()
    wrong = []
    for row in variable_table_rows(readme()):
        shown = re.match(r'`([^`]*)`', row.get('default', ''))
        names = VARIABLE.findall(row['variable'])
        if shown is None or len(names) != 1 or names[0] not in options:
            continue  # "required", several variables in one row, or a name the tests above report
        (name,) = names
        if yaml.safe_load(shown[1]) != options[name].get('default'):
            wrong.append(f'{name}: README says {shown[1]}, argument spec says {options[name].get("default")!r}')
    assert not wrong, '\n'.join(wrong)


def test_readme_links_to_docs_pages_that_exist():
    repository = yaml.safe_load((REPO_ROOT / 'galaxy.yml').read_text(encoding='utf-8'))['repository'].rstrip('/')
    linked = re.findall(rf'\]\({re.escape(repository)}/blob/[^/]+/([^)#]+)', readme())
    assert any(path.startswith('docs/') for path in linked), 'README.md links to no docs/ page'
    missing = [path for path in linked if not (REPO_ROOT / path).is_file()]
    assert not missing, f'README.md links to files the repository does not have: {missing}'
