"""Queries behind the Overview page: headline KPIs with change flags, and the needs-attention list.

Meetings, feedback, last contacts and open follow-ups are read from the import-time roll-ups
(data_access.rollups): the same answers as the raw tables, without scanning every meeting or
response on each rerun. tests/data_access/test_rollups.py checks each against the raw-table SQL.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

from data_access import feedback, rollups, stats
from data_access.db import read_frame, side_by_side
from data_access.filters import Filters, format_date
from data_access.kpi import Kpi, prior_unrecorded, without_prior
from data_access.scope import CADENCE_STATUS, feedback_scope, in_list, meeting_scope, staffing_scope

BELOW_FILLED_SHARE = 0.85
# A row `b` of authorized and filled FTE (a unit's or a patrol division's, the rest of the scope
# summed) is filled below :share (BELOW_FILLED_SHARE) of a positive authorized: the Overview's
# needs list and the Staffing page's unit and division flags read this one test.
BELOW_FILLED_TEST = "b.authorized > 0 and b.filled / b.authorized < :share"


def _meeting_totals_sql(conn: Connection, f: Filters) -> str:
    return f"""
    -- one row for the whole period
    select coalesce(sum(m.meetings_count), 0) as meetings_count, coalesce(sum(m.residents_sum), 0) as residents_count
    from {rollups.meeting_cells(conn, f)} m
    where m.meeting_date between :start and :end and {meeting_scope("m", f)}
    """


def _meeting_totals_row(row: pd.Series) -> dict[str, int]:
    return {"meetings": int(row.meetings_count), "residents": int(row.residents_count)}


def meeting_totals(conn: Connection, f: Filters) -> dict[str, int]:
    """One row: meetings held and residents reached in the period (filters applied)."""
    return _meeting_totals_row(read_frame(conn, _meeting_totals_sql(conn, f), f.params()).iloc[0])


def _coverage_counts_sql(conn: Connection, f: Filters) -> str:
    return f"""
    with {rollups.community_status_cte(conn, f)}
    select count(*) as communities_count,
           count(*) filter (where cadence_status = 'on track') as on_track_count
    from community_status
    """


def _coverage_counts_row(row: pd.Series) -> dict[str, int]:
    return {"communities": int(row.communities_count), "on_track": int(row.on_track_count)}


def coverage_counts(conn: Connection, f: Filters) -> dict[str, int]:
    """Active communities in scope and how many are on track at the end of the period."""
    row = read_frame(conn, _coverage_counts_sql(conn, f), {**f.params(), "as_of": f.end}).iloc[0]
    return _coverage_counts_row(row)


def _open_follow_ups_sql(conn: Connection) -> str:
    return f"""
    -- open at :end: opened on or before it, not closed by it (open_until = closed date, or 9999-12-31)
    select count(*) as open_count from {rollups.source(conn, "follow_up_facts")} fu
    where fu.opened_date <= :end and fu.open_until > :end and {meeting_scope("fu")}
    """


def open_follow_up_count(conn: Connection, f: Filters) -> int:
    """Follow-ups open at the end of the period, for meetings in scope (any meeting date)."""
    return int(read_frame(conn, _open_follow_ups_sql(conn), f.params()).iat[0, 0])


_STAFFING_TOTALS_SQL = f"""
    with month_pick as (
        select max(s.month) as month from staffing s
        where s.month <= date_trunc('month', cast(:end as date)) and {staffing_scope("s")}
    )
    select p.month, sum(s.authorized) as authorized, sum(s.filled) as filled, sum(s.available) as available
    from staffing s join month_pick p on s.month = p.month
    where {staffing_scope("s")}
    group by p.month
    """


def _staffing_totals_row(df: pd.DataFrame) -> dict[str, float] | None:
    if df.empty:
        return None
    row = df.iloc[0]
    return {
        "month": row.month,
        "authorized": float(row.authorized),
        "filled": float(row.filled),
        "available": float(row.available),
    }


def staffing_totals(conn: Connection, f: Filters) -> dict[str, float] | None:
    """Authorized / filled / available FTE summed over units and divisions in scope, for the
    latest month with data on or before the period's end; None when there is none.

    No page reads it since the Staffing page and the Briefing take the same totals from
    staffing.staffing_month (the Overview reads staffing_totals_both); kept as the one-period
    reference the tests check both against."""
    return _staffing_totals_row(read_frame(conn, _STAFFING_TOTALS_SQL, f.params()))


_LONGER_PARAM = re.compile(r":(start|end|as_of)\w")  # a :start_x would be renamed by mistake


def _both_periods(sql: str) -> str:
    """`sql` (binding :start, :end, :as_of = :end and the filter lists) for the period and for the
    one before it, in one statement (rows tagged period_index 0 and 1): one statement's overhead
    instead of two, a few ms each even on tiny tables. Binds _both_params."""
    return f"""
    select 0 as period_index, * from ({sql})
    union all
    select 1 as period_index, * from ({_for_prior(sql)})"""


def _for_prior(sql: str) -> str:
    """`sql` binding the prior period's parameters (:p_start, :p_end, :p_as_of) instead of :start,
    :end and :as_of (_both_params binds both)."""
    if _LONGER_PARAM.search(sql):
        raise ValueError("a parameter name starts with start/end/as_of: rename it")
    return sql.replace(":start", ":p_start").replace(":end", ":p_end").replace(":as_of", ":p_as_of")


def _both_params(f: Filters) -> dict[str, Any]:
    p = f.prior()
    return {**f.params(), "as_of": f.end, "p_start": p.start, "p_end": p.end, "p_as_of": p.end}


def _split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The current period's rows and the prior period's, of a _both_periods result."""
    cur, pri = df[df.period_index == 0], df[df.period_index == 1]
    return cur.drop(columns="period_index"), pri.drop(columns="period_index")


