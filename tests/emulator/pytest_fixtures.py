"""pytest plugin: `pytest_plugins = ['emulator.pytest_fixtures']` (with tests/ on sys.path).

k8s_api          – a fresh EmulatorServer per test (starts in a few ms); TMPDIR points into tmp_path so the
                   kubernetes client's discovery cache never leaks between tests.
k8s_api_session  – one server for the whole session; call .reset() yourself when a test needs a clean state.
"""
from __future__ import annotations

import pytest

from .server import EmulatorServer


@pytest.fixture
def k8s_api(tmp_path, monkeypatch):
    cache_dir = tmp_path / 'tmp'
    cache_dir.mkdir()
    monkeypatch.setenv('TMPDIR', str(cache_dir))
    monkeypatch.setattr('tempfile.tempdir', None)  # make tempfile re-read TMPDIR
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope='session')
def k8s_api_session(tmp_path_factory):
    with EmulatorServer() as server:
        yield server
