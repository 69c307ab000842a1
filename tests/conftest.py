"""Shared pytest setup: the project root on sys.path, and the sample database built once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def sample_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database built from sample_data/ through the importer, in a temp folder (never the user's data/)."""
    from data_access.importer import import_files, sample_files

    url = f"duckdb:///{tmp_path_factory.mktemp('sample') / 'engagement.duckdb'}"
    results = import_files(sample_files(), user="test", url=url)
    assert all(r.committed for r in results), [r.summary() for r in results]
    return url


@pytest.fixture(scope="session")
def sample_db(sample_db_url: str):
    from data_access.db import Database

    return Database(sample_db_url)
