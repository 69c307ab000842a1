"""serve.py's warm-up fills exactly the cache entries the first visitor's Overview reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data_access.db import Database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_calls(sample_db_url, monkeypatch) -> list[int]:
    """Counts every database connection opened (a cache miss opens one; a hit opens none)."""
    from ui import cache

    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    cache.clear()
    calls: list[int] = []
    real = Database.connect

    def counted(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(Database, "connect", counted)
    yield calls
    cache.clear()


def first_visit() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Overview"
    return at


def test_after_the_warm_up_the_first_overview_opens_no_connection(db_calls):
    from ui import warmup

    took = warmup.warm()
    assert set(took) == {"lookups", "overview viewer", "overview analyst", "overview admin"}
    db_calls.clear()
    at = first_visit()
    assert db_calls == []
    assert len(at.metric) == 6


def test_without_the_warm_up_the_first_overview_queries_the_database(db_calls):
    first_visit()
    assert len(db_calls) >= 3  # lookups and both Overview queries: what the warm-up saves
