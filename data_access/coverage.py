"""Queries behind the Coverage page: which communities have we not met lately?

Days since last contact and cadence status come from `scope.COMMUNITY_STATUS_CTE` (as
`rollups.community_status_cte`)
(SPEC §3), evaluated at the end of the period. The grid applies the same cadence
thresholds to each patrol division separately; the coverage-rate series applies the
same "on track" rule at a series of as-of dates in one query. Follow-ups are scoped
through the meeting that raised them (community, division, lead's unit), like the
Overview tile.

Rows: the worklist reaches Python a page at a time (`cadence_worklist`, ordered and paged in SQL, a
top-N, with its total counted beside it); only `cadence_worklist_export`, run when a user asks for the file,
reads more, up to `EXPORT_CAP` rows.

Speed: last contacts come from the import-time roll-up `contact_spells` and follow-ups from
`follow_up_facts` (data_access.rollups), not from every meeting: the same rows and numbers;
tests/data_access/test_rollups.py checks each function against the raw-table version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

from data_access import rollups
from data_access.db import Reads, read_frame, reads
from data_access.filters import Filters
from data_access.scope import in_list, meeting_scope, page_of, page_params

STATUSES = ("on track", "due", "overdue", "never met")
GRAINS = ("week", "month")
AGE_BUCKETS = ("0-30 days", "31-60 days", "61-90 days", "over 90 days")
GRID_PAGE_SIZE = 40
FOLLOW_UP_PAGE_SIZE = 200
WORKLIST_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1_000
EXPORT_CAP = 50_000  # as the meeting log's export
MAX_SEARCH_LEN = 200

# Most overdue first: never met, then days since ÷ target (descending); name breaks ties.
STALEST_FIRST = (
    "cadence_status = 'never met' desc, days_since_contact * 1.0 / target_cadence_days desc nulls last, "
    "name, community_id"
)


def _params(f: Filters, **extra: Any) -> dict[str, Any]:
    return {**f.params(), "as_of": f.end, **extra}


# One row of counts over rows shaped like scope.COMMUNITY_STATUS_CTE's community_status: status_0…
# the communities per STATUSES (status_counts_of reads them back).
STATUS_COUNT_COLUMNS = ", ".join(
    f"count(*) filter (where cadence_status = '{s}') as status_{i}" for i, s in enumerate(STATUSES)
)


def status_counts_of(row: pd.Series) -> dict[str, int]:
    """The STATUS_COUNT_COLUMNS of a result row, by status (every status present, 0 when none)."""
    return {s: int(row[f"status_{i}"]) for i, s in enumerate(STATUSES)}


def status_counts(conn: Connection, f: Filters) -> dict[str, int]:
    """Active communities in scope by cadence status at end of period (every status present, 0 when none)."""
    sql = f"""
    with {rollups.community_status_cte(conn, f)}
    -- one row: the communities per cadence status
    select {STATUS_COUNT_COLUMNS}
    from community_status
    """
    return status_counts_of(read_frame(conn, sql, _params(f)).iloc[0])


@dataclass(frozen=True)
class WorklistPage:
    rows: pd.DataFrame  # WORKLIST_COLUMNS, one row per community on the page, most overdue first
    total: int  # communities matching the filters and the name search (all pages)
    page: int  # 1-based, clamped to the last page
    pages: int


WORKLIST_COLUMNS = [
    "community_id",
    "name",
    "kind",
    "division_code",
    "division_name",
    "target_cadence_days",
    "last_contact_date",
    "days_since_contact",
    "cadence_ratio",
    "cadence_status",
    "responsible_staff_id",
    "responsible_name",
    "liaison_left_date",
]


def like_pattern(text: str) -> str:
    """A case-insensitive 'contains' pattern with the user's %, _ and \\ taken literally."""
    text = text.strip()[:MAX_SEARCH_LEN]
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@reads
def _worklist_rows(conn: Connection, f: Filters, search: str, limit: int, offset: int) -> Reads[pd.DataFrame]:
    """Rows `offset + 1`… of the worklist (communities whose name contains `search`), at most `limit`,
    with `total_count` (every matching community) on each row. An offset past the end is moved back
    to the start of the last page, so rows come back whenever any community matches."""
    if int(limit) < 1:
        raise ValueError("limit must be a positive number")
    text = (search or "").strip()
    matches = "cs.name ilike :pattern escape '\\'" if text else "true"
    sql = f"""
    with {rollups.community_status_cte(conn, f)},
    -- one row per active community in scope whose name matches
    matching as materialized (
        select cs.* from community_status cs where {matches}
    ),
    counts as (select count(*) as total_count from matching),
    -- the page (a top-N, see scope.page_of)
    page as ({page_of("matching", STALEST_FIRST, "counts")}
    )
    -- one row per community on the page
    select cs.community_id, cs.name, cs.kind, cs.division_code, d.name as division_name,
           cs.target_cadence_days, cs.last_contact_date, cs.days_since_contact,
           cs.days_since_contact * 1.0 / cs.target_cadence_days as cadence_ratio,
           cs.cadence_status, cs.responsible_staff_id, cs.responsible_name,
           case when cs.responsible_end_date <= :as_of then cs.responsible_end_date end as liaison_left_date,
           cs.total_count
    from page cs
    left join patrol_divisions d on d.division_code = cs.division_code
    order by cs.row_no
    """
    params = _params(f, pattern=like_pattern(text), **page_params(limit, offset))
    return (yield sql, params)


