"""The roll-ups give the raw tables' answers.

1. Each roll-up table equals its definition recomputed independently from the raw tables (pandas
   over the raw rows), and stays right after a correction is re-imported.
2. Every query function switched to roll-ups returns the same values as its raw-table SQL from
   before the switch (kept below, verbatim, as `Raw*`), on the sample database at many filters and
   on a tiny hand-made division. Counts, dates, names and orderings must be identical; means and
   standard deviations equal to 1e-12 relative (DuckDB's stddev_samp is a streaming algorithm whose
   last bits even vary with thread scheduling; the roll-ups compute sd from exact integer sums).
3. A database built before the roll-ups existed still answers (inline derivation), and
   `publish_with_rollups` adds them.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import fields, replace
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from data_access import db, overview, rollups, staffing, stats
from data_access import meetings as mt
from data_access.db import Database, read_frame
from data_access.filters import Filters
from data_access.importer import import_files
from data_access.scope import COMMUNITY_STATUS_CTE, feedback_scope, in_list, meeting_scope
from tests.fixtures import build, community, csv_bytes, meeting, response

REL = 1e-12
END = date(2026, 11, 20)


# ------------------------------------------------------------------ the raw-table SQL from before


def raw_meeting_totals(conn, f: Filters) -> dict[str, float]:
    sql = f"""
    select count(*) as meetings_count, coalesce(sum(m.residents_count), 0) as residents_count
    from meetings m
    where m.meeting_date between :start and :end and {meeting_scope("m")}
    """
    row = read_frame(conn, sql, f.params()).iloc[0]
    return {"meetings": int(row.meetings_count), "residents": int(row.residents_count)}


def raw_coverage_counts(conn, f: Filters) -> dict[str, int]:
    sql = f"""
    with {COMMUNITY_STATUS_CTE}
    select count(*) as communities_count,
           count(*) filter (where cadence_status = 'on track') as on_track_count
    from community_status
    """
    row = read_frame(conn, sql, {**f.params(), "as_of": f.end}).iloc[0]
    return {"communities": int(row.communities_count), "on_track": int(row.on_track_count)}


def raw_open_follow_up_count(conn, f: Filters) -> int:
    sql = f"""
    select count(*) from follow_ups fu
    join meetings m using (meeting_id)
    where fu.opened_date <= :end
      and (fu.closed_date is null or fu.closed_date > :end)
      and {meeting_scope("m")}
    """
    return int(read_frame(conn, sql, f.params()).iat[0, 0])


def raw_feedback_scores(conn, f: Filters, k: int) -> dict[str, stats.Score]:
    sql = f"""
    select count(*) as n,
           avg((f.respect + f.listen) / 2.0) as trust_mean, stddev_samp((f.respect + f.listen) / 2.0) as trust_sd,
           avg(f.safety) as safety_mean, stddev_samp(f.safety) as safety_sd
    from feedback f
    where f.response_date between :start and :end and {feedback_scope("f")}
    """
    row = read_frame(conn, sql, f.params()).iloc[0]
    n = int(row.n)
    return {
        "trust_score": stats.make_score(n, overview._num(row.trust_mean), overview._num(row.trust_sd), k),
        "safety_score": stats.make_score(n, overview._num(row.safety_mean), overview._num(row.safety_sd), k),
    }


def raw_overdue_communities(conn, f: Filters) -> pd.DataFrame:
    sql = f"""
    with {COMMUNITY_STATUS_CTE}
    select community_id, name, cadence_status, days_since_contact, target_cadence_days,
           last_contact_date, responsible_name
    from community_status
    where cadence_status in ('overdue', 'never met')
    order by cadence_status = 'never met' desc,
             days_since_contact * 1.0 / target_cadence_days desc nulls first, name
    """
    return read_frame(conn, sql, {**f.params(), "as_of": f.end})


def raw_silent_units(conn, f: Filters) -> pd.DataFrame:
    sql = f"""
    with serving as (
        select distinct st.unit_code from staff st
        where st.start_date <= :end and (st.end_date is null or st.end_date >= :start)
          and {in_list("units", "st.unit_code")} and {in_list("divisions", "st.division_code")}
    ),
    logged as (
        select m.unit_code, count(*) filter (where m.meeting_date between :start and :end) as meetings_count,
               max(m.meeting_date) as last_meeting_date
        from meetings m
        where m.meeting_date <= :end and {in_list("divisions", "m.division_code")}
        group by m.unit_code
    )
    select s.unit_code, u.name as unit_name, l.last_meeting_date
    from serving s
    join units u using (unit_code)
    left join logged l using (unit_code)
    where coalesce(l.meetings_count, 0) = 0
    order by s.unit_code
    """
    return read_frame(conn, sql, f.params())


def raw_score_frame(conn, f: Filters) -> pd.DataFrame:
    """score_drops' SQL from before (the per-division, per-period aggregates it compares)."""
    sql = f"""
    select f.division_code, f.response_date >= :start as is_current, count(*) as n,
           avg((f.respect + f.listen) / 2.0) as trust_mean, stddev_samp((f.respect + f.listen) / 2.0) as trust_sd,
           avg(f.safety) as safety_mean, stddev_samp(f.safety) as safety_sd
    from feedback f
    where f.response_date between :prior_start and :end and f.division_code is not null
      and {feedback_scope("f")}
    group by 1, 2
    """
    return read_frame(conn, sql, {**f.params(), "prior_start": f.prior().start})


def new_score_frame(conn, f: Filters) -> pd.DataFrame:
    """score_drops' SQL now (copied from overview.score_drops, which returns only the drops)."""
    sql = f"""
    select f.division_code, f.response_date >= :start as is_current, {rollups.score_aggregates("f")}
    from {rollups.feedback_cells(conn, f)} f
    where f.response_date between :prior_start and :end and f.division_code is not null
      and {feedback_scope("f")}
    group by 1, 2
    """
    return read_frame(conn, sql, {**f.params(), "prior_start": f.prior().start})


# the Meetings page's functions before they read meeting_cells / concern_cells


def raw_meeting_kpis(conn, f: Filters) -> dict:
    """Meetings held, residents reached and mean attendance, each with the prior period and change z.

    Counts use the Poisson z; mean attendance the z of a difference in means (sd of residents per meeting).
    """
    p = f.prior()
    sql = f"""
    -- one row per period (current, prior)
    select m.meeting_date >= :start as is_current,
           count(*) as meetings_count,
           coalesce(sum(m.residents_count), 0) as residents_count,
           stddev_samp(m.residents_count) as residents_sd
    from meetings m
    where m.meeting_date between :prior_start and :end and {meeting_scope("m")}
    group by 1
    """
    df = read_frame(conn, sql, {**f.params(), "prior_start": p.start})
    rows = {bool(r.is_current): r for r in df.itertuples()}

    def part(current: bool) -> tuple[int, int, float | None]:
        r = rows.get(current)
        if r is None:
            return 0, 0, None
        sd = None if r.residents_sd is None or pd.isna(r.residents_sd) else float(r.residents_sd)
        return int(r.meetings_count), int(r.residents_count), sd

    n1, res1, sd1 = part(True)
    n0, res0, sd0 = part(False)
    mean1 = res1 / n1 if n1 else None
    mean0 = res0 / n0 if n0 else None
    mean_change = None
    if mean1 is not None and mean0 is not None and sd1 is not None and sd0 is not None:
        mean_change = stats.mean_z(mean1, sd1 / math.sqrt(n1), mean0, sd0 / math.sqrt(n0))
    kpis = {
        "meetings_held": mt.Kpi("meetings_held", n1, n0, stats.poisson_z(n1, n0)),
        "residents_reached": mt.Kpi("residents_reached", res1, res0, stats.poisson_z(res1, res0)),
        "mean_attendance": mt.Kpi("mean_attendance", mean1, mean0, mean_change),
    }
    first = read_frame(conn, "select min(meeting_date) as d from meetings").d.iat[0]
    if pd.isna(first) or p.end < first:  # the prior period ends before the first meeting recorded
        return {name: replace(k, prior=None, z=None) for name, k in kpis.items()}
    return kpis


def raw_meetings_over_time(conn, f: Filters, grain: str = "week", split: str = "unit") -> pd.DataFrame:
    """One row per week/month touching the period × unit or meeting type seen in it (zeros included):
    meetings held and residents reached, with how many of the period's days fall inside the filter."""
    if split not in mt.SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {mt.SPLITS}")
    g = mt._grain(grain)
    label = "u.name" if split == "unit" else "s.split_value"
    label_join = "left join units u on u.unit_code = s.split_value" if split == "unit" else ""
    sql = f"""
    with {mt._periods_cte(g)},
    counts as (
        -- one row per period per split value with meetings
        select cast(date_trunc('{g}', m.meeting_date) as date) as period_start,
               {mt.SPLIT_COLUMNS[split]} as split_value,
               count(*) as meetings_count,
               sum(m.residents_count) as residents_count
        from meetings m
        where m.meeting_date between :start and :end and {meeting_scope("m")}
        group by 1, 2
    ),
    splits as (select distinct split_value from counts)
    select p.period_start, p.period_end, p.days_in_period, p.period_days,
           p.days_in_period < p.period_days as is_partial,
           s.split_value, coalesce({label}, s.split_value) as split_label,
           coalesce(c.meetings_count, 0) as meetings_count,
           coalesce(c.residents_count, 0) as residents_count
    from periods p
    cross join splits s
    {label_join}
    left join counts c on c.period_start = p.period_start and c.split_value = s.split_value
    order by p.period_start, s.split_value
    """
    df = read_frame(conn, sql, f.params())
    if split == "type":
        df["split_label"] = df["split_value"].map(mt.type_label)
    return df


def raw_meetings_by_day(conn, f: Filters) -> pd.DataFrame:
    """One row per day of the period (its last two years at most): ISO week start, ISO day of week
    (1 = Monday) and meetings that day (0 when none). Days outside the period have no row."""
    heat_start = max(f.start, f.end - timedelta(days=mt.HEATMAP_MAX_DAYS - 1))
    sql = f"""
    with days as (
        select cast(d as date) as day
        from generate_series(cast(:heat_start as date), cast(:end as date), interval 1 day) t(d)
    ),
    counts as (
        -- one row per day with meetings
        select m.meeting_date as day, count(*) as meetings_count
        from meetings m
        where m.meeting_date between :heat_start and :end and {meeting_scope("m")}
        group by 1
    )
    select cast(date_trunc('week', d.day) as date) as week_start, isodow(d.day) as iso_dow, d.day,
           coalesce(c.meetings_count, 0) as meetings_count
    from days d
    left join counts c using (day)
    order by d.day
    """
    return read_frame(conn, sql, {**f.params(), "heat_start": heat_start})