def meeting_totals_both(conn: Connection, f: Filters) -> tuple[dict[str, int], dict[str, int]]:
    """meeting_totals of the period and of the one before it."""
    cur, pri = _split(read_frame(conn, _both_periods(_meeting_totals_sql(conn, f)), _both_params(f)))
    return _meeting_totals_row(cur.iloc[0]), _meeting_totals_row(pri.iloc[0])


TileTotals = tuple[
    tuple[dict[str, int], dict[str, int]],
    tuple[int, int],
    tuple[dict[str, float] | None, dict[str, float] | None],
]


def tile_totals_both(conn: Connection, f: Filters) -> TileTotals:
    """meeting_totals_both, open_follow_up_count_both and staffing_totals_both from one statement
    (three statements' fixed cost, 1-3 ms each even on tiny tables, paid once): one row per period,
    its staffing columns null when no staffing month is on or before its end."""
    sql = f"""
    with meeting_part as ({_both_periods(_meeting_totals_sql(conn, f))}),
    open_part as ({_both_periods(_open_follow_ups_sql(conn))}),
    staffing_part as ({_both_periods(_STAFFING_TOTALS_SQL)})
    -- one row per period: 0 the period, 1 the one before it
    select p.period_index, m.meetings_count, m.residents_count, o.open_count,
           s.month, s.authorized, s.filled, s.available
    from (values (0), (1)) p(period_index)
    left join meeting_part m using (period_index)
    left join open_part o using (period_index)
    left join staffing_part s using (period_index)
    order by p.period_index
    """
    cur, pri = _split(read_frame(conn, sql, _both_params(f)))

    def staffing(df: pd.DataFrame) -> dict[str, float] | None:
        return _staffing_totals_row(df[df["month"].notna()])

    return (
        (_meeting_totals_row(cur.iloc[0]), _meeting_totals_row(pri.iloc[0])),
        (int(cur.open_count.iloc[0]), int(pri.open_count.iloc[0])),
        (staffing(cur), staffing(pri)),
    )


def coverage_counts_both(conn: Connection, f: Filters) -> tuple[dict[str, int], dict[str, int]]:
    """coverage_counts at the end of the period and at the end of the one before it."""
    cur, pri = _split(read_frame(conn, _both_periods(_coverage_counts_sql(conn, f)), _both_params(f)))
    return _coverage_counts_row(cur.iloc[0]), _coverage_counts_row(pri.iloc[0])