@reads
def cadence_worklist(
    conn: Connection, f: Filters, *, search: str = "", page: int = 1, page_size: int = WORKLIST_PAGE_SIZE
) -> Reads[WorklistPage]:
    """One page of the cadence worklist: one row per active community in scope at end of period whose
    name contains `search` (case-insensitive, literal), most overdue first (never met, then days since
    ÷ target, then name), with how many communities match in all. A page past the end is clamped.

    `liaison_left_date` is set when the responsible staff member's service ended on or before the end.
    """
    if not 1 <= int(page_size) <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    page_size = int(page_size)
    df = yield from _worklist_rows.reads(conn, f, search, page_size, (max(1, int(page)) - 1) * page_size)
    total = int(df["total_count"].iloc[0]) if len(df) else 0
    pages = max(1, math.ceil(total / page_size))
    return WorklistPage(
        rows=df[WORKLIST_COLUMNS].reset_index(drop=True),
        total=total,
        page=min(max(1, int(page)), pages),
        pages=pages,
    )


def cadence_worklist_export(
    conn: Connection, f: Filters, *, search: str = "", cap: int = EXPORT_CAP
) -> pd.DataFrame:
    """The worklist's first `cap` rows in its order (the CSV a user asks for; never part of a rerun)."""
    if int(cap) < 1:
        raise ValueError("cap must be a positive number")
    return _worklist_rows(conn, f, search, int(cap), 0)[WORKLIST_COLUMNS]


def _cell_contacts(conn: Connection, f: Filters) -> str:
    """SELECT community_id, division_code, last_contact_date: the last meeting on or before :as_of
    with each community of the grid's `page` in each division in scope it was met in."""
    if f.communities:  # the chosen communities' meetings alone (rollups.selected_meetings)
        return f"""
        select m.community_id, m.division_code, max(m.meeting_date) as last_contact_date
        from {rollups.selected_meetings(conn)} and m.meeting_date <= :as_of
          and m.community_id in (select community_id from page)
        group by m.community_id, m.division_code"""
    # the spell holding :as_of in each community × division: its contact is the last on or before it
    return f"""
        select sp.community_id, sp.division_code, sp.contact_date as last_contact_date
        from {rollups.source(conn, "contact_spells")} sp
        where sp.contact_date <= :as_of and sp.next_contact_date > :as_of
          and sp.community_id in (select community_id from page)
          and {in_list("divisions", "sp.division_code")}"""