def raw_concerns_over_time(conn, f: Filters, grain: str = "month") -> pd.DataFrame:
    """One row per week/month touching the period × concern tag raised in it (zeros included): meetings
    that raised the tag, and all meetings held in that week/month. The MAX_CONCERN_TAGS most raised tags
    are kept; the rest are folded into OTHER_TAGS (a meeting counted once there)."""
    g = mt._grain(grain)
    sql = f"""
    with {mt._periods_cte(g)},
    scoped as (
        select cast(date_trunc('{g}', m.meeting_date) as date) as period_start, m.concern_tags
        from meetings m
        where m.meeting_date between :start and :end and {meeting_scope("m")}
    ),
    raised as (
        -- one row per meeting per distinct tag it raised; most meetings list one tag, and
        -- list_distinct is costly at scale, so only lists of two or more pay for it
        select period_start, concern_tags[1] as concern_tag
        from scoped
        where len(concern_tags) = 1
        union all
        select period_start, unnest(list_distinct(concern_tags)) as concern_tag
        from scoped
        where len(concern_tags) > 1
    ),
    per_tag as (
        select period_start, concern_tag, count(*) as meetings_count from raised group by 1, 2
    ),
    ranked as (
        select concern_tag, row_number() over (order by sum(meetings_count) desc, concern_tag) as tag_rank
        from per_tag
        group by concern_tag
    ),
    counts as (
        select p.period_start, p.concern_tag, p.meetings_count
        from per_tag p join ranked k using (concern_tag)
        where k.tag_rank <= :max_tags
        union all
        -- a meeting raising several rare tags counts once in the folded row
        select period_start, :other as concern_tag, count(*) as meetings_count
        from scoped
        where list_has_any(
            concern_tags, (select coalesce(list(concern_tag), []) from ranked where tag_rank > :max_tags)
        )
        group by 1
    ),
    tags as (
        select concern_tag, sum(meetings_count) as tag_total_count from counts group by 1
    ),
    held as (
        select period_start, count(*) as meetings_held_count from scoped group by 1
    )
    select p.period_start, p.period_end, p.days_in_period, p.period_days,
           p.days_in_period < p.period_days as is_partial,
           t.concern_tag, t.tag_total_count,
           coalesce(c.meetings_count, 0) as meetings_count,
           coalesce(h.meetings_held_count, 0) as meetings_held_count
    from periods p
    cross join tags t
    left join counts c on c.period_start = p.period_start and c.concern_tag = t.concern_tag
    left join held h on h.period_start = p.period_start
    order by t.concern_tag = :other, t.tag_total_count desc, t.concern_tag, p.period_start
    """
    return read_frame(conn, sql, {**f.params(), "max_tags": mt.MAX_CONCERN_TAGS, "other": mt.OTHER_TAGS})


# ------------------------------------------------------------------ comparing


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-12)


def assert_scores_equal(a: stats.Score, b: stats.Score) -> None:
    for fld in fields(a):
        x, y = getattr(a, fld.name), getattr(b, fld.name)
        if isinstance(x, float) or isinstance(y, float):
            assert close(x, y), (fld.name, x, y)
        else:
            assert x == y, (fld.name, x, y)


def assert_frames_equal(new: pd.DataFrame, raw: pd.DataFrame, sort: list[str] | None = None) -> None:
    if sort:
        new, raw = new.sort_values(sort).reset_index(drop=True), raw.sort_values(sort).reset_index(drop=True)
    assert list(new.columns) == list(raw.columns)
    assert len(new) == len(raw)
    for col in new.columns:
        a, b = new[col], raw[col]
        if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
            pd.testing.assert_series_equal(a, b, check_exact=False, rtol=REL, atol=1e-12, check_dtype=False)
        else:
            assert a.tolist() == b.tolist(), col


def check_all(conn, f: Filters, k: int = 10) -> None:
    assert overview.meeting_totals(conn, f) == raw_meeting_totals(conn, f)
    assert overview.coverage_counts(conn, f) == raw_coverage_counts(conn, f)
    assert overview.open_follow_up_count(conn, f) == raw_open_follow_up_count(conn, f)
    # the tiles' one-statement reads of the period and the one before it
    p = f.prior()
    assert overview.meeting_totals_both(conn, f) == (raw_meeting_totals(conn, f), raw_meeting_totals(conn, p))
    assert overview.coverage_counts_both(conn, f) == (
        raw_coverage_counts(conn, f),
        raw_coverage_counts(conn, p),
    )
    assert overview.open_follow_up_count_both(conn, f) == (
        raw_open_follow_up_count(conn, f),
        raw_open_follow_up_count(conn, p),
    )
    assert overview.staffing_totals_both(conn, f) == (
        overview.staffing_totals(conn, f),
        overview.staffing_totals(conn, p),
    )
    # ... and all three tiles' totals in one statement
    assert overview.tile_totals_both(conn, f) == (
        (raw_meeting_totals(conn, f), raw_meeting_totals(conn, p)),
        (raw_open_follow_up_count(conn, f), raw_open_follow_up_count(conn, p)),
        (overview.staffing_totals(conn, f), overview.staffing_totals(conn, p)),
    )
    new, raw = overview.feedback_scores(conn, f, k), raw_feedback_scores(conn, f, k)
    for name in ("trust_score", "safety_score"):
        assert_scores_equal(new[name], raw[name])
    assert_frames_equal(overview.overdue_communities(conn, f), raw_overdue_communities(conn, f))
    # ... and both from one statement, as the Overview page reads them (same values, same dtypes,
    # so the needs-attention text reads alike)
    now, before, overdue, overdue_count = overview.coverage_with_overdue(conn, f)
    assert (now, before) == (raw_coverage_counts(conn, f), raw_coverage_counts(conn, p))
    raw_overdue = raw_overdue_communities(conn, f)
    alone = overview.overdue_communities(conn, f)
    assert_frames_equal(overdue, alone)
    assert list(overdue.dtypes) == list(alone.dtypes)
    assert overdue_count == len(raw_overdue)
    # ... and only the most overdue when asked: the raw list's first rows, the same count
    _, _, top, top_count = overview.coverage_with_overdue(conn, f, 2)
    assert_frames_equal(top, raw_overdue.head(2))
    assert top_count == len(raw_overdue)
    page = overview.overview_page(conn, f, k, communities=len(raw_overdue))
    assert_kpis_equal(page.kpis, overview.overview_kpis(conn, f, k))
    assert_frames_equal(page.needs, overview.needs_attention(conn, f, k))
    assert page.complete
    assert_frames_equal(overview.silent_units(conn, f), raw_silent_units(conn, f))
    # the needs-attention list reads both unit items in one statement
    below, silent = overview._unit_needs(conn, f)
    assert_frames_equal(below, overview.units_below_filled(conn, f))
    assert_frames_equal(silent, raw_silent_units(conn, f))
    assert_frames_equal(
        new_score_frame(conn, f), raw_score_frame(conn, f), sort=["division_code", "is_current"]
    )
    check_meetings(conn, f)


def assert_kpis_equal(new: dict, raw: dict) -> None:
    assert list(new) == list(raw)
    for name in new:
        for fld in fields(new[name]):
            x, y = getattr(new[name], fld.name), getattr(raw[name], fld.name)
            assert close(x, y) if isinstance(x, float) or isinstance(y, float) else x == y, (
                name,
                fld.name,
                x,
                y,
            )


def check_meetings(conn, f: Filters) -> None:
    """The Meetings page's functions on meeting_cells / concern_cells against their raw SQL."""
    assert_kpis_equal(mt.meeting_kpis(conn, f), raw_meeting_kpis(conn, f))
    for grain in mt.GRAINS:
        for split in mt.SPLITS:
            assert_frames_equal(
                mt.meetings_over_time(conn, f, grain=grain, split=split),
                raw_meetings_over_time(conn, f, grain=grain, split=split),
            )
        assert_frames_equal(
            mt.concerns_over_time(conn, f, grain=grain), raw_concerns_over_time(conn, f, grain=grain)
        )
    assert_frames_equal(mt.meetings_by_day(conn, f), raw_meetings_by_day(conn, f))


def kpis_and_worklist(conn, f: Filters, k: int = 10) -> tuple[dict, pd.DataFrame]:
    return overview.overview_kpis(conn, f, k), overview.needs_attention(conn, f, k)


@pytest.fixture
def raw_overview(monkeypatch):
    """overview's composite functions running on the raw-table SQL from before."""

    def both(raw):  # the tiles read the period and the one before it in one statement
        return lambda conn, f: (raw(conn, f), raw(conn, f.prior()))

    def use_raw() -> None:
        monkeypatch.setattr(overview, "meeting_totals_both", both(raw_meeting_totals))
        monkeypatch.setattr(overview, "coverage_counts_both", both(raw_coverage_counts))
        monkeypatch.setattr(overview, "open_follow_up_count_both", both(raw_open_follow_up_count))
        monkeypatch.setattr(
            overview,
            "tile_totals_both",
            lambda conn, f: (
                both(raw_meeting_totals)(conn, f),
                both(raw_open_follow_up_count)(conn, f),
                both(overview.staffing_totals)(conn, f),
            ),
        )
        monkeypatch.setattr(overview, "feedback_scores", raw_feedback_scores)
        monkeypatch.setattr(overview, "overdue_communities", raw_overdue_communities)
        monkeypatch.setattr(overview, "silent_units", raw_silent_units)
        monkeypatch.setattr(rollups, "feedback_cells", _raw_feedback_cells)
        monkeypatch.setattr(rollups, "score_aggregates", _raw_score_aggregates)

    return use_raw


def _raw_feedback_cells(conn, f: Filters) -> str:
    return "feedback"


def _raw_score_aggregates(alias: str = "c") -> str:
    return f"""count(*) as n,
           avg(({alias}.respect + {alias}.listen) / 2.0) as trust_mean,
           stddev_samp(({alias}.respect + {alias}.listen) / 2.0) as trust_sd,
           avg({alias}.safety) as safety_mean, stddev_samp({alias}.safety) as safety_sd"""


def assert_same_overview(new: tuple[dict, pd.DataFrame], raw: tuple[dict, pd.DataFrame]) -> None:
    kn, wn = new
    kr, wr = raw
    assert kn.keys() == kr.keys()
    for name in kn:
        a, b = kn[name], kr[name]
        for fld in fields(a):
            x, y = getattr(a, fld.name), getattr(b, fld.name)
            if isinstance(x, float) or isinstance(y, float):
                assert close(x, y), (name, fld.name, x, y)
            else:
                assert x == y, (name, fld.name, x, y)
    assert_frames_equal(wn, wr)


# ------------------------------------------------------------------ the sample database

