"""ui.cache.together: the results a page asks for as a group come from one statement on a miss,
are kept under each call's own key (as cache.query keeps them), and only the missing ones run."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data_access import db, meetings, rollups
from data_access.filters import Filters

PERIOD = Filters(start=date(2026, 8, 1), end=date(2026, 10, 31), role="admin", preset="custom")


@pytest.fixture
def sent(ui_cache, monkeypatch) -> list[str]:
    """The statements sent to the database from now on (macro calls and plain texts alike), after
    the lookups the functions make once per database version."""
    with ui_cache.database().connect() as conn:
        rollups.concern_tag_count(conn)
        rollups.records_begin(conn, "meetings")
    texts: list[str] = []
    real = db._run

    def counted(conn, sql, params):
        texts.append(sql)
        return real(conn, sql, params)

    monkeypatch.setattr(db, "_run", counted)
    return texts


def _calls(cache, top_n: int = 15) -> list:
    return [
        cache.call(meetings.meeting_kpis),
        cache.call(meetings.meetings_by_day),
        cache.call(meetings.meetings_by_community, top_n=top_n),
        cache.call(meetings.concerns_over_time, grain="week"),
    ]


def _equal(a, b) -> bool:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        return True
    return a == b


def test_a_cold_group_is_one_statement_and_equals_each_query(ui_cache, sent):
    got = ui_cache.together(PERIOD, *_calls(ui_cache))
    assert len(sent) == 1 and sent[0].count("union all by name") == 3
    with ui_cache.database().connect() as conn:
        want = [c.fn(conn, PERIOD, **c.kwargs) for c in _calls(ui_cache)]
    assert all(_equal(g, w) for g, w in zip(got, want, strict=True))


def test_the_results_are_kept_under_each_calls_own_key(ui_cache, sent):
    first = ui_cache.together(PERIOD, *_calls(ui_cache))
    n = len(sent)
    again = ui_cache.together(PERIOD, *_calls(ui_cache))
    by_query = [ui_cache.query(c.fn, PERIOD, **c.kwargs) for c in _calls(ui_cache)]
    assert len(sent) == n  # every one a cache hit
    assert all(_equal(a, b) for a, b in zip(first, again, strict=True))
    assert all(_equal(a, b) for a, b in zip(first, by_query, strict=True))


def test_only_the_missing_results_run(ui_cache, sent):
    ui_cache.together(PERIOD, *_calls(ui_cache, top_n=15))
    n = len(sent)
    got = ui_cache.together(PERIOD, *_calls(ui_cache, top_n=10))  # a widget changed one call's argument
    assert len(sent) == n + 1 and "union all by name" not in sent[-1]
    assert len(got[2]) == 10
    ui_cache.query(meetings.meeting_kpis, Filters(start=date(2026, 1, 1), end=date(2026, 1, 31)))
    n = len(sent)
    # two of four missing: one statement for both
    ui_cache.together(
        Filters(start=date(2026, 1, 1), end=date(2026, 1, 31)),
        ui_cache.call(meetings.meeting_kpis),
        ui_cache.call(meetings.meetings_by_day),
        ui_cache.call(meetings.meetings_by_community, top_n=5),
    )
    assert len(sent) == n + 1 and sent[-1].count("union all by name") == 1


def test_an_error_is_raised_and_nothing_is_kept(ui_cache, sent):
    with pytest.raises(ValueError, match="positive"):
        ui_cache.together(
            PERIOD,
            ui_cache.call(meetings.meeting_kpis),
            ui_cache.call(meetings.meetings_by_community, top_n=0),
        )
    n = len(sent)
    ui_cache.together(PERIOD, ui_cache.call(meetings.meeting_kpis))
    assert len(sent) == n + 1  # the first group's kpis were not kept half-way


def test_only_functions_made_with_reads_can_be_grouped(ui_cache):
    with pytest.raises(TypeError, match="reads"):
        ui_cache.call(meetings.meeting_log)
