"""Quality gate: `ansible-test units` runs the plugin unit tests (tests/unit/plugins/) in its own venv, and they pass.

The venv holds only ansible-test's pytest and tests/unit/requirements.txt, so this also proves that file lists
everything the plugin unit tests import. Plain pytest runs the same files in the default run.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET

import pytest

from quality.tools import REPO_ROOT, collection_copy, run_tool, tool

pytestmark = [pytest.mark.quality, pytest.mark.slow]

PYTHON = f'{sys.version_info[0]}.{sys.version_info[1]}'
PLUGIN_UNIT_TESTS = 'tests/unit/plugins/'


def plain_pytest_count() -> int:
    result = run_tool([sys.executable, '-m', 'pytest', '--collect-only', '-q', PLUGIN_UNIT_TESTS],
                      cwd=REPO_ROOT, timeout=300)
    found = re.search(r'^(\d+) tests? collected', result.output, re.MULTILINE)
    assert result.returncode == 0 and found, result.report()
    return int(found.group(1))


def junit_totals(junit_dir) -> dict[str, int]:
    totals = {'tests': 0, 'failures': 0, 'errors': 0, 'skipped': 0}
    for report in junit_dir.glob('*-units.xml'):
        root = ET.parse(report).getroot()
        for suite in root.iter('testsuite'):
            for key in totals:
                totals[key] += int(suite.get(key, 0))
    return totals


def test_ansible_test_units_runs_every_plugin_unit_test(tmp_path):
    expected = plain_pytest_count()
    assert expected > 100, 'the plugin unit tests went missing from tests/unit/plugins/'

    content = collection_copy(tmp_path)
    result = run_tool([tool('ansible-test'), 'units', '--venv', '--python', PYTHON, '--color', 'no', PLUGIN_UNIT_TESTS],
                      cwd=content, timeout=900, ANSIBLE_TEST_CONTENT_ROOT=str(content))
    assert result.returncode == 0, result.report(tail=80)

    totals = junit_totals(content / 'tests' / 'output' / 'junit')
    assert totals == {'tests': expected, 'failures': 0, 'errors': 0, 'skipped': 0}, result.report(tail=40)