@reads
def contact_grid(
    conn: Connection, f: Filters, *, limit: int = GRID_PAGE_SIZE, offset: int = 0
) -> Reads[pd.DataFrame]:
    """One row per community × patrol division in scope: days since the last meeting with that
    community held in that division, on or before the end of the period.

    Communities come in worklist order (most overdue first), `limit` of them from `offset`.
    `is_expected` marks cells where the community should be met: its home division, or every
    division for a citywide community; `cell_status` is null elsewhere (no cadence applies there).
    """
    sql = f"""
    with {rollups.community_status_cte(conn, f)},
    -- the page's communities: ORDER BY with LIMIT (a top-N), then numbered (:offset + 1, ...)
    page as (
        select p.*, :offset + row_number() over (order by {STALEST_FIRST}) as rank_no
        from (select * from community_status order by {STALEST_FIRST} limit :limit offset :offset) p
    ),
    divisions as (
        select d.division_code, d.name as division_name
        from patrol_divisions d
        where {in_list("divisions", "d.division_code")}
    ),
    -- one row per community × division with any meeting on or before the end
    cell_contact as ({_cell_contacts(conn, f)}
    ),
    cells as (
        select p.rank_no, p.community_id, p.name, p.division_code as home_division_code,
               p.target_cadence_days, p.cadence_status as community_status,
               p.days_since_contact as community_days_since,
               d.division_code, d.division_name, cc.last_contact_date,
               date_diff('day', cc.last_contact_date, cast(:as_of as date)) as days_since_contact,
               (p.division_code is null or p.division_code = d.division_code) as is_expected
        from page p
        cross join divisions d
        left join cell_contact cc on cc.community_id = p.community_id and cc.division_code = d.division_code
    )
    select *,
           -- SPEC §3 cadence thresholds, applied to this division's contact only
           case
               when not is_expected then null
               when last_contact_date is null then 'never met'
               when days_since_contact <= target_cadence_days then 'on track'
               when days_since_contact <= 1.5 * target_cadence_days then 'due'
               else 'overdue'
           end as cell_status
    from cells
    order by rank_no, division_name
    """
    return (yield sql, _params(f, limit=int(limit), offset=int(offset)))


@reads
def coverage_rate_over_time(conn: Connection, f: Filters, *, grain: str = "week") -> Reads[pd.DataFrame]:
    """One row per as-of date: each week end (Sunday) or month end in the period, plus the period's
    last day; the share of active communities in scope on track at that date.

    Communities in scope are today's active ones (the data keeps no history of the active flag).
    """
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    # A community is on track at D when D is at most its cadence after its last contact on or
    # before D. Between two contacts (a spell) that holds from the contact until the cadence runs
    # out or the next contact, whichever is first: one run of days per spell, and a community's
    # runs never overlap. So the on-track count at D is the number of runs holding D: +1 where a
    # run starts, -1 the day after it ends, summed up to D. That reads each spell once instead of
    # evaluating every community at every week end (6.8k x 125 at M over all time).
    if f.communities or f.divisions or f.units:
        on_track = f"""
    -- the days each contact keeps its community on track (divisions in scope), within the period
    runs as (
        select greatest(sp.contact_date, cast(:start as date)) as first_day,
               {rollups.RUN_LAST_DAY} as last_day
        from {rollups.community_spells(conn, f)} sp
        join scoped_communities c on c.community_id = sp.community_id
        where sp.next_contact_date > :start and sp.contact_date <= :end
          and c.target_cadence_days is not null
          and sp.contact_date + c.target_cadence_days >= :start
    ),
    changes as (
        select day, sum(delta) as delta
        from (
            select first_day as day, 1 as delta from runs
            union all
            select last_day + 1 as day, -1 as delta from runs where last_day < :end
        )
        group by day
    ),
    on_track as (
        select day, sum(delta) over (order by day rows between unbounded preceding and current row) as n
        from changes
    )"""
    else:  # every active community: the runs' changes per day are a roll-up, summed from the start
        on_track = f"""
    on_track as (
        select day, sum(delta) over (order by day rows between unbounded preceding and current row) as n
        from {rollups.source(conn, "coverage_run_changes")}
        where day <= :end
    )"""
    sql = f"""
    with {rollups.scoped_communities_cte(conn)},
    as_of_dates as (
        select cast(t.d as date) as as_of_date
        from range(cast(:start as timestamp), cast(:end as timestamp) + interval 1 day, interval 1 day) t(d)
        where cast(t.d as date) = cast(:end as date)
           or (:grain = 'week' and dayofweek(t.d) = 0)
           or (:grain = 'month' and cast(t.d as date) = last_day(cast(t.d as date)))
    ),{on_track}
    select a.as_of_date,
           a.as_of_date = cast(:end as date) and not (
               (:grain = 'week' and dayofweek(a.as_of_date) = 0)
               or (:grain = 'month' and a.as_of_date = last_day(a.as_of_date))
           ) as is_partial,
           n.communities_count,
           cast(coalesce(o.n, 0) as bigint) as on_track_count,
           coalesce(o.n, 0) * 1.0 / n.communities_count as coverage_rate
    from as_of_dates a
    asof left join on_track o on a.as_of_date >= o.day
    cross join (select count(*) as communities_count from scoped_communities) n
    where n.communities_count > 0
    order by a.as_of_date
    """
    return (yield sql, _params(f, grain=grain))


