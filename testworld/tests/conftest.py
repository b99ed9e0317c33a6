"""The test world's own tests: a private TMPDIR for the session (the kubernetes client keeps its discovery cache
there, which must not leak between runs or from a developer's real cluster)."""

from __future__ import annotations

import os
import tempfile

import pytest


@pytest.fixture(scope='session', autouse=True)
def private_tmpdir(tmp_path_factory: pytest.TempPathFactory):
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
