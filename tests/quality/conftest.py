"""Fixtures for the quality gates."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality.tools import COLLECTION_LINK, REPO_ROOT


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def collection_link() -> Path:
    if not (COLLECTION_LINK / 'galaxy.yml').exists():
        pytest.fail(f'{COLLECTION_LINK} is missing: run scripts/bootstrap.sh first')
    return COLLECTION_LINK