WITHOUT_LIAISON_PAGE_SIZE = 25
WITHOUT_LIAISON_COLUMNS = [
    "community_id",
    "name",
    "kind",
    "division_name",
    "reason",
    "former_liaison",
    "liaison_left_date",
    "cadence_status",
    "days_since_contact",
]


@dataclass(frozen=True)
class WithoutLiaisonPage:
    rows: pd.DataFrame  # WITHOUT_LIAISON_COLUMNS, one row per community on the page
    total: int  # communities in scope without a serving liaison (all pages)
    none_assigned: int  # of them, those with nobody assigned (the rest: their liaison left)
    page: int  # 1-based, clamped to the last page
    pages: int


@reads
def _without_liaison_rows(conn: Connection, f: Filters, limit: int, offset: int) -> Reads[pd.DataFrame]:
    """Rows `offset + 1`… of the communities without a serving liaison in their order (nobody
    assigned first, then stalest first), at most `limit`, with `total_count` and
    `none_assigned_count` on each row, and `status_0`… the communities in scope per STATUSES
    (one row of nulls but those when the list is empty); an offset past the end is moved back to
    the last page."""
    if int(limit) < 1:
        raise ValueError("limit must be a positive number")
    sql = f"""
    with {rollups.community_status_cte(conn, f)},
    status as materialized (select * from community_status),
    -- one row: the communities in scope per cadence status
    statuses as (select {STATUS_COUNT_COLUMNS} from status),
    -- one row per community lacking a serving liaison: none assigned, or their service ended
    lacking as materialized (
        select cs.*, case when cs.responsible_staff_id is null then 'none assigned' else 'liaison left' end
                   as reason
        from status cs
        where cs.responsible_staff_id is null or cs.responsible_end_date <= :as_of
    ),
    counts as (
        select count(*) as total_count, count(*) filter (where reason = 'none assigned') as none_assigned_count
        from lacking
    ),
    -- the page (a top-N, see scope.page_of)
    page as ({page_of("lacking", f"responsible_staff_id is null desc, {STALEST_FIRST}", "counts")}
    ),
    listed as (
        select p.row_no, p.community_id, p.name, p.kind, d.name as division_name, p.reason,
               p.responsible_name as former_liaison,
               case when p.responsible_staff_id is not null then p.responsible_end_date end as liaison_left_date,
               p.cadence_status, p.days_since_contact, p.total_count, p.none_assigned_count
        from page p
        left join patrol_divisions d on d.division_code = p.division_code
    )
    select l.* exclude (row_no), s.*
    from statuses s
    left join listed l on true
    order by l.row_no
    """
    return (yield sql, _params(f, **page_params(limit, offset)))


def communities_without_liaison(
    conn: Connection, f: Filters, *, page: int = 1, page_size: int = WITHOUT_LIAISON_PAGE_SIZE
) -> WithoutLiaisonPage:
    """One page of the active communities in scope with no responsible liaison at end of period
    (none assigned, or the assigned staff member's service ended on or before it): nobody assigned
    first, then most overdue first, with how many there are in all. A page past the end is clamped."""
    return coverage_status(conn, f, page=page, page_size=page_size)[1]


@reads
def coverage_status(
    conn: Connection, f: Filters, *, page: int = 1, page_size: int = WITHOUT_LIAISON_PAGE_SIZE
) -> Reads[tuple[dict[str, int], WithoutLiaisonPage]]:
    """status_counts and a page of communities_without_liaison (the same values) from one
    statement: every community's status at the end of the period is worked out once for both."""
    if not 1 <= int(page_size) <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    page_size = int(page_size)
    df = yield from _without_liaison_rows.reads(conn, f, page_size, (max(1, int(page)) - 1) * page_size)
    counts = status_counts_of(df.iloc[0])
    df = df[df["community_id"].notna()]
    total = int(df["total_count"].iloc[0]) if len(df) else 0
    pages = max(1, math.ceil(total / page_size))
    return counts, WithoutLiaisonPage(
        rows=df[WITHOUT_LIAISON_COLUMNS].reset_index(drop=True),
        total=total,
        none_assigned=int(df["none_assigned_count"].iloc[0]) if len(df) else 0,
        page=min(max(1, int(page)), pages),
        pages=pages,
    )


def communities_without_liaison_export(
    conn: Connection, f: Filters, *, cap: int = EXPORT_CAP
) -> pd.DataFrame:
    """The list's first `cap` rows in its order (the CSV a user asks for; never part of a rerun)."""
    if int(cap) < 1:
        raise ValueError("cap must be a positive number")
    df = _without_liaison_rows(conn, f, int(cap), 0)
    return df[df["community_id"].notna()][WITHOUT_LIAISON_COLUMNS].reset_index(drop=True)


