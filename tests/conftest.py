"""Root pytest configuration for every test under tests/.

* puts tests/ on sys.path, so the suite's own helpers (``integration.ansible_cli``, ``doc_snippets``, ...) import;
* gives Ansible sane defaults when pytest is not started through scripts/test.sh;
* has every emulator of the session log the API requests it serves (EMULATOR_REQUEST_LOG, see emulator/rbac.py)
  and runs the tests marked ``last`` (which check that log) after all others;
* leaves the test world's fixtures to the installed clusteredge_testworld package (pytest entry points).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

# Same values as scripts/env.sh, for a bare `.venv/bin/pytest` run.
os.environ.setdefault('ANSIBLE_COLLECTIONS_PATH', str(REPO_ROOT / '.build' / 'collections'))
os.environ.setdefault('ANSIBLE_PYTHON_INTERPRETER', sys.executable)
if str(TESTS_DIR) not in os.environ.get('PYTHONPATH', '').split(os.pathsep):
    os.environ['PYTHONPATH'] = os.pathsep.join(p for p in (str(TESTS_DIR), os.environ.get('PYTHONPATH')) if p)

# The test world's fixtures (k8s_api, node_lab, ...) come from the clusteredge_testworld package's pytest entry
# points. `ansible-test units` loads this file too, in its own venv holding only tests/unit/requirements.txt: the
# package is not there, and the plugin unit tests never start an emulator.
EMULATOR_USABLE = importlib.util.find_spec('clusteredge_testworld') is not None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker('last') is not None)  # stable: the order is otherwise kept


@pytest.fixture(scope='session', autouse=True)
def emulator_request_log(tmp_path_factory: pytest.TempPathFactory):
    """The JSON-lines file every emulator of this session (in-process or subprocess) appends its API requests to.

    Autouse and session-scoped, so it is in the environment before any other fixture starts an emulator. A value
    set outside pytest is kept, to collect several runs into one file.
    """
    if not EMULATOR_USABLE:
        yield None
        return
    from clusteredge_testworld.emulator.rbac import REQUEST_LOG_ENV

    saved = os.environ.get(REQUEST_LOG_ENV)
    path = saved or str(tmp_path_factory.getbasetemp() / 'api-requests.jsonl')
    os.environ[REQUEST_LOG_ENV] = path
    try:
        yield Path(path)
    finally:
        if saved is None:
            os.environ.pop(REQUEST_LOG_ENV, None)
