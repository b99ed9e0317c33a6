"""Quality gate: ansible-lint (production profile, offline; see .ansible-lint) must pass."""

from __future__ import annotations

import pytest

from quality.tools import REPO_ROOT, run_tool, tool

pytestmark = pytest.mark.quality


def test_ansible_lint():
    result = run_tool([tool('ansible-lint'), '--offline', '--nocolor', '-f', 'pep8'], cwd=REPO_ROOT, timeout=600)
    if result.returncode != 0:
        pytest.fail('ansible-lint found problems:\n' + result.report(), pytrace=False)