SAMPLE_FILTERS = {
    "last 90 days": Filters(END - timedelta(days=89), END),
    "last 30 days": Filters(END - timedelta(days=29), END),
    "all time": Filters(date(2024, 7, 1), END),
    "before any data": Filters(date(2020, 1, 1), date(2020, 1, 31)),
    "a past quarter": Filters(date(2025, 4, 1), date(2025, 6, 30)),
    "a single day": Filters(date(2026, 3, 4), date(2026, 3, 4)),
    "communities + divisions": Filters(
        date(2024, 7, 1), END, communities=("C001", "C004", "C010", "C022"), divisions=("EAST", "NORTH")
    ),
    "divisions only, past": Filters(date(2025, 9, 1), date(2025, 12, 31), divisions=("EAST", "SHOAL")),
    "units only": Filters(END - timedelta(days=89), END, units=("LIA", "CHAP")),
    "one community, 90 days": Filters(END - timedelta(days=89), END, communities=("C004",)),
    "everything narrowed": Filters(
        date(2025, 1, 1), END, communities=("C004", "C011"), divisions=("EAST",), units=("LIA", "CIO")
    ),
    # many whole months (rankings from running totals): past the data's end, from before its start
    "a year past the data": Filters(date(2026, 2, 14), date(2027, 3, 31), units=("LIA", "CIO", "CIT")),
    "from before the data": Filters(date(2023, 11, 1), date(2025, 8, 9), divisions=("NORTH", "SHOAL")),
}


@pytest.mark.parametrize("name", list(SAMPLE_FILTERS))
def test_overview_queries_match_raw_tables_on_the_sample(sample_db, name):
    with sample_db.connect() as conn:
        check_all(conn, SAMPLE_FILTERS[name])


@pytest.mark.parametrize("name", ["last 90 days", "all time", "communities + divisions", "a past quarter"])
def test_overview_kpis_and_worklist_match_raw_tables_on_the_sample(sample_db, raw_overview, name):
    f = SAMPLE_FILTERS[name]
    with sample_db.connect() as conn:
        new = kpis_and_worklist(conn, f)
        raw_overview()
        raw = kpis_and_worklist(conn, f)
    assert_same_overview(new, raw)


@pytest.mark.parametrize("name", ["last 90 days", "all time", "communities + divisions", "units only"])
def test_concerns_with_rare_tags_folded_match_raw_tables_on_the_sample(sample_db, monkeypatch, name):
    """With only 2 tags kept, most are folded into one row where a meeting raising several rare
    tags counts once: the cells keep each meeting's whole tag set, so this stays exact."""
    monkeypatch.setattr(mt, "MAX_CONCERN_TAGS", 2)
    f = SAMPLE_FILTERS[name]
    with sample_db.connect() as conn:
        for grain in mt.GRAINS:
            new = mt.concerns_over_time(conn, f, grain=grain)
            assert (new.concern_tag == mt.OTHER_TAGS).any()
            assert_frames_equal(new, raw_concerns_over_time(conn, f, grain=grain))


def test_the_sample_exercises_every_branch(sample_db):
    """The comparisons above are not vacuous: the sample has overdue and never-met communities,
    open follow-ups, silent units, small-n suppression and notable score drops at these filters."""
    with sample_db.connect() as conn:
        f = SAMPLE_FILTERS["last 90 days"]
        assert overview.coverage_counts(conn, f)["on_track"] > 0
        assert set(overview.overdue_communities(conn, f).cadence_status) == {"overdue", "never met"}
        assert overview.open_follow_up_count(conn, f) > 0
        assert not overview.silent_units(conn, SAMPLE_FILTERS["last 30 days"]).empty
        assert not overview.score_drops(conn, Filters(date(2026, 8, 15), date(2026, 9, 30))).empty
        assert overview.feedback_scores(conn, SAMPLE_FILTERS["a single day"], 10)["trust_score"].n > 0
        small = Filters(END - timedelta(days=89), END, communities=("C006",))
        assert overview.feedback_scores(conn, small, 10)["trust_score"].suppressed


# ------------------------------------------------------------------ a tiny hand-made division


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    communities = [
        community("C1", "Alpha", division="EAST", cadence=30),
        community("C2", "Beta", division="NORTH", cadence=14, owner="S2"),
        community("C3", "Gamma", division="", cadence=30, owner=""),
        community("C4", "Delta", division="EAST", cadence=30, active=False),
    ]
    meetings = [
        meeting("M1", "2026-01-05", "C1", residents=4),
        meeting("M2", "2026-01-05", "C1", residents=6),  # same day: one contact, two meetings
        meeting("M3", "2026-02-10", "C1", residents=9, division="NORTH", lead="S2"),
        meeting("M4", "2026-03-01", "C3", residents=0, lead="S3"),
        meeting("M5", "2026-03-20", "C3", residents=12, division="NORTH"),
        meeting("M6", "2026-04-02", "C2", residents=7, division="NORTH", lead="S2"),
        meeting("M7", "2026-04-02", "C4", residents=1),
    ]
    follow_ups = [
        _fu("F1", "M1", "2026-01-05", "2026-01-20"),
        _fu("F2", "M3", "2026-02-10", None),
        _fu("F3", "M4", "2026-03-02", "2026-03-02"),
        _fu("F4", "M6", "2026-04-02", None),
    ]
    feedback = [
        response("R1", "2026-01-05", safety=7, respect=8, listen=5, community="C1"),
        response("R2", "2026-01-05", safety=3, respect=2, listen=9, community="C1"),
        response("R3", "2026-01-31", safety=10, respect=10, listen=10, division="NORTH"),
        response("R4", "2026-02-01", safety=0, respect=0, listen=1, community="C3", division=""),
        response("R5", "2026-03-15", safety=5, respect=6, listen=6, community="C2", division="NORTH"),
        response("R6", "2026-03-15", safety=6, respect=7, listen=7, community="C2", division="NORTH"),
        response("R7", "2026-03-16", safety=9, respect=4, listen=3, division=""),
    ]
    return build(
        tmp_path_factory.mktemp("tiny"),
        communities=communities,
        meetings=meetings,
        follow_ups=follow_ups,
        feedback=feedback,
    )


def _fu(fid: str, mid: str, opened: str, closed: str | None) -> dict:
    return {
        "follow_up_id": fid,
        "meeting_id": mid,
        "concern_tag": "traffic",
        "opened_date": opened,
        "owner_staff_id": "S1",
        "status": "closed" if closed else "open",
        "closed_date": closed or "",
    }


# every day a meeting, follow-up or response happens, the days either side, and a few far ones
TINY_DAYS = sorted(
    {
        date.fromisoformat(d) + timedelta(days=delta)
        for d in (
            "2026-01-05",
            "2026-01-20",
            "2026-01-31",
            "2026-02-01",
            "2026-02-10",
            "2026-03-01",
            "2026-03-02",
            "2026-03-15",
            "2026-03-16",
            "2026-03-20",
            "2026-04-02",
        )
        for delta in (-1, 0, 1)
    }
    | {date(2025, 12, 1), date(2026, 2, 20), date(2026, 3, 31), date(2026, 6, 30)}
)


TINY_SELECTIONS = [
    {},
    {"divisions": ("NORTH",)},
    {"divisions": ("EAST", "NORTH")},
    {"communities": ("C1",)},
    {"communities": ("C1", "C3"), "divisions": ("NORTH",)},
    {"units": ("LIA",)},
    {"units": ("CIO", "SW"), "divisions": ("EAST",)},
]


@pytest.mark.parametrize("sel", range(len(TINY_SELECTIONS)))
def test_every_day_and_period_on_the_tiny_division(tiny, sel):
    """Periods ending on every day something happens (and the days either side), one day and 30
    days long, with every selection: the roll-up answers equal the raw ones."""
    with tiny.connect() as conn:
        for day in TINY_DAYS:
            for length in (1, 30):
                check_all(conn, Filters(day - timedelta(days=length - 1), day, **TINY_SELECTIONS[sel]), k=2)


def test_tiny_values_worked_out_by_hand(tiny):
    """A few values by hand, so the comparison above is anchored to the truth, not only to itself."""
    with tiny.connect() as conn:
        jan = Filters(date(2026, 1, 1), date(2026, 1, 31))
        assert overview.meeting_totals(conn, jan) == {"meetings": 2, "residents": 10}
        q1 = Filters(date(2026, 1, 1), date(2026, 3, 31))
        # F1 closed 20 Jan; F2 open; F3 closed the day it opened → open at 31 Mar: F2 only
        assert overview.open_follow_up_count(conn, q1) == 1
        # as of 31 Mar: C1 last met 10 Feb (49 days, cadence 30 → overdue at > 45); C2 never (its
        # only meeting is 2 Apr); C3 met 20 Mar (11 days, on track); C4 inactive
        assert overview.coverage_counts(conn, q1) == {"communities": 3, "on_track": 1}
        od = overview.overdue_communities(conn, q1)
        assert od[["community_id", "cadence_status"]].values.tolist() == [
            ["C2", "never met"],
            ["C1", "overdue"],
        ]
        assert od.days_since_contact.iloc[1] == 49
        # January responses R1-R3: trust items (8+5)/2, (2+9)/2, 10 → mean 25/3 of 10; safety 7, 3, 10
        s = overview.feedback_scores(conn, jan, 2)
        assert s["trust_score"].n == 3 and math.isclose(s["trust_score"].mean, 10 * (6.5 + 5.5 + 10) / 3)
        assert math.isclose(s["safety_score"].mean, 10 * 20 / 3)
        sd = math.sqrt(((6.5 - 22 / 3) ** 2 + (5.5 - 22 / 3) ** 2 + (10 - 22 / 3) ** 2) / 2)
        assert math.isclose(s["trust_score"].sd, 10 * sd, rel_tol=1e-12)


# ------------------------------------------------------------------ the roll-up tables themselves


def _raw_frames(database: Database) -> dict[str, pd.DataFrame]:
    names = ["meetings", "follow_ups", "feedback", "communities"] + [r.name for r in rollups.ROLLUPS]
    with database.connect() as conn:
        out = {t: read_frame(conn, f"select * from {t}") for t in names}
    for df in out.values():  # dates as datetime64, as pandas compares them
        for col in df.columns:
            if col.endswith("_date") or col in ("open_until",):
                df[col] = pd.to_datetime(df[col])
    return out


