"""ui.cache keys every result on the live database version, read once per script run (not at
each of a rerun's 25 cache calls), and read again after an import's cache.clear()."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from data_access.db import Database


def _count_version_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    real = Database.version.fget

    def counted(self):
        value = real(self)
        reads.append(value)
        return value

    monkeypatch.setattr(Database, "version", property(counted))
    return reads


def _script() -> None:
    from datetime import date

    import streamlit as st

    from data_access import meetings, reference
    from data_access.filters import Filters
    from ui import cache

    f = Filters(start=date(2026, 8, 1), end=date(2026, 10, 31), role="admin", preset="custom")
    cache.query(meetings.meeting_kpis, f)
    cache.query(meetings.meeting_kpis, f)
    cache.lookup(reference.latest_data_date)
    if st.session_state.get("clear"):
        cache.clear()
        cache.query(meetings.meeting_kpis, f)


def test_a_run_reads_the_version_once_and_the_next_run_reads_it_again(sample_db_url, monkeypatch):
    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    reads = _count_version_reads(monkeypatch)
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    assert not at.exception
    assert len(reads) == 1
    at.run()
    assert not at.exception
    assert len(reads) == 2


def test_clear_makes_the_rest_of_the_run_read_the_version_again(sample_db_url, monkeypatch):
    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    reads = _count_version_reads(monkeypatch)
    at = AppTest.from_function(_script, default_timeout=60)
    at.session_state["clear"] = True
    at.run()
    assert not at.exception
    assert len(reads) == 2
