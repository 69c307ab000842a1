"""Columns and roll-up tables derived at import time, inside the import's transaction.

A meeting's unit is the unit of its lead staff member; it is stored on the meeting so that
unit filters and splits need no join. It is refreshed whenever meetings or staff change, so a
corrected staff file re-labels past meetings too.

Roll-ups (SPEC §2: built at import time for speed; the raw tables stay for drill-down and export).
Each is one SELECT over the raw tables, rebuilt whole after an import of any table it reads,
stored in the order that lets DuckDB's zone maps skip what a query does not need:

- `meeting_days`: one row per day × patrol division × unit × meeting type: meetings, residents
  (sum and sum of squares, so mean and sample sd are exact). No community column: it answers
  meeting questions when no community is selected (with a selection, `meeting_cells` reads
  meetings_by_community instead, with the same columns).
- `meeting_concern_days`: one row per day × patrol division × unit × set of concern tags raised
  (distinct, sorted; the empty set too): meetings. Counting a tag once per meeting, and folding
  rare tags so a meeting counts once, need each meeting's whole set, which this keeps. Also no
  community column (`concern_cells` reads meetings_by_community with a selection).
- `meeting_concern_tag_days`, `meeting_concern_tag_months`: one row per day (calendar month) ×
  patrol division × unit × concern tag: the meetings that raised it, each once; and per day
  (month) × division × unit one row with concern_tag null: every meeting, tagged or not. Enough
  for the concerns chart when no tags are folded (a database with at most
  `meetings.MAX_CONCERN_TAGS` distinct tags) and no community is selected: no set to unnest.
- `community_keys`, `org_keys`, `staff_keys`: the communities, organizations and staff, each row
  numbered 1.. in id order (`community_key`, ...). The rankings' roll-ups below hold these
  integer keys instead of the text ids, and a ranking reads its listed rows' names from here.
- `meeting_rank_rows`: one row per meeting, with its community, organization and lead as keys
  (date, division, unit, community id, keys, residents), stored by date: the rankings' meetings
  without a community selection.
- `meeting_concern_months`, `meeting_community_months`, `meeting_org_months`,
  `meeting_lead_months`, `meeting_support_months`: per calendar month × division × unit, the
  concern tag sets, and the Meetings page's rankings by community, organization, lead and
  supporting staff member, by key (meetings, residents; a community's last meeting). A period
  reads its whole months from these and the days of a partly covered month from the meetings
  (`month_split`, `meeting_rank_cells`).
- `meeting_community_running`, `meeting_org_running`, `meeting_lead_running`,
  `meeting_support_running`: the same rankings' running totals, one row per month × division ×
  unit × entity from its first month with a meeting on (every month): a period of many whole
  months reads two rows per entity (through its last whole month, less through the month before
  its first) instead of every month's cells. `meeting_<kind>_city_running`: the same per entity
  alone (across divisions and units), read when no division or unit is chosen: far fewer rows
  per month (at L 47k leads instead of 210k lead × division × unit keys).
- `meeting_supports`: one row per meeting × distinct supporting staff member who is not its lead
  (date, community, division, unit, staff id and key), stored by date: the supporting-staff
  ranking's meetings without a community selection.
- `meetings_by_community`: the raw meetings again, every column, stored by community then date:
  with a community selection every meetings query reads these rows instead (only the selected
  communities' row groups), and `meeting_cells` / `concern_cells` make one cell per meeting;
  so do the coverage statements' last contacts and spells (`selected_meetings`), where both
  spell roll-ups, stored by date, would be read whole.
- `contact_spells`: one row per community × division × day it was met, with the next day it was
  met there (9999-12-31 when none). "Last contact on or before D" is the one spell per community
  × division with contact_date <= D < next_contact_date; stored by next_contact_date, so for a
  recent D only the last row groups are read instead of every meeting ever held.
- `community_spells`: the same over every division (one row per community × day it was met
  anywhere, with the next such day), for questions asked without a division filter.
- `coverage_run_changes`: per day, +1 for each spell of an active community that starts
  keeping it on track and -1 for each that stops (its cadence ran out or the next contact):
  the running sum is the number of active communities on track, which the coverage rate over
  time reads when nothing is filtered.
- `community_roster`: each community with its responsible staff member's name, unit and dates:
  the coverage statements' `scoped_communities` without a join with the staff table; and the
  day it was last met (`last_met_date`), its status at any end from the latest meeting on.
- `follow_up_facts`: follow-ups with their meeting's community, division and unit (the filters
  that apply to them) and `open_until` (closed date, or 9999-12-31 while open); stored by
  open_until, so "open at D" (open_until > D) reads only the follow-ups still open then.
- `feedback_days`: one row per day × division × channel: responses and, for trust (respect +
  listen) and safety, the sum and sum of squares. Like meeting_days it has no community column;
  `feedback_cells` reads feedback_day_cells when communities are selected.
- `feedback_topic_days`: one row per day × division × topic tag × whether the response carries a
  comment: responses. Like feedback_days it has no community column.
- `feedback_comments`: the responses that carry a comment (the comment browser's rows), by date.
- `feedback_day_cells` / `feedback_month_cells`: the same sums per day (or calendar month) ×
  community × division × channel; `feedback_score_day_cells` / `feedback_score_month_cells`: the
  same without the channel (fewer rows, for everything but the channel charts); and
  `feedback_topic_day_cells` / `feedback_topic_month_cells`: responses per topic tag (and whether they carry a comment). The small-n rule needs each
  group's n over the period, so these keep the community; `feedback_period_cells` serves a
  period as whole-month cells plus day cells for the partly covered months at its ends. Their
  rows of the *small groups* (`small`, see SMALL_GROUP_SHARE) are stored first, so a statement
  that reads only suppressed groups, all of them small, reads only those row groups.
- `feedback_listing`: the Feedback page's community comparison rows before any period (every
  community, and each division's responses without one), with their group id, names and labels.
- `feedback_score_running`: the score cells' running totals per small-n group × division, one row
  per day with responses and per month's 1st, stored by day: a period of a few months or more
  reads each group's sums as two rows (through its last day, less through the day before its
  first) instead of every cell (`feedback_score_sums`: the Feedback scope's group counts and the
  community comparison). `feedback_score_city_running`: the same per group alone (its divisions
  added up), what a period with no division chosen reads: a third of the rows per day looked up.

Means and standard deviations from these sums equal the raw-table ones up to floating-point
rounding (~1e-15 relative); counts and sums are exact. tests/data_access/test_rollups.py checks
every query that uses them against the raw-table SQL.

A database built before a roll-up existed still works: `source()` then derives the roll-up on
the fly (same columns, same answers, slower) until the next import builds it. Nothing is
written to a live version (db.py): `python -m data_access.rollups` publishes a new version with
the roll-ups built, through the importer's writer lock.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import duckdb
from sqlalchemy.engine import Connection

from data_access.db import read_value
from data_access.filters import Filters, after_whole_months, first_whole_month
from data_access.scope import COMMUNITY_ROSTER_SELECT

FOREVER = "date '9999-12-31'"
T = TypeVar("T")


@dataclass(frozen=True)
class Rollup:
    name: str
    reads: tuple[str, ...]  # raw tables it is derived from
    select: str  # one SELECT over the raw tables
    order_by: str  # physical order: what its queries filter on


# Sums of a cell's responses, stored as BIGINT (a plain sum() is HUGEINT, which DuckDB adds up
# several times slower; these never come near 2^63).
_CELL_SUMS = """count(*) as n,
               cast(sum(f.respect + f.listen) as bigint) as trust_sum,
               cast(sum((f.respect + f.listen) * (f.respect + f.listen)) as bigint) as trust_sq,
               cast(sum(f.safety) as bigint) as safety_sum,
               cast(sum(f.safety * f.safety) as bigint) as safety_sq"""

FEEDBACK_SUMS = ("n", "trust_sum", "trust_sq", "safety_sum", "safety_sq")  # _CELL_SUMS' columns

_HAS_COMMENT = "coalesce(trim(f.comment) <> '', false)"
# ... and how many of them carry a comment (the comment browser's monthly counts, see
# feedback.comment_page), in the cells the Feedback page's scope reads by channel
_CELL_SUMS_AND_COMMENTS = f"""{_CELL_SUMS},
               count(*) filter (where {_HAS_COMMENT}) as comments"""

# One row per meeting × distinct staff member listed as supporting it who is not its lead (most
# meetings list one or none, and list_distinct is costly at scale, so only longer lists pay for it).
SUPPORT_ROWS = """(
        select m.meeting_date, m.community_id, m.division_code, m.unit_code, m.other_staff_ids[1] as staff_id
        from {meetings} m
        where len(m.other_staff_ids) = 1 and m.other_staff_ids[1] <> m.lead_staff_id
        union all
        select u.meeting_date, u.community_id, u.division_code, u.unit_code, u.staff_id
        from (
            -- unnest in the select list: a filter on the meetings' columns is pushed below it
            -- (a lateral unnest is planned over the whole table first)
            select m.meeting_date, m.community_id, m.division_code, m.unit_code, m.lead_staff_id,
                   unnest(list_distinct(m.other_staff_ids)) as staff_id
            from {meetings} m
            where len(m.other_staff_ids) > 1
        ) u
        where u.staff_id <> u.lead_staff_id
    )"""


def _meeting_months(
    name: str, columns: str, rows: str = "meetings", reads: tuple[str, ...] = ("meetings", "staff")
) -> Rollup:
    """A roll-up of the meetings (or `rows`, a FROM item with their date, division and unit, as `m`)
    per calendar month × division × unit × whatever `columns` group by (its aggregates summed per
    group); `reads`: the tables `rows` is derived from."""
    return Rollup(
        name,
        reads,
        f"""
        select cast(date_trunc('month', m.meeting_date) as date) as month, m.division_code, m.unit_code,
               {columns}
        from {rows} m
        group by all
        """,
        "month, division_code, unit_code",
    )


def _meeting_running(
    months: Rollup, entity: str, sums: tuple[str, ...], latest: str | None = None, *, citywide: bool = False
) -> Rollup:
    """Running totals of a per-month roll-up (`months`, one of _meeting_months'): one row per month ×
    key (division_code, unit_code and the ranked `entity` column; the entity alone when `citywide`,
    the meeting_<kind>_city_running tables) from the key's first month with a meeting through the
    last month of any, every month (so "through month M" is one row per key): `sums` added up
    through the month, `latest` (a date) the latest through it.

    A period's whole months [A, B) are then the row at the month before B less the row at the
    month before A: two rows per key however many months the period spans."""
    keys = entity if citywide else f"division_code, unit_code, {entity}"
    summed = ", ".join(f"cast(sum(x.{c}) over through as bigint) as {c}" for c in sums)
    zero = ", ".join(f"0 as {c}" for c in sums)
    latest_of_month = f", max({latest}) as {latest}" if latest else ""
    if latest:
        summed += f", max(x.{latest}) over through as {latest}"
        zero += f", cast(null as date) as {latest}"
    return Rollup(
        months.name.removesuffix("_months") + ("_city_running" if citywide else "_running"),
        months.reads,
        f"""
        with m as materialized ({months.select}),
        -- one row per key and month from its first month to the last month of any meeting, zero
        -- where it had none, beside the months' own rows
        grid as (
            select {keys}, cast(unnest(generate_series(k.first_month, k.last_month, interval 1 month)) as date)
                       as month, {zero}
            from (select {keys}, min(month) as first_month, (select max(month) from m) as last_month
                  from m group by all) k
        ),
        x as (
            select month, {keys}, {", ".join(f"sum({c}) as {c}" for c in sums)}{latest_of_month}
            from (select month, {keys}, {", ".join((*sums, *([latest] if latest else [])))} from m
                  union all by name
                  select * from grid)
            group by all
        )
        select x.month, {", ".join(f"x.{k.strip()}" for k in keys.split(","))}, {summed}
        from x
        window through as (partition by {keys} order by x.month rows between unbounded preceding and current row)
        """,
        "month" if citywide else "month, division_code, unit_code",
    )


# Days each community was met (anywhere), with the next such day (9999-12-31 when none).
_COMMUNITY_SPELLS = f"""
        select d.community_id, d.meeting_date as contact_date,
               coalesce(lead(d.meeting_date) over (
                   partition by d.community_id order by d.meeting_date), {FOREVER}) as next_contact_date
        from (select distinct m.community_id, m.meeting_date from meetings m) d
        """
# The last day a spell `sp` keeps its community `c` on track: its cadence runs out, or the day
# before the next contact (the coverage rate over time, with and without a filter).
RUN_LAST_DAY = "least(sp.next_contact_date - 1, sp.contact_date + c.target_cadence_days)"

# Integer keys of the ranked entities, 1.. in id order (kind of entity -> key table, key column,
# entity table, id column): each key table is its entity table with the key before its columns.
# Without a community selection the Meetings rankings group their cells (meetings, month cells,
# running totals) on these keys instead of the text ids, and read the listed rows' names from the
# key table (at L over 90 days the organizations' grouping and top 15, 24.7 -> 15.0 ms, same
# process, 30 rounds).
_KEYS = {
    "community": ("community_keys", "community_key", "communities", "community_id"),
    "org": ("org_keys", "org_key", "organizations", "org_id"),
    "staff": ("staff_keys", "staff_key", "staff", "staff_id"),
}


def _key_select(entity: str) -> str:
    """The key table's SELECT: the entity table with each row's key first. Every roll-up holding
    keys joins this same SELECT (not the stored table), so the keys agree as long as they are
    built from the same entity table: each lists that table in its `reads`."""
    _, key, table, id_column = _KEYS[entity]
    return f"select cast(row_number() over (order by e.{id_column}) as integer) as {key}, e.* from {table} e"


# The meetings' columns the rankings read, with their entities as integer keys (meeting_rank_rows,
# and what the rankings' month cells are counted from)
_RANK_ROWS_SELECT = f"""
        select m.meeting_date, m.division_code, m.unit_code, m.community_id, c.community_key, o.org_key,
               s.staff_key as lead_key, m.residents_count
        from meetings m
        left join ({_key_select("community")}) c on c.community_id = m.community_id
        left join ({_key_select("org")}) o on o.org_id = m.org_id
        left join ({_key_select("staff")}) s on s.staff_id = m.lead_staff_id
        """
# ... and SUPPORT_ROWS with the supporting member's key (meeting_supports)
_SUPPORT_KEYED_SELECT = f"""
        select r.*, k.staff_key
        from {SUPPORT_ROWS.format(meetings="meetings")} r
        left join ({_key_select("staff")}) k on k.staff_id = r.staff_id
        """
# what the roll-ups holding keys are derived from
_KEYED_READS = ("meetings", "staff", "communities", "organizations")


# The Meetings page's rankings per calendar month (the days of a partly covered month come from
# the meetings themselves, see meeting_rank_cells): one row per month × division × unit ×
# community / organization (null: none recorded) / lead / supporting staff member, by key.
_RANK_MONTHS = {
    "community": _meeting_months(
        "meeting_community_months",
        "m.community_key, count(*) as meetings_count, cast(sum(m.residents_count) as bigint) as residents_sum, "
        "max(m.meeting_date) as last_meeting_date",
        rows=f"({_RANK_ROWS_SELECT})",
        reads=_KEYED_READS,
    ),
    "org": _meeting_months(
        "meeting_org_months",
        "m.org_key, count(*) as meetings_count, cast(sum(m.residents_count) as bigint) as residents_sum",
        rows=f"({_RANK_ROWS_SELECT})",
        reads=_KEYED_READS,
    ),
    "lead": _meeting_months(
        "meeting_lead_months",
        "m.lead_key as staff_key, count(*) as meetings_count, cast(sum(m.residents_count) as bigint) as residents_sum",
        rows=f"({_RANK_ROWS_SELECT})",
        reads=_KEYED_READS,
    ),
    "support": _meeting_months(
        "meeting_support_months",
        "m.staff_key, count(*) as meetings_count",
        rows=f"({_SUPPORT_KEYED_SELECT})",
        reads=_KEYED_READS,
    ),
}
# ... and their running totals, for periods of many whole months (meeting_rank_cells): kind -> the
# ranked entity, the sums and the latest date kept
_RANK_TOTALS = {
    "community": ("community_key", ("meetings_count", "residents_sum"), "last_meeting_date"),
    "org": ("org_key", ("meetings_count", "residents_sum"), None),
    "lead": ("staff_key", ("meetings_count", "residents_sum"), None),
    "support": ("staff_key", ("meetings_count",), None),
}
_RANK_RUNNING = {
    kind: _meeting_running(_RANK_MONTHS[kind], entity, sums, latest)
    for kind, (entity, sums, latest) in _RANK_TOTALS.items()
}
# ... and the same per entity alone, for a period with no division or unit chosen: at L a month
# holds 47k leads instead of 210k lead × division × unit keys, 14k supporting members instead of 382k
_RANK_CITY_RUNNING = {
    kind: _meeting_running(_RANK_MONTHS[kind], entity, sums, latest, citywide=True)
    for kind, (entity, sums, latest) in _RANK_TOTALS.items()
}

# One row per meeting × distinct concern tag it raised, and one per meeting with concern_tag null
# (every meeting, tagged or not: the meetings held), for the concern tag roll-ups. The unnest is in
# the select list, as in SUPPORT_ROWS.
_TAG_ROWS = """(
            select m.meeting_date, m.division_code, m.unit_code, unnest(list_distinct(m.concern_tags)) as concern_tag
            from meetings m
            union all
            select m.meeting_date, m.division_code, m.unit_code, cast(null as varchar) as concern_tag
            from meetings m
        )"""

ROLLUPS: tuple[Rollup, ...] = (
    Rollup(
        "meeting_days",
        ("meetings", "staff"),
        """
        select m.meeting_date, m.division_code, m.unit_code, m.meeting_type,
               count(*) as meetings_count,
               cast(sum(m.residents_count) as bigint) as residents_sum,
               cast(sum(cast(m.residents_count as bigint) * m.residents_count) as bigint) as residents_sq
        from meetings m
        group by m.meeting_date, m.division_code, m.unit_code, m.meeting_type
        """,
        "meeting_date, division_code, unit_code, meeting_type",
    ),
    Rollup(
        "meeting_concern_days",
        ("meetings", "staff"),
        """
        select m.meeting_date, m.division_code, m.unit_code,
               list_sort(list_distinct(m.concern_tags)) as concern_tags,
               count(*) as meetings_count
        from meetings m
        group by m.meeting_date, m.division_code, m.unit_code, list_sort(list_distinct(m.concern_tags))
        """,
        "meeting_date, division_code, unit_code",
    ),
    _meeting_months(
        "meeting_concern_months",
        "list_sort(list_distinct(m.concern_tags)) as concern_tags, count(*) as meetings_count",
    ),
    Rollup(
        "meeting_concern_tag_days",
        ("meetings", "staff"),
        f"""
        select m.meeting_date, m.division_code, m.unit_code, m.concern_tag, count(*) as meetings_count
        from {_TAG_ROWS} m
        group by all
        """,
        "meeting_date, division_code, unit_code",
    ),
    _meeting_months(
        "meeting_concern_tag_months", "m.concern_tag, count(*) as meetings_count", rows=_TAG_ROWS
    ),
    *_RANK_MONTHS.values(),
    *_RANK_RUNNING.values(),
    *_RANK_CITY_RUNNING.values(),
    # one row per meeting × supporting staff member, stored by date: the days of a partly covered
    # month in the supporting-staff ranking (an unnest of every meeting's list otherwise, and a
    # longer statement to plan: at M over 90 days meetings_by_staff 12.3 -> 9.9 ms)
    Rollup(
        "meeting_supports",
        ("meetings", "staff"),
        _SUPPORT_KEYED_SELECT,
        "meeting_date, division_code, unit_code",
    ),
    # the meetings' columns the rankings read, with their entities as integer keys, stored by date
    # (meeting_rank_cells, periods of a few months)
    Rollup(
        "meeting_rank_rows",
        _KEYED_READS,
        _RANK_ROWS_SELECT,
        "meeting_date",
    ),
    *(
        Rollup(table, (entity_table,), _key_select(entity), key)
        for entity, (table, key, entity_table, _) in _KEYS.items()
    ),
    # the raw meetings again, stored by community: a community selection then reads only its
    # communities' row groups (at L, five communities' meetings in 3 ms instead of 38 ms)
    Rollup(
        "meetings_by_community",
        ("meetings", "staff"),
        "select * from meetings",
        "community_id, meeting_date, meeting_id",
    ),
    Rollup(
        "contact_spells",
        ("meetings",),
        f"""
        select d.community_id, d.division_code, d.meeting_date as contact_date,
               coalesce(lead(d.meeting_date) over (
                   partition by d.community_id, d.division_code order by d.meeting_date), {FOREVER})
                   as next_contact_date
        from (select distinct m.community_id, m.division_code, m.meeting_date from meetings m) d
        """,
        "next_contact_date, community_id, division_code",
    ),
    Rollup("community_spells", ("meetings",), _COMMUNITY_SPELLS, "next_contact_date, community_id"),
    # The coverage rate over time with no filter: each spell of an active community keeps it on
    # track from the contact until its cadence runs out or the next contact (a run of days); +1
    # where a run starts and -1 the day after it ends, summed per day. The running sum up to D is
    # the number of active communities on track at D (runs of one community never overlap).
    Rollup(
        "coverage_run_changes",
        ("meetings", "communities"),
        f"""
        with runs as (
            -- one per day an active community with a cadence was met: that day and the last day
            -- it keeps the community on track
            select sp.contact_date, {RUN_LAST_DAY} as last_day
            from ({_COMMUNITY_SPELLS}) sp
            join communities c on c.community_id = sp.community_id
            where c.is_active and c.target_cadence_days is not null
        )
        select r.day, cast(sum(r.delta) as bigint) as delta
        from (
            select contact_date as day, 1 as delta from runs
            union all
            select last_day + 1 as day, -1 as delta from runs
        ) r
        group by r.day
        """,
        "day",
    ),
    Rollup(
        "follow_up_facts",
        ("follow_ups", "meetings", "staff"),
        f"""
        select fu.follow_up_id, fu.meeting_id, fu.concern_tag, fu.opened_date, fu.owner_staff_id,
               fu.status, fu.closed_date, coalesce(fu.closed_date, {FOREVER}) as open_until,
               m.community_id, m.division_code, m.unit_code
        from follow_ups fu
        join meetings m using (meeting_id)
        """,
        "open_until, opened_date, follow_up_id",
    ),
    Rollup(
        "feedback_days",
        ("feedback",),
        f"""
        select f.response_date, f.division_code, f.channel,
               {_CELL_SUMS_AND_COMMENTS}
        from feedback f
        group by f.response_date, f.division_code, f.channel
        """,
        "response_date, division_code, channel",
    ),
)

# The small-n groups (SPEC §3): a response's community, else its patrol division, else "none".
# Each gets an integer id, the same in every feedback roll-up of a database version (ids follow the
# keys' order, and every feedback roll-up is rebuilt with the others): the Feedback queries count,
# join and exclude groups by this id instead of building the text key row by row.
GROUP_KEY_SQL = "coalesce('c:' || {a}.community_id, 'd:' || {a}.division_code, 'none')"
# A group is *small* when it is among the groups with the fewest responses (all time) that
# together hold at most this share of all responses. The groups the small-n rule suppresses over
# a period of a month or more are nearly always small ones, and the feedback cells store the small
# groups' rows first: the Feedback scope reads the suppressed groups' cells from those row groups
# alone when every suppressed group is small (at L over 90 days: 2,294 suppressed groups, all
# small, whose cells the 3.2 million cells of the period hide). Only where the rows are stored
# depends on it; every answer is the same.
SMALL_GROUP_SHARE = 0.05
_GROUPS_SELECT = f"""
        select cast(row_number() over (order by k.group_key) as integer) as group_id, k.group_key,
               k.community_id, k.division_code,
               coalesce(sum(k.n) over (order by k.n, k.group_key rows unbounded preceding)
                        <= {SMALL_GROUP_SHARE} * sum(k.n) over (), false) as small
        from (
            select {GROUP_KEY_SQL.format(a="f")} as group_key, f.community_id,
                   case when f.community_id is null then f.division_code end as division_code,
                   count(*) as n
            from feedback f
            group by all
        ) k"""
# joined into a feedback roll-up's SELECT over `feedback f`: `g.group_id` is the row's group
_WITH_GROUP = f"join ({_GROUPS_SELECT}) g on g.group_key = {GROUP_KEY_SQL.format(a='f')}"

_TOPICS = """from feedback f, unnest(f.topic_tags) as t(topic)"""

# Feedback cells keep the community: the small-n rule needs each group's n (community, else
# division) over the period. Whole months come from the month cells, the days of a partly
# covered month at either end of the period from the day cells (feedback_period_cells).
ROLLUPS += (Rollup("feedback_groups", ("feedback",), _GROUPS_SELECT, "group_id"),)
ROLLUPS += (
    Rollup(
        "feedback_day_cells",
        ("feedback",),
        f"""
        select f.response_date, f.community_id, f.division_code, f.channel, g.group_id, g.small,
               {_CELL_SUMS_AND_COMMENTS}
        from feedback f {_WITH_GROUP}
        group by all
        """,
        "small desc, response_date, community_id, division_code, channel",
    ),
    Rollup(
        "feedback_month_cells",
        ("feedback",),
        f"""
        select cast(date_trunc('month', f.response_date) as date) as month, f.community_id, f.division_code,
               f.channel, g.group_id, g.small, {_CELL_SUMS_AND_COMMENTS}
        from feedback f {_WITH_GROUP}
        group by all
        """,
        "small desc, month, community_id, division_code, channel",
    ),
    # the same sums without the channel: what the scores and the small-n groups need (a channel
    # splits a community's month into several cells; these are 2.3x fewer rows at M for months)
    Rollup(
        "feedback_score_day_cells",
        ("feedback",),
        f"""
        select f.response_date, f.community_id, f.division_code, g.group_id, g.small, {_CELL_SUMS}
        from feedback f {_WITH_GROUP}
        group by all
        """,
        "small desc, response_date, community_id, division_code",
    ),
    Rollup(
        "feedback_score_month_cells",
        ("feedback",),
        f"""
        select cast(date_trunc('month', f.response_date) as date) as month, f.community_id, f.division_code,
               g.group_id, g.small, {_CELL_SUMS}
        from feedback f {_WITH_GROUP}
        group by all
        """,
        "small desc, month, community_id, division_code",
    ),
    Rollup(
        "feedback_topic_day_cells",
        ("feedback",),
        f"""
        select f.response_date, f.community_id, f.division_code, t.topic, {_HAS_COMMENT} as has_comment,
               g.group_id, g.small, count(*) as n
        from feedback f {_WITH_GROUP}, unnest(f.topic_tags) as t(topic)
        group by all
        """,
        "small desc, response_date, community_id, division_code, topic",
    ),
    Rollup(
        "feedback_topic_month_cells",
        ("feedback",),
        f"""
        select cast(date_trunc('month', f.response_date) as date) as month, f.community_id, f.division_code,
               t.topic, {_HAS_COMMENT} as has_comment, g.group_id, g.small, count(*) as n
        from feedback f {_WITH_GROUP}, unnest(f.topic_tags) as t(topic)
        group by all
        """,
        "small desc, month, community_id, division_code, topic",
    ),
)
# Topics without the community: what every response in scope tagged, when no community is chosen
# (the Feedback page subtracts the suppressed groups' part, see feedback.FeedbackScope).
ROLLUPS += (
    Rollup(
        "feedback_topic_days",
        ("feedback",),
        f"""
        select f.response_date, f.division_code, t.topic, {_HAS_COMMENT} as has_comment, count(*) as n
        {_TOPICS}
        group by all
        """,
        "response_date, division_code, topic",
    ),
)
# The comment browser pages through comments, not responses: only the responses with a comment
# (about a fifth in the generated data), stored by date so a recent period skips older row groups.
ROLLUPS += (
    Rollup(
        "feedback_comments",
        ("feedback",),
        f"""
        select f.response_id, f.response_date, f.channel, f.community_id, f.division_code, f.topic_tags,
               f.comment, g.group_id
        from feedback f {_WITH_GROUP}
        where {_HAS_COMMENT}
        """,
        "response_date, response_id",
    ),
)
# Each community with its responsible staff member's name, unit and dates: what every coverage
# statement's scoped_communities reads (the filters on the community and its liaison's unit), one
# table instead of a join of every community with the staff table per statement.
ROLLUPS += (
    # ... with the day of its last meeting (any division): its last contact on or before any day
    # from the latest meeting on, without reading a spell (see community_status_cte)
    Rollup(
        "community_roster",
        ("communities", "staff", "meetings"),
        f"""
        select r.*, lm.last_met_date
        from ({COMMUNITY_ROSTER_SELECT}) r
        left join (
            select m.community_id, max(m.meeting_date) as last_met_date from meetings m group by m.community_id
        ) lm using (community_id)
        """,
        "community_id",
    ),
)
# The community comparison's rows before any period: every community (its small-n group's id when
# it has responses) and every division's group of responses without a community, named and
# labelled as the comparison shows them. A period's group sums then join it by integer id.
_LISTING_SELECT = f"""
        with j as (
            select coalesce(g.group_key, 'c:' || c.community_id) as group_key, g.group_id,
                   coalesce(g.community_id, c.community_id) as community_id,
                   case when coalesce(g.community_id, c.community_id) is null then coalesce(g.division_code, '')
                        else c.division_code end as division_code,
                   c.name, coalesce(c.is_active, false) as is_active
            from ({_GROUPS_SELECT}) g
            full join communities c on c.community_id = g.community_id
        ),
        labelled as (
            select j.*, j.community_id is not null as is_community,
                   case when coalesce(j.division_code, '') = ''
                        then (case when j.community_id is not null then 'citywide' else 'no division recorded' end)
                        else coalesce(d.name, j.division_code) end as home_division
            from j
            left join patrol_divisions d on d.division_code = j.division_code
        )
        select l.*,
               case when l.is_community then l.name else 'No community recorded · ' || l.home_division end
                   as community_name
        from labelled l"""
ROLLUPS += (
    Rollup("feedback_listing", ("feedback", "communities", "patrol_divisions"), _LISTING_SELECT, "group_key"),
)


def _score_running_select(*, citywide: bool) -> str:
    """The score cells' running totals per group × division, for periods of a few months or more
    (feedback_score_sums): one row per day with responses, and one on the 1st of every month from
    the pair's first month to the last month with any response, each with the sums through its day
    since the pair's first response and `next_day`, the next row's day (at most the 1st of the next
    month). "Through day D" is then the one row per pair with month = D's month and
    day <= D < next_day: a read of D's month only. `citywide`: the same per group alone, its
    divisions added up (no division_code): at L a day looks up 34k groups, not 100k pairs."""
    keys = ("group_id",) if citywide else ("group_id", "division_code")

    def pair(alias: str = "") -> str:  # the key columns, qualified by `alias` when given
        return ", ".join(f"{alias}.{k}" if alias else k for k in keys)

    return f"""
        with d as materialized (
            select f.response_date as day, g.group_id{"" if citywide else ", f.division_code"}, {_CELL_SUMS}
            from feedback f {_WITH_GROUP}
            group by all
        ),
        -- a row on the 1st of each month from the pair's first month on (zero sums), beside its days
        firsts as (
            select {pair("k")},
                   cast(unnest(generate_series(k.first_month, k.last_month, interval 1 month)) as date) as day
            from (select {pair()}, cast(date_trunc('month', min(day)) as date) as first_month,
                         (select cast(date_trunc('month', max(day)) as date) from d) as last_month
                  from d group by all) k
        ),
        x as (
            select day, {pair()}, {", ".join(f"sum({c}) as {c}" for c in FEEDBACK_SUMS)}
            from (select * from d union all by name
                  select *, {", ".join(f"0 as {c}" for c in FEEDBACK_SUMS)} from firsts)
            group by all
        )
        select cast(date_trunc('month', x.day) as date) as month, x.day,
               least(lead(x.day) over pair, cast(date_trunc('month', x.day) + interval 1 month as date)) as next_day,
               {pair("x")},
               {", ".join(f"cast(sum(x.{c}) over through as bigint) as {c}" for c in FEEDBACK_SUMS)}
        from x
        window pair as (partition by {pair("x")} order by x.day),
               through as (partition by {pair("x")} order by x.day
                           rows between unbounded preceding and current row)"""


ROLLUPS += (
    Rollup("feedback_score_running", ("feedback",), _score_running_select(citywide=False), "day, group_id"),
    Rollup(
        "feedback_score_city_running", ("feedback",), _score_running_select(citywide=True), "day, group_id"
    ),
)
BY_NAME: dict[str, Rollup] = {r.name: r for r in ROLLUPS}


# ---------------------------------------------------------------- building (import time)


def _existing(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The roll-ups this database holds as this code builds them (see _is_current), so the next
    import rebuilds one an older version left."""
    return {r.name for r in ROLLUPS if _is_current(con, r)}


def _is_current(con: duckdb.DuckDBPyConnection, rollup: Rollup) -> bool:
    """The database has the roll-up's table with the columns its SELECT gives (bound, not run): a
    table whose columns differ was built by an older version and counts as missing."""
    stored = [c[0] for c in con.execute(_COLUMNS_SQL, [rollup.name]).fetchall()]
    return bool(stored) and stored == [c[0] for c in con.execute(f"describe {rollup.select}").fetchall()]


_COLUMNS_SQL = """
    select column_name from duckdb_columns()
    where schema_name = 'main' and table_name = ? order by column_index"""


def build(con: duckdb.DuckDBPyConnection, rollup: Rollup) -> None:
    con.execute(f"create or replace table {rollup.name} as {rollup.select} order by {rollup.order_by}")


def refresh_derived(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """After `table` changed: re-derive meeting units, then rebuild the roll-ups that read it (and
    any roll-up missing from this database, e.g. one built before it existed)."""
    if table in ("meetings", "staff"):
        con.execute(
            """
            update meetings m
            set unit_code = s.unit_code
            from staff s
            where s.staff_id = m.lead_staff_id
              and m.unit_code is distinct from s.unit_code
            """
        )
    have = _existing(con)
    for rollup in ROLLUPS:
        if table in rollup.reads or rollup.name not in have:
            build(con, rollup)


# ---------------------------------------------------------------- reading (query time)

# Answers about one database version (versions never change once published), computed once each
_per_version: dict[tuple[str, str], Any] = {}
_per_version_lock = threading.Lock()


def _once_per_version(conn: Connection, question: str, answer: Callable[[], T]) -> T:
    """`answer()` for this database version, computed the first time `question` is asked of it."""
    key = (str(conn.engine.url.database), question)
    with _per_version_lock:
        if key in _per_version:
            return _per_version[key]
    found = answer()
    with _per_version_lock:
        _per_version[key] = found
    return found


def _has(conn: Connection, name: str) -> bool:
    """Whether this database version has the roll-up table as this code builds it: the same columns
    as its SELECT (a table left by an older version is read through the SELECT instead, until the
    next import rebuilds it)."""
    return _once_per_version(
        conn, f"has {name}", lambda: _is_current(conn.connection.driver_connection, BY_NAME[name])
    )


def concern_tag_count(conn: Connection) -> int:
    """How many distinct concern tags this database version's meetings raise, from the month cells."""
    cells = source(conn, "meeting_concern_months")
    sql = f"select count(distinct t.tag) from (select unnest(c.concern_tags) as tag from {cells} c) t"
    return _once_per_version(conn, "concern tags", lambda: int(read_value(conn, sql)))


def source(conn: Connection, name: str) -> str:
    """The roll-up as a FROM item: its table, or (in an older database) the same SELECT inline."""
    return name if _has(conn, name) else f"({BY_NAME[name].select})"


def community_spells(conn: Connection, f: Filters) -> str:
    """A FROM item of community spells over the divisions in scope: community_id, contact_date (a
    day the community was met in one of them) and next_contact_date (the next such day, 9999-12-31
    when none). Correct for every spell with next_contact_date > :start, which is all a caller may
    read (it needs :start and a `scoped_communities` CTE).

    Without a division filter: the `community_spells` roll-up. With one: derived from the
    contact_spells of those divisions that reach past :start, of communities in scope. Leaving
    out a division's older spells can only change the next contact of a spell that ends before
    :start anyway: the last contact before :start, in any division, is kept, and so is every
    contact after it.

    With a community selection: derived from those communities' meetings (meetings_by_community,
    stored by community: only their row groups are read, where both spell roll-ups, stored by
    date, are read whole)."""
    from data_access.scope import in_list

    if f.communities:
        return f"""(
            select d.community_id, d.contact_date,
                   coalesce(lead(d.contact_date) over (
                       partition by d.community_id order by d.contact_date), {FOREVER}) as next_contact_date
            from (select distinct m.community_id, m.meeting_date as contact_date
                  from {selected_meetings(conn)}) d)"""
    if not f.divisions:
        return source(conn, "community_spells")

    return f"""(
            select d.community_id, d.contact_date,
                   coalesce(lead(d.contact_date) over (
                       partition by d.community_id order by d.contact_date), {FOREVER}) as next_contact_date
            from (
                select distinct sp.community_id, sp.contact_date
                from {source(conn, "contact_spells")} sp
                where {in_list("divisions", "sp.division_code")} and sp.next_contact_date > :start
                  and sp.community_id in (select community_id from scoped_communities)
            ) d)"""


def selected_meetings(conn: Connection) -> str:
    """FROM item and WHERE of the meetings `m` of the chosen communities in scope held in the
    divisions in scope, from the meetings stored by community (only those communities' row groups
    are read). Needs a community selection and a `scoped_communities` CTE."""
    from data_access.scope import in_list

    # the chosen ids as a constant list (scoped_communities applies them too): DuckDB prunes the
    # scan's row groups with it
    return f"""{source(conn, "meetings_by_community")} m
                where m.community_id in (select unnest(cast(:communities as varchar[])))
                  and m.community_id in (select community_id from scoped_communities)
                  and {in_list("divisions", "m.division_code")}"""


def meetings(conn: Connection, f: Filters) -> str:
    """The meetings table to read under `f`: with a community selection, meetings_by_community (the
    same rows, stored by community), else the raw table (stored as imported, roughly by date)."""
    return source(conn, "meetings_by_community") if f.communities else "meetings"


def meeting_cells(conn: Connection, f: Filters) -> str:
    """A FROM item of meeting cells with columns meeting_date, community_id, division_code,
    unit_code, meeting_type, meetings_count, residents_sum, residents_sq, so that
    `scope.meeting_scope` applies and sum(meetings_count) counts meetings.

    Without a community selection: meeting_days (community_id null; the community filter is empty
    so it is never consulted). With one: the meetings stored by community, one cell per meeting.
    """
    if f.communities:
        return f"""(
            select m.meeting_date, m.community_id, m.division_code, m.unit_code, m.meeting_type,
                   1 as meetings_count, m.residents_count as residents_sum,
                   cast(m.residents_count as bigint) * m.residents_count as residents_sq
            from {meetings(conn, f)} m)"""
    return f"""(
            select d.*, cast(null as varchar) as community_id
            from {source(conn, "meeting_days")} d)"""


# the Meetings rankings: kind -> a cell's columns after division_code, unit_code, community_id,
# one per meeting by id, from a community selection's meetings (meetings_by_community) as `m`
_RANK_PER_MEETING = {
    "community": "m.community_id as entity, 1 as meetings_count, m.residents_count as residents_sum, "
    "m.meeting_date as last_meeting_date",
    "org": "m.org_id as entity, 1 as meetings_count, m.residents_count as residents_sum",
    "lead": "m.lead_staff_id as entity, 1 as meetings_count, m.residents_count as residents_sum",
}
# ... and kind -> its entity (a _KEYS kind) and those columns by key, from meeting_rank_rows /
# meeting_supports as `m`
_RANK_KEYED = {
    "community": (
        "community",
        "m.community_key, 1 as meetings_count, m.residents_count as residents_sum, "
        "m.meeting_date as last_meeting_date",
    ),
    "org": ("org", "m.org_key, 1 as meetings_count, m.residents_count as residents_sum"),
    "lead": ("staff", "m.lead_key as staff_key, 1 as meetings_count, m.residents_count as residents_sum"),
    "support": ("staff", "m.staff_key, 1 as meetings_count"),
}
RANK_KINDS = tuple(_RANK_KEYED)
# ... and a keyed cell's columns after division_code, unit_code, community_id as selected from
# those (as `d`) or from the month cells, which have the same names, with the key as `entity`
_RANK_COLUMNS = {
    "community": "d.community_key as entity, d.meetings_count, d.residents_sum, d.last_meeting_date",
    "org": "d.org_key as entity, d.meetings_count, d.residents_sum",
    "lead": "d.staff_key as entity, d.meetings_count, d.residents_sum",
    "support": "d.staff_key as entity, d.meetings_count",
}


@dataclass(frozen=True)
class RankCells:
    """One ranking's cells (meeting_rank_cells): `source`, a FROM item, whose column `entity`
    names the ranked entity (its id, or an integer key), and `names`, the entity table (or its key
    table) with that value in its column `names_key`: the listed rows' names and ids."""

    source: str
    names: str
    names_key: str


def meeting_rank_cells(conn: Connection, f: Filters, kind: str) -> RankCells:
    """The period's meetings [:start, :end] as cells for one ranking (RankCells.source), so that
    `scope.meeting_scope` applies and sums give the counts: columns division_code, unit_code,
    community_id, entity, then per kind: community: meetings_count, residents_sum,
    last_meeting_date; org: meetings_count, residents_sum (entity null: no organization recorded);
    lead (the entity is the lead): meetings_count, residents_sum; support (a supporting member,
    once per meeting, never its lead): meetings_count.

    With a community selection: one cell per meeting of the period from meetings_by_community, the
    entity by id (for every kind but support: meetings_by_staff reads a selection's leads and
    supporting members from one read of its meetings). Without one the entity is an integer key
    (RankCells.names: the key table) and community_id is null except for one cell per meeting:
    below MONTH_CELLS_FROM_MONTHS calendar months wholly inside the period, the period's
    meeting_rank_rows (meeting_supports for kind support); else the whole months, and the days
    of a partly covered month from those rows: a few whole months are their month cells
    (meeting_<kind>_months); from RUNNING_FROM_MONTHS on, two rows per key of
    meeting_<kind>_running (meeting_<kind>_city_running, division_code and unit_code null, when
    no division or unit is chosen): the totals through the last whole month less those through
    the month before the first (negative counts), so a key can come with rows that cancel out:
    callers keep the keys whose meetings add up to more than zero."""
    if kind not in _RANK_KEYED:
        raise ValueError(f"unknown ranking {kind!r}; use one of {RANK_KINDS}")
    if kind == "support" and f.communities:
        raise ValueError("a selection's supporting members come from its meetings (meetings_by_staff)")
    entity, keyed = _RANK_KEYED[kind]
    keys, key_column, entity_table, id_column = _KEYS[entity]
    period = "d.meeting_date between cast(:start as date) and cast(:end as date)"
    if f.communities:
        per_meeting = f"""(
            select m.meeting_date, m.division_code, m.unit_code, m.community_id, {_RANK_PER_MEETING[kind]}
            from {meetings(conn, f)} m)"""
        cells = f"""(
            select * exclude (meeting_date) from {per_meeting} d
            where {period})"""
        return RankCells(cells, entity_table, id_column)
    rows = source(conn, "meeting_supports" if kind == "support" else "meeting_rank_rows")
    per_meeting = f"""(
            select m.meeting_date, m.division_code, m.unit_code, m.community_id, {keyed}
            from {rows} m)"""
    names = source(conn, keys)  # the key table
    if whole_months(f) < MONTH_CELLS_FROM_MONTHS:
        cells = f"""(
            select d.division_code, d.unit_code, d.community_id, {_RANK_COLUMNS[kind]} from {per_meeting} d
            where {period})"""
        return RankCells(cells, names, key_column)
    columns = f"d.division_code, d.unit_code, cast(null as varchar) as community_id, {_RANK_COLUMNS[kind]}"
    if whole_months(f) < RUNNING_FROM_MONTHS:
        cells = month_split(
            per_meeting, "meeting_date", source(conn, f"meeting_{kind}_months"), columns=columns
        )
        return RankCells(cells, names, key_column)
    first, after = _FULL_FROM.format(s="start"), _FULL_TO.format(e="end")
    through, before = _RANK_RUNNING_COLUMNS[kind]
    if f.divisions or f.units:
        running, where = source(conn, f"meeting_{kind}_running"), "d.division_code, d.unit_code"
    else:  # no scope on the division or unit: the entity's totals across them
        running = source(conn, f"meeting_{kind}_city_running")
        where = "cast(null as varchar) as division_code, cast(null as varchar) as unit_code"

    # the totals through the last whole month, less those through the month before the first
    whole = f"""select {where}, cast(null as varchar) as community_id, {through.format(first=first)}
        from {running} d join {_month_before(after, running)} b using (month)
        union all
        select {where}, cast(null as varchar) as community_id, {before}
        from {running} d join {_month_before(first, running)} b using (month)"""
    cells = _around_whole_months(
        per_meeting, "meeting_date", whole, columns=columns, start="start", end="end"
    )
    return RankCells(cells, names, key_column)


def _month_before(month: str, running: str) -> str:
    """A one-row FROM item: the month before `month`, or the `running` totals' last month when
    that is earlier (they hold from there on)."""
    # the latest month as a scalar subquery: no parameter beside an aggregate (db._run's macros
    # would take it for a column there)
    latest = f"(select max(r.month) from {running} r)"
    return f"(select least(cast({month} - interval 1 month as date), {latest}) as month)"


# Whole months from which a ranking reads month cells instead of one cell per meeting: below, the
# meetings of the period alone are a statement of one arm, which plans 0.7-1.2 ms faster than the
# month cells between two partial months of meetings and scans fewer stored rows, though it groups
# more (the staff over 90 days at L: 707k instead of 452k). Measured with both in the same process
# (7 Dec), the Meetings query set over 90 days (2 whole months): S 41.0 -> 37.0 ms, M 52.8 -> 50.2,
# L 87.2 -> 84.2; over 120 days (3) at L the organizations 20.8 -> 22.0.
MONTH_CELLS_FROM_MONTHS = 3
# Whole months from which a ranking reads two running totals per key instead of the months' cells
# (at L over 28 months 57 -> 12 ms for the organizations; over 3 months the month cells are faster).
RUNNING_FROM_MONTHS = 6

# kind -> the running totals' columns after community_id: through the last whole month (a latest
# date only when it falls in the period: {first} is its first whole month), and before the first
_RANK_RUNNING_COLUMNS = {
    "community": (
        "d.community_key as entity, d.meetings_count, d.residents_sum, "
        "case when d.last_meeting_date >= {first} then d.last_meeting_date end as last_meeting_date",
        "d.community_key as entity, -d.meetings_count, -d.residents_sum, cast(null as date)",
    ),
    "org": (
        "d.org_key as entity, d.meetings_count, d.residents_sum",
        "d.org_key as entity, -d.meetings_count, -d.residents_sum",
    ),
    "lead": (
        "d.staff_key as entity, d.meetings_count, d.residents_sum",
        "d.staff_key as entity, -d.meetings_count, -d.residents_sum",
    ),
    "support": ("d.staff_key as entity, d.meetings_count", "d.staff_key as entity, -d.meetings_count"),
}


def whole_months(f: Filters) -> int:
    """How many calendar months lie wholly inside f's period."""
    first, after = first_whole_month(f.start), after_whole_months(f.end)
    return max(0, (after.year - first.year) * 12 + after.month - first.month)


def concern_tags_distinct(f: Filters) -> bool:
    """Whether concern_cells' concern_tags hold each tag once: the roll-ups store each cell's set
    distinct and sorted; with a community selection the cells are the meetings' own lists."""
    return not f.communities


def concern_cells(conn: Connection, f: Filters, *, by_month: bool = False) -> str:
    """A FROM item with columns meeting_date, community_id, division_code, unit_code, concern_tags
    and meetings_count, so that `scope.meeting_scope` applies: meeting_concern_days without a
    community selection, the meetings stored by community (one cell per meeting, its tags as
    recorded) with one. `by_month` (for monthly buckets, no community selection): the period
    [:start, :end] only, whole months from meeting_concern_months (meeting_date = the 1st)."""
    if f.communities:
        return f"""(
            select m.meeting_date, m.community_id, m.division_code, m.unit_code, m.concern_tags,
                   1 as meetings_count
            from {meetings(conn, f)} m)"""
    return _concern_rollup_cells(conn, "meeting_concern", "concern_tags", by_month=by_month)


def concern_tag_cells(conn: Connection, f: Filters, *, by_month: bool = False) -> str:
    """A FROM item with columns meeting_date, community_id (null), division_code, unit_code,
    concern_tag (null: every meeting) and meetings_count, so that `scope.meeting_scope` applies:
    meeting_concern_tag_days, or with `by_month` the period [:start, :end] only, its whole months
    from meeting_concern_tag_months (meeting_date = the 1st). For a filter without a community
    selection (the roll-ups have no community column)."""
    if f.communities:
        raise ValueError("concern tag cells have no community column; use concern_cells")
    return _concern_rollup_cells(conn, "meeting_concern_tag", "concern_tag", by_month=by_month)


def _concern_rollup_cells(conn: Connection, prefix: str, value: str, *, by_month: bool) -> str:
    """The cells of the concern roll-ups `prefix`_days (and, `by_month`, `prefix`_months for the
    whole months of [:start, :end]): meeting_date, community_id (null), division_code, unit_code,
    the `value` column and meetings_count."""
    columns = (
        "d.{date} as meeting_date, cast(null as varchar) as community_id, d.division_code, d.unit_code, "
        f"d.{value}, d.meetings_count"
    )
    days = source(conn, f"{prefix}_days")
    if by_month:
        return month_split(days, "meeting_date", source(conn, f"{prefix}_months"), columns=columns)
    return f"""(
            select {columns.format(date="meeting_date")}
            from {days} d)"""


def feedback_cells(conn: Connection, f: Filters) -> str:
    """A FROM item of feedback cells with columns response_date, community_id, division_code,
    channel, n, trust_sum, trust_sq, safety_sum, safety_sq (trust sums are of respect + listen,
    i.e. twice the trust item), so that `scope.feedback_scope` applies.

    Without a community selection: feedback_days; with one: feedback_day_cells (day × community ×
    division × channel). Both are day cells, so any date condition on response_date is exact.
    """
    if f.communities:
        return source(conn, "feedback_day_cells")
    return f"""(
            select d.*, cast(null as varchar) as community_id
            from {source(conn, "feedback_days")} d)"""


# First day of the first whole month in [:start, :end], and the day after the last whole month's end:
# dates db.read_frame derives from the bound :start / :end (DERIVED_DATES), so the SQL stays short.
_FULL_FROM = "cast(:{s}__whole_from as date)"
_FULL_TO = "cast(:{e}__whole_to as date)"


def feedback_period_cells(
    conn: Connection,
    *,
    topics: bool = False,
    daily: bool = False,
    start: str = "start",
    end: str = "end",
    channels: bool = True,
) -> str:
    """A FROM item of the feedback cells of the period [:start, :end] (no other filter applied).

    Cells: response_date, community_id, division_code, channel, n, trust_sum, trust_sq,
    safety_sum, safety_sq; with `topics`: response_date, community_id, division_code, topic,
    has_comment, n. Each month wholly inside the period is one month cell (response_date = the
    1st), the days of a partly covered month at either end are day cells; with `daily`, all are
    day cells (for buckets that do not follow calendar months, e.g. weeks from :start). Every
    range is a plain comparison on the stored order, so only the row groups it needs are read.
    Without `channels` (and without `topics`) the cells have no channel column: one cell per
    day or month × community × division, fewer rows for the same sums.
    """
    prefix = "feedback_topic" if topics else ("feedback" if channels else "feedback_score")
    day = source(conn, f"{prefix}_day_cells")
    month = source(conn, f"{prefix}_month_cells")
    if daily:
        return f"(select * from {day} d where d.response_date between cast(:{start} as date) and cast(:{end} as date))"
    return month_split(day, "response_date", month, start=start, end=end)


# Periods of at least this many whole months read each group's score sums from
# feedback_score_running (two rows per group × division) instead of the period's cells: at L over
# 28 months 38 -> 9 ms, over 90 days 21 -> 15 ms; a week or a month is cheaper from the cells
# (8 -> 13 ms the other way), as is a year of whole months (14 -> 16 ms).
RUNNING_SCORES_FROM_MONTHS = 2
LAST_DAY_PARAM = "feedback_last_day"  # bound by feedback_score_sums_params


def feedback_last_day(conn: Connection) -> date | None:
    """The last day feedback_score_running holds (the latest response's); None without responses,
    or in a database without the table (its SELECT is not derived inline for this: the cells serve)."""
    if not _has(conn, "feedback_score_running"):
        return None
    sql = "select max(r.day) from feedback_score_running r"
    return _once_per_version(conn, "feedback last day", lambda: read_value(conn, sql))


def records_begin(conn: Connection, table: str) -> date | None:
    """The first day the meetings or the feedback (`table`) record anything, None while there is
    none (kpi.prior_unrecorded), once per database version: from their day roll-ups."""
    days, column = {
        "meetings": ("meeting_days", "meeting_date"),
        "feedback": ("feedback_days", "response_date"),
    }[table]
    sql = f"select min(d.{column}) from {source(conn, days)} d"
    return _once_per_version(conn, f"{table} begin", lambda: read_value(conn, sql))


def _reads_running_scores(conn: Connection, period: Filters) -> bool:
    return whole_months(period) >= RUNNING_SCORES_FROM_MONTHS and feedback_last_day(conn) is not None


def feedback_score_sums_params(conn: Connection) -> dict[str, Any]:
    """The parameter feedback_score_sums' running totals need beside the period's dates."""
    return {LAST_DAY_PARAM: feedback_last_day(conn)}


def feedback_score_sums(conn: Connection, period: Filters, *, start: str = "start", end: str = "end") -> str:
    """A FROM item whose rows, summed per group (and division), give each feedback group's score
    sums over the period [:start, :end] (`period` holds those dates and the filters): columns
    group_id, division_code and FEEDBACK_SUMS; bind feedback_score_sums_params too.

    The period's score cells (feedback_period_cells without channel); or, for a period of
    RUNNING_SCORES_FROM_MONTHS whole months or more, two rows per group × division from
    feedback_score_running: its totals through :end less those through the day before :start
    (negative sums), each day taken no later than the last day the totals hold. With no division
    chosen, two rows per group from feedback_score_city_running instead (division_code null). A
    group can then come with rows that add up to nothing: callers keep the groups whose n sums to
    more than zero.
    """
    sums = ", ".join(f"c.{c}" for c in FEEDBACK_SUMS)
    if not _reads_running_scores(conn, period):
        cells = feedback_period_cells(conn, start=start, end=end, channels=False)
        return f"(select c.group_id, c.division_code, {sums} from {cells} c)"
    citywide = not period.divisions and _has(conn, "feedback_score_city_running")
    return f"""({_running_through(f"cast(:{end} as date)", "", citywide=citywide)}
            union all{_running_through(f"cast(:{start} as date) - 1", "-", citywide=citywide)}
        )"""


def _running_through(day: str, sign: str, *, citywide: bool) -> str:
    """feedback_score_running's one row per group × division through `day` (an SQL date; no later
    than the last day it holds), its sums signed with `sign` ('' or '-'); `citywide`:
    feedback_score_city_running's one row per group (division_code null)."""
    at = f"least({day}, cast(:{LAST_DAY_PARAM} as date))"
    table, division = (
        ("feedback_score_city_running", "cast(null as varchar) as division_code")
        if citywide
        else ("feedback_score_running", "c.division_code")
    )
    return f"""
            select c.group_id, {division}, {", ".join(f"{sign}c.{x} as {x}" for x in FEEDBACK_SUMS)}
            from {table} c
            where c.month = cast(date_trunc('month', {at}) as date) and c.day <= {at} and c.next_day > {at}"""


def month_split(
    day: str, day_date: str, month: str, *, columns: str = "*", start: str = "start", end: str = "end"
) -> str:
    """A FROM item of the period [:start, :end] as cells: each calendar month wholly inside it from
    `month` (a FROM item with a `month` column, the 1st), the days of a partly covered month at
    either end from `day` (with the date column `day_date`); `columns` selected from each (the same
    names in both; `{date}` in them names the day's date or the month). Every range is a plain
    comparison on the stored order, so only the row groups it needs are read."""
    first, after = _FULL_FROM.format(s=start), _FULL_TO.format(e=end)
    whole = (
        f"select {columns.format(date='month')} from {month} d where d.month >= {first} and d.month < {after}"
    )
    return _around_whole_months(day, day_date, whole, columns=columns, start=start, end=end)


def _around_whole_months(day: str, day_date: str, whole: str, *, columns: str, start: str, end: str) -> str:
    """A FROM item of the period [:start, :end]: `whole`, a SELECT of the cells of the calendar
    months wholly inside it, between the days of the partly covered months at either end, from
    `day` (with the date column `day_date`, `columns` selected as in month_split)."""
    s, e = f"cast(:{start} as date)", f"cast(:{end} as date)"
    first, after = _FULL_FROM.format(s=start), _FULL_TO.format(e=end)
    return f"""(
        select {columns.format(date=day_date)} from {day} d
        where d.{day_date} >= {s} and d.{day_date} < least({first}, cast(:{end}__day_after as date))
        union all
        {whole}
        union all
        select {columns.format(date=day_date)} from {day} d
        where d.{day_date} >= greatest({after}, {first}, {s}) and d.{day_date} <= {e}
    )"""


def sample_sd(n: str, total: str, sq: str) -> str:
    """SQL for the sample sd of values whose count, sum and sum of squares are the expressions `n`,
    `total` and `sq` (exact integer sums, so no streaming error; the products in HUGEINT, which
    cannot overflow): null below two values, as stddev_samp gives."""
    return (
        f"case when {n} > 1 then sqrt(cast(cast({n} as hugeint) * {sq} - cast({total} as hugeint) * {total} "
        f"as double) / ({n} * ({n} - 1.0))) end"
    )


def score_aggregates(alias: str = "c") -> str:
    """n, trust/safety mean and sample sd (0-10 scale) over feedback cells, as avg() and
    stddev_samp() over the responses would give them (sd exact from integer sums). The sums are
    taken as BIGINT: DuckDB then adds them up in 64 bits (3x faster than HUGEINT at scale L)."""
    n = f"cast(sum({alias}.n) as bigint)"
    t, tq = f"cast(sum({alias}.trust_sum) as bigint)", f"cast(sum({alias}.trust_sq) as bigint)"
    s, sq = f"cast(sum({alias}.safety_sum) as bigint)", f"cast(sum({alias}.safety_sq) as bigint)"
    return f"""
    coalesce({n}, 0) as n,
    cast({t} as double) / 2.0 / {n} as trust_mean,
    case when {n} > 1 then sqrt(cast(cast({n} as hugeint) * {tq} - cast({t} as hugeint) * {t} as double)
                                / (4.0 * {n} * ({n} - 1))) end as trust_sd,
    cast({s} as double) / {n} as safety_mean,
    {sample_sd(n, s, sq)} as safety_sd"""


def scoped_communities_cte(conn: Connection) -> str:
    """scope.SCOPED_COMMUNITIES_CTE (the same CTE name, columns and rows) read from the
    community_roster roll-up: no join with the staff table."""
    from data_access import scope

    return scope.scoped_communities_cte(source(conn, "community_roster"))


def community_status_cte(conn: Connection, f: Filters) -> str:
    """scope.COMMUNITY_STATUS_CTE (same CTE names, columns and rows; needs :as_of), with the
    communities read from community_roster and the last contact from the spells roll-ups instead
    of every meeting.

    Without a division filter, a community last met on or before :as_of has its last meeting
    ever (community_roster's last_met_date) as its last contact; only a community met after
    :as_of needs its spell holding :as_of, one whose next contact is a real day. The spells are
    stored by next contact, so from the latest meeting on that lookup reads nothing (at L, 33k
    communities: a 34k-row spell scan and a hash join of it less in each status statement)."""
    from data_access.scope import COMMUNITY_STATUS_FROM_LAST_CONTACT, community_status_select

    if f.divisions:
        return f"""{scoped_communities_cte(conn)},
{last_contact_cte(conn, f)},{COMMUNITY_STATUS_FROM_LAST_CONTACT}"""
    met_again = "c.last_met_date > :as_of"
    return f"""{scoped_communities_cte(conn)},
last_contact as (
    -- the spell holding :as_of of each community met again after it: its contact is the last on or before it
    select sp.community_id, sp.contact_date as last_contact_date
    from {source(conn, "community_spells")} sp
    where sp.contact_date <= :as_of and sp.next_contact_date > :as_of and sp.next_contact_date < {FOREVER}
),
community_status as (
    -- last met on or before :as_of (or never): that meeting; met again after it: the spell's contact
    -- (two branches, so that the join has no rows to probe from the latest meeting on)
    {community_status_select("c.last_met_date", where=f"not coalesce({met_again}, false)")}
    union all{community_status_select("lc.last_contact_date", "left join last_contact lc using (community_id)", met_again)}
)"""


def last_contact_cte(conn: Connection, f: Filters, name: str = "last_contact", as_of: str = "as_of") -> str:
    """CTE `name`: community_id, last_contact_date, the last meeting on or before :`as_of` with each
    community met by then, held in the divisions of `f` (for the communities of a
    `scoped_communities` CTE: callers join on them).

    Without a division filter, the community's spell holding :`as_of` (community_spells: one per
    community, its contact is the last one on or before it; at L 3-6 ms less per statement than
    the per-division spells below, which need a grouping and a semi-join). With one, the
    per-division spells of those divisions holding it: the latest of their contacts."""
    from data_access.scope import in_list

    if f.communities:  # the chosen communities' meetings alone (see community_spells)
        return f"""{name} as (
    select m.community_id, max(m.meeting_date) as last_contact_date
    from {selected_meetings(conn)} and m.meeting_date <= :{as_of}
    group by m.community_id
)"""
    if not f.divisions:
        return f"""{name} as (
    -- the community's spell holding :{as_of}: its contact_date is the last contact on or before it
    select sp.community_id, sp.contact_date as last_contact_date
    from {source(conn, "community_spells")} sp
    where sp.contact_date <= :{as_of} and sp.next_contact_date > :{as_of}
)"""
    return f"""{name} as (
    -- the spell (per division) holding :{as_of}: its contact_date is the last contact on or before it
    select sp.community_id, max(sp.contact_date) as last_contact_date
    from {source(conn, "contact_spells")} sp
    where sp.contact_date <= :{as_of} and sp.next_contact_date > :{as_of}
      and {in_list("divisions", "sp.division_code")}
      and sp.community_id in (select community_id from scoped_communities)
    group by sp.community_id
)"""


# ---------------------------------------------------------------- an older database


def publish_with_rollups(url: str | None = None) -> str:
    """Publish a new version of the database with every roll-up built (the data is unchanged)."""
    from data_access import db, importer

    link = db.database_path(url)
    with importer._writer_lock(link):
        with importer._new_version(link, db.current_version(link)) as (con, building):
            con.execute("begin")
            for rollup in ROLLUPS:
                build(con, rollup)
            con.execute("commit")
            importer._publish(con, building, link, changed=True)
        importer._prune_quietly(link)
    return str(db.current_version(link))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m data_access.rollups", description="build the roll-up tables in a new database version"
    )
    ap.add_argument("--db", help="SQLAlchemy URL (default: env CED_DATABASE_URL or data/engagement.duckdb)")
    args = ap.parse_args(argv)
    print(f"roll-ups built; live version is now {publish_with_rollups(args.db)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