def test_rollup_tables_equal_pandas_recomputations(sample_db):
    t = _raw_frames(sample_db)
    m = t["meetings"]
    want = (
        m.assign(sq=m.residents_count.astype("int64") ** 2)
        .groupby(["meeting_date", "division_code", "unit_code", "meeting_type"])
        .agg(
            meetings_count=("meeting_id", "size"),
            residents_sum=("residents_count", "sum"),
            residents_sq=("sq", "sum"),
        )
        .reset_index()
    )
    got = t["meeting_days"].sort_values(["meeting_date", "division_code", "unit_code", "meeting_type"])
    assert got.reset_index(drop=True).astype(want.dtypes.to_dict()).equals(want)

    # each meeting's set of distinct concern tags, as a sorted tuple; meetings per day × division ×
    # unit × set
    keys = ["meeting_date", "division_code", "unit_code", "tags"]
    want = (
        m.assign(tags=[tuple(sorted(set(x))) for x in m.concern_tags])
        .groupby(keys)
        .agg(meetings_count=("meeting_id", "size"))
        .reset_index()
    )
    assert (want.tags.map(len) > 1).any() and (want.tags.map(len) == 0).any()  # both kinds are there
    got = t["meeting_concern_days"].assign(tags=[tuple(x) for x in t["meeting_concern_days"].concern_tags])
    got = got.sort_values(keys).reset_index(drop=True)[list(want.columns)]
    assert got.astype(want.dtypes.to_dict()).equals(want)

    f = t["feedback"]
    f = f.assign(t=f.respect + f.listen, commented=(f.comment.fillna("").str.strip() != "").astype(int))
    want = (
        f.assign(tq=f.t**2, sq=f.safety**2, division_code=f.division_code.fillna("(null)"))
        .groupby(["response_date", "division_code", "channel"])
        .agg(
            n=("t", "size"),
            trust_sum=("t", "sum"),
            trust_sq=("tq", "sum"),
            safety_sum=("safety", "sum"),
            safety_sq=("sq", "sum"),
            comments=("commented", "sum"),
        )
        .reset_index()
    )
    assert 0 < want.comments.sum() < want.n.sum()
    got = t["feedback_days"].assign(division_code=t["feedback_days"].division_code.fillna("(null)"))
    got = got.sort_values(["response_date", "division_code", "channel"]).reset_index(drop=True)
    assert got.astype(want.dtypes.to_dict()).equals(want)

    # the channel-less score cells: the same sums per day (and month) × community × division
    keys = ["community_id", "division_code"]
    g = f.assign(
        tq=f.t**2,
        sq=f.safety**2,
        community_id=f.community_id.fillna("(null)"),
        division_code=f.division_code.fillna("(null)"),
        month=f.response_date.dt.to_period("M").dt.to_timestamp(),
    )
    sums = {
        "n": ("t", "size"),
        "trust_sum": ("t", "sum"),
        "trust_sq": ("tq", "sum"),
        "safety_sum": ("safety", "sum"),
        "safety_sq": ("sq", "sum"),
    }
    for table, when, by in (
        ("feedback_score_day_cells", "response_date", keys),
        ("feedback_score_month_cells", "month", keys),
        # ... and with the channel, counting the responses that carry a comment too
        ("feedback_day_cells", "response_date", [*keys, "channel"]),
        ("feedback_month_cells", "month", [*keys, "channel"]),
    ):
        extra = {"comments": ("commented", "sum")} if "channel" in by else {}
        want = g.groupby([when, *by]).agg(**sums, **extra).reset_index()
        got = t[table].assign(**{k: t[table][k].fillna("(null)") for k in keys})
        got[when] = pd.to_datetime(got[when])
        got = got.sort_values([when, *by]).reset_index(drop=True)[list(want.columns)]
        assert got.astype(want.dtypes.to_dict()).equals(want), table

    # topics without the community: responses per day × division × tag × whether commented
    tagged = f.assign(
        division_code=f.division_code.fillna("(null)"),
        has_comment=f.comment.fillna("").str.strip() != "",
        topic=f.topic_tags.map(list),
    ).explode("topic")
    tagged = tagged[tagged.topic.notna()]
    keys = ["response_date", "division_code", "topic", "has_comment"]
    want = tagged.groupby(keys).size().rename("n").reset_index()
    got = t["feedback_topic_days"].assign(
        division_code=t["feedback_topic_days"].division_code.fillna("(null)")
    )
    got = got.sort_values(keys).reset_index(drop=True)[list(want.columns)]
    assert len(want) > 0  # (in the sample only commented responses carry topic tags)
    assert got.astype(want.dtypes.to_dict()).equals(want)

    raw = t["feedback"]
    with_comment = raw[raw.comment.fillna("").str.strip() != ""]
    assert 0 < len(with_comment) < len(raw)  # the sample has responses with and without one
    got = t["feedback_comments"].drop(columns="group_id").sort_values("response_id").reset_index(drop=True)
    want = with_comment[list(got.columns)].sort_values("response_id").reset_index(drop=True)
    assert got.drop(columns="topic_tags").equals(want.drop(columns="topic_tags"))
    assert [list(x) for x in got.topic_tags] == [list(x) for x in want.topic_tags]
    dates = t["feedback_comments"].response_date
    assert dates.is_monotonic_increasing  # stored by date, so zone maps skip older row groups

    fu = t["follow_up_facts"]
    assert len(fu) == len(t["follow_ups"])
    joined = t["follow_ups"].merge(
        m[["meeting_id", "community_id", "division_code", "unit_code"]], on="meeting_id"
    )
    merged = fu.merge(joined, on="follow_up_id", suffixes=("", "_raw"))
    for col in ("community_id", "division_code", "unit_code", "opened_date"):
        assert (merged[col] == merged[f"{col}_raw"]).all()
    assert (merged.open_until == merged.closed_date.fillna(pd.Timestamp("9999-12-31"))).all()


def group_keys(community_ids, division_codes) -> list[str]:
    """Each response's small-n group key, written out here (rollups.GROUP_KEY_SQL): its community,
    else its patrol division, else none."""
    return [
        f"c:{c}" if isinstance(c, str) else (f"d:{d}" if isinstance(d, str) else "none")
        for c, d in zip(community_ids, division_codes, strict=True)
    ]


def test_feedback_group_ids_name_the_same_group_in_every_rollup(sample_db):
    """feedback_groups numbers the small-n groups (community, else division, else none) 1..N in the
    order of their keys; every feedback roll-up's group_id is the id of its row's own key."""
    t = _raw_frames(sample_db)
    f = t["feedback"]
    keys = sorted(set(group_keys(f.community_id, f.division_code)))
    groups = t["feedback_groups"].sort_values("group_id")
    assert list(groups.group_key) == keys and list(groups.group_id) == list(range(1, len(keys) + 1))
    id_of = dict(zip(groups.group_key, groups.group_id, strict=True))
    tables = [
        r.name for r in rollups.ROLLUPS if "group_id" in t[r.name].columns and r.name != "feedback_groups"
    ]
    # day/month cells, score cells, topic cells, comments; the score running totals per division and
    # citywide (no community) and the community comparison's rows (every community, with or without
    # responses)
    assert len(tables) == 10, tables
    for table in tables:
        df = t[table]
        if table in ("feedback_score_running", "feedback_score_city_running"):
            assert set(df.group_id) == set(groups.group_id)
            continue
        if table == "feedback_listing":
            named = df[df.group_id.notna()]
            assert dict(zip(named.group_key, named.group_id.astype(int), strict=True)) == id_of
            assert set(df.community_id.dropna()) == set(t["communities"].community_id) | {
                c for c in f.community_id if isinstance(c, str)
            }
            continue
        want = [id_of[key] for key in group_keys(df.community_id, df.division_code)]
        assert list(df.group_id) == want, table


def test_small_groups_are_the_fewest_responses_holding_at_most_the_share_and_stored_first(sample_db):
    """feedback_groups.small: the groups with the fewest responses (ties by key) that together hold at
    most SMALL_GROUP_SHARE of all responses, worked out here in pandas; every feedback cell table
    carries its group's flag and stores the small groups' rows before the others."""
    t = _raw_frames(sample_db)
    f = t["feedback"]
    n = pd.Series(group_keys(f.community_id, f.division_code)).value_counts()
    ordered = sorted(n.items(), key=lambda kv: (kv[1], kv[0]))
    running, want = 0, set()
    for key, count in ordered:
        running += count
        if running <= rollups.SMALL_GROUP_SHARE * len(f):
            want.add(key)
    groups = t["feedback_groups"]
    got = set(groups.group_key[groups.small])
    assert got == want
    # the sample has small groups (its small communities) and most groups are not
    assert 0 < len(want) < len(n) / 2, (len(want), len(n))
    small_ids = set(groups.group_id[groups.small])
    with sample_db.connect() as conn:
        for table in (
            "feedback_day_cells",
            "feedback_month_cells",
            "feedback_score_day_cells",
            "feedback_score_month_cells",
            "feedback_topic_day_cells",
            "feedback_topic_month_cells",
        ):
            flags = read_frame(conn, f"select group_id, small from {table} order by rowid")
            assert list(flags.small) == [g in small_ids for g in flags.group_id], table
            first_large = flags.small.tolist().index(False)
            assert not flags.small.iloc[first_large:].any(), table  # every small row comes first


def test_the_sample_reads_suppressed_groups_both_ways(sample_db, monkeypatch):
    """The feedback comparisons on the sample cover both ways the scope reads the suppressed groups'
    cells: from the small groups' rows alone (every suppressed group small) and from every row."""
    from data_access import feedback as fb

    seen: set[bool] = set()
    real = fb._scope_cells_sql

    def spy(*args, **kwargs):
        if kwargs.get("hidden"):
            seen.add(bool(kwargs.get("small_only")))
        return real(*args, **kwargs)

    monkeypatch.setattr(fb, "_scope_cells_sql", spy)
    with sample_db.connect() as conn:
        for name in ("last 90 days", "a single day", "small communities"):
            fb.scope(conn, FEEDBACK_FILTERS[name], 10)
    assert seen == {True, False}