OVERDUE_COLUMNS = [
    "community_id",
    "name",
    "cadence_status",
    "days_since_contact",
    "target_cadence_days",
    "last_contact_date",
    "responsible_name",
]
# most overdue first (never met, then days since ÷ target), then by name
_OVERDUE_ORDER = (
    "{a}cadence_status = 'never met' desc, {a}days_since_contact * 1.0 / {a}target_cadence_days desc nulls first, "
    "{a}name, {a}community_id"
)
# The Overview's needs-attention list names the most overdue communities only (every unit and
# score item as well); the Coverage page's worklist pages through all of them, and the Overview's
# download holds the whole list. At scale L thousands are overdue: fetching and wording every one
# on each filter change was a third of the Overview's time.
NEEDS_COMMUNITY_ROWS = 50
OVERDUE_KIND = "Overdue community"
NO_MEETINGS_KIND = "No meetings logged"  # a unit's item
# The feedback scope the Overview reads (no topics, no channels: it shows neither), the Briefing's
# overview slide and the server's warm-up too, so all three find the same cached result.
OVERVIEW_SCOPE: dict[str, bool] = {"topics": False, "channels": False}


def needs_count_words(kind: str, n: int) -> str:
    """The words after the number in the needs-attention counts line, for `n` items of `kind`:
    "overdue communities", "unit below 85% filled", "significant drops in trust"."""
    text = "unit with no meetings logged" if kind == NO_MEETINGS_KIND else kind.lower()
    if n == 1:
        return text
    for one, many in (("community", "communities"), ("unit ", "units "), (" drop ", " drops ")):
        if one in text:
            return text.replace(one, many, 1)
    return text


def coverage_with_overdue(
    conn: Connection, f: Filters, limit: int | None = None
) -> tuple[dict[str, int], dict[str, int], pd.DataFrame, int]:
    """coverage_counts_both and overdue_communities from one statement: the communities' status at
    the end of the period is worked out once for both (at scale L, every community's last contact).
    The end of the prior period needs only the same communities' last contacts as of then.
    `limit`: only that many overdue communities, the most overdue first; the last value is how
    many are overdue or never met in all."""
    prior_status = CADENCE_STATUS.format(
        last="p.last_contact_date", as_of="p_as_of", target="c.target_cadence_days"
    )
    sql = f"""
    with {rollups.community_status_cte(conn, f)},
    {rollups.last_contact_cte(conn, f, "prior_contact", "p_as_of")},
    status as materialized (select * from community_status),
    -- the prior period's counts: the same communities (those in scope now), their status then
    before as (
        select count(*) as communities_count,
               count(*) filter (where {prior_status} = 'on track') as on_track_count
        from scoped_communities c
        left join prior_contact p using (community_id)
    ),
    now as (
        select count(*) as communities_count, count(*) filter (where cadence_status = 'on track') as on_track_count,
               count(*) filter (where cadence_status in ('overdue', 'never met')) as overdue_count
        from status
    ),
    overdue as (
        select {", ".join(OVERDUE_COLUMNS)} from status where cadence_status in ('overdue', 'never met')
        {"" if limit is None else f"order by {_OVERDUE_ORDER.format(a='')} limit {int(limit)}"}
    )
    -- one row per overdue or never-met community (one row of nulls when none), each with both counts
    select n.*, b.communities_count as p_communities_count, b.on_track_count as p_on_track_count, o.*
    from now n
    cross join before b
    left join overdue o on true
    order by {_OVERDUE_ORDER.format(a="o.")}
    """
    df = read_frame(conn, sql, _both_params(f))
    first = df.iloc[0]
    before = {"communities": int(first.p_communities_count), "on_track": int(first.p_on_track_count)}
    overdue = df[df["community_id"].notna()][OVERDUE_COLUMNS].reset_index(drop=True)
    return _coverage_counts_row(first), before, overdue, int(first.overdue_count)


def open_follow_up_count_both(conn: Connection, f: Filters) -> tuple[int, int]:
    """open_follow_up_count at the end of the period and at the end of the one before it."""
    cur, pri = _split(read_frame(conn, _both_periods(_open_follow_ups_sql(conn)), _both_params(f)))
    return int(cur.open_count.iloc[0]), int(pri.open_count.iloc[0])


def staffing_totals_both(
    conn: Connection, f: Filters
) -> tuple[dict[str, float] | None, dict[str, float] | None]:
    """staffing_totals for the period and for the one before it."""
    cur, pri = _split(read_frame(conn, _both_periods(_STAFFING_TOTALS_SQL), _both_params(f)))
    return _staffing_totals_row(cur), _staffing_totals_row(pri)


