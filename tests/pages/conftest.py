"""Fixtures shared by the page-level tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def ui_cache(sample_db_url, monkeypatch):
    """ui.cache on the sample database, emptied before and after the test."""
    from ui import cache

    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    cache.clear()
    yield cache
    cache.clear()
