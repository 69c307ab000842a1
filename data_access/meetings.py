"""Queries behind the Meetings page: how often are we meeting, with whom, and by whom?

Every function applies the global filters through `scope.meeting_scope` (community,
meeting's patrol division, meeting's unit = the lead's unit) and the period
(meeting date between :start and :end), aggregates in SQL and returns a small frame.
Only identifiers from the allowlists below are spliced into SQL; user values
(search text, page, sizes) always travel as bind parameters.

Periods at the edges: a week or month that the filter period cuts (e.g. the
period starts on a Wednesday) is returned with `days_in_period < period_days` and
`is_partial`, so charts can label it instead of showing it as a slump.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlalchemy.engine import Connection

from data_access import rollups, stats
from data_access.db import Reads, read_frame, read_value, reads
from data_access.filters import Filters
from data_access.kpi import Kpi, prior_unrecorded, without_prior
from data_access.scope import meeting_scope
from data_access.tables import MEETING_TYPES

GRAINS = ("week", "month")
SPLITS = ("unit", "type")
# split -> the meetings column it groups by
SPLIT_COLUMNS = {"unit": "m.unit_code", "type": "m.meeting_type"}

MEETING_TYPE_LABELS: dict[str, str] = {
    "liaison_meeting": "Liaison meeting",
    "neighborhood_watch": "Neighborhood watch",
    "business_association": "Business association",
    "faith_leaders": "Faith leaders",
    "listening_session": "Listening session",
    "education_crime_prevention": "Education / crime prevention",
    "problem_solving_follow_up": "Problem-solving follow-up",
    "community_event": "Community event",
}
assert set(MEETING_TYPE_LABELS) == set(MEETING_TYPES)

# The meeting log: sort key -> SQL expression (the only sort columns accepted).
LOG_SORTS: dict[str, str] = {
    "date": "m.meeting_date {dir}, m.start_time {dir}",
    "community": "c.name {dir}",
    "organization": "o.name {dir}",
    "division": "d.name {dir}",
    "type": "m.meeting_type {dir}",
    "unit": "m.unit_code {dir}",
    "lead": "s.display_name {dir}",
    "residents": "m.residents_count {dir}",
    "officers": "m.officers_count {dir}",
}
# the lookup a sort key needs joined before the top-N step (the rest are joined for the page only)
LOG_SORT_JOINS: dict[str, str] = {
    "community": "join communities c on c.community_id = m.community_id",
    "organization": "left join organizations o on o.org_id = m.org_id",
    "division": "left join patrol_divisions d on d.division_code = m.division_code",
    "lead": "left join staff s on s.staff_id = m.lead_staff_id",
}
LOG_SORT_LABELS: dict[str, str] = {
    "date": "Date",
    "community": "Community",
    "organization": "Organization",
    "division": "Patrol division",
    "type": "Meeting type",
    "unit": "Unit",
    "lead": "Lead",
    "residents": "Residents",
    "officers": "Officers",
}
LOG_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
EXPORT_CAP = 50_000
MAX_SEARCH_LEN = 200
HEATMAP_MAX_DAYS = 7 * 104  # two years of weeks; longer periods show their last two years
MAX_CONCERN_TAGS = 12  # further tags are folded into OTHER_TAGS
OTHER_TAGS = "(other tags)"
MAX_STAFF_ROWS = 500


def type_label(code: str) -> str:
    return MEETING_TYPE_LABELS.get(code, code.replace("_", " ").capitalize())


def _grain(grain: str) -> str:
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; use one of {GRAINS}")
    return grain


def _periods_cte(grain: str) -> str:
    """One row per week (ISO, Monday first) or calendar month touching [:start, :end], with the days
    of it inside the filter period."""
    g = _grain(grain)
    return f"""
    periods as (
        select cast(p as date) as period_start,
               cast(p + interval 1 {g} - interval 1 day as date) as period_end,
               date_diff('day', greatest(cast(p as date), cast(:start as date)),
                         least(cast(p + interval 1 {g} - interval 1 day as date), cast(:end as date))) + 1
                   as days_in_period,
               date_diff('day', cast(p as date), cast(p + interval 1 {g} as date)) as period_days
        from generate_series(date_trunc('{g}', cast(:start as date)), cast(:end as date), interval 1 {g}) t(p)
    )"""


# -- headline tiles ---------------------------------------------------------------------------------


@reads
def meeting_kpis(conn: Connection, f: Filters) -> Reads[dict[str, Kpi]]:
    """Meetings held, residents reached and mean attendance, each with the prior period and change z.

    Counts use the Poisson z; mean attendance the z of a difference in means (sd of residents per meeting).
    """
    p = f.prior()
    n, total, sq = (
        f"cast(sum(m.{c}) as bigint)" for c in ("meetings_count", "residents_sum", "residents_sq")
    )
    sql = f"""
    -- one row per period (current, prior); the sample sd of residents per meeting from exact sums
    select m.meeting_date >= :start as is_current,
           cast({n} as bigint) as meetings_count,
           cast(coalesce({total}, 0) as bigint) as residents_count,
           {rollups.sample_sd(n, total, sq)} as residents_sd
    from {rollups.meeting_cells(conn, f)} m
    where m.meeting_date between :prior_start and :end and {meeting_scope("m", f)}
    group by 1
    """
    df = yield sql, {**f.params(), "prior_start": p.start}
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
        "meetings_held": Kpi("meetings_held", n1, n0, stats.poisson_z(n1, n0)),
        "residents_reached": Kpi("residents_reached", res1, res0, stats.poisson_z(res1, res0)),
        "mean_attendance": Kpi("mean_attendance", mean1, mean0, mean_change),
    }
    if prior_unrecorded(f, rollups.records_begin(conn, "meetings")):
        return {name: without_prior(k) for name, k in kpis.items()}
    return kpis


# -- frequency over time ----------------------------------------------------------------------------


@reads
def meetings_over_time(
    conn: Connection, f: Filters, grain: str = "week", split: str = "unit"
) -> Reads[pd.DataFrame]:
    """One row per week/month touching the period × unit or meeting type seen in it (zeros included):
    meetings held and residents reached, with how many of the period's days fall inside the filter."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")
    g = _grain(grain)
    label = "u.name" if split == "unit" else "s.split_value"
    label_join = "left join units u on u.unit_code = s.split_value" if split == "unit" else ""
    sql = f"""
    with {_periods_cte(g)},
    counts as (
        -- one row per period per split value with meetings
        select cast(date_trunc('{g}', m.meeting_date) as date) as period_start,
               {SPLIT_COLUMNS[split]} as split_value,
               cast(sum(m.meetings_count) as bigint) as meetings_count,
               cast(sum(m.residents_sum) as bigint) as residents_count
        from {rollups.meeting_cells(conn, f)} m
        where m.meeting_date between :start and :end and {meeting_scope("m", f)}
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
    df = yield sql, f.params()
    if split == "type":
        df["split_label"] = df["split_value"].map(type_label)
    return df


# -- with whom ----------------------------------------------------------------------------------------


# A ranking lists its first :top_n rows by counts (descending), then by name. Only the rows counted
# at least as high as the :top_n-th can be listed (the names only break ties), so only they are
# joined to their names: the cut's counts come from the counts alone.
_BY_MEETINGS = ("meetings_count", "residents_count")
_BY_LED = ("led", "residents", "supported")


def _cut_cte(source: str, counts: tuple[str, ...]) -> str:
    """CTE `cut`: the `counts` of the :top_n-th row of `source` in descending order of them (no
    row when `source` has fewer)."""
    return f"""-- the last listed row's counts
    cut as (
        select {", ".join(counts)} from {source}
        order by {", ".join(f"{c} desc" for c in counts)}
        limit 1 offset :cut_offset
    )"""


def _within_cut(alias: str, counts: tuple[str, ...]) -> str:
    """True for a row `alias` counted at least as high as `cut` (joined as k), or when there is no cut."""
    mine, theirs = (", ".join(f"{a}.{c}" for c in counts) for a in (alias, "k"))
    return f"(k.{counts[0]} is null or ({mine}) >= ({theirs}))"


def _cut_params(top_n: int) -> dict[str, int]:
    return {"top_n": top_n, "cut_offset": top_n - 1}


@reads
def meetings_by_community(conn: Connection, f: Filters, top_n: int = 15) -> Reads[pd.DataFrame]:
    """Top `top_n` communities by meetings in the period: meetings, residents, last meeting date, plus
    (on every row) how many communities were met and the meetings across all of them."""
    cells = rollups.meeting_rank_cells(conn, f, "community")
    sql = f"""
    with by_community as materialized (
        -- one row per community met (`entity`: its id or key)
        select m.entity, cast(sum(m.meetings_count) as bigint) as meetings_count,
               cast(sum(m.residents_sum) as bigint) as residents_count, max(m.last_meeting_date) as last_meeting_date
        from {cells.source} m
        where {meeting_scope("m", f)}
        group by 1
        having sum(m.meetings_count) > 0  -- running totals of a long period can cancel out
    ),
    {_cut_cte("by_community", _BY_MEETINGS)},
    named as (
        select b.*, c.community_id, c.name as community_name
        from by_community b
        left join cut k on true
        join {cells.names} c on c.{cells.names_key} = b.entity
        where {_within_cut("b", _BY_MEETINGS)}
    ),
    -- the totals as one aggregate (a window over every community met cost as much as the ranking);
    -- every community of a meeting is in the communities table (an import checks it, never removes one)
    totals as (
        select count(*) as communities_count, sum(meetings_count) as all_meetings_count from by_community
    )
    select b.community_id, b.community_name, b.meetings_count, b.residents_count, b.last_meeting_date,
           t.communities_count, t.all_meetings_count
    from (
        select * from named
        order by meetings_count desc, residents_count desc, community_name, community_id
        limit :top_n
    ) b
    cross join totals t
    order by b.meetings_count desc, b.residents_count desc, b.community_name, b.community_id
    """
    return (yield sql, {**f.params(), **_cut_params(_positive(top_n))})


@reads
def meetings_by_organization(conn: Connection, f: Filters, top_n: int = 15) -> Reads[pd.DataFrame]:
    """Top `top_n` organizations by meetings in the period (meetings with no organization recorded are
    left out of the ranking and counted on every row as `no_org_meetings_count`)."""
    cells = rollups.meeting_rank_cells(conn, f, "org")
    sql = f"""
    with per_org as materialized (
        -- one row per organization met (`entity`: its id or key), and one (null) for the meetings
        -- with none recorded
        select m.entity, cast(sum(m.meetings_count) as bigint) as meetings_count,
               cast(sum(m.residents_sum) as bigint) as residents_count
        from {cells.source} m
        where {meeting_scope("m", f)}
        group by 1
        having sum(m.meetings_count) > 0  -- running totals of a long period can cancel out
    ),
    by_org as (select * from per_org where entity is not null),
    totals as (
        select cast(coalesce(sum(meetings_count), 0) as bigint) as all_meetings_count,
               cast(coalesce(sum(meetings_count) filter (where entity is null), 0) as bigint)
                   as no_org_meetings_count
        from per_org
    ),
    -- (at L over 90 days: 15 and their ties of the 57k organizations met)
    {_cut_cte("by_org", _BY_MEETINGS)},
    named as (
        select b.*, o.org_id, o.name as org_name, o.community_id
        from by_org b
        left join cut k on true
        join {cells.names} o on o.{cells.names_key} = b.entity
        where {_within_cut("b", _BY_MEETINGS)}
    ),
    -- the top organizations first, then their communities' names (for these rows only), and the
    -- count as one aggregate (a window over every organization met cost as much as the ranking)
    top as (
        select * from named
        order by meetings_count desc, residents_count desc, org_name, org_id
        limit :top_n
    )
    -- every organization met is in the organizations table: an import checks a meeting's org_id
    -- against it and never removes a row
    select b.org_id, b.org_name, c.name as community_name, b.meetings_count, b.residents_count,
           (select count(*) from by_org) as orgs_count, t.all_meetings_count, t.no_org_meetings_count
    from top b
    left join communities c on c.community_id = b.community_id
    cross join totals t
    order by b.meetings_count desc, b.residents_count desc, b.org_name, b.org_id
    """
    return (yield sql, {**f.params(), **_cut_params(_positive(top_n))})


# -- by whom -------------------------------------------------------------------------------------------


def _staff_cells(conn: Connection, f: Filters) -> tuple[str, rollups.RankCells]:
    """meetings_by_staff's CTE `cells`: entity (the staff member's id or key), led, residents,
    supported per lead cell and per support cell in scope, and how its entity names the member
    (the lead cells'). With a community selection the chosen meetings are read once (a CTE
    `chosen` before it) for both their leads and their supporting members: at M over all time the
    three reads of meetings_by_community, one per kind of row, took half the statement."""
    if not f.communities:
        lead, support = (rollups.meeting_rank_cells(conn, f, kind) for kind in ("lead", "support"))
        if (lead.names, lead.names_key) != (support.names, support.names_key):
            raise AssertionError("the lead and support cells name staff members alike")
        sql = f"""cells as (
        select m.entity, m.meetings_count as led, m.residents_sum as residents, 0 as supported
        from {lead.source} m
        where {meeting_scope("m", f)}
        union all
        select m.entity, 0, 0, m.meetings_count
        from {support.source} m
        where {meeting_scope("m", f)}
    )"""
        return sql, lead
    sql = f"""chosen as materialized (
        -- one row per meeting in scope
        select m.meeting_date, m.community_id, m.division_code, m.unit_code, m.lead_staff_id,
               m.residents_count, m.other_staff_ids
        from {rollups.meetings(conn, f)} m
        where m.meeting_date between :start and :end and {meeting_scope("m", f)}
    ),
    cells as (
        select m.lead_staff_id as entity, 1 as led, m.residents_count as residents, 0 as supported
        from chosen m
        union all
        select m.staff_id, 0, 0, 1
        from {rollups.SUPPORT_ROWS.format(meetings="chosen")} m
    )"""
    return sql, rollups.RankCells("cells", "staff", "staff_id")


@reads
def meetings_by_staff(conn: Connection, f: Filters) -> Reads[pd.DataFrame]:
    """One row per staff member who led or supported a meeting in scope: meetings led, residents reached
    at them, mean attendance, and meetings supported (listed as other staff, not as lead).
    Most meetings led first; at most MAX_STAFF_ROWS rows."""
    cells_sql, cells = _staff_cells(conn, f)
    sql = f"""
    -- one row per lead cell and per support cell, side by side (one grouping for both)
    with {cells_sql},
    -- one row per staff member who led or supported a meeting in scope (running totals of a long
    -- period can cancel out to zero: such a member led or supported nothing in it)
    people as materialized (
        select entity, cast(sum(led) as bigint) as led, cast(sum(residents) as bigint) as residents,
               cast(sum(supported) as bigint) as supported
        from cells
        group by entity
        having sum(led) > 0 or sum(supported) > 0
    ),
    {_cut_cte("people", _BY_LED)}
    select s.staff_id, s.display_name, s.title, s.unit_code, dv.name as division_name,
           x.led as meetings_led_count, x.residents as residents_count,
           x.residents * 1.0 / nullif(x.led, 0) as mean_attendance, x.supported as meetings_supported_count
    from people x
    left join cut k on true
    join {cells.names} s on s.{cells.names_key} = x.entity
    left join patrol_divisions dv on dv.division_code = s.division_code
    where {_within_cut("x", _BY_LED)}
    order by meetings_led_count desc, residents_count desc, meetings_supported_count desc, s.display_name,
             s.staff_id
    limit :top_n
    """
    return (yield sql, {**f.params(), **_cut_params(MAX_STAFF_ROWS)})


# -- when ----------------------------------------------------------------------------------------------


@reads
def meetings_by_day(conn: Connection, f: Filters) -> Reads[pd.DataFrame]:
    """One row per day of the period (its last two years at most): ISO week start, ISO day of week
    (1 = Monday) and meetings that day (0 when none). Days outside the period have no row."""
    heat_start = max(f.start, f.end - timedelta(days=HEATMAP_MAX_DAYS - 1))
    sql = f"""
    with days as (
        select cast(d as date) as day
        from generate_series(cast(:heat_start as date), cast(:end as date), interval 1 day) t(d)
    ),
    counts as (
        -- one row per day with meetings
        select m.meeting_date as day, cast(sum(m.meetings_count) as bigint) as meetings_count
        from {rollups.meeting_cells(conn, f)} m
        where m.meeting_date between :heat_start and :end and {meeting_scope("m", f)}
        group by 1
    )
    select cast(date_trunc('week', d.day) as date) as week_start, isodow(d.day) as iso_dow, d.day,
           coalesce(c.meetings_count, 0) as meetings_count
    from days d
    left join counts c using (day)
    order by d.day
    """
    return (yield sql, {**f.params(), "heat_start": heat_start})


# -- concerns ------------------------------------------------------------------------------------------


# concerns_over_time's tags per cell: stored distinct in the roll-ups, so one unnest (at M over all
# time 20 -> 13 ms against deduplicating them again) ...
# the folded row's counts; only a database with more distinct tags than MAX_CONCERN_TAGS can have
# rare ones in any filter (without, this part cost about a fifth of the statement: a nested-loop
# test of every cell's tags)
_FOLDED_TAGS = """
        union all
        -- a meeting raising several rare tags counts once in the folded row
        select period_start, :other as concern_tag, cast(sum(meetings_count) as bigint) as meetings_count
        from scoped
        where list_has_any(
            concern_tags, (select coalesce(list(concern_tag), []) from ranked where tag_rank > :max_tags)
        )
        group by 1"""
_RAISED_TAGS = "select period_start, unnest(concern_tags) as concern_tag, meetings_count from scoped"
# ... while a meeting's own list may repeat a tag; most list one, and list_distinct is costly at
# scale, so only lists of two or more pay for it
_RAISED_TAGS_DEDUPLICATED = """
        select period_start, concern_tags[1] as concern_tag, meetings_count
        from scoped
        where len(concern_tags) = 1
        union all
        select period_start, unnest(list_distinct(concern_tags)) as concern_tag, meetings_count
        from scoped
        where len(concern_tags) > 1"""


@reads
def concerns_over_time(conn: Connection, f: Filters, grain: str = "month") -> Reads[pd.DataFrame]:
    """One row per week/month touching the period × concern tag raised in it (zeros included): meetings
    that raised the tag, and all meetings held in that week/month. The MAX_CONCERN_TAGS most raised tags
    are kept; the rest are folded into OTHER_TAGS (a meeting counted once there)."""
    g = _grain(grain)
    if f.communities or rollups.concern_tag_count(conn) > MAX_CONCERN_TAGS:
        counted, params = _concerns_from_tag_sets(conn, f, g), {"max_tags": MAX_CONCERN_TAGS}
    else:
        counted, params = _concerns_per_tag(conn, f, g), {}
    sql = f"""
    with {_periods_cte(g)},
    {counted},
    tags as (
        select concern_tag, sum(meetings_count) as tag_total_count from counts group by 1
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
    return (yield sql, {**f.params(), **params, "other": OTHER_TAGS})


def _concerns_per_tag(conn: Connection, f: Filters, g: str) -> str:
    """concerns_over_time's CTEs `counts` (one row per week/month × tag raised: meetings) and `held`
    (per week/month: meetings held) from the tag roll-ups, where every meeting is counted once per
    tag it raised and once with the tag null; for a filter without a community selection, in a
    database with no tags to fold (at M over all time by month 12.0 -> 6.1 ms against the tag sets)."""
    return f"""per_tag as (
        -- one row per week/month × concern tag raised in it, and one with the tag null: meetings
        select cast(date_trunc('{g}', m.meeting_date) as date) as period_start, m.concern_tag,
               cast(sum(m.meetings_count) as bigint) as meetings_count
        from {rollups.concern_tag_cells(conn, f, by_month=g == "month")} m
        where m.meeting_date between :start and :end and {meeting_scope("m", f)}
        group by 1, 2
    ),
    counts as (select * from per_tag where concern_tag is not null),
    held as (
        select period_start, meetings_count as meetings_held_count from per_tag where concern_tag is null
    )"""


def _concerns_from_tag_sets(conn: Connection, f: Filters, g: str) -> str:
    """concerns_over_time's CTEs `counts` (the MAX_CONCERN_TAGS most raised tags and, when the
    database has more, the folded row) and `held`, from cells that keep each meeting's set of tags:
    the concern set roll-ups, or a community selection's meetings (bind :max_tags)."""
    return f"""scoped as (
        -- meetings (meetings_count of them per cell) with the tags they raised
        select cast(date_trunc('{g}', m.meeting_date) as date) as period_start, m.concern_tags,
               m.meetings_count
        from {rollups.concern_cells(conn, f, by_month=g == "month")} m
        where m.meeting_date between :start and :end and {meeting_scope("m", f)}
    ),
    raised as (
        -- one row per cell per distinct tag its meetings raised
        {_RAISED_TAGS if rollups.concern_tags_distinct(f) else _RAISED_TAGS_DEDUPLICATED}
    ),
    per_tag as (
        select period_start, concern_tag, cast(sum(meetings_count) as bigint) as meetings_count
        from raised
        group by 1, 2
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
        {_FOLDED_TAGS if rollups.concern_tag_count(conn) > MAX_CONCERN_TAGS else ""}
    ),
    held as (
        select period_start, cast(sum(meetings_count) as bigint) as meetings_held_count from scoped group by 1
    )"""


# -- the meeting log ------------------------------------------------------------------------------------


def escape_like(text: str) -> str:
    """Make `text` match literally inside an ILIKE pattern with ESCAPE '\\'."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_params(search: str | None) -> tuple[str, dict[str, object]]:
    """The search predicate (static SQL) and its binds; ('true', {}) when there is no search text.

    Meeting types are matched in Python against their codes and labels (a fixed list), so a
    search for 'crime prevention' or 'problem-solving' finds the type whichever way it is spelt."""
    text = (search or "").strip()[:MAX_SEARCH_LEN]
    if not text:
        return "true", {}
    needle = text.casefold()
    types = [
        code
        for code, label in MEETING_TYPE_LABELS.items()
        if needle in code.casefold() or needle in code.replace("_", " ") or needle in label.casefold()
    ]
    # names are matched on the small lookup tables first, so the meetings scan compares ids, not names
    predicate = r"""(
        coalesce(m.notes, '') ilike :pattern escape '\'
        or list_contains(
            (select coalesce(list(community_id), []) from communities where name ilike :pattern escape '\'),
            m.community_id)
        or list_contains(
            (select coalesce(list(org_id), []) from organizations where name ilike :pattern escape '\'),
            m.org_id)
        or list_contains(cast(:search_types as varchar[]), m.meeting_type)
    )"""
    return predicate, {"pattern": f"%{escape_like(text)}%", "search_types": types}


def _order_by(sort: str, descending: bool) -> str:
    if sort not in LOG_SORTS:
        raise ValueError(f"cannot sort the meeting log by {sort!r}; use one of {sorted(LOG_SORTS)}")
    direction = "desc" if descending else "asc"
    return LOG_SORTS[sort].format(dir=f"{direction} nulls last") + f", m.meeting_id {direction}"


_LOG_FROM = """
    from {meetings} m
    join communities c on c.community_id = m.community_id
    left join organizations o on o.org_id = m.org_id
    left join patrol_divisions d on d.division_code = m.division_code
    left join staff s on s.staff_id = m.lead_staff_id
"""
_LOG_COLUMNS = """
    m.meeting_id, m.meeting_date, m.start_time, c.name as community_name, o.name as org_name,
    d.name as division_name, m.meeting_type, m.unit_code, s.display_name as lead_name,
    m.residents_count, m.officers_count, array_to_string(m.concern_tags, '; ') as concerns, m.notes
"""


@dataclass(frozen=True)
class LogPage:
    rows: pd.DataFrame
    total: int  # meetings matching the filters and search
    page: int  # 1-based, clamped to the last page
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def first_row(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.page_size + 1

    @property
    def last_row(self) -> int:
        return min(self.page * self.page_size, self.total)


def meeting_log_count(conn: Connection, f: Filters, search: str = "") -> int:
    """How many meetings match the filters and the search text."""
    predicate, binds = _search_params(search)
    sql = f"""
    select count(*)
    from {rollups.meetings(conn, f)} m
    where m.meeting_date between :start and :end and {meeting_scope("m", f)} and {predicate}
    """
    return int(read_value(conn, sql, {**f.params(), **binds}))


def _log_window(
    conn: Connection, f: Filters, descending: bool, page: int, page_size: int
) -> tuple[int, date, date]:
    """The log's total and the dates a page sorted by date lies between, for a log without a search
    or a community selection, from the day cells (meeting_days) in one statement. The page ends
    with the (page x page_size)-th meeting from the sorted end, so every meeting on it is dated on
    or after (newest first) or on or before (oldest first) that meeting's day: the rows statement
    reads those days' row groups only, not every meeting of the period (the meetings are stored
    roughly by date). A page past the end gets the whole period."""
    direction, bound = ("desc", "max") if descending else ("asc", "min")
    sql = f"""
    with days as (
        -- one row per day with meetings in scope
        select m.meeting_date as day, cast(sum(m.meetings_count) as bigint) as meetings_count
        from {rollups.meeting_cells(conn, f)} m
        where m.meeting_date between :start and :end and {meeting_scope("m", f)}
        group by 1
    ),
    -- each day with the meetings from the sorted end through it
    reached as (
        select d.day, sum(d.meetings_count) over (order by d.day {direction}) as meetings_through
        from days d
    )
    select (select cast(coalesce(sum(meetings_count), 0) as bigint) from days) as total,
           (select {bound}(day) from reached where meetings_through >= :reach) as bound
    """
    row = read_frame(conn, sql, {**f.params(), "reach": int(page) * int(page_size)}).iloc[0]
    total = int(row["total"])
    if pd.isna(row["bound"]):  # past the end
        return total, f.start, f.end
    day = pd.Timestamp(row["bound"]).date()
    return (total, day, f.end) if descending else (total, f.start, day)


def _log_rows(
    conn: Connection,
    f: Filters,
    search: str,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
    window: tuple[date, date] | None = None,
) -> pd.DataFrame:
    """The log's rows `offset` + 1 .. + `limit`; `window`: the dates they lie between (default:
    the period)."""
    predicate, binds = _search_params(search)
    log_from, log_to = window or (f.start, f.end)
    order_by = _order_by(sort, descending)
    sort_join = LOG_SORT_JOINS[sort] if sort in LOG_SORT_JOINS else ""
    sql = f"""
    with page as (
        -- the page's meetings: DuckDB's top-N sorts the key columns and reads the other columns
        -- for the page's rows alone
        select m.*
        from {rollups.meetings(conn, f)} m
        {sort_join}
        where m.meeting_date between :log_from and :log_to and {meeting_scope("m", f)} and {predicate}
        order by {order_by}
        limit :limit offset :offset
    )
    -- one row per meeting on the page, with the names
    select {_LOG_COLUMNS}
    {_LOG_FROM.format(meetings="page")}
    order by {order_by}
    """
    params = {**f.params(), **binds, "limit": limit, "offset": offset, "log_from": log_from, "log_to": log_to}
    df = read_frame(conn, sql, params)
    df["meeting_type"] = df["meeting_type"].map(type_label)
    return df


def meeting_log(
    conn: Connection,
    f: Filters,
    search: str = "",
    sort: str = "date",
    descending: bool = True,
    page: int = 1,
    page_size: int = LOG_PAGE_SIZE,
) -> LogPage:
    """One page of the meeting log (one row per meeting matching filters and search), sorted by an
    allowlisted column with meeting_id as tie-breaker, and the total match count. A page past the end
    is clamped to the last page."""
    _order_by(sort, descending)  # reject a bad sort before touching the database
    if not 1 <= int(page_size) <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    window: tuple[date, date] | None = None
    if sort == "date" and not (search or "").strip() and not f.communities:
        total, log_from, log_to = _log_window(conn, f, descending, max(1, int(page)), int(page_size))
        window = (log_from, log_to)
    else:
        total = meeting_log_count(conn, f, search)
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, int(page)), pages)
    rows = _log_rows(conn, f, search, sort, descending, page_size, (page - 1) * page_size, window)
    return LogPage(rows=rows, total=total, page=page, page_size=page_size)


def meeting_log_export(
    conn: Connection,
    f: Filters,
    search: str = "",
    sort: str = "date",
    descending: bool = True,
    cap: int = EXPORT_CAP,
) -> pd.DataFrame:
    """Every meeting matching filters and search in the log's order, at most `cap` rows (the export)."""
    return _log_rows(conn, f, search, sort, descending, _positive(cap), 0)


def _positive(n: int) -> int:
    n = int(n)
    if n < 1:
        raise ValueError("must be a positive number")
    return n
