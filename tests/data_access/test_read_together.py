"""db.read_frames / read_together: several statements sent as one give exactly the frames (columns,
types, values, row order) and results each gives alone."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data_access import db, meetings
from data_access.db import read_frame, read_frames, read_together, reads
from data_access.filters import Filters
from tests.data_access.test_read_frame import QUERIES

IDS = {"ids": ["C001", "C004", "NOPE"]}


def _params(sql: str) -> dict:
    return dict(IDS) if ":ids" in sql else {}


def _same(got: list[pd.DataFrame], want: list[pd.DataFrame]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(g, w, check_exact=True)


def _statements(conn) -> list[str]:
    """The texts this connection has sent as statements (its macros' texts, first use each)."""
    return list(conn.connection.info.get(db._MACROS, {}))


def test_every_column_type_comes_back_as_read_frame_gives_it(sample_db):
    statements = [(sql, _params(sql)) for sql in QUERIES.values()]
    with sample_db.connect() as conn:
        _same(read_frames(conn, statements), [read_frame(conn, sql, p) for sql, p in statements])


def test_the_same_names_in_two_statements_stay_apart(sample_db):
    """A column or parameter name two statements share keeps each statement's own type and value."""
    statements = [
        ("select :n as n, 'text' as label, :day as day", {"n": 1, "day": date(2026, 1, 2)}),
        ("select cast(:n as varchar) as n, 2.5 as label, :day as day", {"n": "two", "day": "2026-03-04"}),
        ("select count(*) as n from meetings where meeting_date <= :day", {"day": date(2025, 1, 1)}),
    ]
    with sample_db.connect() as conn:
        frames = read_frames(conn, statements)
        _same(frames, [read_frame(conn, sql, p) for sql, p in statements])
    assert frames[0].loc[0, "n"] == 1 and frames[1].loc[0, "n"] == "two"
    assert frames[0].loc[0, "label"] == "text" and frames[1].loc[0, "label"] == 2.5


def test_rows_keep_each_statements_order_and_empty_results_stay_empty(sample_db):
    statements = [
        ("select meeting_id from meetings order by meeting_date desc, meeting_id desc limit 300", {}),
        ("select name from communities where false", {}),
        ("select meeting_id from meetings order by residents_count, meeting_id limit 300", {}),
        # a statement ending in a comment still closes its arm
        ("select count(*) as n from staff -- every member", {}),
    ]
    with sample_db.connect() as conn:
        frames = read_frames(conn, statements)
        _same(frames, [read_frame(conn, sql, p) for sql, p in statements])
    assert len(frames[0]) == 300 and frames[1].empty and list(frames[1].columns) == ["name"]
    # in the order each statement asked for, which differs between the two
    assert list(frames[0]["meeting_id"]) != list(frames[2]["meeting_id"])


def test_several_statements_are_one_statement_and_one_is_sent_as_it_is(sample_db):
    with sample_db.connect() as conn:
        before = _statements(conn)
        read_frames(conn, [("select 1 as a", {}), ("select 2 as b", {}), ("select 3 as c", {})])
        sent = _statements(conn)[len(before) :]
        assert len(sent) == 1 and sent[0].count("union all by name") == 2
        read_frames(conn, [("select 4 as d", {})])
        assert _statements(conn)[-1] == "select 4 as d"
        assert read_frames(conn, []) == []


def test_a_bad_statement_raises_and_the_connection_still_works(sample_db):
    with sample_db.connect() as conn:
        with pytest.raises(Exception, match="no_such_table"):
            read_frames(conn, [("select 1 as a", {}), ("select * from no_such_table", {})])
        assert read_frame(conn, "select 7 as x").loc[0, "x"] == 7


@reads
def _two_rounds(conn, base: int):
    """Two statements, the second using the first's answer."""
    first = yield "select :base + 1 as v", {"base": base}
    second = yield "select :v * 10 as v", {"v": int(first.loc[0, "v"])}
    return int(second.loc[0, "v"])


@reads
def _one_round(conn, word: str):
    return (yield "select upper(:w) as w", {"w": word}).loc[0, "w"]


def test_read_together_drives_each_function_to_its_own_answer(sample_db):
    with sample_db.connect() as conn:
        alone = [_two_rounds(conn, 1), _one_round(conn, "ab"), _two_rounds(conn, 5)]
        before = len(_statements(conn))
        got = read_together(
            conn, _two_rounds.reads(conn, 1), _one_round.reads(conn, "ab"), _two_rounds.reads(conn, 5)
        )
        # round one: three statements as one; round two: the two second statements as one
        assert len(_statements(conn)) - before == 2
    assert got == alone == [20, "AB", 60]


def test_an_error_in_a_function_is_raised_by_read_together(sample_db):
    @reads
    def checks(conn, n: int):
        if n < 0:
            raise ValueError("n must not be negative")
        return (yield "select :n as n", {"n": n}).loc[0, "n"]

    with sample_db.connect() as conn, pytest.raises(ValueError, match="negative"):
        read_together(conn, checks.reads(conn, 1), checks.reads(conn, -1))


# The Meetings page's seven sections, computed together, against each function alone.
FILTERS = [
    Filters(start=date(2026, 8, 1), end=date(2026, 10, 31), role="admin", preset="custom"),
    Filters(start=date(2024, 7, 1), end=date(2026, 11, 20), role="admin", preset="custom"),
    Filters(
        start=date(2024, 7, 1),
        end=date(2026, 11, 20),
        communities=("C001", "C004", "C010"),
        divisions=("EAST", "NORTH"),
        role="admin",
        preset="custom",
    ),
    Filters(
        start=date(2026, 3, 1), end=date(2026, 3, 31), units=("LIA", "CIT"), role="admin", preset="custom"
    ),
    Filters(start=date(2020, 1, 1), end=date(2020, 1, 31), role="admin", preset="custom"),  # nothing in it
]


def _sections(f: Filters) -> list[tuple]:
    return [
        (meetings.meeting_kpis, {}),
        (meetings.meetings_over_time, {"grain": "month", "split": "type"}),
        (meetings.meetings_by_day, {}),
        (meetings.meetings_by_community, {"top_n": 10}),
        (meetings.meetings_by_organization, {"top_n": 25}),
        (meetings.meetings_by_staff, {}),
        (meetings.concerns_over_time, {"grain": "week"}),
    ]


@pytest.mark.parametrize("f", FILTERS, ids=["quarter", "all time", "selection", "units, a month", "empty"])
def test_the_meetings_sections_together_equal_each_alone(sample_db, f):
    calls = _sections(f)
    with sample_db.connect() as conn:
        together = read_together(conn, *(fn.reads(conn, f, **kw) for fn, kw in calls))
        alone = [fn(conn, f, **kw) for fn, kw in calls]
    for (fn, _), got, want in zip(calls, together, alone, strict=True):
        if isinstance(want, pd.DataFrame):
            pd.testing.assert_frame_equal(got, want, check_exact=True, obj=fn.__name__)
        else:
            assert got == want, fn.__name__
    if f.start.year > 2020:  # the sections are not all empty, so the comparison compared something
        assert together[0]["meetings_held"].value > 0 and not together[5].empty