@pytest.mark.parametrize(
    "table, keys",
    [
        ("feedback_score_running", ["group_id", "division_code"]),
        ("feedback_score_city_running", ["group_id"]),
    ],
)
def test_feedback_score_running_holds_each_groups_totals_through_any_day(sample_db, table, keys):
    """ "Through day D" is the one feedback_score_running row per group × division (per group in
    feedback_score_city_running) with D's month, day <= D < next_day (D no later than the last
    response's day); its sums are the raw responses' through D, summed in pandas. Days before,
    inside and after the data, month ends and 1sts."""
    t = _raw_frames(sample_db)
    f = t["feedback"].copy()
    groups = t["feedback_groups"]
    id_of = dict(zip(groups.group_key, groups.group_id, strict=True))
    f["group_id"] = [id_of[key] for key in group_keys(f.community_id, f.division_code)]
    f["division_code"] = f["division_code"].fillna("(none)")
    f["trust"] = f["respect"] + f["listen"]
    f["trust_sq"], f["safety_sq"] = f["trust"] ** 2, f["safety"] ** 2
    running = t[table].copy()
    if "division_code" in keys:
        running["division_code"] = running["division_code"].fillna("(none)")
    else:
        assert "division_code" not in running.columns
    for col in ("month", "day", "next_day"):
        running[col] = pd.to_datetime(running[col])
    last = f["response_date"].max()
    assert running["day"].max() == last
    days = [
        *pd.date_range("2024-05-20", "2027-02-10", freq="23D"),
        *pd.to_datetime(["2024-06-30", "2024-07-01", "2025-12-31", "2026-01-01", "2026-02-28", "2026-03-01"]),
        last - pd.Timedelta(days=1),
        last,
        last + pd.Timedelta(days=1),
    ]
    for day in days:
        at = min(day, last)
        rows = running[(running.month == at.replace(day=1)) & (running.day <= at) & (running.next_day > at)]
        got = rows.set_index(keys)[list(rollups.FEEDBACK_SUMS)].sort_index()
        want = (
            f[f.response_date <= day]
            .groupby(keys)
            .agg(
                n=("respect", "size"),
                trust_sum=("trust", "sum"),
                trust_sq=("trust_sq", "sum"),
                safety_sum=("safety", "sum"),
                safety_sq=("safety_sq", "sum"),
            )
            .sort_index()
        )
        # one row per pair at most, holding its totals; a pair first answered later in D's month
        # has a row of zeros (its month's 1st), an earlier or later one none
        assert not got.index.duplicated().any(), day
        assert (got.loc[got.n == 0] == 0).all().all(), day
        assert got.loc[got.n > 0].astype("int64").equals(want.astype("int64")), day


def test_feedback_score_sums_read_the_citywide_totals_unless_divisions_are_chosen(sample_db):
    """Over two whole months or more the group sums come from the running totals: per group when
    no division is chosen (with or without communities), per group × division when some are. The
    sums themselves are checked against the raw tables by test_feedback_functions_match_raw_tables_*."""
    with sample_db.connect() as conn:
        for name, table in (
            ("last 90 days", "feedback_score_city_running"),
            ("one community, 90 days", "feedback_score_city_running"),
            ("divisions only, past", "feedback_score_running"),
        ):
            f = SAMPLE_FILTERS[name]
            assert rollups.whole_months(f) >= rollups.RUNNING_SCORES_FROM_MONTHS, name
            sql = rollups.feedback_score_sums(conn, f)
            other = ({"feedback_score_running", "feedback_score_city_running"} - {table}).pop()
            assert f"from {table} c" in sql and f"from {other} c" not in sql, name


def test_contact_spells_give_the_last_contact_on_every_day(sample_db):
    t = _raw_frames(sample_db)
    contacts = t["meetings"][["community_id", "division_code", "meeting_date"]].drop_duplicates()
    spells = t["contact_spells"]
    assert len(spells) == len(contacts)
    for day in pd.date_range("2024-06-25", "2026-11-25", freq="17D"):
        want = (
            contacts[contacts.meeting_date <= day]
            .groupby(["community_id", "division_code"])
            .meeting_date.max()
        )
        holding = spells[(spells.contact_date <= day) & (spells.next_contact_date > day)]
        got = holding.set_index(["community_id", "division_code"]).contact_date.sort_index()
        assert got.equals(want.sort_index().rename("contact_date")), day


def test_community_spells_give_the_last_contact_in_any_division_on_every_day(sample_db):
    t = _raw_frames(sample_db)
    contacts = t["meetings"][["community_id", "meeting_date"]].drop_duplicates()
    spells = t["community_spells"]
    assert len(spells) == len(contacts)
    for day in pd.date_range("2024-06-25", "2026-11-25", freq="13D"):
        past = contacts[contacts.meeting_date <= day]
        last = past.groupby("community_id").meeting_date.max()
        after = contacts[contacts.meeting_date > day].groupby("community_id").meeting_date.min()
        holding = spells[(spells.contact_date <= day) & (spells.next_contact_date > day)]
        got = holding.set_index("community_id").sort_index()
        assert got.contact_date.equals(last.sort_index().rename("contact_date")), day
        # the next contact after the day, anywhere (9999-12-31 when there is none yet)
        want_next = after.reindex(got.index).fillna(pd.Timestamp("9999-12-31"))
        assert got.next_contact_date.equals(want_next.rename("next_contact_date")), day


def test_coverage_run_changes_sum_to_the_active_communities_on_track_on_every_day(sample_db):
    """The running sum of coverage_run_changes up to D = active communities (with a cadence) whose
    last contact on or before D is at most their cadence before D, counted in pandas."""
    t = _raw_frames(sample_db)
    with sample_db.connect() as conn:
        c = read_frame(conn, "select community_id, target_cadence_days from communities where is_active")
    c = c[c.target_cadence_days.notna()]
    contacts = t["meetings"][["community_id", "meeting_date"]].drop_duplicates()
    contacts = contacts[contacts.community_id.isin(c.community_id)]
    changes = t["coverage_run_changes"].assign(day=lambda d: pd.to_datetime(d.day)).set_index("day").delta
    cadence = c.set_index("community_id").target_cadence_days
    counts = []
    for day in pd.date_range("2024-06-25", "2026-11-25", freq="11D"):
        last = contacts[contacts.meeting_date <= day].groupby("community_id").meeting_date.max()
        want = int(((day - last).dt.days <= cadence.reindex(last.index)).sum())
        assert int(changes[changes.index <= day].sum()) == want, day
        counts.append(want)
    assert min(counts) == 0 and max(counts) > 10  # before any meeting, and many on track later


def test_a_corrected_reimport_rebuilds_the_rollups(tmp_path):
    database = build(
        tmp_path,
        communities=[community("C1", "Alpha")],
        meetings=[
            meeting("M1", "2026-01-05", "C1", residents=4),
            meeting("M2", "2026-02-05", "C1", residents=6),
        ],
    )
    f = Filters(date(2026, 1, 1), date(2026, 3, 31))
    with database.connect() as conn:
        assert overview.meeting_totals(conn, f) == {"meetings": 2, "residents": 10}
        assert overview.coverage_counts(conn, f) == {"communities": 1, "on_track": 0}
    moved = [meeting("M1", "2026-01-05", "C1", residents=4), meeting("M2", "2026-03-30", "C1", residents=60)]
    r = import_files([("meetings", "m.csv", csv_bytes("meetings", moved))], url=database.url)[0]
    assert r.committed and r.updated == 1
    with database.connect() as conn:
        assert overview.meeting_totals(conn, f) == {"meetings": 2, "residents": 64}
        assert overview.coverage_counts(conn, f) == {"communities": 1, "on_track": 1}
        # a staff file moving S1 to another unit re-labels the meetings in the roll-up too, and
        # the community S1 is responsible for (community_roster: a liaison's unit filters it)
        assert overview.meeting_totals(conn, Filters(f.start, f.end, units=("LIA",)))["meetings"] == 2
        assert overview.coverage_counts(conn, Filters(f.start, f.end, units=("LIA",)))["communities"] == 1
    staff = [{**s, "unit_code": "CIO"} if s["staff_id"] == "S1" else s for s in _fixture_staff()]
    assert import_files([("staff", "s.csv", csv_bytes("staff", staff))], url=database.url)[0].committed
    with database.connect() as conn:
        assert overview.meeting_totals(conn, Filters(f.start, f.end, units=("LIA",)))["meetings"] == 0
        assert overview.meeting_totals(conn, Filters(f.start, f.end, units=("CIO",)))["meetings"] == 2
        assert overview.coverage_counts(conn, Filters(f.start, f.end, units=("LIA",)))["communities"] == 0
        assert overview.coverage_counts(conn, Filters(f.start, f.end, units=("CIO",)))["communities"] == 1


# the rankings' key tables: key table, key column, entity table, id column
_KEY_TABLES = (
    ("community_keys", "community_key", "communities", "community_id"),
    ("org_keys", "org_key", "organizations", "org_id"),
    ("staff_keys", "staff_key", "staff", "staff_id"),
)


def test_the_rankings_integer_keys_map_back_to_every_meetings_entities(sample_db):
    """community_keys, org_keys and staff_keys are their entity tables numbered 1.. in id order, and
    meeting_rank_rows / meeting_supports hold each meeting's entities as those keys: mapped back,
    the meetings' own ids (pandas on the raw tables)."""
    t = _raw_frames(sample_db)
    with sample_db.connect() as conn:
        entities = {n: read_frame(conn, f"select * from {n}") for n in ("organizations", "staff")}
    entities["communities"] = t["communities"]
    maps = {}
    for table, key, entity_table, id_column in _KEY_TABLES:
        got = t[table].sort_values(key).reset_index(drop=True)
        assert got[key].tolist() == list(range(1, len(got) + 1)), table
        # the entity table's rows (whose names the rankings show), in id order after the key
        want = entities[entity_table].sort_values(id_column).reset_index(drop=True)
        want = want.assign(**{c: pd.to_datetime(want[c]) for c in want.columns if c.endswith("_date")})
        assert list(got.columns) == [key, *want.columns], table
        assert got.drop(columns=key).astype(want.dtypes.to_dict()).equals(want), table
        maps[key] = got.set_index(key)[id_column]
    m = t["meetings"].sort_values("meeting_id").reset_index(drop=True)
    rows = t["meeting_rank_rows"]
    assert len(rows) == len(m) > 1000
    back = pd.DataFrame(
        {
            "meeting_date": rows.meeting_date,
            "community_id": rows.community_key.map(maps["community_key"]),
            "org_id": rows.org_key.map(maps["org_key"]),
            "lead_staff_id": rows.lead_key.map(maps["staff_key"]),
            "residents_count": rows.residents_count,
            "division_code": rows.division_code,
            "unit_code": rows.unit_code,
        }
    )
    assert rows.community_id.equals(back.community_id)
    assert m.org_id.isna().any() and rows.org_key.isna().sum() == m.org_id.isna().sum()
    columns = list(back.columns)
    want = m[columns].sort_values(columns, na_position="first").reset_index(drop=True)
    got = back.sort_values(columns, na_position="first").reset_index(drop=True)
    assert got.astype(want.dtypes.to_dict()).equals(want)
    assert rows.meeting_date.is_monotonic_increasing
    supports = t["meeting_supports"]
    assert len(supports) > 100 and supports.staff_key.map(maps["staff_key"]).equals(supports.staff_id)


def test_every_rollup_holding_keys_is_rebuilt_with_its_entity_table():
    """A roll-up that numbers an entity (joins a key SELECT) lists the entity table among what it
    reads, so an import of that table renumbers the key table and the roll-up together."""
    holding = set()
    for r in rollups.ROLLUPS:
        for entity, (_, _, entity_table, _) in rollups._KEYS.items():
            if rollups._key_select(entity) in r.select:
                holding.add(r.name)
                assert entity_table in r.reads, (r.name, entity_table)
    ranked = {f"meeting_{k}_{t}" for k in rollups.RANK_KINDS for t in ("months", "running", "city_running")}
    assert holding == {
        "community_keys",
        "org_keys",
        "staff_keys",
        "meeting_rank_rows",
        "meeting_supports",
        *ranked,
    }