def feedback_scores(conn: Connection, f: Filters, k: int) -> dict[str, stats.Score]:
    """Trust and safety over every response in scope, before the per-group small-n rule.

    Not shown on any page (the tiles use feedback.score_kpis, which leaves out groups under k);
    kept as the whole-scope reference the roll-up equality tests check the feedback cells against.
    """
    sql = f"""
    -- one row for the whole period
    select {rollups.score_aggregates("f")}
    from {rollups.feedback_cells(conn, f)} f
    where f.response_date between :start and :end and {feedback_scope("f")}
    """
    row = read_frame(conn, sql, f.params()).iloc[0]
    n = int(row.n)
    return {
        "trust_score": stats.make_score(n, _num(row.trust_mean), _num(row.trust_sd), k),
        "safety_score": stats.make_score(n, _num(row.safety_mean), _num(row.safety_sd), k),
    }


def _num(v: object) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


@dataclass(frozen=True)
class OverviewPage:
    """`needs`: needs_attention's list with at most `communities` overdue communities (the most
    overdue); `counts`: how many items of each kind the whole list holds, most first."""

    kpis: dict[str, Kpi]
    needs: pd.DataFrame
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def complete(self) -> bool:
        """Whether `needs` is the whole list."""
        return len(self.needs) == self.total


def overview_page(
    conn: Connection,
    f: Filters,
    k: int = stats.DEFAULT_K,
    *,
    scope: feedback.FeedbackScope | None = None,
    communities: int | None = None,
) -> OverviewPage:
    """Everything the Overview shows: the tiles and the needs-attention list, reading the feedback
    sums (both periods, every division) once for the trust/safety tiles and the score drops.
    `scope`: feedback.scope(conn, f, k) when already counted (the Briefing shares it).
    `communities`: how many overdue communities the list names (None: NEEDS_COMMUNITY_ROWS)."""
    scope = feedback.scope(conn, f, k, **OVERVIEW_SCOPE) if scope is None else scope
    sums = feedback.division_period_sums(conn, f, k, scope)
    limit = NEEDS_COMMUNITY_ROWS if communities is None else communities
    # three independent statements, overlapping (the longest here, the others on the worker)
    (now, before, overdue, overdue_count), tiles, units = side_by_side(
        conn,
        lambda c: coverage_with_overdue(c, f, limit),
        lambda c: tile_totals_both(c, f),
        lambda c: _unit_needs(c, f),
    )
    needs = _needs(conn, f, k, sums, overdue, units, scope)
    counts = Counter(needs["kind"].tolist())
    if overdue_count:
        counts[OVERDUE_KIND] = overdue_count
    # most first; ties in list order (Counter keeps first appearance)
    ordered = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
    return OverviewPage(_kpis(conn, f, k, sums, (now, before), tiles), needs, ordered)


def overview_kpis(conn: Connection, f: Filters, k: int = stats.DEFAULT_K) -> dict[str, Kpi]:
    """The six headline tiles, each with its prior-period value and change z."""
    return _kpis(conn, f, k, feedback.division_period_sums(conn, f, k))


def _kpis(
    conn: Connection,
    f: Filters,
    k: int,
    sums: pd.DataFrame,
    coverage: tuple[dict[str, int], dict[str, int]] | None = None,
    tiles: TileTotals | None = None,
) -> dict[str, Kpi]:
    (cur_m, pri_m), (cur_o, pri_o), (cur_s, pri_s) = tiles or tile_totals_both(conn, f)
    cur_c, pri_c = coverage or coverage_counts_both(conn, f)
    # reportable responses only, as on the Feedback page
    scores = feedback.score_kpis_from(sums, k, prior_recorded=feedback.prior_recorded(conn, f))

    def rate(c: dict[str, int]) -> float | None:
        return c["on_track"] / c["communities"] if c["communities"] else None

    def vacancy(s: dict[str, float] | None) -> float | None:
        return (s["authorized"] - s["filled"]) / s["authorized"] if s and s["authorized"] else None

    def vacant(s: dict[str, float] | None) -> float:
        return max(s["authorized"] - s["filled"], 0.0) if s else 0.0

    out = {
        "meetings_held": Kpi(
            "meetings_held",
            cur_m["meetings"],
            pri_m["meetings"],
            stats.poisson_z(cur_m["meetings"], pri_m["meetings"]),
        ),
        "coverage_rate": Kpi(
            "coverage_rate",
            rate(cur_c),
            rate(pri_c),
            stats.poisson_z(cur_c["on_track"], pri_c["on_track"]) if cur_c["communities"] else None,
        ),
        "open_follow_ups": Kpi("open_follow_ups", cur_o, pri_o, stats.poisson_z(cur_o, pri_o)),
        "vacancy_rate": Kpi(
            "vacancy_rate",
            vacancy(cur_s),
            vacancy(pri_s),
            stats.poisson_z(vacant(cur_s), vacant(pri_s)) if cur_s and pri_s else None,
        ),
    }
    if prior_unrecorded(f, rollups.records_begin(conn, "meetings")):
        # nothing recorded before: no meetings, follow-ups or contacts to compare with
        for name in ("meetings_held", "coverage_rate", "open_follow_ups"):
            out[name] = without_prior(out[name])
    out["trust_score"], out["safety_score"] = scores["trust_score"], scores["safety_score"]
    out["responses"] = scores["responses"]  # not a tile here; the briefing's feedback line shows it
    return out


