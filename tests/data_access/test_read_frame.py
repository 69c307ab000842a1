"""db.read_frame builds its frame from the cursor's plain tuples (for speed); the frame must be
exactly what the SQLAlchemy-Row path gave before, for every column type the app reads."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from data_access.db import read_frame, specialise
from data_access.scope import meeting_scope

QUERIES = {
    "every meetings column, with nulls and lists": "select * from meetings order by meeting_id limit 500",
    "feedback with null community, bool, tags": "select * from feedback order by response_id limit 500",
    "aggregates: hugeint sums, doubles, decimals": """
        select division_code, count(*) as n, sum(residents_count) as s, avg(residents_count) as a,
               stddev_samp(residents_count) as sd, sum(residents_count) / 3.0 as d,
               max(meeting_date) as last_date, median(residents_count) as med
        from meetings group by 1 order by 1""",
    "timestamps, times, nulls of every kind": """
        select imported_at, cast(null as integer) as ni, cast(null as date) as nd, cast(null as varchar) as ns,
               cast('18:30' as time) as t, true as b, cast(null as boolean) as nb
        from imports""",
    "no rows": "select * from communities where false",
    "staffing fractions": "select * from staffing order by month, unit_code, division_code limit 300",
    "params": "select community_id, name from communities where list_contains(cast(:ids as varchar[]), community_id)",
}


def _before(conn, sql: str, params: dict) -> pd.DataFrame:
    result = conn.execute(sa.text(sql), params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


@pytest.mark.parametrize("name", list(QUERIES))
def test_read_frame_equals_the_row_path(sample_db, name):
    params = {"ids": ["C001", "C004", "NOPE"]} if ":ids" in QUERIES[name] else {}
    with sample_db.connect() as conn:
        new = read_frame(conn, QUERIES[name], params)
        old = _before(conn, QUERIES[name], params)
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    assert list(new.dtypes) == list(old.dtypes)
    if name != "no rows":
        assert len(new) > 0


# db.specialise: a filter-list test resolved at bind time must select the same rows as the test itself.
SCOPED = f"""
    select m.meeting_id from meetings m
    where m.meeting_date between :start and :end and {meeting_scope("m")}
    order by m.meeting_id"""


def test_specialise_rewrites_only_the_list_tests_it_can_resolve():
    sql = "select 1 from meetings m where " + meeting_scope("m")
    out = specialise(sql, {"communities": [], "divisions": ["EAST"]})
    assert out == (
        "select 1 from meetings m where true and "
        "list_contains(cast(:divisions as varchar[]), m.division_code) and "
        "(len(cast(:units as varchar[])) = 0 or list_contains(cast(:units as varchar[]), m.unit_code))"
    )
    assert specialise(sql, {}) == sql  # nothing bound: left as written
    assert specialise("select :x as v", {"x": []}) == "select :x as v"


@pytest.mark.parametrize(
    "lists",
    [
        {"communities": [], "divisions": [], "units": []},
        {"communities": ["C004", "C011"], "divisions": [], "units": []},
        {"communities": [], "divisions": ["EAST", "NORTH"], "units": ["CIO"]},
        {"communities": ["NOPE"], "divisions": ["EAST"], "units": []},
        {"communities": ["' OR '1'='1"], "divisions": [], "units": []},
    ],
)
def test_specialised_queries_select_the_same_rows_as_the_written_test(sample_db, lists):
    from datetime import date

    params = {"start": date(2026, 1, 1), "end": date(2026, 11, 20), **lists}
    with sample_db.connect() as conn:
        new = read_frame(conn, SCOPED, params)
        written = _before(conn, SCOPED, params)  # the SQL exactly as scope.py wrote it
    assert new["meeting_id"].tolist() == written["meeting_id"].tolist()
    if lists["communities"] == ["C004", "C011"]:
        assert len(new) > 0


# scope.meeting_scope given the filters: a community selection is a semi-join on the chosen ids
# (unknown ids, a repeated id and quote characters included); the same rows as the written test.
@pytest.mark.parametrize("table", ["meetings", "meetings_by_community"])
@pytest.mark.parametrize(
    "communities",
    [("C004", "C011"), ("C004", "C004", "C011"), ("NOPE",), ("C004", "' OR '1'='1"), ()],
)
def test_meeting_scope_of_a_selection_selects_the_rows_of_the_written_test(sample_db, table, communities):
    from datetime import date

    from data_access.filters import Filters

    f = Filters(start=date(2025, 1, 1), end=date(2026, 11, 20), communities=communities, divisions=("EAST",))
    sql = "select m.meeting_id from {t} m where m.meeting_date between :start and :end and {scope} order by 1"
    fitted = sql.format(t=table, scope=meeting_scope("m", f))
    written = sql.format(t=table, scope=meeting_scope("m"))
    assert ("unnest" in fitted) == bool(communities)
    with sample_db.connect() as conn:
        got = read_frame(conn, fitted, f.params())["meeting_id"].tolist()
        want = _before(conn, written, f.params())["meeting_id"].tolist()
        every = _before(conn, sql.format(t=table, scope="m.division_code = 'EAST'"), f.params())
    assert got == want
    assert len(set(got)) == len(got)  # a repeated id selects its meetings once
    if "C004" in communities:
        assert 0 < len(got) < len(every)


# db.bind: the roll-ups' period bounds are dates derived from a bound date, by hand here.
@pytest.mark.parametrize(
    ("start", "end", "whole_from", "whole_to", "day_after"),
    [
        ("2026-08-23", "2026-11-20", "2026-09-01", "2026-11-01", "2026-11-21"),  # partial at both ends
        ("2026-09-01", "2026-11-30", "2026-09-01", "2026-12-01", "2026-12-01"),  # whole months only
        ("2026-12-02", "2026-12-31", "2027-01-01", "2027-01-01", "2027-01-01"),  # no whole month, year end
        ("2028-02-01", "2028-02-29", "2028-02-01", "2028-03-01", "2028-03-01"),  # leap February
        ("2027-02-15", "2027-02-28", "2027-03-01", "2027-03-01", "2027-03-01"),  # last day, no leap
    ],
)
def test_derived_dates_are_bound_from_the_parameter_they_name(
    sample_db, start, end, whole_from, whole_to, day_after
):
    from datetime import date

    sql = "select :start__whole_from as a, :end__whole_to as b, :end__day_after as c, :p_end__day_after as d"
    params = {"start": date.fromisoformat(start), "end": date.fromisoformat(end), "p_end": end}
    with sample_db.connect() as conn:
        row = read_frame(conn, sql, params).iloc[0]
    assert [str(row[c])[:10] for c in "abcd"] == [whole_from, whole_to, day_after, day_after]


def test_a_derived_date_without_its_parameter_is_an_error_naming_it():
    from data_access.db import bind

    with pytest.raises(KeyError, match=":start"):
        bind("select :start__whole_from", {"end": "2026-01-01"})
    sql, params = bind("select :start as s", {"start": "2026-01-01"})  # nothing derived: unchanged
    assert (sql, params) == ("select :start as s", {"start": "2026-01-01"})


def test_text_columns_are_str_held_as_python_strings(sample_db):
    """data_access sets pandas' string storage to "python": the same `str` dtype and missing-value
    rules, without a pyarrow compute call for every mask, sort and slice a page makes."""
    with sample_db.connect() as conn:
        frame = read_frame(
            conn,
            "select name, case when row_number() over (order by name) = 1 then null else name end as missing"
            " from communities order by name limit 3",
        )
    for col in ("name", "missing"):
        dtype = frame[col].dtype
        assert isinstance(dtype, pd.StringDtype), dtype
        assert dtype.storage == "python" and dtype.na_value is not pd.NA
    assert frame["missing"].isna().tolist() == [True, False, False]
    assert frame["name"].str.len().gt(0).all()