def test_rankings_keep_their_names_when_an_import_renumbers_the_keys(tmp_path):
    """New communities, organizations and staff whose ids sort first shift every key by one: the
    rankings over a few weeks (read by key) still name the same communities, organizations and
    leads, with the same counts."""
    orgs = [
        {"org_id": "O2", "name": "Beta Center", "community_id": "C2"},
        {"org_id": "O3", "name": "Gamma Hall", "community_id": "C3"},
    ]
    database = build(
        tmp_path,
        communities=[community("C2", "Beta"), community("C3", "Gamma")],
        organizations=orgs,
        meetings=[
            {**meeting("M1", "2026-03-02", "C2", residents=5, lead="S2"), "org_id": "O2"},
            {**meeting("M2", "2026-03-09", "C2", residents=7, lead="S2"), "org_id": "O2"},
            {**meeting("M3", "2026-03-10", "C3", residents=9, lead="S3"), "org_id": "O3"},
            meeting("M4", "2026-03-11", "C3", residents=1, lead="S2"),
        ],
    )
    f = Filters(date(2026, 3, 1), date(2026, 3, 31))

    def rankings() -> tuple[list, list, list]:
        with database.connect() as conn:
            assert rollups.meeting_rank_cells(conn, f, "org").names == "org_keys"
            c = mt.meetings_by_community(conn, f)[["community_id", "community_name", "meetings_count"]]
            o = mt.meetings_by_organization(conn, f)[["org_id", "org_name", "meetings_count"]]
            s = mt.meetings_by_staff(conn, f)[["staff_id", "display_name", "meetings_led_count"]]
        return c.values.tolist(), o.values.tolist(), s.values.tolist()

    want = (
        [["C2", "Beta", 2], ["C3", "Gamma", 2]],
        [["O2", "Beta Center", 2], ["O3", "Gamma Hall", 1]],
        [["S2", "Officer Two", 3], ["S3", "Worker Three", 1]],
    )
    assert rankings() == want
    staff = [*_fixture_staff(), {**_fixture_staff()[0], "staff_id": "S0", "display_name": "Zero"}]
    for table, rows in (
        ("communities", [community("C1", "Alpha"), community("C2", "Beta"), community("C3", "Gamma")]),
        ("organizations", [{"org_id": "O1", "name": "Alpha House", "community_id": "C1"}, *orgs]),
        ("staff", staff),
    ):
        assert import_files([(table, f"{table}.csv", csv_bytes(table, rows))], url=database.url)[0].committed
        assert rankings() == want, f"after the {table} import"
    with database.connect() as conn:
        keys = read_frame(conn, "select org_key, org_id from org_keys order by org_key").values.tolist()
    assert keys == [[1, "O1"], [2, "O2"], [3, "O3"]]


def _fixture_staff() -> list[dict]:
    from tests.fixtures import STAFF

    return [dict(s) for s in STAFF]


def test_a_database_without_rollups_still_answers_and_can_get_them(tiny, tmp_path, monkeypatch):
    old = tmp_path / "old" / "engagement.duckdb"
    old.parent.mkdir()
    (old.parent / "versions").mkdir()
    version = old.parent / "versions" / "engagement.20260101T000000000000Z-1.duckdb"
    shutil.copyfile(db.current_version(tiny.link), version)
    with duckdb.connect(str(version)) as con:
        for r in rollups.ROLLUPS:
            con.execute(f"drop table {r.name}")
    db.publish_version(old, version)
    before = Database(f"duckdb:///{old}")
    f = Filters(date(2026, 1, 1), date(2026, 3, 31), divisions=("NORTH", "EAST"))
    with before.connect() as conn:
        assert rollups.source(conn, "meeting_days").startswith("(")
        check_all(conn, f, k=2)
        expected = kpis_and_worklist(conn, f, k=2)
        # every roll-up derived inline: the Meetings, Staffing and Coverage functions still answer
        for g in (f, Filters(date(2025, 12, 15), date(2026, 4, 30)), replace(f, communities=("C1", "C3"))):
            check_meeting_calls(conn, g, monkeypatch)
            check_module(conn, g, "coverage", COVERAGE_CALLS)
    rollups.publish_with_rollups(before.url)
    after = Database(before.url)
    with after.connect() as conn:
        assert rollups.source(conn, "meeting_days") == "meeting_days"
        check_all(conn, f, k=2)
        assert_same_overview(kpis_and_worklist(conn, f, k=2), expected)


def test_a_rollup_left_by_an_older_version_is_read_through_its_select_until_rebuilt(tiny, tmp_path):
    """A roll-up table whose columns are not its SELECT's (feedback_days before it counted comments)
    is not read: the queries derive it inline, and the next build of the roll-ups replaces it."""
    old = tmp_path / "old" / "engagement.duckdb"
    (old.parent / "versions").mkdir(parents=True)
    version = old.parent / "versions" / "engagement.20260101T000000000000Z-1.duckdb"
    shutil.copyfile(db.current_version(tiny.link), version)
    with duckdb.connect(str(version)) as con:
        con.execute("create or replace table feedback_days as select * exclude (comments) from feedback_days")
        assert "feedback_days" not in rollups._existing(con)
        assert "feedback_day_cells" in rollups._existing(con)
    db.publish_version(old, version)
    before = Database(f"duckdb:///{old}")
    f = Filters(date(2026, 3, 1), date(2026, 3, 31), role="analyst")
    with before.connect() as conn:
        assert rollups.source(conn, "feedback_days").startswith("(")
        assert rollups.source(conn, "feedback_day_cells") == "feedback_day_cells"
        check_feedback(conn, f, k=2)
    rollups.publish_with_rollups(before.url)
    with Database(before.url).connect() as conn:
        assert rollups.source(conn, "feedback_days") == "feedback_days"
        check_feedback(conn, f, k=2)


# ------------------------------------------------------------------ feedback.py against its raw-table version


def assert_same(new, raw, where: str = "") -> None:
    """Deep equality: frames (floats to 1e-12), dataclasses, dicts, lists, scalars."""
    from data_access.feedback import CommentPage

    if isinstance(new, pd.DataFrame):
        assert isinstance(raw, pd.DataFrame), where
        assert_frames_equal(new.reset_index(drop=True), raw.reset_index(drop=True))
    elif isinstance(new, CommentPage):
        assert (new.total, new.page, new.pages) == (raw.total, raw.page, raw.pages), where
        assert_frames_equal(new.rows, raw.rows)
    elif isinstance(new, dict):
        assert new.keys() == raw.keys(), where
        for key in new:
            assert_same(new[key], raw[key], f"{where}.{key}")
    elif hasattr(new, "__dataclass_fields__"):
        for fld in fields(new):
            assert_same(getattr(new, fld.name), getattr(raw, fld.name), f"{where}.{fld.name}")
    elif isinstance(new, float) or isinstance(raw, float):
        assert close(None if pd.isna(new) else float(new), None if pd.isna(raw) else float(raw)), (
            where,
            new,
            raw,
        )
    else:
        assert new == raw, (where, new, raw)


FEEDBACK_CALLS = [
    ("score_kpis", {}),
    ("suppression_summary", {}),
    ("score_series", {"grain": "month", "split": "none"}),
    ("score_series", {"grain": "week", "split": "division"}),
    ("score_series", {"grain": "month", "split": "division"}),
    ("comparison_by_division", {}),
    ("comparison_by_community", {}),
    ("comparison_by_community", {"page_size": 1000}),
    ("comparison_by_community", {"page": 2, "page_size": 6}),
    ("channel_volume", {"grain": "month"}),
    ("channel_volume", {"grain": "week"}),
    ("channel_totals", {}),
    ("topic_counts", {}),
    ("topic_trend", {}),
    ("comment_topics", {}),
    ("comment_page", {}),
    ("comment_page", {"search": "officer", "page": 2}),
    ("comment_page", {"topic": "youth"}),
    # pages deep enough to start in an older month (the page reads only the months it needs)
    ("comment_page", {"page": 3, "page_size": 100}),
    ("comment_page", {"page": 60, "page_size": 3}),
]


def check_feedback(conn, f: Filters, k: int) -> None:
    """Every feedback function equals its raw-table version, both counting the small-n groups
    itself and reading them from one precomputed scope (as the pages do)."""
    import inspect

    from data_access import feedback as fb
    from tests.data_access import raw_feedback_reference as ref

    weekly, monthly = fb.scope(conn, f, k, weekly=True), fb.scope(conn, f, k)
    for name, kwargs in FEEDBACK_CALLS:
        fn = getattr(fb, name)
        ways = [{}]
        if "scope" in inspect.signature(fn).parameters:
            ways += [{"scope": weekly}] + ([] if kwargs.get("grain") == "week" else [{"scope": monthly}])
        for way in ways:
            where = f"{name}{kwargs}{way} at {f.start}–{f.end}, k={k}"
            if name in PAGED:
                assert_same_page(
                    fn(conn, f, k, **kwargs, **way),
                    getattr(ref, name)(conn, f, k),
                    where,
                    name=name,
                    **kwargs,
                )
                continue
            assert_same(fn(conn, f, k, **kwargs, **way), getattr(ref, name)(conn, f, k, **kwargs), where)
    # the Feedback page's tiles, suppression summary and divisions, read together from one scope
    for way in ({}, {"scope": weekly}, {"scope": monthly}):
        top = fb.headline(conn, f, k, **way)
        where = f"headline{way} at {f.start}–{f.end}, k={k}"
        assert_same(top.kpis, ref.score_kpis(conn, f, k), f"{where}.kpis")
        assert_same(top.summary, ref.suppression_summary(conn, f, k), f"{where}.summary")
        assert_same(top.divisions, ref.comparison_by_division(conn, f, k), f"{where}.divisions")


FEEDBACK_FILTERS = {
    **{
        name: SAMPLE_FILTERS[name]
        for name in (
            "last 90 days",
            "all time",
            "a past quarter",
            "a single day",
            "communities + divisions",
            "divisions only, past",
            "one community, 90 days",
            "before any data",
        )
    },
    "mid-month to mid-month": Filters(date(2025, 10, 17), date(2026, 2, 9)),
    "inside one month": Filters(date(2026, 5, 3), date(2026, 5, 27)),
    "whole months": Filters(date(2026, 1, 1), date(2026, 6, 30)),
    "small communities": Filters(date(2025, 11, 21), END, communities=("C006", "C007", "C008", "C900")),
}


@pytest.mark.parametrize("name", list(FEEDBACK_FILTERS))
def test_feedback_functions_match_raw_tables_on_the_sample(sample_db, name):
    with sample_db.connect() as conn:
        for k in (10, 40):
            check_feedback(conn, FEEDBACK_FILTERS[name], k)


