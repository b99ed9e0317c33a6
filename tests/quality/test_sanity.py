"""Quality gate: `ansible-test sanity` must pass with no ignore entries."""

from __future__ import annotations

import re
import sys

import pytest

from quality.tools import REPO_ROOT, run_tool, tool

pytestmark = [pytest.mark.quality, pytest.mark.slow]

PYTHON = f'{sys.version_info[0]}.{sys.version_info[1]}'


def test_ansible_test_sanity(collection_link):
    # ansible-test derives the collection from os.getcwd(), which resolves our symlink to the repo
    # path (not under ansible_collections/<ns>/<name>); ANSIBLE_TEST_CONTENT_ROOT keeps the
    # unresolved path, so the layout is recognized and kubernetes.core is found beside it.
    result = run_tool(
        [tool('ansible-test'), 'sanity', '--local', '--python', PYTHON, '--color', 'no'],
        cwd=collection_link,
        ANSIBLE_TEST_CONTENT_ROOT=str(collection_link),
    )
    if result.returncode != 0:
        problems = [line for line in result.output.splitlines()
                    if re.match(r'^(ERROR|FATAL):', line) or re.match(r'^\S+:\d+:\d+: ', line)]
        pytest.fail('ansible-test sanity failed:\n' + '\n'.join(problems)
                    + '\n\n--- full output (tail) ---\n' + result.report(tail=120), pytrace=False)


def test_no_sanity_ignores():
    entries = []
    for path in sorted((REPO_ROOT / 'tests' / 'sanity').glob('ignore-*.txt')):
        for number, line in enumerate(path.read_text(encoding='utf-8').splitlines(), 1):
            if line.strip() and not line.lstrip().startswith('#'):
                entries.append(f'{path.relative_to(REPO_ROOT)}:{number}: {line}')
    assert not entries, 'sanity ignore entries are not allowed; fix the code instead:\n' + '\n'.join(entries)
