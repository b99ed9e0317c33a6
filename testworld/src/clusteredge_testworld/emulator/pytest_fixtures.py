"""pytest plugin, loaded through the package's `pytest11` entry point when clusteredge-calico-testworld is installed.

k8s_api          – a fresh EmulatorServer per test (starts in a few ms); TMPDIR points into tmp_path so the
                   kubernetes client's discovery cache never leaks between tests.
k8s_api_profile  – like k8s_api, for the Calico profile given by indirect parametrization
                   (`@pytest.mark.parametrize('k8s_api_profile', ['3.29', '3.32-crd'], indirect=True)`);
                   unparametrized it uses the default ($EMULATOR_CALICO_PROFILE, else 3.28). A v3-CRD profile
                   skips the test when Calico's 3.32 CRDs cannot be read (reference.profile_missing_reason).
k8s_api_session  – one server for the whole session; call .reset() yourself when a test needs a clean state.
session_tmpdir   – autouse: TMPDIR of the session (and its child processes) is a directory of its own, so the
                   kubernetes client's discovery cache never leaks between runs or from a developer's real cluster.
"""
from __future__ import annotations

import os
import tempfile

import pytest

from .reference import profile_missing_reason
from .server import EmulatorServer


@pytest.fixture(scope='session', autouse=True)
def session_tmpdir(tmp_path_factory):
    private = tmp_path_factory.mktemp('tmpdir')
    saved_env, saved_tempdir = os.environ.get('TMPDIR'), tempfile.tempdir
    os.environ['TMPDIR'] = str(private)
    tempfile.tempdir = str(private)
    try:
        yield private
    finally:
        tempfile.tempdir = saved_tempdir
        if saved_env is None:
            os.environ.pop('TMPDIR', None)
        else:
            os.environ['TMPDIR'] = saved_env


def _private_tmpdir(tmp_path, monkeypatch) -> None:
    cache_dir = tmp_path / 'tmp'
    cache_dir.mkdir(exist_ok=True)
    monkeypatch.setenv('TMPDIR', str(cache_dir))
    monkeypatch.setattr('tempfile.tempdir', None)  # make tempfile re-read TMPDIR


@pytest.fixture
def k8s_api(tmp_path, monkeypatch):
    _private_tmpdir(tmp_path, monkeypatch)
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def k8s_api_profile(request, tmp_path, monkeypatch):
    profile = getattr(request, 'param', None)
    reason = profile_missing_reason(profile)
    if reason:
        pytest.skip(reason)
    _private_tmpdir(tmp_path, monkeypatch)
    with EmulatorServer(profile=profile) as server:
        yield server


@pytest.fixture(scope='session')
def k8s_api_session(tmp_path_factory):
    with EmulatorServer() as server:
        yield server
