"""db._run: a statement text becomes a temporary table macro on its connection the first time it
runs there (DuckDB then keeps it parsed); values stay bound parameters, results are never kept."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from data_access import db, meetings
from data_access.db import Database, read_frame, read_value
from data_access.filters import Filters

SQL = """
    select division_code, count(*) as meetings_count
    from meetings
    where meeting_date between cast(:start as date) and cast(:end as date)
    group by division_code
    order by meetings_count desc, division_code"""


def _macros(conn) -> dict:
    return conn.connection.info.get(db._MACROS, {})


def _exists(conn, name: str) -> bool:
    sql = "select count(*) from duckdb_functions() where function_name = :name"
    return conn.execute(sa.text(sql), {"name": name}).scalar() == 1


def _plain(conn, sql: str, params: dict) -> list[tuple]:
    return [tuple(r) for r in conn.execute(sa.text(sql), params).fetchall()]


@pytest.fixture
def fresh(sample_db):
    """The sample database through a pool of its own: its connections hold no macro yet, whatever
    the tests before made on the shared pool (a connection keeps at most 512)."""
    own = Database(sample_db.url)
    yield own
    own.dispose()


def test_a_text_is_made_a_macro_once_and_kept_when_the_connection_returns_to_the_pool(sample_db):
    params = {"start": date(2025, 1, 1), "end": date(2025, 3, 31)}
    own = Database(sample_db.url)  # a pool of its own: one connection, checked out twice
    with own.connect() as conn:
        assert _macros(conn) == {}
        first = read_frame(conn, SQL, params)
        read_frame(conn, SQL, {"start": date(2024, 7, 1), "end": date(2026, 6, 30)})
        made = dict(_macros(conn))
        assert list(made) == [SQL]  # one macro for the text, whatever the values
        name = made[SQL][0]
        assert _exists(conn, name)
        assert [tuple(r) for r in first.itertuples(index=False)] == _plain(conn, SQL, params)
    # returned to the pool (which rolls back) and checked out again: the macro is still there
    with own.connect() as conn:
        assert _macros(conn) == made
        assert _exists(conn, name)
        again = read_frame(conn, SQL, params)
        assert again.equals(first)
    own.dispose()


def test_values_never_enter_a_text(fresh):
    """Other dates, divisions and communities (non-empty lists stay non-empty) reuse the macros a
    page's functions made: the texts are the code's, so a connection holds a bounded number."""
    filters = [
        Filters(date(2025, 1, 1), date(2025, 3, 31), divisions=("EAST",), communities=("C001",)),
        Filters(
            date(2024, 7, 1), date(2026, 6, 30), divisions=("NORTH", "SHOAL"), communities=("C004", "C010")
        ),
        Filters(date(2026, 2, 3), date(2026, 2, 17), divisions=("EAST", "NORTH"), communities=("C022",)),
    ]
    with fresh.connect() as conn:
        meetings.meetings_by_staff(conn, filters[0])
        meetings.meeting_log(conn, filters[0], search="park")
        made = dict(_macros(conn))
        for f in filters[1:]:
            meetings.meetings_by_staff(conn, f)
            meetings.meeting_log(conn, f, search="100% o'brien")
        assert _macros(conn) == made


def test_a_text_duckdb_will_not_take_as_a_macro_runs_as_sent(fresh):
    # a parameter beside an aggregate: a table macro's binder takes it for a column
    sql = "select cast(:as_of as date) as as_of, count(*) as n from communities"
    with fresh.connect() as conn:
        got = read_frame(conn, sql, {"as_of": date(2026, 1, 2)})
        assert _macros(conn)[sql] is None
        assert [tuple(r) for r in got.itertuples(index=False)] == _plain(
            conn, sql, {"as_of": date(2026, 1, 2)}
        )
        assert read_value(conn, sql, {"as_of": date(2026, 1, 3)}) == date(2026, 1, 3)
        # the connection is still usable, and other texts still become macros
        read_frame(conn, SQL, {"start": date(2025, 1, 1), "end": date(2025, 3, 31)})
        assert _macros(conn)[SQL] is not None


def test_an_error_is_raised_from_the_statement_itself(fresh):
    with fresh.connect() as conn:
        with pytest.raises(sa.exc.ProgrammingError, match="no_such_table"):
            read_frame(conn, "select * from no_such_table where x = :a", {"a": 1})
        assert read_value(conn, "select count(*) from communities where name <> :n", {"n": ""}) > 0


def test_past_the_cap_a_connection_runs_new_texts_as_sent(sample_db, monkeypatch):
    monkeypatch.setattr(db, "MAX_MACROS_PER_CONNECTION", 0)
    with sample_db.connect() as conn:
        conn.connection.info.pop(db._MACROS, None)
        n = read_value(
            conn, "select count(*) from meetings where meeting_date >= cast(:d as date)", {"d": "2025-01-01"}
        )
        assert (
            n
            == _plain(
                conn,
                "select count(*) from meetings where meeting_date >= cast(:d as date)",
                {"d": "2025-01-01"},
            )[0][0]
        )
        assert all(v is None for v in _macros(conn).values())


def test_a_statement_goes_to_duckdb_past_sqlalchemy_with_the_same_values(fresh, monkeypatch):
    """read_frame / read_value send the text (or its macro call) to the DB-API connection with each
    :name spelt $name: a name used twice, a :: cast, a list, a value only some texts use and an
    empty result give what SQLAlchemy's own execution of the text gives."""
    sent: list[str] = []
    execute = db._execute
    monkeypatch.setattr(
        db, "_execute", lambda conn, sql, params: sent.append(sql) or execute(conn, sql, params)
    )
    sql = """
        select community_id::varchar as community_id, name, cast(:day as date) - 1 as day_before,
               cast(:day as date) as day
        from communities
        where list_contains(cast(:ids as varchar[]), community_id) or name = :name or name = :name
        order by community_id"""
    params = {"ids": ["C001", "C004"], "name": "no such name", "day": date(2026, 1, 2), "unused": 1}
    with fresh.connect() as conn:
        got = read_frame(conn, sql, params)
        assert sent, "the statement did not go through db._execute"
        assert list(got.columns) == ["community_id", "name", "day_before", "day"]
        assert [tuple(r) for r in got.itertuples(index=False)] == _plain(
            conn, sql, {k: v for k, v in params.items() if k != "unused"}
        )
        assert list(got["community_id"]) == ["C001", "C004"]
        assert (
            read_value(conn, "select name from communities where community_id = :id", {"id": "none"}) is None
        )
