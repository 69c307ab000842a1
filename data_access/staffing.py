"""Queries behind the Staffing page: is each unit staffed to do the work?

Staffing rows are monthly (unit × patrol division). "The period's last month" is the
latest staffing month on or before the period's end among the rows in scope, exactly
as `overview.staffing_totals` picks it, so the page and the Overview tile agree.
Units and patrol divisions filter staffing, staff and the roster; the communities
filter does not (people are not assigned to communities), except where a number is
about communities or meetings: communities per liaison and the meetings behind workload.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

from data_access import rollups
from data_access.db import Reads, read_frame, read_rows, reads
from data_access.filters import Filters
from data_access.overview import BELOW_FILLED_SHARE, BELOW_FILLED_TEST
from data_access.scope import (
    in_list,
    meeting_scope,
    page_of,
    page_params,
    staffing_scope,
)

# Average month length, so a period of any number of days converts to months (90 days = 2.96).
DAYS_PER_MONTH = 365.25 / 12
ROSTER_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1_000
EXPORT_CAP = 50_000  # as the meeting log's and the worklist's exports

# Group columns a caller may ask for: name -> (SQL expression over staffing alias s, output column).
_SPLITS: dict[str, tuple[str, str] | None] = {
    "total": None,
    "unit": ("s.unit_code", "unit_code"),
    "division": ("s.division_code", "division_code"),
}

# -- the latest month with staffing rows in scope on or before the period's end (as overview.staffing_totals)
_MONTH_PICK = f"""
month_pick as (
    select max(s.month) as month from staffing s
    where s.month <= date_trunc('month', cast(:end as date)) and {staffing_scope("s")}
)"""

# Ratios in SQL, null when nothing is authorized (a rate of nothing is not zero).
_RATIOS = """
    (authorized - filled) / nullif(authorized, 0) as vacancy_rate,
    available / nullif(authorized, 0) as availability,
    filled / nullif(authorized, 0) as filled_share"""


def latest_staffing_month(conn: Connection, f: Filters) -> date | None:
    """The period's last staffing month: latest month in scope on or before the period's end, or None."""
    sql = f"with {_MONTH_PICK} select month from month_pick"
    value = read_frame(conn, sql, f.params()).iat[0, 0]
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


UNIT_COLUMNS = [
    "unit_code",
    "unit_name",
    "month",
    "authorized",
    "filled",
    "available",
    "vacant_fte",
    "vacancy_rate",
    "availability",
    "filled_share",
    "is_below_filled",
]
DIVISION_COLUMNS = ["division_code", "division_name", *UNIT_COLUMNS[2:]]
CELL_COLUMNS = [
    "unit_code",
    "unit_name",
    "division_code",
    "division_name",
    "month",
    "authorized",
    "filled",
    "available",
    "vacant_fte",
    "filled_share",
]


@dataclass(frozen=True)
class StaffingMonth:
    """The period's last staffing month in scope, from one statement (the Staffing page's tiles,
    unit and division tables and short teams; the Briefing's staffing slide):

    - `totals`: overview.staffing_totals (month, authorized, filled, available summed), or None
      when no staffing row is in scope on or before the period's end;
    - `by_unit`: one row per unit (divisions in scope summed), by unit code. `is_below_filled` is
      overview.BELOW_FILLED_TEST, the rule of units_below_filled (the same sums of the same month),
      so both pages flag the same units;
    - `by_division`: one row per patrol division (units in scope summed), by name, flagged by the
      same rule;
    - `cells`: one row per unit × division below BELOW_FILLED_SHARE filled, least filled first (the
      unit and division totals can hide a short team: one division's gap inside a full unit)."""

    totals: dict[str, Any] | None
    by_unit: pd.DataFrame
    by_division: pd.DataFrame
    cells: pd.DataFrame


_TOTAL, _UNIT, _DIVISION, _CELL = "1 total", "2 unit", "3 division", "4 cell"  # `part`, in this order

_MONTH_SQL = f"""
    with {_MONTH_PICK},
    picked as (
        select s.unit_code, s.division_code, s.month, s.authorized, s.filled, s.available
        from staffing s join month_pick p on s.month = p.month
        where {staffing_scope("s")}
    ),
    -- the total, one row per unit and one per division of the picked month, and its unit x division
    -- rows below :share filled
    parts as (
        select case when grouping(unit_code) = 0 then '{_UNIT}'
                    when grouping(division_code) = 0 then '{_DIVISION}' else '{_TOTAL}' end as part,
               unit_code, division_code, month,
               sum(authorized) as authorized, sum(filled) as filled, sum(available) as available
        from picked
        group by grouping sets ((month), (unit_code, month), (division_code, month))
        union all
        select '{_CELL}', unit_code, division_code, month, authorized, filled, available
        from picked
        where authorized > 0 and filled / authorized < :share
    )
    select b.part, b.unit_code, u.name as unit_name, b.division_code, d.name as division_name, b.month,
           b.authorized, b.filled, b.available, b.authorized - b.filled as vacant_fte, {_RATIOS},
           coalesce({BELOW_FILLED_TEST}, false) as is_below_filled
    from parts b
    left join units u on u.unit_code = b.unit_code
    left join patrol_divisions d on d.division_code = b.division_code
    -- (a unit's and a division's rows need their names, as an inner join would)
    where b.part = '{_TOTAL}'
       or (b.part = '{_UNIT}' and u.unit_code is not null)
       or (b.part = '{_DIVISION}' and d.division_code is not null)
       or (b.part = '{_CELL}' and u.unit_code is not null and d.division_code is not null)
    order by b.part,
             case when b.part = '{_UNIT}' then b.unit_code end,
             case when b.part = '{_DIVISION}' then d.name end,
             case when b.part = '{_CELL}' then b.filled / b.authorized end,
             u.name, d.name
    """


def staffing_month(conn: Connection, f: Filters) -> StaffingMonth:
    """The StaffingMonth of `f`: the grouping sets of one month's rows (at most units x divisions)."""
    columns, rows = read_rows(conn, _MONTH_SQL, {**f.params(), "share": BELOW_FILLED_SHARE})
    at = {c: i for i, c in enumerate(columns)}
    of_part: dict[str, list[tuple]] = {_TOTAL: [], _UNIT: [], _DIVISION: [], _CELL: []}
    for row in rows:
        of_part[row[at["part"]]].append(row)

    def frame(part: str, names: list[str]) -> pd.DataFrame:
        # built from the part's own rows, as a statement of its own would be (column types included)
        return pd.DataFrame([tuple(r[at[c]] for c in names) for r in of_part[part]], columns=names)

    total = of_part[_TOTAL][0] if of_part[_TOTAL] else None
    return StaffingMonth(
        totals=None
        if total is None
        else {
            "month": total[at["month"]],
            **{c: float(total[at[c]]) for c in ("authorized", "filled", "available")},
        },
        by_unit=frame(_UNIT, UNIT_COLUMNS),
        by_division=frame(_DIVISION, DIVISION_COLUMNS),
        cells=frame(_CELL, CELL_COLUMNS),
    )


def staffing_by_month(conn: Connection, f: Filters, by: str = "total") -> pd.DataFrame:
    """One row per month (per unit or division when `by` says so) with staffing rows in scope,
    for the calendar months the period touches; `by` is one of total, unit, division."""
    if by not in _SPLITS:
        raise ValueError(f"unknown split {by!r}; choose one of {', '.join(_SPLITS)}")
    split = _SPLITS[by]
    group_sel = f"{split[0]} as {split[1]}, " if split else ""
    group_by = f", {split[0]}" if split else ""
    sql = f"""
    -- one row per month{" per " + by if split else ""}
    with monthly as (
        select s.month, {group_sel}
               sum(s.authorized) as authorized, sum(s.filled) as filled, sum(s.available) as available
        from staffing s
        where s.month between date_trunc('month', cast(:start as date)) and date_trunc('month', cast(:end as date))
          and {staffing_scope("s")}
        group by s.month{group_by}
    )
    select *, {_RATIOS}
    from monthly
    order by month{", " + split[1] if split else ""}
    """
    df = read_frame(conn, sql, f.params())
    df["month"] = pd.to_datetime(df["month"])
    return df


# -- staff serving at the end of the period: started on or before it, and no end date or ended on/after it
_SERVING = "st.start_date <= :end and (st.end_date is null or st.end_date >= :end)"


@reads
def cit_trained_shares(
    conn: Connection, f: Filters
) -> Reads[tuple[dict[str, float | int | None], pd.DataFrame]]:
    """Sworn staff (units.is_sworn; civilians excluded) serving at the end of the period, units and
    divisions in scope, and how many are CIT-trained: the total (sworn_count, cit_trained_count,
    cit_trained_share; the share None when nobody sworn serves), and one row per patrol division,
    from one statement (grouping sets of the same staff)."""
    sql = f"""
    -- one row for the total (is_total), then one per division with sworn staff serving at the end
    select grouping(st.division_code) = 1 as is_total, st.division_code, d.name as division_name,
           count(*) as sworn_count,
           count(*) filter (where st.is_cit_trained) as cit_trained_count,
           count(*) filter (where st.is_cit_trained) / count(*) as cit_trained_share
    from staff st
    join units u on u.unit_code = st.unit_code
    left join patrol_divisions d on d.division_code = st.division_code
    where u.is_sworn and {_SERVING}
      and {in_list("units", "st.unit_code")} and {in_list("divisions", "st.division_code")}
    group by grouping sets ((), (st.division_code, d.name))
    order by is_total desc, d.name
    """
    df = yield sql, f.params()
    total = df[df["is_total"]]
    sworn = int(total["sworn_count"].iloc[0]) if len(total) else 0
    trained = int(total["cit_trained_count"].iloc[0]) if len(total) else 0
    # (staff.division_code must name a patrol division; the name test keeps the list to those)
    divisions = df[~df["is_total"] & df["division_name"].notna()]
    return (
        {
            "sworn_count": sworn,
            "cit_trained_count": trained,
            "cit_trained_share": trained / sworn if sworn else None,
        },
        divisions.drop(columns="is_total").reset_index(drop=True),
    )


def cit_trained_share_by_division(conn: Connection, f: Filters) -> pd.DataFrame:
    """cit_trained_shares' divisions: one row per patrol division, sworn staff serving at end of
    period and how many are CIT-trained."""
    return cit_trained_shares(conn, f)[1]


def cit_trained_share_total(conn: Connection, f: Filters) -> dict[str, float | int | None]:
    """cit_trained_shares' total: the CIT-trained share of sworn staff serving at end of period."""
    return cit_trained_shares(conn, f)[0]


def period_months(f: Filters) -> float:
    """The period's length in months: days ÷ 30.4375 (so 1 Jan – 31 Mar, 90 days, is 2.957 months)."""
    return f.days / DAYS_PER_MONTH


@reads
def workload_by_unit(conn: Connection, f: Filters) -> Reads[pd.DataFrame]:
    """One row per unit in scope with meetings or staffing in the period: meetings per filled FTE per month.

    workload = meetings in the period led by the unit's staff
               ÷ the unit's average filled FTE
               ÷ the period's length in months (days ÷ 30.4375).
    Average filled FTE is the mean, over the calendar months the period touches that have
    staffing rows for the unit, of its monthly filled FTE (divisions in scope summed).
    Meetings obey the meeting filters (community, meeting's division, lead's unit).
    Null when the unit has no filled FTE in those months.
    """
    sql = f"""
    with monthly_filled as (
        -- one row per unit per month the period touches
        select s.unit_code, s.month, sum(s.filled) as filled
        from staffing s
        where s.month between date_trunc('month', cast(:start as date)) and date_trunc('month', cast(:end as date))
          and {staffing_scope("s")}
        group by s.unit_code, s.month
    ),
    fte as (
        select unit_code, avg(filled) as avg_filled_fte, count(*) as staffing_months_count
        from monthly_filled group by unit_code
    ),
    held as (
        select m.unit_code, cast(sum(m.meetings_count) as bigint) as meetings_count
        from {rollups.meeting_cells(conn, f)} m
        where m.meeting_date between :start and :end and {meeting_scope("m", f)}
        group by m.unit_code
    )
    select u.unit_code, u.name as unit_name,
           coalesce(h.meetings_count, 0) as meetings_count,
           fte.avg_filled_fte, coalesce(fte.staffing_months_count, 0) as staffing_months_count,
           cast(:months as double) as period_months,
           coalesce(h.meetings_count, 0) / nullif(fte.avg_filled_fte, 0) / :months as workload
    from units u
    left join held h on h.unit_code = u.unit_code
    left join fte on fte.unit_code = u.unit_code
    where {in_list("units", "u.unit_code")} and (h.unit_code is not null or fte.unit_code is not null)
    order by u.unit_code
    """
    return (yield sql, {**f.params(), "months": period_months(f)})


@reads
def communities_per_liaison(conn: Connection, f: Filters) -> Reads[pd.DataFrame]:
    """One row per unit of the responsible liaisons of the active communities in scope (the
    Coverage page's scope), plus one row with unit_code null for communities with no liaison.

    communities_per_liaison = communities whose responsible staff member is still serving at
    end of period ÷ distinct such staff. Communities whose liaison left before the period's
    end are counted apart (`liaison_left_count`): they need reassigning, nobody carries them.
    """
    sql = f"""
    with {rollups.scoped_communities_cte(conn)},
    -- one row per unit × responsible staff member (null: no liaison) × whether they still serve:
    -- how many active communities in scope they carry (one pass; a count(distinct) beside the
    -- counts made DuckDB group the communities twice)
    carried as (
        select c.responsible_unit as unit_code, c.responsible_staff_id,
               c.responsible_staff_id is not null and c.responsible_start_date <= :end
                   and (c.responsible_end_date is null or c.responsible_end_date >= :end) as is_serving,
               count(*) as communities
        from scoped_communities c
        group by all
    )
    select a.unit_code, u.name as unit_name,
           cast(sum(a.communities) as bigint) as communities_count,
           cast(coalesce(sum(a.communities) filter (where a.is_serving), 0) as bigint) as served_communities_count,
           count(*) filter (where a.is_serving) as liaisons_count,
           sum(a.communities) filter (where a.is_serving)
               / nullif(count(*) filter (where a.is_serving), 0) as communities_per_liaison,
           cast(coalesce(sum(a.communities) filter (where a.responsible_staff_id is not null and not a.is_serving), 0)
               as bigint) as liaison_left_count
    from carried a
    left join units u on u.unit_code = a.unit_code
    group by a.unit_code, u.name
    order by a.unit_code is null, a.unit_code
    """
    return (yield sql, {**f.params(), "as_of": f.end})


ROSTER_COLUMNS = [
    "display_name",
    "title",
    "unit_name",
    "division_name",
    "start_date",
    "end_date",
    "is_cit_trained",
    "status",
]


@dataclass(frozen=True)
class RosterPage:
    rows: pd.DataFrame  # ROSTER_COLUMNS, one row per staff member on the page
    total: int  # staff listed over all pages (serving, plus former with include_former)
    serving: int  # of them, serving at the end of the period
    page: int  # 1-based, clamped to the last page
    pages: int


def _roster_rows(conn: Connection, f: Filters, include_former: bool, limit: int, offset: int) -> pd.DataFrame:
    """Rows `offset + 1`… of the roster in its order, at most `limit`, with `total_count` and
    `serving_count` (over every listed person) on each row. An offset past the end is moved back to
    the start of the last page."""
    if int(limit) < 1:
        raise ValueError("limit must be a positive number")
    sql = f"""
    with listed as (
        -- one row per staff member serving at the end (and, with include_former, who left before it)
        select st.staff_id, st.display_name, st.title, u.name as unit_name, d.name as division_name,
               st.start_date, st.end_date, st.is_cit_trained,
               case when st.end_date is null or st.end_date >= :end then 'serving' else 'left' end as status
        from staff st
        join units u on u.unit_code = st.unit_code
        join patrol_divisions d on d.division_code = st.division_code
        where st.start_date <= :end
          and (:include_former or st.end_date is null or st.end_date >= :end)
          and {in_list("units", "st.unit_code")} and {in_list("divisions", "st.division_code")}
    ),
    counts as (
        select count(*) as total_count, count(*) filter (where status = 'serving') as serving_count
        from listed
    )
    -- one row per staff member on the page (a top-N, see scope.page_of: a window over everyone
    -- listed took 0.7 s at L's 49k staff)
    select * exclude (row_no) from ({page_of("listed", "unit_name, division_name, display_name, staff_id", "counts")}
    )
    order by row_no
    """
    params = {**f.params(), "include_former": bool(include_former), **page_params(limit, offset)}
    return read_frame(conn, sql, params)


def roster_page(
    conn: Connection,
    f: Filters,
    include_former: bool = False,
    *,
    page: int = 1,
    page_size: int = ROSTER_PAGE_SIZE,
) -> RosterPage:
    """One page of the roster: staff in the units and divisions in scope serving at end of period
    (plus, with include_former, those who left before it; people who start later are left out), by
    unit, division and name, with how many are listed and serving in all."""
    if not 1 <= int(page_size) <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    page_size = int(page_size)
    df = _roster_rows(conn, f, include_former, page_size, (max(1, int(page)) - 1) * page_size)
    total = int(df["total_count"].iloc[0]) if len(df) else 0
    serving = int(df["serving_count"].iloc[0]) if len(df) else 0
    pages = max(1, math.ceil(total / page_size))
    return RosterPage(
        rows=df[ROSTER_COLUMNS].reset_index(drop=True),
        total=total,
        serving=serving,
        page=min(max(1, int(page)), pages),
        pages=pages,
    )


def roster(
    conn: Connection, f: Filters, include_former: bool = False, *, cap: int = EXPORT_CAP
) -> pd.DataFrame:
    """The roster's first `cap` rows in its order (the CSV a user asks for; never part of a rerun)."""
    if int(cap) < 1:
        raise ValueError("cap must be a positive number")
    return _roster_rows(conn, f, include_former, int(cap), 0)[ROSTER_COLUMNS]