@reads
def follow_ups_at_end(
    conn: Connection, f: Filters
) -> Reads[tuple[dict[str, float | int | None], pd.DataFrame]]:
    """The follow-ups of meetings in scope, from one statement: the summary (open at end of period,
    their median age, and the share closed within 30 days among those opened in the period at
    least 30 days before its end, with its n) and the ageing (one row per AGE_BUCKETS bucket, all
    four, zero when empty: the open ones by days open)."""
    is_open = "(closed_date is null or closed_date > :end)"  # not closed by the end
    age = "date_diff('day', opened_date, cast(:end as date))"
    bounds = ((None, 30), (30, 60), (60, 90), (90, None))  # AGE_BUCKETS: days open, (low, high]
    by_bucket = ", ".join(
        f"count(*) filter (where {is_open}"
        + (f" and {age} > {low}" if low is not None else "")
        + (f" and {age} <= {high}" if high is not None else "")
        + f") as bucket_{i}"
        for i, (low, high) in enumerate(bounds)
    )
    sql = f"""
    with scoped as (
        -- every row counted below has open_until >= :start (open at the end, or opened in the
        -- period and not closed before it was opened: an import rejects that), and the facts are
        -- stored by open_until: the follow-ups closed before the period are skipped unread
        select fu.opened_date, fu.closed_date
        from {rollups.source(conn, "follow_up_facts")} fu
        where fu.opened_date <= :end and fu.open_until >= :start and {meeting_scope("fu", f)}
    )
    select
        count(*) filter (where {is_open}) as open_count,
        median({age}) filter (where {is_open}) as median_age_days,
        count(*) filter (
            where opened_date >= :start and opened_date <= cast(:end as date) - 30
        ) as eligible_count,
        count(*) filter (
            where opened_date >= :start and opened_date <= cast(:end as date) - 30
              and closed_date is not null and date_diff('day', opened_date, closed_date) <= 30
        ) as closed_within_30_count,
        {by_bucket}
    from scoped
    """
    row = (yield sql, f.params()).iloc[0]
    eligible = int(row.eligible_count)
    summary = {
        "open_count": int(row.open_count),
        "median_age_days": None if pd.isna(row.median_age_days) else float(row.median_age_days),
        "eligible_count": eligible,
        "closed_within_30_count": int(row.closed_within_30_count),
        "closed_within_30_share": int(row.closed_within_30_count) / eligible if eligible else None,
    }
    ageing = pd.DataFrame(
        {"age_bucket": list(AGE_BUCKETS), "open_count": [int(row[f"bucket_{i}"]) for i in range(len(bounds))]}
    )
    return summary, ageing


def follow_up_summary(conn: Connection, f: Filters) -> dict[str, float | int | None]:
    """follow_ups_at_end's summary."""
    return follow_ups_at_end(conn, f)[0]


def follow_up_ageing(conn: Connection, f: Filters) -> pd.DataFrame:
    """follow_ups_at_end's ageing."""
    return follow_ups_at_end(conn, f)[1]


@reads
def open_follow_up_list(
    conn: Connection, f: Filters, *, limit: int = FOLLOW_UP_PAGE_SIZE, offset: int = 0
) -> Reads[pd.DataFrame]:
    """One row per follow-up open at end of period (a page of them), oldest first."""
    sql = f"""
    -- the page's open follow-ups (a top-N), then their names for these rows only
    with page as (
        select fu.*
        from {rollups.source(conn, "follow_up_facts")} fu
        where fu.opened_date <= :end
          and fu.open_until > :end
          and {meeting_scope("fu", f)}
        order by fu.opened_date, fu.follow_up_id
        limit :limit offset :offset
    )
    -- one row per open follow-up on the page
    select fu.follow_up_id, fu.opened_date,
           date_diff('day', fu.opened_date, cast(:end as date)) as age_days,
           fu.concern_tag, c.name as community_name, d.name as division_name,
           s.display_name as owner_name, fu.meeting_id
    from page fu
    left join communities c on c.community_id = fu.community_id
    left join patrol_divisions d on d.division_code = fu.division_code
    left join staff s on s.staff_id = fu.owner_staff_id
    order by fu.opened_date, fu.follow_up_id
    """
    return (yield sql, {**f.params(), "limit": int(limit), "offset": int(offset)})