@pytest.mark.parametrize("sel", range(len(TINY_SELECTIONS)))
def test_feedback_functions_match_raw_tables_on_the_tiny_division(tiny, sel):
    sel_f = {key: v for key, v in TINY_SELECTIONS[sel].items() if key != "units"}
    with tiny.connect() as conn:
        for start, end in [
            ("2026-01-01", "2026-01-31"),
            ("2026-01-05", "2026-03-16"),
            ("2025-12-01", "2026-04-30"),
            ("2026-03-15", "2026-03-15"),
            ("2026-02-01", "2026-03-31"),
        ]:
            f = Filters(date.fromisoformat(start), date.fromisoformat(end), **sel_f)
            for k in (2, 3):
                check_feedback(conn, f, k)


# ------------------------------------------------------------------ coverage.py against its raw-table version

COVERAGE_CALLS = [
    ("status_counts", {}),
    ("cadence_worklist", {"page_size": 1000}),
    ("cadence_worklist", {}),
    ("cadence_worklist", {"page": 2, "page_size": 7}),
    ("cadence_worklist", {"page": 99, "page_size": 4}),
    ("contact_grid", {}),
    ("contact_grid", {"limit": 7, "offset": 5}),
    ("coverage_rate_over_time", {"grain": "week"}),
    ("coverage_rate_over_time", {"grain": "month"}),
    ("communities_without_liaison", {}),
    ("communities_without_liaison", {"page": 2, "page_size": 3}),
    ("communities_without_liaison", {"page": 99, "page_size": 2}),
    ("communities_without_liaison_export", {}),
    ("follow_up_summary", {}),
    ("follow_up_ageing", {}),
    ("open_follow_up_list", {}),
    ("open_follow_up_list", {"limit": 10, "offset": 20}),
]


def check_module(conn, f: Filters, module: str, calls: list[tuple[str, dict]]) -> None:
    import importlib

    new_mod = importlib.import_module(f"data_access.{module}")
    ref_mod = importlib.import_module(f"tests.data_access.raw_{module}_reference")
    for name, kwargs in calls:
        new = getattr(new_mod, name)(conn, f, **kwargs)
        if name in PAGED:
            assert_same_page(
                new, getattr(ref_mod, name)(conn, f), f"{module}.{name}{kwargs} at {f}", name=name, **kwargs
            )
            continue
        if name in WHOLE_AS_EXPORT:
            raw = getattr(ref_mod, WHOLE_AS_EXPORT[name])(conn, f)
            assert_same(new, raw, f"{module}.{name}{kwargs} at {f}")
            continue
        raw = getattr(ref_mod, name)(conn, f, **kwargs)
        assert_same(new, raw, f"{module}.{name}{kwargs} at {f}")


# Functions that now return one page of what the raw-table version returned whole (same order),
# with their default page size.
PAGED = {"cadence_worklist": 50, "comparison_by_community": 50, "communities_without_liaison": 25}
# Exports of such a list: every row the raw-table version returned (below the cap).
WHOLE_AS_EXPORT = {"communities_without_liaison_export": "communities_without_liaison"}