def overdue_communities(conn: Connection, f: Filters) -> pd.DataFrame:
    """One row per overdue or never-met active community in scope at end of period, most overdue first."""
    sql = f"""
    with {rollups.community_status_cte(conn, f)}
    select {", ".join(OVERDUE_COLUMNS)}
    from community_status
    where cadence_status in ('overdue', 'never met')
    order by {_OVERDUE_ORDER.format(a="")}
    """
    return read_frame(conn, sql, {**f.params(), "as_of": f.end})


_UNITS_BELOW_FILLED_SQL = f"""
    with month_pick as (
        select max(s.month) as month from staffing s
        where s.month <= date_trunc('month', cast(:end as date)) and {staffing_scope("s")}
    ),
    by_unit as (
        select s.unit_code, sum(s.authorized) as authorized, sum(s.filled) as filled, p.month
        from staffing s join month_pick p on s.month = p.month
        where {staffing_scope("s")}
        group by s.unit_code, p.month
    )
    select b.unit_code, u.name as unit_name, b.month, b.authorized, b.filled,
           b.filled / b.authorized as filled_share
    from by_unit b join units u using (unit_code)
    where {BELOW_FILLED_TEST}
    """


def units_below_filled(conn: Connection, f: Filters, share: float = BELOW_FILLED_SHARE) -> pd.DataFrame:
    """One row per unit (divisions in scope summed) filled below `share` of authorized in the last month."""
    return read_frame(
        conn, f"{_UNITS_BELOW_FILLED_SQL} order by filled_share", {**f.params(), "share": share}
    )


def _silent_units_sql(conn: Connection) -> str:
    return f"""
    with serving as (
        select distinct st.unit_code from staff st
        where st.start_date <= :end and (st.end_date is null or st.end_date >= :start)
          and {in_list("units", "st.unit_code")} and {in_list("divisions", "st.division_code")}
    ),
    logged as (
        select m.unit_code, sum(m.meetings_count) filter (where m.meeting_date between :start and :end)
                   as meetings_count,
               max(m.meeting_date) as last_meeting_date
        from {rollups.source(conn, "meeting_days")} m
        where m.meeting_date <= :end and {in_list("divisions", "m.division_code")}
        group by m.unit_code
    )
    select s.unit_code, u.name as unit_name, l.last_meeting_date
    from serving s
    join units u using (unit_code)
    left join logged l using (unit_code)
    where coalesce(l.meetings_count, 0) = 0
    """


def silent_units(conn: Connection, f: Filters) -> pd.DataFrame:
    """Units in scope with staff serving during the period but no meetings logged in it (data freshness)."""
    return read_frame(conn, f"{_silent_units_sql(conn)} order by unit_code", f.params())


