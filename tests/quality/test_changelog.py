"""Quality gate: changelog fragments and config must lint."""

from __future__ import annotations

import pytest

from quality.tools import REPO_ROOT, run_tool, tool

pytestmark = pytest.mark.quality


def test_antsibull_changelog_lint():
    result = run_tool([tool('antsibull-changelog'), 'lint', '-v'], cwd=REPO_ROOT, timeout=300)
    assert result.returncode == 0 and not result.output.strip(), 'antsibull-changelog lint:\n' + result.report()
