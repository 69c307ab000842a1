"""ui.cache.ahead: a query started on a worker thread is computed once, and its handle gives the
same answer (and the same error) as cache.query would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

import pytest

from data_access import meetings
from data_access.filters import Filters

PERIOD = Filters(start=date(2026, 8, 1), end=date(2026, 10, 31), role="admin", preset="custom")


def test_a_query_started_ahead_runs_once_on_a_worker_and_result_returns_its_answer(ui_cache, monkeypatch):
    real = meetings.meeting_kpis
    ran_on: list[str] = []
    started, release = threading.Event(), threading.Event()

    def counted(conn, f):
        ran_on.append(threading.current_thread().name)
        started.set()
        release.wait(10)  # still running when the page asks for it
        return real(conn, f)

    monkeypatch.setattr(meetings, "meeting_kpis", counted)
    pending = ui_cache.ahead(real, PERIOD)
    assert started.wait(10), "the worker never ran the query"
    threading.Timer(0.2, release.set).start()
    got = pending.result()  # waits for the worker's value instead of computing it again
    assert ran_on and all(name.startswith("ced-ahead") for name in ran_on)
    assert len(ran_on) == 1
    assert ui_cache.query(real, PERIOD) == got  # the cache now holds it
    assert len(ran_on) == 1
    with ui_cache.database().connect() as conn:
        assert got == real(conn, PERIOD)  # the same answer as the function itself


def test_a_query_that_fails_on_the_worker_raises_its_error_in_the_page(ui_cache, monkeypatch):
    real = meetings.meeting_kpis
    calls: list[str] = []
    failed = threading.Event()

    def broken(conn, f):
        calls.append(threading.current_thread().name)
        failed.set()
        raise ValueError("no such column")

    monkeypatch.setattr(meetings, "meeting_kpis", broken)
    pending = ui_cache.ahead(real, PERIOD)
    assert failed.wait(10), "the worker never ran the query"
    with pytest.raises(ValueError, match="no such column"):
        pending.result()
    # the failure was not cached: result() ran the query again, in the caller's thread
    assert len(calls) == 2 and calls[0].startswith("ced-ahead") and not calls[1].startswith("ced-ahead")


@pytest.fixture
def counted_kpis(monkeypatch) -> tuple[Callable, list[str]]:
    """The real meetings.meeting_kpis (what pages pass to the cache), and the thread names of the
    runs of it the cache makes, in order (the cache resolves the function by name: the counter)."""
    real = meetings.meeting_kpis
    ran_on: list[str] = []

    def counted(conn, f):
        ran_on.append(threading.current_thread().name)
        return real(conn, f)

    monkeypatch.setattr(meetings, "meeting_kpis", counted)
    return real, ran_on


def _capture_submissions(ui_cache, monkeypatch) -> list[object]:
    """From now on the worker pool records what it is given instead of running it."""
    submitted: list[object] = []
    monkeypatch.setattr(ui_cache._ahead_pool, "submit", lambda *a, **k: submitted.append(a))
    return submitted


def test_a_result_computed_within_the_ttl_is_left_to_the_cache_and_not_started_again(
    ui_cache, monkeypatch, counted_kpis
):
    """A rerun with unchanged filters starts no worker: the page's result() is a cache hit."""
    real, ran_on = counted_kpis
    first = ui_cache.query(real, PERIOD)
    assert len(ran_on) == 1
    submitted = _capture_submissions(ui_cache, monkeypatch)
    again = ui_cache.ahead(real, PERIOD)
    assert submitted == []
    assert again.result() == first and len(ran_on) == 1
    # a filter change is a new key: started on a worker
    ui_cache.ahead(
        real, Filters(start=date(2026, 9, 1), end=date(2026, 10, 31), role="admin", preset="custom")
    )
    assert len(submitted) == 1


def test_a_result_the_cache_dropped_is_computed_again_by_the_page(ui_cache, monkeypatch, counted_kpis):
    """The record of computed results is only a hint: when Streamlit's cache no longer holds the
    value (cleared from its menu, or evicted), result() computes it in the caller's thread."""
    real, ran_on = counted_kpis
    first = ui_cache.query(real, PERIOD)
    ui_cache._filtered.clear()  # Streamlit's cache alone: the record still says computed
    pending = ui_cache.ahead(real, PERIOD)
    assert pending.result() == first
    assert len(ran_on) == 2 and not ran_on[1].startswith("ced-ahead")
    ui_cache.clear_filtered()  # both: the next ahead starts a worker again
    submitted = _capture_submissions(ui_cache, monkeypatch)
    ui_cache.ahead(real, PERIOD)
    assert len(submitted) == 1