def _unit_needs(conn: Connection, f: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """units_below_filled and silent_units (same rows, same order) from one statement: the
    needs-attention list's two unit items, one statement's fixed cost instead of two."""
    sql = f"""
    select 'below' as item, b.unit_code, b.unit_name, b.month, b.authorized, b.filled, b.filled_share,
           cast(null as date) as last_meeting_date
    from ({_UNITS_BELOW_FILLED_SQL}) b
    union all
    select 'silent', s.unit_code, s.unit_name, null, null, null, null, s.last_meeting_date
    from ({_silent_units_sql(conn)}) s
    order by item, filled_share, unit_code
    """
    df = read_frame(conn, sql, {**f.params(), "share": BELOW_FILLED_SHARE})
    below = df[df["item"] == "below"][
        ["unit_code", "unit_name", "month", "authorized", "filled", "filled_share"]
    ]
    silent = df[df["item"] == "silent"][["unit_code", "unit_name", "last_meeting_date"]]
    return below.reset_index(drop=True), silent.reset_index(drop=True)


def score_drops(
    conn: Connection,
    f: Filters,
    k: int = stats.DEFAULT_K,
    sums: pd.DataFrame | None = None,
    scope: feedback.FeedbackScope | None = None,
) -> pd.DataFrame:
    """One row per patrol division whose trust or safety fell notably (z ≤ −2) vs the prior period.

    Read from the Feedback page's division comparison, so both pages flag the same drops with the
    same n: reportable responses only (groups under k left out, complementary suppression), and a
    suppressed division is never compared. Counting all responses here would let a reader recover
    a suppressed group's n as this list's n minus the Feedback page's.
    """
    if sums is None:
        sums = feedback.division_period_sums(conn, f, k)
    # its plain columns: a frame's nullable (masked) columns cost ~2 ms to build and iterate
    col = feedback.division_comparison_columns(conn, f, k, sums, scope=scope)
    rows = []
    for i, code in enumerate(col["division_code"]):
        if code == feedback.NO_DIVISION:
            continue
        for name, metric in (("trust_score", "trust"), ("safety_score", "safety")):
            z = col[f"{metric}_z"][i]
            if z is not None and not pd.isna(z) and z <= -stats.NOTABLE_Z:
                rows.append(
                    {
                        "division_code": code,
                        "division_name": col["division_name"][i],
                        "metric": name,
                        "current": col[f"{metric}_score"][i],
                        "prior": col[f"{metric}_prior"][i],
                        "z": z,
                        "n": int(col["n"][i]),
                    }
                )
    return pd.DataFrame(
        rows, columns=["division_code", "division_name", "metric", "current", "prior", "z", "n"]
    )


def needs_attention(conn: Connection, f: Filters, k: int = stats.DEFAULT_K) -> pd.DataFrame:
    """The Major's worklist: one row per item, with kind, subject and a plain-English detail."""
    return _needs(conn, f, k, feedback.division_period_sums(conn, f, k))


def _needs(
    conn: Connection,
    f: Filters,
    k: int,
    sums: pd.DataFrame,
    overdue: pd.DataFrame | None = None,
    units: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    scope: feedback.FeedbackScope | None = None,
) -> pd.DataFrame:
    """The list from its parts, each read here unless given (`units`: _unit_needs; `scope`: the
    feedback scope `sums` came from, which holds the divisions in scope)."""
    rows: list[dict[str, str]] = []
    od = overdue_communities(conn, f) if overdue is None else overdue
    # plain lists, not itertuples: at L thousands of rows, whose text columns pandas holds in
    # Arrow (element by element that was most of the Overview's Python time)
    columns = ("name", "cadence_status", "days_since_contact", "target_cadence_days", "last_contact_date")
    for name, status, days, target, last, owner in zip(
        *(od[c].tolist() for c in columns), od["responsible_name"].tolist(), strict=True
    ):
        if status == "never met":
            detail = f"never met · target every {target} days"
        else:
            detail = f"{int(days)} days since last contact (target {target}) · last met {format_date(last)}"
        owner = owner if isinstance(owner, str) else "no responsible liaison"
        rows.append({"kind": OVERDUE_KIND, "subject": name, "detail": f"{detail} · {owner}"})
    below, silent = units or _unit_needs(conn, f)
    for r in below.itertuples():
        rows.append(
            {
                "kind": "Unit below 85% filled",
                "subject": r.unit_name,
                "detail": f"{r.filled:g} of {r.authorized:g} FTE filled ({r.filled_share:.0%}) in {r.month:%b %Y}",
            }
        )
    for r in score_drops(conn, f, k, sums, scope).itertuples():
        label = "Trust" if r.metric == "trust_score" else "Safety"
        rows.append(
            {
                "kind": f"{stats.change_label(r.z).capitalize()} in {label.lower()}",
                "subject": r.division_name,
                "detail": f"{label} {r.prior:.1f} → {r.current:.1f} (z = {r.z:.1f}, n = {r.n})",
            }
        )
    for r in silent.itertuples():
        last = r.last_meeting_date if isinstance(r.last_meeting_date, date) else None
        rows.append(
            {
                "kind": NO_MEETINGS_KIND,
                "subject": r.unit_name,
                "detail": f"nothing logged this period · last meeting {format_date(last)}",
            }
        )
    return pd.DataFrame(rows, columns=["kind", "subject", "detail"])
