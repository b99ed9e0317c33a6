"""The private package plugins/module_utils/_core imports in one direction only, from the modules down to the API.

A layer imports itself and the layers below it; the model and the dataplane never reach the API client or the
cluster snapshot (they are pure); modules and filters enter through their own doors. docs/development.md draws
the same map.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / 'plugins' / 'module_utils' / '_core'
PACKAGE = 'ansible_collections.clusteredge.calico.plugins.module_utils'
CORE_PACKAGE = PACKAGE + '._core'

# Bottom to top. Layers of the same rank do not import each other.
RANKS = {
    'errors': 0,
    'api': 1,
    'model': 2,
    'facts': 3,
    'plan': 3,
    'dataplane': 3,
    'argspec': 4,
    'runners': 5,
}
PURE_LAYERS = ('model', 'dataplane')
IO_MODULES = ('api.client', 'facts')
# Where modules and filters may enter the package.
ENTRY_POINTS = {
    'plugins/modules': ('argspec', 'runners'),
    'plugins/filter': ('model',),
}


def collection_imports(path):
    """Dotted names under plugins/module_utils that `path` imports (a `from X import y` counts as X.y when y is a module)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            for alias in node.names:
                candidate = '%s.%s' % (node.module, alias.name)
                is_module = (REPO / Path(*candidate.split('.')[3:])).with_suffix('.py').exists()
                found.append(candidate if is_module else node.module)
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names if a.name.startswith(PACKAGE))
    return found


def core_name(dotted):
    """'api.client' for ...module_utils._core.api.client; None for anything outside the package."""
    if not dotted.startswith(CORE_PACKAGE + '.'):
        return None
    return dotted[len(CORE_PACKAGE) + 1:]


def layer_of(name):
    return name.split('.')[0]


def core_files():
    return sorted(p for p in CORE.rglob('*.py') if p.name != '__init__.py')


def test_the_package_has_every_layer_and_nothing_else():
    layers = set(layer_of(str(p.relative_to(CORE).with_suffix('')).replace('/', '.')) for p in core_files())
    assert layers == set(RANKS)
    assert not list((REPO / 'plugins' / 'module_utils').glob('_*.py')), 'module_utils holds only the _core package'


@pytest.mark.parametrize('path', core_files(), ids=lambda p: str(p.relative_to(CORE)))
def test_each_layer_imports_only_itself_and_the_layers_below(path):
    own = layer_of(str(path.relative_to(CORE).with_suffix('')).replace('/', '.'))
    wrong = []
    for dotted in collection_imports(path):
        name = core_name(dotted)
        assert name is not None, '%s imports %s, outside the private package' % (path.name, dotted)
        other = layer_of(name)
        if other != own and RANKS[other] >= RANKS[own]:
            wrong.append('%s (%s, rank %d) imports %s (rank %d)' % (path.relative_to(CORE), own, RANKS[own], name, RANKS[other]))
        if own in PURE_LAYERS and any(name == io or name.startswith(io + '.') for io in IO_MODULES):
            wrong.append('%s is pure but imports %s' % (path.relative_to(CORE), name))
    assert wrong == []


@pytest.mark.parametrize('directory', sorted(ENTRY_POINTS))
def test_modules_and_filters_enter_the_package_through_their_doors(directory):
    doors = ENTRY_POINTS[directory]
    wrong = []
    for path in sorted((REPO / directory).glob('*.py')):
        for dotted in collection_imports(path):
            name = core_name(dotted)
            if name is None or layer_of(name) not in doors:
                wrong.append('%s imports %s' % (path.name, dotted))
    assert wrong == []


def test_failures_reach_fail_json_in_one_place():
    callers = sorted(str(p.relative_to(CORE)) for p in core_files() if 'fail_json' in p.read_text().replace('`fail_json`', ''))
    assert callers == ['runners/common.py']


def test_the_layer_check_sees_a_wrong_import(tmp_path):
    model = tmp_path / 'leaky.py'
    model.write_text('from %s.api.client import CalicoClient\nfrom %s.runners import common\n' % (CORE_PACKAGE, CORE_PACKAGE))
    names = [core_name(d) for d in collection_imports(model)]
    assert names == ['api.client', 'runners.common']
    assert RANKS[layer_of(names[1])] > RANKS['model']


def test_the_package_map_in_docs_development_lists_every_module_once():
    text = (REPO / 'docs' / 'development.md').read_text()
    block = text.split('<!-- snippet: checked-by tests/unit/test_package_layers.py -->', 1)[1].split('```', 2)[1]
    listed = []
    for line in block.splitlines():
        entry = line.strip().split(' ', 1)[0]
        if entry.endswith('.py') and '{' not in entry:
            listed.append(entry)
        elif entry.startswith('runners/{'):
            listed.extend('runners/%s.py' % name for name in entry[len('runners/{'):].split('}')[0].split(','))
    expected = sorted(str(p.relative_to(CORE)) for p in core_files())
    assert sorted(name for name in listed if not name.startswith('plugins/')) == expected