def assert_same_page(
    new, raw_all: pd.DataFrame, where: str, *, name: str, page: int = 1, page_size: int | None = None
) -> None:
    """`new` (a page: rows, total, page, pages) is the slice of the raw function's whole frame that
    page `page` of `page_size` rows should be, the page clamped to the last one."""
    size = page_size or PAGED[name]
    pages = max(1, -(-len(raw_all) // size))
    want_page = min(page, pages)
    assert (new.total, new.page, new.pages) == (len(raw_all), want_page, pages), where
    assert_same(new.rows, raw_all.iloc[(want_page - 1) * size : want_page * size], where)
    if hasattr(new, "none_assigned"):  # the without-liaison list counts its two reasons
        assert new.none_assigned == int((raw_all["reason"] == "none assigned").sum()), where


def check_coverage_page_reads(conn, f: Filters) -> None:
    """The Coverage page's combined statements against the raw-table functions they stand for."""
    from data_access import coverage
    from tests.data_access import raw_coverage_reference as ref

    for page, size in ((1, 25), (2, 3), (99, 2)):
        counts, orphans = coverage.coverage_status(conn, f, page=page, page_size=size)
        assert counts == ref.status_counts(conn, f), f
        where = f"coverage_status(page={page}, page_size={size}) at {f}"
        assert_same_page(
            orphans, ref.communities_without_liaison(conn, f), where, name="x", page=page, page_size=size
        )
    summary, ageing = coverage.follow_ups_at_end(conn, f)
    assert summary == ref.follow_up_summary(conn, f), f
    assert_same(ageing, ref.follow_up_ageing(conn, f), f"follow_ups_at_end at {f}")


@pytest.mark.parametrize("name", list(SAMPLE_FILTERS))
def test_coverage_functions_match_raw_tables_on_the_sample(sample_db, name):
    with sample_db.connect() as conn:
        check_module(conn, SAMPLE_FILTERS[name], "coverage", COVERAGE_CALLS)
        check_coverage_page_reads(conn, SAMPLE_FILTERS[name])


@pytest.mark.parametrize("sel", range(len(TINY_SELECTIONS)))
def test_coverage_functions_match_raw_tables_on_the_tiny_division(tiny, sel):
    with tiny.connect() as conn:
        for day in TINY_DAYS[::2]:
            f = Filters(day - timedelta(days=29), day, **TINY_SELECTIONS[sel])
            check_module(conn, f, "coverage", COVERAGE_CALLS)
            check_coverage_page_reads(conn, f)


# ------------------------------------------------------------------ meetings stored by community

# Everything that reads meetings under a community selection reads meetings_by_community (the same
# rows stored by community), and staffing reads meeting cells and contact spells: the same calls
# with every roll-up swapped for the raw tables must give the same answers.
MEETING_CALLS = [
    (mt, "meeting_kpis", {}),
    (mt, "meetings_over_time", {"grain": "month", "split": "type"}),
    (mt, "meetings_by_day", {}),
    (mt, "concerns_over_time", {"grain": "week"}),
    (mt, "concerns_over_time", {"grain": "month"}),
    (mt, "meetings_by_community", {}),
    (mt, "meetings_by_community", {"top_n": 2}),
    (mt, "meetings_by_organization", {}),
    (mt, "meetings_by_staff", {}),
    (mt, "meeting_log_count", {}),
    (mt, "meeting_log_count", {"search": "park"}),
    (mt, "meeting_log", {}),
    (mt, "meeting_log", {"sort": "community", "descending": False, "page": 2, "page_size": 7}),
    (mt, "meeting_log", {"sort": "lead", "search": "a", "page": 3, "page_size": 5}),
    (mt, "meeting_log_export", {"sort": "residents"}),
    (staffing, "workload_by_unit", {}),
    (staffing, "communities_per_liaison", {}),
]


# The rankings' SQL before they read meeting_*_months (every meeting counted from the raw table).
def _raw_scoped_cte(columns: str = "m.*") -> str:
    return f"""
    scoped as (
        select {columns}
        from meetings m
        where m.meeting_date between :start and :end and {meeting_scope("m")}
    )"""


def raw_meetings_by_community(conn, f: Filters, top_n: int = 15) -> pd.DataFrame:
    """Top `top_n` communities by meetings in the period: meetings, residents, last meeting date, plus
    (on every row) how many communities were met and the meetings across all of them."""
    sql = f"""
    with {_raw_scoped_cte()},
    by_community as (
        -- one row per community met
        select m.community_id, count(*) as meetings_count, sum(m.residents_count) as residents_count,
               max(m.meeting_date) as last_meeting_date
        from scoped m
        group by 1
    )
    select b.community_id, c.name as community_name, b.meetings_count, b.residents_count,
           b.last_meeting_date,
           count(*) over () as communities_count,
           sum(b.meetings_count) over () as all_meetings_count
    from by_community b
    join communities c using (community_id)
    order by b.meetings_count desc, b.residents_count desc, c.name, b.community_id
    limit :top_n
    """
    return read_frame(conn, sql, {**f.params(), "top_n": top_n})


def raw_meetings_by_organization(conn, f: Filters, top_n: int = 15) -> pd.DataFrame:
    """Top `top_n` organizations by meetings in the period (meetings with no organization recorded are
    left out of the ranking and counted on every row as `no_org_meetings_count`)."""
    sql = f"""
    with {_raw_scoped_cte()},
    by_org as (
        -- one row per organization met
        select m.org_id, count(*) as meetings_count, sum(m.residents_count) as residents_count
        from scoped m
        where m.org_id is not null
        group by 1
    ),
    totals as (
        select count(*) as all_meetings_count,
               count(*) filter (where org_id is null) as no_org_meetings_count
        from scoped
    )
    select b.org_id, o.name as org_name, c.name as community_name, b.meetings_count, b.residents_count,
           count(*) over () as orgs_count, t.all_meetings_count, t.no_org_meetings_count
    from by_org b
    join organizations o using (org_id)
    left join communities c on c.community_id = o.community_id
    cross join totals t
    order by b.meetings_count desc, b.residents_count desc, o.name, b.org_id
    limit :top_n
    """
    return read_frame(conn, sql, {**f.params(), "top_n": top_n})


def raw_meetings_by_staff(conn, f: Filters) -> pd.DataFrame:
    """One row per staff member who led or supported a meeting in scope: meetings led, residents reached
    at them, mean attendance, and meetings supported (listed as other staff, not as lead).
    Most meetings led first; at most MAX_STAFF_ROWS rows."""
    sql = f"""
    with {_raw_scoped_cte("m.meeting_id, m.lead_staff_id, m.other_staff_ids, m.residents_count")},
    led as (
        select m.lead_staff_id as staff_id, count(*) as meetings_led_count,
               sum(m.residents_count) as residents_count
        from scoped m
        group by 1
    ),
    support_rows as (
        -- one row per meeting per distinct supporting staff member (list_distinct only where needed)
        select lead_staff_id, other_staff_ids[1] as staff_id from scoped where len(other_staff_ids) = 1
        union all
        select lead_staff_id, unnest(list_distinct(other_staff_ids)) as staff_id
        from scoped
        where len(other_staff_ids) > 1
    ),
    supported as (
        select staff_id, count(*) as meetings_supported_count
        from support_rows
        where staff_id <> lead_staff_id
        group by 1
    ),
    people as (select staff_id from led union select staff_id from supported)
    select s.staff_id, s.display_name, s.title, s.unit_code, dv.name as division_name,
           coalesce(l.meetings_led_count, 0) as meetings_led_count,
           coalesce(l.residents_count, 0) as residents_count,
           l.residents_count * 1.0 / l.meetings_led_count as mean_attendance,
           coalesce(sp.meetings_supported_count, 0) as meetings_supported_count
    from people x
    join staff s using (staff_id)
    left join patrol_divisions dv on dv.division_code = s.division_code
    left join led l using (staff_id)
    left join supported sp using (staff_id)
    order by meetings_led_count desc, residents_count desc, meetings_supported_count desc, s.display_name,
             s.staff_id
    limit {mt.MAX_STAFF_ROWS}
    """
    return read_frame(conn, sql, f.params())


def _raw_meeting_cells(conn, f: Filters) -> str:
    return """(
        select m.meeting_date, m.community_id, m.division_code, m.unit_code, m.meeting_type,
               1 as meetings_count, m.residents_count as residents_sum,
               cast(m.residents_count as bigint) * m.residents_count as residents_sq
        from meetings m)"""


def _raw_concern_cells(conn, f: Filters, *, by_month: bool = False) -> str:
    return """(
        select m.meeting_date, m.community_id, m.division_code, m.unit_code, m.concern_tags,
               1 as meetings_count
        from meetings m)"""


def check_meeting_calls(conn, f: Filters, monkeypatch) -> int:
    """Each of MEETING_CALLS with the roll-ups, then on the raw tables; returns how many were non-empty."""
    new = [getattr(module, name)(conn, f, **kwargs) for module, name, kwargs in MEETING_CALLS]
    with monkeypatch.context() as m:
        m.setattr(rollups, "meetings", lambda conn, f: "meetings")
        m.setattr(rollups, "meeting_cells", _raw_meeting_cells)
        m.setattr(rollups, "concern_cells", _raw_concern_cells)
        # the concerns from the meetings' own tag lists (concern_cells), not the per-tag roll-ups
        m.setattr(rollups, "concern_tag_count", lambda conn: mt.MAX_CONCERN_TAGS + 1)
        m.setattr(rollups, "community_status_cte", lambda conn, f: COMMUNITY_STATUS_CTE)
        m.setattr(mt, "meetings_by_community", raw_meetings_by_community)
        m.setattr(mt, "meetings_by_organization", raw_meetings_by_organization)
        m.setattr(mt, "meetings_by_staff", raw_meetings_by_staff)
        raw = [getattr(module, name)(conn, f, **kwargs) for module, name, kwargs in MEETING_CALLS]
    for (module, name, kwargs), a, b in zip(MEETING_CALLS, new, raw, strict=True):
        assert_same(a, b, f"{module.__name__}.{name}{kwargs} at {f}")
    return sum(_has_rows(x) for x in new)


def _has_rows(x) -> bool:
    if isinstance(x, pd.DataFrame):
        return not x.empty
    if isinstance(x, mt.LogPage):
        return not x.rows.empty
    if isinstance(x, dict):
        return any(k.value for k in x.values())
    return bool(x)


@pytest.mark.parametrize("name", list(SAMPLE_FILTERS))
def test_meeting_functions_match_raw_tables_on_the_sample(sample_db, monkeypatch, name):
    f = SAMPLE_FILTERS[name]
    with sample_db.connect() as conn:
        if f.communities:
            assert rollups.meetings(conn, f) == "meetings_by_community"
        shown = check_meeting_calls(conn, f, monkeypatch)
        held = mt.meeting_kpis(conn, f)["meetings_held"].value
    if name in ("communities + divisions", "everything narrowed", "all time", "last 90 days"):
        assert held > 0 and shown >= 12, f"only {shown} of the calls returned anything at {name}"


# the rankings' routes (rollups.meeting_rank_cells) by their thresholds: month cells from, running
# totals from. The tiny division's periods are 45 days (at most one whole month)
TINY_RANK_ROUTES = {
    "as set": (rollups.MONTH_CELLS_FROM_MONTHS, rollups.RUNNING_FROM_MONTHS),  # one cell per meeting
    "month cells": (0, rollups.RUNNING_FROM_MONTHS),  # partial months around the whole month's cells
    "running totals": (0, 1),  # with and without a month before the first to subtract
}


@pytest.mark.parametrize("route", list(TINY_RANK_ROUTES))
@pytest.mark.parametrize("sel", range(len(TINY_SELECTIONS)))
def test_meeting_functions_match_raw_tables_on_the_tiny_division(tiny, monkeypatch, sel, route):
    cells_from, running_from = TINY_RANK_ROUTES[route]
    monkeypatch.setattr(rollups, "MONTH_CELLS_FROM_MONTHS", cells_from)
    monkeypatch.setattr(rollups, "RUNNING_FROM_MONTHS", running_from)
    with tiny.connect() as conn:
        for day in TINY_DAYS[::3]:
            check_meeting_calls(
                conn, Filters(day - timedelta(days=44), day, **TINY_SELECTIONS[sel]), monkeypatch
            )


def test_meetings_by_community_holds_every_meeting_ordered_by_community(sample_db):
    with sample_db.connect() as conn:
        copy = read_frame(conn, "select * from meetings_by_community")
        raw = read_frame(conn, "select * from meetings")
    assert list(copy.columns) == list(raw.columns)
    key = ["meeting_id"]
    assert_frames_equal(copy.sort_values(key), raw.sort_values(key))
    assert copy.community_id.is_monotonic_increasing


def _ids_for_keys(t: dict[str, pd.DataFrame], frame: pd.DataFrame) -> pd.DataFrame:
    """A roll-up's rows with each entity key replaced by the id it stands for (its key table's)."""
    out = frame.copy()
    for table, key, _, id_column in _KEY_TABLES:
        if key in out:
            ids = t[table].set_index(key)[id_column]
            out.insert(out.columns.get_loc(key), id_column, out.pop(key).map(ids))
    return out


def test_meeting_month_rollups_equal_pandas_recomputations(sample_db):
    """meeting_{community,org,lead,support,concern}_months recomputed from the raw meetings in pandas
    (the rankings' entities, stored by key, mapped back to their ids)."""
    t = _raw_frames(sample_db)
    m = t["meetings"]
    m = m.assign(month=pd.to_datetime(m.meeting_date).dt.to_period("M").dt.to_timestamp().dt.date)
    m = m.assign(org_id=m.org_id.fillna("(none)"))
    base = ["month", "division_code", "unit_code"]

    def same(table: str, keys: list[str], want: pd.DataFrame) -> None:
        got = _ids_for_keys(t, t[table]).assign(month=pd.to_datetime(t[table].month).dt.date)
        if "org_id" in got:
            got = got.assign(org_id=got.org_id.fillna("(none)"))
        got = got.sort_values(keys).reset_index(drop=True)[list(want.columns)]
        assert len(got) == len(want) > 0, table
        assert got.astype(want.dtypes.to_dict()).equals(want), table

    sums = {"meetings_count": ("meeting_id", "size"), "residents_sum": ("residents_count", "sum")}
    keys = [*base, "community_id"]
    want = m.groupby(keys).agg(**sums, last_meeting_date=("meeting_date", "max")).reset_index()
    same("meeting_community_months", keys, want)
    keys = [*base, "org_id"]
    assert (m.org_id == "(none)").any()
    same("meeting_org_months", keys, m.groupby(keys).agg(**sums).reset_index())
    keys = [*base, "staff_id"]
    led = m.rename(columns={"lead_staff_id": "staff_id"})
    same("meeting_lead_months", keys, led.groupby(keys).agg(**sums).reset_index())

    # supporting staff: each distinct member listed on a meeting, never its lead
    rows = [
        (r.month, r.division_code, r.unit_code, s, r.meeting_id)
        for r in m.itertuples()
        for s in sorted(
            {x for x in (r.other_staff_ids if r.other_staff_ids is not None else []) if x is not None}
        )
        if s != r.lead_staff_id
    ]
    sup = pd.DataFrame(rows, columns=[*keys, "meeting_id"])  # (several on one meeting: test_meetings)
    same(
        "meeting_support_months",
        keys,
        sup.groupby(keys).agg(meetings_count=("meeting_id", "size")).reset_index(),
    )

    keys = [*base, "tags"]
    want = (
        m.assign(tags=[tuple(sorted(set(x))) for x in m.concern_tags])
        .groupby(keys)
        .agg(meetings_count=("meeting_id", "size"))
        .reset_index()
    )
    t["meeting_concern_months"] = t["meeting_concern_months"].assign(
        tags=[tuple(x) for x in t["meeting_concern_months"].concern_tags]
    )
    same("meeting_concern_months", keys, want)


@pytest.mark.parametrize("citywide", [False, True])
def test_meeting_running_totals_equal_pandas_recomputations(sample_db, citywide):
    """meeting_<kind>_running: per division × unit × entity (meeting_<kind>_city_running: per
    entity alone), every month from its first month with a meeting to the table's last, the month
    cells added up through it (and the latest meeting date through it), recomputed in pandas from
    the month roll-ups (themselves checked above)."""
    t = _raw_frames(sample_db)
    for kind, entity, sums, latest in (
        ("community", "community_id", ["meetings_count", "residents_sum"], "last_meeting_date"),
        ("org", "org_id", ["meetings_count", "residents_sum"], None),
        ("lead", "staff_id", ["meetings_count", "residents_sum"], None),
        ("support", "staff_id", ["meetings_count"], None),
    ):
        months = _ids_for_keys(t, t[f"meeting_{kind}_months"]).assign(month=lambda d: pd.to_datetime(d.month))
        keys = [entity] if citywide else ["division_code", "unit_code", entity]
        months[keys] = months[keys].fillna("(none)")
        if citywide:  # one cell per entity and month, its divisions' and units' added up
            months = months.groupby(["month", entity], as_index=False).agg(
                {**{c: "sum" for c in sums}, **({latest: "max"} if latest else {})}
            )
        last = months.month.max()
        want = []
        for key, g in months.groupby(keys):
            span = pd.DataFrame({"month": pd.date_range(g.month.min(), last, freq="MS")})
            g = span.merge(g, on="month", how="left")
            out = span.assign(**dict(zip(keys, key, strict=True)))
            for c in sums:
                out[c] = g[c].fillna(0).cumsum().astype("int64")
            if latest:
                out[latest] = pd.to_datetime(g[latest]).cummax().ffill()  # (cummax keeps gaps)
            want.append(out)
        want = pd.concat(want).sort_values(["month", *keys]).reset_index(drop=True)
        got = _ids_for_keys(t, t[f"meeting_{kind}_{'city_' if citywide else ''}running"])
        got = got.assign(month=lambda d: pd.to_datetime(d.month))
        got[keys] = got[keys].fillna("(none)")
        if latest:
            got[latest] = pd.to_datetime(got[latest])
        got = got.sort_values(["month", *keys]).reset_index(drop=True)[list(want.columns)]
        assert len(got) == len(want) > len(months), kind  # dense: more rows than the month cells
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=kind)
