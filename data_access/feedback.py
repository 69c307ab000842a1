"""Queries behind the Feedback page: is trust moving, where, and what are people telling us?

Small-n rule (SPEC §3), decided here so nothing under k reaches the browser:

- A **group** is the community a response names, or, for a response without a community,
  its patrol division (or "none" when it has neither), counted over the filtered period and
  filters. Groups with fewer than k responses are *suppressed*: their responses are left out
  of every number on the page (scores, counts, series, channels, topics, comments) and the
  group is listed with a badge instead of a number. Because totals are built only from
  reportable groups, "total minus the others" gives 0, never a suppressed group, and so does
  filter subtraction (all communities minus all-but-one).
- Every **breakdown cell** (a time bucket, a division, a channel, a topic) with n < k is
  suppressed too, and `protect()` adds **complementary suppression**: whenever a margin that
  the page shows (a total, a bucket's n, a division's n) has exactly one hidden cell, the
  smallest shown cell of that margin is hidden as well, repeated until stable.

Known limit: this blocks subtraction along one filter (communities) and within a view; it is
not full statistical disclosure control against arbitrary combinations of periods and
division filters (that would need noise or fixed published cells).

Speed: the numbers come from import-time roll-ups (data_access.rollups), not from every
response, and the groups are counted once per filter, not in every statement. `scope()` counts
each group's responses once for the page (per community cells, for both periods) and reads what
the suppressed groups answered (few responses: under k each). Every other aggregate is "every
response in scope" from the roll-ups without a community (feedback_days, feedback_topic_days;
with a community selection, that selection's cells) minus the suppressed groups' part. Score sums
are integers, so the difference is exact; means and sds come from them (scores_from_sums). The
community comparison counts its own groups (it lists them all); the comment browser reads only
the responses that carry a comment (feedback_comments), leaving out the suppressed groups' keys.
tests/data_access/test_rollups.py checks every function, with and without a shared scope,
against the raw-table version.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property, partial
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from data_access import rollups, stats
from data_access.db import read_frame, side_by_side
from data_access.filters import ROLES, Filters
from data_access.kpi import Kpi, prior_unrecorded, without_prior
from data_access.scope import in_list, page_of, page_params
from data_access.tables import FEEDBACK_CHANNELS

GRAINS = ("week", "month")
SPLITS = ("none", "division")
SCORES = ("trust", "safety")
COMMENT_PAGE_SIZE = 25
COMMENT_ROLE = "analyst"  # the least role that may read comment text (mirrors ui.auth.PERMISSIONS)
NO_DIVISION = "(none)"
NO_COMMUNITY = "(none)"

SHOWN, EMPTY, SUPPRESSED, COMPLEMENTARY = "shown", "empty", "suppressed", "complementary"
HIDDEN = (SUPPRESSED, COMPLEMENTARY)  # no score and no count reach the browser


def _group_sums_sql(conn: Connection, f: Filters, index: int, sums: Sequence[str]) -> str:
    """One period's groups in the filters (CURRENT: :start–:end, PRIOR: :p_start–:p_end), counted
    before suppression: period_index, group_id and `sums` (of SUMS), one row per group with
    responses (rollups.feedback_score_sums; bind rollups.feedback_score_sums_params)."""
    start, end = ("start", "end") if index == CURRENT else ("p_start", "p_end")
    period = f if index == CURRENT else f.prior()
    return f"""
        select {int(index)} as period_index, c.group_id,
               {", ".join(f"cast(sum(c.{x}) as bigint) as {x}" for x in sums)}
        from {rollups.feedback_score_sums(conn, period, start=start, end=end)} c
        where {_in_filters(conn, f, "c")}
        group by c.group_id
        having sum(c.n) > 0"""


def _in_filters(conn: Connection, f: Filters, alias: str) -> str:
    """scope.feedback_scope for a feedback roll-up that carries group_id: the division filter on
    its division_code, and a community selection as its groups' ids (an integer semi-join through
    the small feedback_groups table: at scale L 10 ms over the 9M comments, where testing each
    row's community_id against the list took 144 ms). Responses without a community drop out when
    communities are chosen, as in feedback_scope."""
    divisions = in_list("divisions", f"{alias}.division_code")
    if not f.communities:
        return divisions
    groups = rollups.source(conn, "feedback_groups")
    chosen = f"(select g.group_id from {groups} g where {in_list('communities', 'g.community_id')})"
    return f"{divisions} and {alias}.group_id in {chosen}"


def _both_params(f: Filters, k: int) -> dict[str, Any]:
    p = f.prior()
    return _params(f, k, p_start=p.start, p_end=p.end)


def _params(f: Filters, k: int, **extra: Any) -> dict[str, Any]:
    return {**f.params(), "k": int(k), **extra}


# ---------------------------------------------------------------------------------------------
# The scope: the small-n groups and the page's cells, counted once per filter
# ---------------------------------------------------------------------------------------------

SUMS = rollups.FEEDBACK_SUMS  # additive, exact integers
ALL = "all"  # FeedbackScope.cells / .topics part: every response in scope
SUPPRESSED_PART = "hidden"  # ... and the suppressed groups' part of them


@dataclass(frozen=True, eq=False)
class FeedbackScope:
    """Everything the Feedback aggregates need for one filter and k, for the period (CURRENT) and
    the one before it (PRIOR), read once: which groups fall under k, and every response in scope at
    the finest grain a chart asks for, beside the suppressed groups' part of it.

    Reportable = in scope − suppressed: suppressed groups have fewer than k responses each, so
    their part is small; the sums are integers, so the difference is exact. The aggregate
    functions of this module add these cells up (in Python: at most a few thousand rows) instead
    of each recounting the groups over the period's per-community cells.

    - `periods`: one row per period_index: groups_count, reportable_groups_count, scoped_n;
    - `hidden_ids` / `hidden_keys`: the current period's suppressed groups (their integer ids in
      the roll-ups, and rollups.GROUP_KEY_SQL keys): the comment browser leaves them out;
    - `cells`: part (ALL: every response in scope; SUPPRESSED_PART: the suppressed groups'),
      period_index, week_start (7-day weeks from the period's start; only with `weekly`), month,
      division_code, channel, the SUMS and `comments` (how many of the responses carry a
      comment); the prior period's rows have no week or month;
    - `topics`: part, period_index, month (none for the prior period), topic, has_comment, n;
    - `divisions`: divisions_in_scope, the patrol divisions the filter keeps (read beside the
      group counts, for the division comparison and split).

    `weekly` reads day cells so that weeks can be formed (score_series and channel_volume with
    grain="week" need it); without it whole months come from month cells, far fewer rows over a
    long period. Without `topics` the topic cells are not read (the Overview and the Briefing show
    no topic). Without `channels` the cells have no channel and no comment count (null): they are
    summed from the score cells, which have neither, fewer rows for the same sums (the Overview
    and the Briefing show neither). Its repr names the filters, k, weekly, topics and channels
    only: what the query cache keys it by (the result is a function of them and of the database
    version, which the key holds too)."""

    filters: Filters
    k: int
    weekly: bool
    with_topics: bool
    with_channels: bool
    periods: pd.DataFrame
    hidden_ids: tuple[int, ...]
    hidden_keys: tuple[str, ...]
    cells: pd.DataFrame
    topics: pd.DataFrame
    divisions: pd.DataFrame

    def __repr__(self) -> str:
        return (
            f"FeedbackScope({self.filters!r}, k={self.k}, weekly={self.weekly}, topics={self.with_topics}, "
            f"channels={self.with_channels})"
        )

    @cached_property
    def cell_columns(self) -> dict[str, list[Any]]:
        """`cells` as plain lists (a missing value as None), what the aggregates add up."""
        return _plain_columns(self.cells)

    @cached_property
    def topic_columns(self) -> dict[str, list[Any]]:
        """`topics` as plain lists (a missing value as None)."""
        return _plain_columns(self.topics)

    def period(self, index: int) -> dict[str, int]:
        names = ("groups_count", "reportable_groups_count", "scoped_n")
        for i, *values in zip(self.periods["period_index"], *(self.periods[c] for c in names), strict=True):
            if int(i) == index:
                return {c: int(v) for c, v in zip(names, values, strict=True)}
        return dict.fromkeys(names, 0)


def masked_array(values: Sequence[Any], dtype: str) -> pd.api.extensions.ExtensionArray:
    """pd.array(values, dtype) for "Float64" or "Int64" (None or NaN: missing), built from a value
    array and a mask: a quarter of pd.array's cost on a page's few dozen values (~6 against 22 µs),
    and the aggregates build a dozen such columns a call."""
    if dtype not in _MASKED:
        raise ValueError(f"dtype must be one of {sorted(_MASKED)}")
    kind, make = _MASKED[dtype]
    mask = np.fromiter((v is None or v is pd.NA or v != v for v in values), dtype=bool, count=len(values))
    data = np.fromiter(
        (0 if m else v for v, m in zip(values, mask, strict=True)), dtype=kind, count=len(values)
    )
    return make(data, mask)


_MASKED = {"Float64": (np.float64, pd.arrays.FloatingArray), "Int64": (np.int64, pd.arrays.IntegerArray)}


def _plain_columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """Each column as a list, a missing value (NaN in a text column, None in others) as None:
    iterating a pandas column element by element, or selecting it (~30 µs a time), costs several
    times more than reading a list, and the aggregates read the same few columns many times."""
    return {
        c: [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in frame[c].tolist()]
        for c in frame.columns
    }


CELL_COLUMNS = ["part", "period_index", "week_start", "month", "division_code", "channel", *SUMS, "comments"]
TOPIC_CELL_COLUMNS = ["part", "period_index", "month", "topic", "has_comment", "n"]


def _scope_cells_sql(
    conn: Connection,
    f: Filters,
    index: int,
    *,
    hidden: bool,
    weekly: bool,
    topics: bool,
    channels: bool = True,
    small_only: bool = False,
) -> str:
    """One part of FeedbackScope.cells (or .topics): every response in scope of one period, or
    (`hidden`) the suppressed groups' (:hidden / :p_hidden ids), summed to the scope's grain.
    With `small_only` (every suppressed group is a small one, rollups.SMALL_GROUP_SHARE) the
    suppressed part reads only the small groups' row groups of the cells: the same rows.

    In scope, without a community selection: the roll-ups without a community (feedback_days,
    feedback_topic_days). Otherwise the per-community cells, day cells for a weekly current period,
    else whole months plus partial-month days. Without `channels` (cells only): the score cells,
    summed without channel and comment count (both null)."""
    current = index == CURRENT
    start, end, ids = ("start", "end", "hidden") if current else ("p_start", "p_end", "p_hidden")
    if not hidden and not f.communities:
        table = rollups.source(conn, "feedback_topic_days" if topics else "feedback_days")
        source = f"""(
            select * from {table} d
            where d.response_date between cast(:{start} as date) and cast(:{end} as date)
              and {in_list("divisions", "d.division_code")})"""
        where = "true"
    else:
        daily = current and weekly and not topics
        cells = rollups.feedback_period_cells(
            conn, daily=daily, topics=topics, start=start, end=end, channels=channels or topics
        )
        source = f"(select * from {cells} c where {_in_filters(conn, f, 'c')})"
        where = f"c.group_id in (select * from unnest(cast(:{ids} as integer[])))" if hidden else "true"
        if hidden and small_only:
            where = f"c.small and {where}"
    part = SUPPRESSED_PART if hidden else ALL
    month = "cast(date_trunc('month', c.response_date) as date)" if current else "cast(null as date)"
    if topics:
        keys = f"{month} as month, c.topic, c.has_comment"
        sums = "cast(sum(c.n) as bigint) as n"
    else:
        week = bucket_sql("week", "c.response_date") if current and weekly else "cast(null as date)"
        channel = "c.channel" if channels else "cast(null as varchar)"
        keys = f"{week} as week_start, {month} as month, c.division_code, {channel} as channel"
        sums = ", ".join(f"cast(sum(c.{x}) as bigint) as {x}" for x in SUMS)
        sums += (
            ", cast(sum(c.comments) as bigint) as comments"
            if channels
            else ", cast(null as bigint) as comments"
        )
    return f"""
        select '{part}' as part, {int(index)} as period_index, {keys}, {sums}
        from {source} c
        where {where}
        group by all"""


def scope(
    conn: Connection,
    f: Filters,
    k: int = stats.DEFAULT_K,
    *,
    weekly: bool = False,
    topics: bool = True,
    channels: bool = True,
) -> FeedbackScope:
    """The FeedbackScope of `f` and `k`: three statements, and the divisions in scope beside the
    first. The first counts every group in scope for both periods (whole months plus partial-month
    days, by integer group id); the other two read the cells and topic cells in scope and, when
    some group fell under k, that group's part (a semi-join on its id over the period's
    per-community cells)."""
    params = {**_both_params(f, k), **rollups.feedback_score_sums_params(conn)}
    periods_sql = f"""
    -- one row per period × group in scope
    with groups as ({_group_sums_sql(conn, f, CURRENT, ["n"])}
        union all{_group_sums_sql(conn, f, PRIOR, ["n"])}
    )
    -- one row per period, then one per suppressed group
    select period_index, cast(null as integer) as group_id, cast(null as varchar) as group_key,
           cast(null as boolean) as small,
           count(*) as groups_count, count(*) filter (where n >= :k) as reportable_groups_count,
           cast(sum(n) as bigint) as scoped_n
    from groups
    group by period_index
    union all
    select s.period_index, s.group_id, g.group_key, g.small, null, null, null
    from groups s join {rollups.source(conn, "feedback_groups")} g using (group_id)
    where s.n < :k
    order by 1, 3 nulls first
    """
    # the patrol divisions in scope overlap the group counts (the cells need the counts first)
    rows, divisions = side_by_side(
        conn, lambda c: read_frame(c, periods_sql, params), lambda c: divisions_in_scope(c, f)
    )
    summary = rows[rows["group_id"].isna()]
    periods = summary[["period_index", "groups_count", "reportable_groups_count", "scoped_n"]].reset_index(
        drop=True
    )
    # the suppressed groups' ids per period and the current ones' keys, from plain lists (boolean
    # masks over a frame of hundreds of rows cost more than this loop). Missing values are tested
    # as `v is None or v != v` (None, or NaN in a float column), not with pd.isna: at L over 90
    # days there are ~4,500 rows, and two pd.isna calls a row took 3 ms of the loop's 4.
    ids: dict[int, list[int]] = {CURRENT: [], PRIOR: []}
    all_small = {CURRENT: True, PRIOR: True}  # every suppressed group of the period is a small one
    hidden_keys: list[str] = []
    for index, group_id, key, small in zip(
        rows["period_index"].tolist(),
        rows["group_id"].tolist(),
        rows["group_key"].tolist(),
        rows["small"].tolist(),
        strict=True,
    ):
        if group_id is None or group_id != group_id:  # a period's summary row
            continue
        i = int(index)
        ids[i].append(int(group_id))
        if small is None or small != small or not small:  # a suppressed group that is not small
            all_small[i] = False
        if i == CURRENT:
            hidden_keys.append(str(key))

    def cells(c: Connection, of_topics: bool) -> pd.DataFrame:
        parts = [
            _scope_cells_sql(
                c,
                f,
                i,
                hidden=part,
                weekly=weekly,
                topics=of_topics,
                channels=channels,
                small_only=all_small[i],
            )
            for part, i in ((False, CURRENT), (False, PRIOR), (True, CURRENT), (True, PRIOR))
            if not part or ids[i]  # a suppressed part only when some group is suppressed
        ]
        # one row per part × period × the scope's grain with responses
        df = read_frame(
            c,
            "\n        union all".join(parts),
            {**params, "hidden": ids[CURRENT], "p_hidden": ids[PRIOR]},
        )
        for col in ("week_start", "month"):
            if col in df.columns:
                df[col] = _as_dates(df[col].tolist())
        return df[TOPIC_CELL_COLUMNS if of_topics else CELL_COLUMNS]

    # the cells and the topic cells overlap (independent statements)
    frames = side_by_side(
        conn, *(partial(cells, of_topics=t) for t in ((False, True) if topics else (False,)))
    )
    if not topics:
        frames.append(pd.DataFrame(columns=TOPIC_CELL_COLUMNS))
    return FeedbackScope(
        f,
        int(k),
        bool(weekly),
        bool(topics),
        bool(channels),
        periods,
        tuple(ids[CURRENT]),
        tuple(hidden_keys),
        frames[0],
        frames[1],
        divisions,
    )


def _as_dates(values: list[Any]) -> list[date | None]:
    """Dates (None for a missing value), each distinct value converted once: a cell column holds
    a few dozen distinct weeks or months over hundreds of rows."""
    date_of = {v: None if v is None or pd.isna(v) else pd.Timestamp(v).date() for v in set(values)}
    return [date_of[v] for v in values]


def _scope_for(
    conn: Connection,
    f: Filters,
    k: int,
    given: FeedbackScope | None,
    *,
    weekly: bool = False,
    topics: bool = False,
    channels: bool = False,
) -> FeedbackScope:
    """The scope a function was handed (checked to be this filter's and k's, and to hold weeks,
    topics or channels when they are asked for), or a new one."""
    if given is None:
        return scope(conn, f, k, weekly=weekly, topics=topics, channels=channels)
    if given.filters != f or given.k != int(k):
        raise ValueError(f"{given!r} does not belong to {f!r}, k={k}")
    if weekly and not given.weekly:
        raise ValueError(f"{given!r} has no weeks: count it with weekly=True")
    if topics and not given.with_topics:
        raise ValueError(f"{given!r} has no topics: count it with topics=True")
    if channels and not given.with_channels:
        raise ValueError(f"{given!r} has no channels: count it with channels=True")
    return given


def _reportable_rows(
    columns: dict[str, list[Any]],
    keys: Sequence[str],
    values: Sequence[str] = SUMS,
    *,
    where: dict[str, Any] | None = None,
    rename: dict[str, Callable[[Any], Any]] | None = None,
    keep_empty: bool = False,
) -> list[tuple]:
    """Scope cells (FeedbackScope.cell_columns or .topic_columns) summed to `keys`: every response
    in scope less the suppressed groups' part, one row per key: the key's values, then `values`
    (reportable), then scoped_n (in scope). `where` keeps rows whose columns equal the given values;
    `rename` maps a key column's values first (e.g. a missing division to '(none)'). Rows left with
    no reportable response are dropped unless `keep_empty`. Plain Python: the cells are at most a
    few thousand rows."""
    keys, values = list(keys), list(values)
    where, rename = where or {}, rename or {}
    keep = [True] * len(columns["part"])
    for column, want in where.items():
        keep = [k and v == want for k, v in zip(keep, columns[column], strict=True)]
    key_columns = [
        [rename[column](v) for v in columns[column]] if column in rename else columns[column]
        for column in keys
    ]
    totals: dict[tuple, list[int]] = {}
    minus: dict[tuple, list[int]] = {}
    value_columns = [columns[c] for c in values]
    for kept, part, key, *sums in zip(
        keep, columns["part"], zip(*key_columns, strict=True), *value_columns, strict=True
    ):
        if not kept:
            continue
        into = totals if part == ALL else minus
        acc = into.get(key)
        if acc is None:
            into[key] = [int(x) for x in sums]
        else:
            for i, x in enumerate(sums):
                acc[i] += int(x)
    n_at = values.index("n")
    rows = []
    for key, vals in totals.items():
        less = minus.get(key)
        out = [v - (less[i] if less else 0) for i, v in enumerate(vals)]
        if keep_empty or out[n_at] > 0:
            rows.append((*key, *out, vals[n_at]))
    return rows


def _reportable_n(columns: dict[str, list[Any]], key: str, index: int) -> dict[Any, int]:
    """Reportable responses per value of one key column in one period (rows with none left out)."""
    return {r[0]: r[1] for r in _reportable_rows(columns, [key], ["n"], where={"period_index": index})}


def _no_division(code: object) -> object:
    return NO_DIVISION if code is None or (isinstance(code, float) and math.isnan(code)) else code


def _num(v: object) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def suppressed_label(k: int) -> str:
    return f"suppressed (n < {k})"


def complementary_label(k: int) -> str:
    return f"suppressed (protects a group with n < {k})"


def status_label(status: str, small_sample: bool, k: int) -> str:
    if status == EMPTY:
        return "no responses"
    if status == SUPPRESSED:
        return suppressed_label(k)
    if status == COMPLEMENTARY:
        return complementary_label(k)
    if small_sample:
        return f"small sample (n < {stats.SMALL_SAMPLE_N})"
    return ""


# ---------------------------------------------------------------------------------------------
# Suppression
# ---------------------------------------------------------------------------------------------


def protect(
    df: pd.DataFrame,
    *,
    k: int,
    margins: Sequence[Sequence[str]] = ((),),
    n_col: str = "n",
    order: Sequence[str] = (),
    zero_is_empty: bool = True,
) -> pd.Series:
    """Status of every cell: `suppressed` when n < k, `complementary` when hidden so that a
    suppressed cell cannot be worked out from a shown margin, else `shown`.

    A breakdown cell with no responses is `empty` (shown as "no responses": a zero discloses
    nobody, so it neither needs nor gives protection). For the suppression groups themselves
    pass `zero_is_empty=False`, so a community with none looks the same as one with a few.

    `margins` lists the totals the page shows, each as the columns that identify it: `()` is the
    grand total, `("bucket_start",)` one total per bucket. Whenever a margin has exactly one
    hidden cell, its smallest shown cell (ties broken by `order`, then row order; an empty cell
    when none is shown) is hidden too; this repeats until no margin of two or more cells has
    exactly one hidden cell.
    """
    ties = list(zip(*(df[c] for c in order), strict=True)) if order else None
    margin_keys = [list(zip(*(df[c] for c in keys), strict=True)) if keys else None for keys in margins]
    status = protect_values(
        list(df[n_col]), k=k, margin_keys=margin_keys, ties=ties, zero_is_empty=zero_is_empty
    )
    return pd.Series(status, index=df.index, dtype=object)


def protect_values(
    n_values: Sequence[Any],
    *,
    k: int,
    margin_keys: Sequence[Sequence[tuple] | None] = (None,),
    ties: Sequence[tuple] | None = None,
    zero_is_empty: bool = True,
) -> list[str]:
    """`protect` on plain lists: the cells' n (missing counts as 0), for each margin the key of
    every cell (None: the grand total), and the tie-break key of every cell."""
    n = [0.0 if v is None or pd.isna(v) else float(v) for v in n_values]
    status = [EMPTY if v == 0 and zero_is_empty else SUPPRESSED if v < k else SHOWN for v in n]
    ties = list(ties) if ties is not None else [()] * len(n)
    rank = {i: r for r, i in enumerate(sorted(range(len(n)), key=lambda i: (n[i], ties[i], i)))}
    partitions: list[list[int]] = []
    for keys in margin_keys:
        if keys is None:
            partitions.append(list(range(len(n))))
            continue
        found: dict[tuple, list[int]] = {}
        for i, key in enumerate(keys):
            found.setdefault(key, []).append(i)
        partitions.extend(found.values())
    changed = True
    while changed:
        changed = False
        for part in partitions:
            if sum(status[i] in HIDDEN for i in part) != 1:
                continue
            # the smallest shown cell; failing that an empty one (a hidden zero hides as well as any)
            pool = [i for i in part if status[i] == SHOWN] or [i for i in part if status[i] == EMPTY]
            if pool:  # none left only when the margin is this one cell: it is protected where it is shown
                status[min(pool, key=rank.__getitem__)] = COMPLEMENTARY
                changed = True
    return status


def _score_of(row: pd.Series | dict[str, Any], name: str, k: int) -> stats.Score:
    return stats.make_score(int(row["n"] or 0), _num(row[f"{name}_mean"]), _num(row[f"{name}_sd"]), k)


CURRENT = 0  # period_index in division_period_sums
PRIOR = 1


def division_period_sums(
    conn: Connection, f: Filters, k: int, scope: FeedbackScope | None = None
) -> pd.DataFrame:
    """A row per period_index (CURRENT, PRIOR) × division ('(none)' for responses without one)
    with `scoped_n` (every response in scope) and, over reportable responses only (each period's
    groups decided on its own), `n` and the exact integer score sums; `groups_count` /
    `reportable_groups_count` repeat the period's number of groups in scope and of those with at
    least k responses. Totals over divisions are exact, so the headline tiles and the division
    comparison both come from this one read. `scope`: scope(conn, f, k) when already counted."""
    sc = _scope_for(conn, f, k, scope)
    keys = ["period_index", "division_code"]
    rows = _reportable_rows(sc.cell_columns, keys, rename={"division_code": _no_division}, keep_empty=True)
    counts = {i: sc.period(i) for i in (CURRENT, PRIOR)}
    columns = [*keys, "scoped_n", *SUMS, "groups_count", "reportable_groups_count"]
    # one frame built once (plain Python on a dozen rows; pandas edits cost more than the sums)
    ordered = sorted(rows, key=lambda r: (int(r[0]), str(r[1])))
    data = {
        "period_index": [int(r[0]) for r in ordered],
        "division_code": [r[1] for r in ordered],
        "scoped_n": [int(r[-1]) for r in ordered],
        **{c: [int(r[2 + i]) for r in ordered] for i, c in enumerate(SUMS)},
        **{
            c: [int(counts[int(r[0])][c]) for r in ordered]
            for c in ("groups_count", "reportable_groups_count")
        },
    }
    frame = pd.DataFrame(data, columns=columns)  # the counts infer as int64 ...
    if not ordered:  # ... except with no row at all
        frame = frame.astype({c: object if c == "division_code" else "int64" for c in columns})
    return frame


def scores_from_sums(
    n: int, trust_sum: int, trust_sq: int, safety_sum: int, safety_sq: int
) -> dict[str, Any]:
    """n and the 0-10 means / sample sds from exact integer sums, the same arithmetic as
    rollups.score_aggregates in SQL (so the same floating-point results)."""
    n, t, tq, s, sq = (int(v) for v in (n, trust_sum, trust_sq, safety_sum, safety_sq))
    if n == 0:
        return {"n": 0, "trust_mean": None, "trust_sd": None, "safety_mean": None, "safety_sd": None}
    return {
        "n": n,
        "trust_mean": float(t) / 2.0 / n,
        "trust_sd": math.sqrt(float(n * tq - t * t) / (4.0 * n * (n - 1))) if n > 1 else None,
        "safety_mean": float(s) / n,
        "safety_sd": math.sqrt(float(n * sq - s * s) / (n * (n - 1.0))) if n > 1 else None,
    }


# ---------------------------------------------------------------------------------------------
# Headline tiles
# ---------------------------------------------------------------------------------------------


def score_kpis(
    conn: Connection, f: Filters, k: int = stats.DEFAULT_K, *, scope: FeedbackScope | None = None
) -> dict[str, Kpi]:
    """Trust, safety and responses over reportable responses, each with the prior period and change z."""
    return score_kpis_from(division_period_sums(conn, f, k, scope), k, prior_recorded=prior_recorded(conn, f))


def prior_recorded(conn: Connection, f: Filters) -> bool:
    """Whether any feedback was recorded by the end of the period before `f` (kpi.prior_unrecorded)."""
    return not prior_unrecorded(f, rollups.records_begin(conn, "feedback"))


def _period_totals(sums: pd.DataFrame, index: int) -> dict[str, Any]:
    """One period's whole-scope n, means and sds (exact: integer sums added over divisions) and
    scoped_n, from division_period_sums."""
    rows = [int(p) == index for p in sums["period_index"]]  # plain lists: a dozen rows
    totals = {
        c: sum(int(v) for v, keep in zip(sums[c], rows, strict=True) if keep) for c in (*SUMS, "scoped_n")
    }
    scoped_n = totals.pop("scoped_n")
    return {**scores_from_sums(**totals), "scoped_n": scoped_n}


def score_kpis_from(sums: pd.DataFrame, k: int, *, prior_recorded: bool) -> dict[str, Kpi]:
    """score_kpis from division_period_sums already read (the Overview reads them once for its
    tiles and its score drops); no change in responses when the prior period ends before any
    feedback was recorded (`prior_recorded` False: zero responses there are no data, not a count)."""
    cur, pri = _period_totals(sums, CURRENT), _period_totals(sums, PRIOR)
    out: dict[str, Kpi] = {}
    for name in SCORES:
        c, p = _score_of(cur, name, k), _score_of(pri, name, k)
        # Suppressed when responses exist in scope but none belong to a group of k or more.
        hidden = c.n < k and int(cur["scoped_n"]) > 0
        out[f"{name}_score"] = Kpi(
            f"{name}_score",
            c.mean,
            p.mean,
            stats.score_change_z(c, p),
            n=c.n_shown,
            suppressed=hidden,
            small_sample=c.small_sample,
        )
    n_cur, n_pri = int(cur["n"]), int(pri["n"])
    out["responses"] = Kpi(
        "responses",
        n_cur,
        n_pri,
        stats.poisson_z(n_cur, n_pri),
        suppressed=n_cur == 0 and int(cur["scoped_n"]) > 0,
    )
    if not prior_recorded:
        out["responses"] = without_prior(out["responses"])
    return out


def suppression_summary(
    conn: Connection, f: Filters, k: int, *, scope: FeedbackScope | None = None
) -> dict[str, int]:
    """How many groups the scope holds and how many are suppressed (counts of groups, not responses)."""
    counts = _scope_for(conn, f, k, scope).period(CURRENT)
    return {
        "groups": counts["groups_count"],
        "suppressed_groups": counts["groups_count"] - counts["reportable_groups_count"],
    }


def suppression_summary_from(sums: pd.DataFrame) -> dict[str, int]:
    for p, groups, reportable in zip(
        sums["period_index"], sums["groups_count"], sums["reportable_groups_count"], strict=True
    ):
        if int(p) == CURRENT:  # the counts repeat on each of the period's rows
            return {"groups": int(groups), "suppressed_groups": int(groups) - int(reportable)}
    return {"groups": 0, "suppressed_groups": 0}


@dataclass(frozen=True)
class Headline:
    kpis: dict[str, Kpi]
    summary: dict[str, int]
    divisions: pd.DataFrame


def headline(
    conn: Connection, f: Filters, k: int = stats.DEFAULT_K, *, scope: FeedbackScope | None = None
) -> Headline:
    """The Feedback page's tiles, suppression summary and division comparison from one read of
    division_period_sums."""
    sc = _scope_for(conn, f, k, scope)
    sums = division_period_sums(conn, f, k, sc)
    return Headline(
        score_kpis_from(sums, k, prior_recorded=prior_recorded(conn, f)),
        suppression_summary_from(sums),
        comparison_by_division(conn, f, k, sums, scope=sc),
    )


# ---------------------------------------------------------------------------------------------
# Over time
# ---------------------------------------------------------------------------------------------


def buckets(start: date, end: date, grain: str) -> list[date]:
    """Start dates of the buckets covering [start, end]: 7-day weeks counted from the period's
    start (so only the last one can be short), or calendar months."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    out: list[date] = []
    d = start if grain == "week" else date(start.year, start.month, 1)
    while d <= end:
        out.append(d)
        d = d + timedelta(days=7) if grain == "week" else date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return out


def bucket_sql(grain: str, column: str = "r.response_date") -> str:
    """SQL for the start of a row's bucket, matching `buckets()` (weeks counted from :start)."""
    if grain == "week":
        return f"cast(:start as date) + cast(7 * (date_diff('day', cast(:start as date), {column}) // 7) as integer)"
    if grain == "month":
        return f"cast(date_trunc('month', {column}) as date)"
    raise ValueError(f"grain must be one of {GRAINS}")


def bucket_end(start: date, grain: str) -> date:
    if grain == "week":
        return start + timedelta(days=6)
    nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def bucket_label(start: date, grain: str) -> str:
    return f"week of {start.day} {start:%b %Y}" if grain == "week" else f"{start:%b %Y}"


def divisions_in_scope(conn: Connection, f: Filters) -> pd.DataFrame:
    """The patrol divisions the filter keeps, by name: code and name."""
    sql = f"""
    select division_code, name as division_name from patrol_divisions
    where {in_list("divisions", "division_code")}
    order by name
    """
    return read_frame(conn, sql, f.params())


def _hover(row: dict[str, Any], metric: str) -> str:
    """The tooltip of one point, built from what may be shown (a hidden cell gets only its badge)."""
    prefix = f"{row['bucket_label']} · "
    if row["status"] != SHOWN:
        return prefix + row["status_label"]  # a badge or "no responses", never a number
    score, lo, hi = row[f"{metric}_score"], row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
    text = f"{prefix}{metric} {score:.1f} (95% CI {lo:.1f}–{hi:.1f}) · n = {int(row['n']):,}"
    if row["small_sample"]:
        text += f" · small sample (n < {stats.SMALL_SAMPLE_N})"
    if row["is_partial"]:
        text += " · partial period"
    return text


def _score_fields(sums: dict[str, Any], status: str, k: int) -> dict[str, Any]:
    """One cell's shown numbers (what _score_columns gives a row): n a reader may see, 0-100
    scores with CIs (missing unless shown), small_sample and status_label."""
    shown = status == SHOWN
    n = int(sums.get("n") or 0)
    out: dict[str, Any] = {"n": _shown_n(n, status)}
    for name in SCORES:
        sc = stats.make_score(n, sums.get(f"{name}_mean"), sums.get(f"{name}_sd"), k) if shown else None
        ci = sc.ci if sc is not None else None
        out[f"{name}_score"] = sc.mean if sc is not None else None
        out[f"{name}_ci_low"] = ci[0] if ci else None
        out[f"{name}_ci_high"] = ci[1] if ci else None
    out["small_sample"] = shown and n < stats.SMALL_SAMPLE_N
    out["status_label"] = status_label(status, out["small_sample"], k)
    return out


def score_series(
    conn: Connection,
    f: Filters,
    k: int = stats.DEFAULT_K,
    *,
    grain: str = "month",
    split: str = "none",
    scope: FeedbackScope | None = None,
) -> pd.DataFrame:
    """One row per time bucket (× patrol division when split='division', with division '(none)'
    for responses without one): n, trust and safety with 95% CI, status and hover text.

    Reportable responses only. Every bucket in the period appears; a bucket with n < k is
    suppressed, and complementary suppression protects it against the period total (and, split
    by division, against each bucket's total and each division's period total).
    """
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    sc = _scope_for(conn, f, k, scope, weekly=grain == "week")
    bucket = "week_start" if grain == "week" else "month"
    cell_of = _no_division if split == "division" else (lambda _: "all")
    found = {
        (row[0], row[1]): scores_from_sums(*row[2:7])
        for row in _reportable_rows(
            sc.cell_columns,
            [bucket, "division_code"],
            where={"period_index": CURRENT},
            rename={"division_code": cell_of},
        )
    }
    if split == "division":
        divs = sc.divisions
        cells = [
            *zip(divs.division_code, divs.division_name, strict=True),
            (NO_DIVISION, "No division recorded"),
        ]
    else:
        cells = [("all", "All in filter")]
    grid = [(b, code, name) for b in buckets(f.start, f.end, grain) for code, name in cells]
    sums = [found.get((b, code), {"n": 0}) for b, code, _ in grid]
    # Empty period or empty scope: no bucket to show.
    if sum(s["n"] for s in sums) == 0:
        return _empty_series(split)
    margins = [None] if split == "none" else [[(b,) for b, _, _ in grid], [(code,) for _, code, _ in grid]]
    status = protect_values(
        [s["n"] for s in sums], k=k, margin_keys=margins, ties=[(b, code) for b, code, _ in grid]
    )
    rows = []
    for (b, code, name), s, st in zip(grid, sums, status, strict=True):
        end = bucket_end(b, grain)
        row = {
            "bucket_start": b,
            "bucket_end": end,
            "bucket_label": bucket_label(b, grain),
            "is_partial": b < f.start or end > f.end,
            "division_code": code,
            "division_name": name,
            **_score_fields(s, st, k),
            "status": st,
        }
        for metric in SCORES:
            row[f"{metric}_hover"] = _hover(row, metric)
        rows.append(row)
    typed = {"n": "Int64", **{f"{m}_{x}": "Float64" for m in SCORES for x in ("score", "ci_low", "ci_high")}}
    return pd.DataFrame(
        {
            c: masked_array([r[c] for r in rows], typed[c]) if c in typed else [r[c] for r in rows]
            for c in SERIES_COLUMNS
        }
    )


SERIES_COLUMNS = [
    "bucket_start",
    "bucket_end",
    "bucket_label",
    "is_partial",
    "division_code",
    "division_name",
    "n",
    "trust_score",
    "trust_ci_low",
    "trust_ci_high",
    "safety_score",
    "safety_ci_low",
    "safety_ci_high",
    "small_sample",
    "status",
    "status_label",
    "trust_hover",
    "safety_hover",
]


def _empty_series(split: str) -> pd.DataFrame:
    return pd.DataFrame(columns=SERIES_COLUMNS)


# ---------------------------------------------------------------------------------------------
# Community vs division
# ---------------------------------------------------------------------------------------------


def comparison_by_division(
    conn: Connection,
    f: Filters,
    k: int = stats.DEFAULT_K,
    sums: pd.DataFrame | None = None,
    *,
    scope: FeedbackScope | None = None,
) -> pd.DataFrame:
    """One row per patrol division in scope (plus '(none)' for responses without a division):
    trust and safety with CI and n over reportable responses, the prior period's scores and the
    change z (same test as the Overview's score drops). Cells are protected against the shown total.
    `sums`: division_period_sums(conn, f, k) when the caller has already read them; the divisions
    in scope come from `scope` when given."""
    out = division_comparison_columns(conn, f, k, sums, scope=scope)
    if not out["division_code"]:
        return pd.DataFrame(columns=DIVISION_COLUMNS)
    floats = [f"{m}_{x}" for m in SCORES for x in ("score", "ci_low", "ci_high", "prior", "z")]
    return pd.DataFrame(
        {
            c: masked_array(v, "Float64") if c in floats else masked_array(v, "Int64") if c == "n" else v
            for c, v in out.items()
        }
    )


def division_comparison_columns(
    conn: Connection,
    f: Filters,
    k: int = stats.DEFAULT_K,
    sums: pd.DataFrame | None = None,
    *,
    scope: FeedbackScope | None = None,
) -> dict[str, list[Any]]:
    """comparison_by_division as plain columns (DIVISION_COLUMNS -> values; every list empty when
    the period has no reportable response), for callers that only read it (the Overview's score
    drops). Built row by row in plain Python (a handful of divisions; pandas merges cost more than
    the arithmetic)."""
    if scope is not None:
        scope = _scope_for(conn, f, k, scope)  # checked to be this filter's
    if sums is None:
        sums = division_period_sums(conn, f, k, scope)
    divs = divisions_in_scope(conn, f) if scope is None else scope.divisions
    codes = [*divs.division_code, NO_DIVISION]
    names = [*divs.division_name, "No division recorded"]
    found = {
        (int(p), d): (n, ts, tq, ss, sq)
        for p, d, n, ts, tq, ss, sq in zip(
            sums["period_index"],
            sums["division_code"],
            sums["n"],
            sums["trust_sum"],
            sums["trust_sq"],
            sums["safety_sum"],
            sums["safety_sq"],
            strict=True,
        )
    }

    def one(index: int) -> tuple[list[dict[str, Any]], list[str]]:
        # a division with only suppressed groups has no reportable response: n = 0
        scored = [
            scores_from_sums(*found[(index, code)])
            if int(found.get((index, code), (0,))[0]) > 0
            else {"n": 0}
            for code in codes
        ]
        # ties broken by division code, as the series' are
        return scored, protect_values([s["n"] for s in scored], k=k, ties=[(c,) for c in codes])

    (cur, cur_status), (pri, pri_status) = one(CURRENT), one(PRIOR)
    out: dict[str, list[Any]] = {c: [] for c in DIVISION_COLUMNS}
    if sum(s["n"] for s in cur) == 0:
        return out
    for i, code in enumerate(codes):
        shown, prior_shown = cur_status[i] == SHOWN, pri_status[i] == SHOWN
        n = int(cur[i]["n"])
        out["division_code"].append(code)
        out["division_name"].append(names[i])
        out["n"].append(n if shown else 0 if cur_status[i] == EMPTY else None)
        for name in SCORES:
            sc = (
                stats.make_score(n, cur[i].get(f"{name}_mean"), cur[i].get(f"{name}_sd"), k)
                if shown
                else None
            )
            sp = (
                stats.make_score(int(pri[i]["n"]), pri[i].get(f"{name}_mean"), pri[i].get(f"{name}_sd"), k)
                if prior_shown
                else None
            )
            ci = sc.ci if sc is not None else None
            z = stats.score_change_z(sc, sp) if sc and sp else None
            out[f"{name}_score"].append(sc.mean if sc is not None else None)
            out[f"{name}_ci_low"].append(ci[0] if ci else None)
            out[f"{name}_ci_high"].append(ci[1] if ci else None)
            out[f"{name}_prior"].append(sp.mean if sp else None)
            out[f"{name}_z"].append(z)
            out[f"{name}_change"].append(stats.change_label(z) if sc else "")
        small = shown and n < stats.SMALL_SAMPLE_N
        out["small_sample"].append(small)
        out["status"].append(cur_status[i])
        out["status_label"].append(status_label(cur_status[i], small, k))
    return out


DIVISION_COLUMNS = [
    "division_code",
    "division_name",
    "n",
    "trust_score",
    "trust_ci_low",
    "trust_ci_high",
    "trust_prior",
    "trust_z",
    "trust_change",
    "safety_score",
    "safety_ci_low",
    "safety_ci_high",
    "safety_prior",
    "safety_z",
    "safety_change",
    "small_sample",
    "status",
    "status_label",
]


COMMUNITY_PAGE_SIZE = 50
COMMUNITY_MAX_PAGE_SIZE = 1_000
COMMUNITY_EXPORT_CAP = 50_000  # as the meeting log's export
COMMUNITY_ORDERS = SCORES  # the score shown groups are ordered by, lowest first


@dataclass(frozen=True)
class CommunityPage:
    rows: pd.DataFrame  # COMMUNITY_COLUMNS, one row per group on the page
    total: int  # rows matching (every page); 0 when the scope has no reportable response at all
    page: int  # 1-based, clamped to the last page
    pages: int


@dataclass(frozen=True)
class _View:
    """One listing of the community comparison: its name search, order, filter and page window."""

    search: str
    order: str
    reportable_only: bool
    limit: int
    offset: int


_ORDER_MEANS = {"trust": "x.trust_mean", "safety": "x.safety_mean"}  # COMMUNITY_ORDERS -> column
# a group's sums (the Python side scores the listed rows from them, scores_from_sums), and the means
# its order needs: the SQL stays short, and DuckDB parses and plans it for every call (at S that is
# most of this statement's time)
_SUMS_AFTER_N = ", ".join(f"g.{c}" for c in SUMS[1:])
_MEANS = (
    "cast(g.trust_sum as double) / 2.0 / g.n as trust_mean, cast(g.safety_sum as double) / g.n as safety_mean"
)


def _community_rows(conn: Connection, f: Filters, k: int, *views: _View) -> list[dict[str, list]]:
    """For each view, rows `offset + 1`… (at most `limit`) of the community comparison in its
    order, before the Python scoring, as plain columns (name -> values), with `total_count` (rows
    matching) and `scope_n` (responses of every group in scope, before suppression: only compared
    with 0) on each row. An offset past the end is moved back to the start of the last page. One
    statement: the groups are counted once whatever the number of views."""
    for v in views:
        if v.order not in COMMUNITY_ORDERS:
            raise ValueError(f"order must be one of {COMMUNITY_ORDERS}")
        if int(v.limit) < 1:
            raise ValueError("limit must be a positive number")
    params = _params(f, k, **rollups.feedback_score_sums_params(conn))
    counts, listings = [], []
    for i in range(len(views)):
        v = views[i]
        text = (v.search or "").strip()[:200]
        where = []
        if text:
            where.append(f"community_name ilike :pattern_{i} escape '\\'")
        if v.reportable_only:
            where.append("is_community and n >= :k")
        params.update({f"pattern_{i}": like_pattern(text), **page_params(v.limit, v.offset, f"_{i}")})
        # The order never depends on a hidden group's n: hidden groups (n < k) come after every shown
        # group of their kind, by name.
        order = f"""x.is_community desc, x.n < :k,
                     case when x.n >= :k then {_ORDER_MEANS[v.order]} end nulls last,
                     x.community_name nulls last, x.group_key"""
        matching = " and ".join(where) or "true"
        counts.append(f"count_{i} as (select count(*) as total_count from named x where {matching})")
        # the page (a top-N, see scope.page_of)
        listings.append(
            f"""
    select {i} as view, * exclude (name) from ({page_of("named", order, f"count_{i}", where=matching, suffix=f"_{i}")}
    )"""
        )
    sql = f"""
    -- one row per group in scope, counted before suppression
    with group_sums as ({_group_sums_sql(conn, f, CURRENT, SUMS)}
    ),
    -- one row per listed group (a community, or a division's responses without one): every group
    -- with responses in scope, and every active community the filters select
    named as materialized (
        select l.group_key, l.community_id, l.division_code, l.name, coalesce(g.n, 0) as n, {_SUMS_AFTER_N},
               {_MEANS}, l.is_community, l.home_division, l.community_name,
               sum(coalesce(g.n, 0)) over () as scope_n
        from {rollups.source(conn, "feedback_listing")} l
        left join group_sums g using (group_id)
        where g.n is not null
           or (l.is_community and l.is_active
               and {in_list("communities", "l.community_id")}
               and (l.division_code is null or {in_list("divisions", "l.division_code")}))
    ),
    {", ".join(counts)}
    -- one row per listed group on each view's page
    {" union all ".join(listings)}
    order by view, row_no
    """
    df = read_frame(conn, sql, params)
    # split into the views as plain columns (masking and dropping in pandas cost ~1 ms a call)
    columns = {c: df[c].tolist() for c in df.columns}
    of_view = columns.pop("view")
    rows_of = [[j for j, v in enumerate(of_view) if v == i] for i in range(len(views))]
    return [{c: [values[j] for j in rows] for c, values in columns.items()} for rows in rows_of]


def _score_communities(df: dict[str, list], k: int) -> pd.DataFrame:
    """COMMUNITY_COLUMNS of the listed groups, each scored from its sums (scores_from_sums,
    _score_fields): the rows are the suppression groups themselves, so each is shown or suppressed
    on its own n. Built as plain columns (a page is at most a thousand rows; pandas column edits
    cost ~2 ms per page)."""
    n = [int(x) for x in df["n"]]
    status = protect_values(n, k=k, margin_keys=[], zero_is_empty=False)
    sums = [[0 if v is None or pd.isna(v) else int(v) for v in df[c]] for c in SUMS[1:]]
    fields = [
        _score_fields(scores_from_sums(n_i, *rest), s, k)
        for n_i, s, *rest in zip(n, status, *sums, strict=True)
    ]
    columns = {
        "community_id": df["community_id"],
        "community_name": df["community_name"],
        "home_division": df["home_division"],
        "home_division_code": ["" if v is None or pd.isna(v) else v for v in df["division_code"]],
        "is_community": np.array([bool(v) for v in df["is_community"]], dtype=bool),
        "n": masked_array([r["n"] for r in fields], "Int64"),
        **{
            f"{m}_{x}": masked_array([r[f"{m}_{x}"] for r in fields], "Float64")
            for m in SCORES
            for x in ("score", "ci_low", "ci_high")
        },
        "small_sample": np.array([bool(r["small_sample"]) for r in fields], dtype=bool),
        "status": pd.Series(status, dtype=object),
        "status_label": [r["status_label"] for r in fields],
    }
    assert list(columns) == COMMUNITY_COLUMNS  # in order: the frame needs no reselection (0.3 ms)
    return pd.DataFrame(columns)


def comparison_by_community(
    conn: Connection,
    f: Filters,
    k: int = stats.DEFAULT_K,
    *,
    search: str = "",
    order: str = "trust",
    reportable_only: bool = False,
    page: int = 1,
    page_size: int = COMMUNITY_PAGE_SIZE,
) -> CommunityPage:
    """One page of the community comparison. The list has one row per community in scope: active
    communities the filters select (home division in the division filter, or citywide) and any
    community with responses in scope, plus one row per division for responses without a
    community. Trust and safety with CI and n; groups under k (including those with no responses)
    are suppressed. `add_trust_vs_home` adds the gap to the home division's score.

    Order: communities first, then the no-community rows; within each, shown groups by their
    `order` score (trust or safety) lowest first, then suppressed groups, then by name. `search`
    keeps rows whose name contains it (case-insensitive, literal); `reportable_only` keeps only
    communities with a shown score (the page's chart). `total` counts the rows matching; the page
    is clamped to the last one. When the scope holds no response at all the page is empty.

    These rows are the suppression groups themselves, and suppressed groups are left out of
    every total, so no complementary suppression is needed here; a suppressed group's place in
    the order, and the counts, depend only on it being under k, never on its n.
    """
    view = _page_view(
        search=search, order=order, reportable_only=reportable_only, page=page, page_size=page_size
    )
    (df,) = _community_rows(conn, f, k, view)
    return _community_page(df, k, page, view.limit)


def community_pages(
    conn: Connection,
    f: Filters,
    k: int = stats.DEFAULT_K,
    *,
    search: str = "",
    page: int = 1,
    page_size: int = COMMUNITY_PAGE_SIZE,
    chart_order: str = "trust",
    chart_size: int = 20,
) -> tuple[CommunityPage, CommunityPage]:
    """The Feedback page's two listings from one statement: the table's page (comparison_by_community
    with `search`, `page`, `page_size`) and the chart's lowest-scoring reportable communities
    (comparison_by_community with order=`chart_order`, reportable_only=True, page_size=`chart_size`)."""
    table = _page_view(search=search, order="trust", reportable_only=False, page=page, page_size=page_size)
    chart = _page_view(search="", order=chart_order, reportable_only=True, page=1, page_size=chart_size)
    rows, lowest = _community_rows(conn, f, k, table, chart)
    return _community_page(rows, k, page, table.limit), _community_page(lowest, k, 1, chart.limit)


def _page_view(*, search: str, order: str, reportable_only: bool, page: int, page_size: int) -> _View:
    if not 1 <= int(page_size) <= COMMUNITY_MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {COMMUNITY_MAX_PAGE_SIZE}")
    size = int(page_size)
    return _View(search, order, reportable_only, size, (max(1, int(page)) - 1) * size)


def _community_page(df: dict[str, list], k: int, page: int, page_size: int) -> CommunityPage:
    if not df["n"] or int(df["scope_n"][0]) == 0:
        return CommunityPage(rows=pd.DataFrame(columns=COMMUNITY_COLUMNS), total=0, page=1, pages=1)
    total = int(df["total_count"][0])
    pages = max(1, math.ceil(total / page_size))
    return CommunityPage(
        rows=_score_communities(df, k), total=total, page=min(max(1, int(page)), pages), pages=pages
    )


def comparison_by_community_export(
    conn: Connection,
    f: Filters,
    k: int = stats.DEFAULT_K,
    *,
    search: str = "",
    cap: int = COMMUNITY_EXPORT_CAP,
) -> pd.DataFrame:
    """The comparison's first `cap` rows in its order, scored and suppressed exactly as on a page
    (the CSV a user asks for; never part of a rerun)."""
    if int(cap) < 1:
        raise ValueError("cap must be a positive number")
    (df,) = _community_rows(conn, f, k, _View(search, "trust", False, int(cap), 0))
    if not df["n"] or int(df["scope_n"][0]) == 0:
        return pd.DataFrame(columns=COMMUNITY_COLUMNS)
    return _score_communities(df, k)


def add_trust_vs_home(
    communities: pd.DataFrame, divisions: pd.DataFrame, total_trust: float | None
) -> pd.DataFrame:
    """`trust_vs_home`: a community's trust minus its home division's (as shown in the division
    comparison; citywide communities against the total in the filter). Missing when either side
    is hidden; not set for the no-community rows."""
    home = {
        code: score
        for code, score, status in zip(
            divisions["division_code"], divisions["trust_score"], divisions["status"], strict=True
        )
        if status == SHOWN
    }
    out = communities.copy()
    gaps: list[float | None] = []
    for is_comm, code, score in zip(
        out["is_community"], out["home_division_code"], out["trust_score"], strict=True
    ):
        ref = (home.get(code) if code else total_trust) if is_comm else None
        ok = ref is not None and not pd.isna(ref) and not pd.isna(score)
        gaps.append(float(score) - float(ref) if ok else None)
    out.insert(out.columns.get_loc("trust_ci_high") + 1, "trust_vs_home", masked_array(gaps, "Float64"))
    return out


COMMUNITY_COLUMNS = [
    "community_id",
    "community_name",
    "home_division",
    "home_division_code",
    "is_community",
    "n",
    "trust_score",
    "trust_ci_low",
    "trust_ci_high",
    "safety_score",
    "safety_ci_low",
    "safety_ci_high",
    "small_sample",
    "status",
    "status_label",
]


# ---------------------------------------------------------------------------------------------
# Channels
# ---------------------------------------------------------------------------------------------


def _count_grid(
    found: dict[tuple[date, Any], int],
    grain: str,
    f: Filters,
    keys: list[Any],
    k: int,
    *,
    key: str,
    name: Callable[[Any], str],
    name_column: str | None = None,
) -> pd.DataFrame:
    """Every bucket of the period × key (a channel, a topic) with its reportable count: suppressed
    under k, protected against each bucket's total and each key's period total (ties by bucket,
    then key); the count a reader may see, the status, its label and the hover text."""
    grid = [(b, x) for b in buckets(f.start, f.end, grain) for x in keys]
    n = [found.get(cell, 0) for cell in grid]
    status = protect_values(n, k=k, margin_keys=[[(b,) for b, _ in grid], [(x,) for _, x in grid]], ties=grid)
    labels = [bucket_label(b, grain) for b, _ in grid]
    names = [name(x) for _, x in grid]
    status_labels = [status_label(st, False, k) for st in status]
    shown = [_shown_n(x, st) for x, st in zip(n, status, strict=True)]
    columns: dict[str, Any] = {
        "bucket_start": [b for b, _ in grid],
        "bucket_label": labels,
        key: [x for _, x in grid],
    }
    if name_column:
        columns[name_column] = names
    return pd.DataFrame(
        {
            **columns,
            "n": masked_array(shown, "Int64"),
            "status": status,
            "status_label": status_labels,
            "hover": [
                f"{lab} · {nm}: " + (f"{v:,} responses" if st == SHOWN else sl)
                for lab, nm, v, st, sl in zip(labels, names, shown, status, status_labels, strict=True)
            ],
        }
    )


def channel_volume(
    conn: Connection,
    f: Filters,
    k: int = stats.DEFAULT_K,
    *,
    grain: str = "month",
    scope: FeedbackScope | None = None,
) -> pd.DataFrame:
    """One row per bucket × channel: reportable responses (missing when hidden), status, hover.

    Cells under k are suppressed; complementary suppression protects them against each
    bucket's total (the trend's n) and each channel's period total."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    sc = _scope_for(conn, f, k, scope, weekly=grain == "week", channels=True)
    bucket = "week_start" if grain == "week" else "month"
    rows = _reportable_rows(sc.cell_columns, [bucket, "channel"], ["n"], where={"period_index": CURRENT})
    if not rows:
        return pd.DataFrame(columns=CHANNEL_COLUMNS)
    found = {(r[0], r[1]): r[2] for r in rows}
    channels = list(FEEDBACK_CHANNELS) + sorted({c for _, c in found} - set(FEEDBACK_CHANNELS))
    return _count_grid(found, grain, f, channels, k, key="channel", name=channel_name)


CHANNEL_COLUMNS = ["bucket_start", "bucket_label", "channel", "n", "status", "status_label", "hover"]


def _period_counts(
    cur: dict[Any, int], pri: dict[Any, int], keys: list[Any], k: int
) -> tuple[list[str], list[str], list[float | None]]:
    """Status in the period and the prior one (each protected against its shown total, ties by
    key) and the Poisson change z, for count cells such as channels and topics."""
    status = protect_values([cur.get(x, 0) for x in keys], k=k, ties=[(x,) for x in keys])
    prior = protect_values([pri.get(x, 0) for x in keys], k=k, ties=[(x,) for x in keys])
    z = [
        stats.poisson_z(cur.get(x, 0), pri.get(x, 0)) if s == SHOWN and sp in (SHOWN, EMPTY) else None
        for x, s, sp in zip(keys, status, prior, strict=True)
    ]
    return status, prior, z


def _shown_n(n: int, status: str) -> int | None:
    """The count a reader may see (visible_n on one value)."""
    return int(n) if status == SHOWN else 0 if status == EMPTY else None


def channel_totals(
    conn: Connection, f: Filters, k: int = stats.DEFAULT_K, *, scope: FeedbackScope | None = None
) -> pd.DataFrame:
    """One row per channel: reportable responses in the period and the prior period with the
    Poisson change z; cells under k suppressed, protected against the shown total."""
    sc = _scope_for(conn, f, k, scope, channels=True)
    cur, pri = (
        _reportable_n(sc.cell_columns, "channel", CURRENT),
        _reportable_n(sc.cell_columns, "channel", PRIOR),
    )
    if sum(cur.values()) == 0:
        return pd.DataFrame(columns=CHANNEL_TOTAL_COLUMNS)
    # every channel the form knows, then any other the current period used, by name
    channels = list(FEEDBACK_CHANNELS) + sorted(set(cur) - set(FEEDBACK_CHANNELS))
    status, prior, z = _period_counts(cur, pri, channels, k)
    return pd.DataFrame(
        {
            "channel": channels,
            "channel_name": [channel_name(c) for c in channels],
            "n": masked_array(
                [_shown_n(cur.get(c, 0), s) for c, s in zip(channels, status, strict=True)], "Int64"
            ),
            "n_prior": masked_array(
                [_shown_n(pri.get(c, 0), s) for c, s in zip(channels, prior, strict=True)], "Int64"
            ),
            "z": masked_array(z, "Float64"),
            "change": [stats.change_label(v) if s == SHOWN else "" for v, s in zip(z, status, strict=True)],
            "status": status,
            "status_label": [status_label(s, False, k) for s in status],
        }
    )


CHANNEL_TOTAL_COLUMNS = ["channel", "channel_name", "n", "n_prior", "z", "change", "status", "status_label"]


def channel_name(code: str) -> str:
    return code.replace("_", " ").capitalize()


# ---------------------------------------------------------------------------------------------
# Topics
# ---------------------------------------------------------------------------------------------


def topic_counts(
    conn: Connection, f: Filters, k: int = stats.DEFAULT_K, *, scope: FeedbackScope | None = None
) -> pd.DataFrame:
    """One row per comment topic seen in the period or the prior one: reportable responses tagged
    with it, the prior count and the Poisson change z. Counts under k are suppressed and
    protected against the shown total of commented responses; most mentioned first."""
    sc = _scope_for(conn, f, k, scope, topics=True)
    cur, pri = (
        _reportable_n(sc.topic_columns, "topic", CURRENT),
        _reportable_n(sc.topic_columns, "topic", PRIOR),
    )
    if not cur:
        return pd.DataFrame(columns=TOPIC_COLUMNS)
    topics = sorted(set(cur) | set(pri))
    status, prior, z = _period_counts(cur, pri, topics, k)
    # most mentioned first; a hidden count sorts as if it were none, then by topic
    order = sorted(
        range(len(topics)),
        key=lambda i: (-(cur.get(topics[i], 0) if status[i] in (SHOWN, EMPTY) else -1), topics[i]),
    )
    return pd.DataFrame(
        {
            "topic": [topics[i] for i in order],
            "topic_name": [topic_name(topics[i]) for i in order],
            "n": masked_array([_shown_n(cur.get(topics[i], 0), status[i]) for i in order], "Int64"),
            "n_prior": masked_array([_shown_n(pri.get(topics[i], 0), prior[i]) for i in order], "Int64"),
            "z": masked_array([z[i] for i in order], "Float64"),
            "change": [stats.change_label(z[i]) if status[i] == SHOWN else "" for i in order],
            "status": [status[i] for i in order],
            "status_label": [status_label(status[i], False, k) for i in order],
        }
    )


TOPIC_COLUMNS = ["topic", "topic_name", "n", "n_prior", "z", "change", "status", "status_label"]


def topic_name(tag: str) -> str:
    return tag.replace("_", " ").capitalize()


def topic_trend(
    conn: Connection, f: Filters, k: int = stats.DEFAULT_K, *, scope: FeedbackScope | None = None
) -> pd.DataFrame:
    """One row per month × topic seen in the period: tagged reportable responses (monthly, so counts
    clear k more often), suppressed under k, protected against month and topic totals."""
    sc = _scope_for(conn, f, k, scope, topics=True)
    rows = _reportable_rows(sc.topic_columns, ["month", "topic"], ["n"], where={"period_index": CURRENT})
    if not rows:
        return pd.DataFrame(columns=TOPIC_TREND_COLUMNS)
    found = {(r[0], r[1]): r[2] for r in rows}
    topics = sorted({t for _, t in found})
    return _count_grid(found, "month", f, topics, k, key="topic", name=topic_name, name_column="topic_name")


TOPIC_TREND_COLUMNS = [
    "bucket_start",
    "bucket_label",
    "topic",
    "topic_name",
    "n",
    "status",
    "status_label",
    "hover",
]


# ---------------------------------------------------------------------------------------------
# External scores
# ---------------------------------------------------------------------------------------------


def external_scores(conn: Connection, f: Filters, k: int = stats.DEFAULT_K) -> pd.DataFrame:
    """One row per published month × area × group × metric × source overlapping the period, as
    imported. Areas are kept when they name a patrol division in the division filter (all
    areas when no division is chosen); `division_code` is set when the area names a division.
    A published score with n under k is suppressed like our own."""
    sql = f"""
    -- one row per published score
    select e.period_month, e.area, e.group_name, e.metric, e.score, e.n, e.source, d.division_code
    from external_scores e
    left join patrol_divisions d on lower(d.name) = lower(e.area)
    where e.period_month between date_trunc('month', cast(:start as date)) and :end
      and {in_list("divisions", "d.division_code")}
    order by e.source, e.area, e.metric, e.period_month
    """
    df = read_frame(conn, sql, f.params())
    if df.empty:
        return df
    # plain lists (a few hundred rows over all time; row tuples and pandas NA checks cost more
    # than the formatting)
    # each distinct month converted and labelled once (a few dozen; per row it was most of the time)
    months = _as_dates(df["period_month"].tolist())
    label_of = {m: f"{m:%b %Y}" for m in set(months)}
    ns = [None if v is None or pd.isna(v) else int(v) for v in df["n"].tolist()]
    hidden = [n is not None and n < k for n in ns]
    scores = [None if h else float(v) for v, h in zip(df["score"].tolist(), hidden, strict=True)]
    shown_ns = [None if h else n for n, h in zip(ns, hidden, strict=True)]
    df["period_month"] = months
    df["status"] = [SUPPRESSED if h else SHOWN for h in hidden]
    df["score"] = masked_array(scores, "Float64")
    df["n"] = masked_array(shown_ns, "Int64")
    df["hover"] = [
        f"{source} · {area} · {group} · {label_of[month]}: "
        + (
            suppressed_label(k)
            if h
            else f"{metric} {score:.1f}" + (f" · n = {n:,}" if n is not None else " · n not published")
        )
        for source, area, group, month, metric, score, n, h in zip(
            df["source"].tolist(),
            df["area"].tolist(),
            df["group_name"].tolist(),
            months,
            df["metric"].tolist(),
            scores,
            shown_ns,
            hidden,
            strict=True,
        )
    ]
    return df


# ---------------------------------------------------------------------------------------------
# Comments
# ---------------------------------------------------------------------------------------------


def may_view_comments(role: str) -> bool:
    return ROLES.index(role) >= ROLES.index(COMMENT_ROLE)


def like_pattern(text: str) -> str:
    """A case-insensitive 'contains' pattern with the user's %, _ and \\ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _comment_where(search: str, topic: str) -> tuple[str, dict[str, Any]]:
    """Conditions on the `reportable` comments of comment_page."""
    where = "true"
    params: dict[str, Any] = {}
    if search.strip():
        where += " and r.comment ilike :pattern escape '\\'"
        params["pattern"] = like_pattern(search.strip())
    if topic:
        where += " and list_contains(r.topic_tags, :topic)"
        params["topic"] = topic
    return where, params


@dataclass(frozen=True)
class CommentPage:
    rows: pd.DataFrame
    total: int
    page: int
    pages: int


def comment_topics(
    conn: Connection, f: Filters, k: int = stats.DEFAULT_K, *, scope: FeedbackScope | None = None
) -> list[str]:
    """Topics tagged on the comments a reader may browse (reportable groups only), alphabetical."""
    if not may_view_comments(f.role):
        return []
    sc = _scope_for(conn, f, k, scope, topics=True)
    rows = _reportable_rows(
        sc.topic_columns, ["topic", "has_comment"], ["n"], where={"period_index": CURRENT}
    )
    return sorted({topic for topic, has_comment, *_ in rows if has_comment})


def _comment_months(sc: FeedbackScope) -> pd.DataFrame:
    """month, n: the comments of reportable groups in the scope's period per month (those with
    any), newest first: every comment in scope less the suppressed groups'. With a weekly scope
    the "months" are its weeks (7-day buckets from the period's start): finer, so the newest page
    reads fewer rows; the comment browser only needs each bucket's first day and count."""
    bucket = "week_start" if sc.weekly else "month"
    rows = _reportable_rows(sc.cell_columns, [bucket], ["n", "comments"], where={"period_index": CURRENT})
    months = sorted(((m, c) for m, _n, c, _scoped in rows if c > 0), reverse=True)
    return pd.DataFrame(months, columns=["month", "n"])


def comment_page(
    conn: Connection,
    f: Filters,
    k: int = stats.DEFAULT_K,
    *,
    search: str = "",
    topic: str = "",
    page: int = 1,
    page_size: int = COMMENT_PAGE_SIZE,
    scope: FeedbackScope | None = None,
) -> CommentPage:
    """One page of comments from reportable groups (n ≥ k in the filtered period), newest first,
    matching a literal text search (case-insensitive) and a topic. Raises PermissionError for
    roles that may not read comments."""
    if not may_view_comments(f.role):
        raise PermissionError(f"role {f.role!r} may not read comments")
    sc = _scope_for(conn, f, k, scope, channels=True)
    page_size = max(1, min(int(page_size), 200))
    where, extra = _comment_where(search, topic)
    params = _params(f, k, hidden=list(sc.hidden_ids), **extra)
    comments = rollups.source(conn, "feedback_comments")
    reportable = f"""
    reportable as (
        -- the comments in the period and filters of groups with at least k responses
        select f.* from {comments} f
        where f.response_date between :start and :end and {_in_filters(conn, f, "f")}
          and f.group_id not in (select * from unnest(cast(:hidden as integer[])))
    )"""
    if where == "true":  # every comment a reader may browse: the scope counted them by month
        months = _comment_months(sc)
    else:
        # one row per month with matching comments, newest first
        months = read_frame(
            conn,
            f"""with {reportable}
            select cast(date_trunc('month', r.response_date) as date) as month, count(*) as n
            from reportable r where {where} group by 1 order by 1 desc""",
            params,
        )
    total = int(sum(months["n"]))
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, int(page)), pages)
    # The comments are stored by date: reading only the newest months that hold this page's rows
    # lets DuckDB skip every older row group (the top-N alone reads them all: 240 ms at scale L).
    from_date, seen = f.start, 0
    for month, n in zip(months["month"], months["n"], strict=True):
        seen += int(n)
        if seen >= page * page_size:
            from_date = max(f.start, pd.Timestamp(month).date())
            break
    # DuckDB's top-N sorts the key columns and reads the others (the text, the topics) for the
    # page's rows alone, so the page is selected with its columns: the same rows as reading its ids
    # first and joining the comments again, a join less to plan (at S 4.3 -> 2.5 ms, at L 8.5 -> 7.4)
    sql = f"""
    with {reportable},
    page as (
        -- the page's comments
        select r.response_id, r.response_date, r.channel, r.community_id, r.division_code, r.topic_tags,
               r.comment
        from reportable r
        where {where} and r.response_date >= :from_date
        order by r.response_date desc, r.response_id desc
        limit :limit offset :offset
    )
    -- one row per comment on this page, with its names
    select r.response_date, r.channel,
           coalesce(c.name, 'No community recorded') as community_name,
           coalesce(d.name, 'no division recorded') as division_name,
           array_to_string(r.topic_tags, ', ') as topics,
           r.comment
    from page r
    left join communities c on c.community_id = r.community_id
    left join patrol_divisions d on d.division_code = r.division_code
    order by r.response_date desc, r.response_id desc
    """
    rows = read_frame(
        conn, sql, {**params, "limit": page_size, "offset": (page - 1) * page_size, "from_date": from_date}
    )
    if not rows.empty:
        rows["channel"] = [channel_name(c) for c in rows["channel"]]
        rows["topics"] = [
            ", ".join(topic_name(t.strip()) for t in s.split(",") if t.strip()) for s in rows["topics"]
        ]
    return CommentPage(rows=rows, total=total, page=page, pages=pages)
