# ruff: noqa
# Frozen copy of data_access/feedback.py as committed in 9360e2a, before it read the roll-ups: the
# raw-table reference that tests/data_access/test_rollups.py compares the module against. Not used by the app.
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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

from data_access import stats
from data_access.db import read_frame
from data_access.filters import ROLES, Filters
from data_access.overview import Kpi
from data_access.scope import feedback_scope, in_list
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


def reportable_cte(start: str = "start", end: str = "end") -> str:
    """CTEs `scoped` and `reportable`: responses in the period and filters, then only those whose
    group (community, else division, else 'none') has at least :k responses in that scope.

    Needs the bind parameters :<start>, :<end>, :k and the filter lists.
    """
    return f"""
    scoped as (
        select f.*, coalesce('c:' || f.community_id, 'd:' || f.division_code, 'none') as group_key
        from feedback f
        where f.response_date between :{start} and :{end} and {feedback_scope("f")}
    ),
    -- one row per response of a group with at least k responses in scope
    reportable as (
        select * from (
            select s.*, count(*) over (partition by s.group_key) as group_n from scoped s
        ) where group_n >= :k
    )"""


SCORE_AGGREGATES = """
    count(*) as n,
    avg((r.respect + r.listen) / 2.0) as trust_mean, stddev_samp((r.respect + r.listen) / 2.0) as trust_sd,
    avg(r.safety) as safety_mean, stddev_samp(r.safety) as safety_sd"""


def _params(f: Filters, k: int, **extra: Any) -> dict[str, Any]:
    return {**f.params(), "k": int(k), **extra}


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
    n = [0.0 if pd.isna(v) else float(v) for v in df[n_col]]
    status = [EMPTY if v == 0 and zero_is_empty else SUPPRESSED if v < k else SHOWN for v in n]
    ties = list(zip(*(df[c] for c in order), strict=True)) if order else [()] * len(n)
    rank = {i: r for r, i in enumerate(sorted(range(len(n)), key=lambda i: (n[i], ties[i], i)))}
    partitions: list[list[int]] = []
    for keys in margins:
        if not keys:
            partitions.append(list(range(len(n))))
            continue
        found: dict[tuple, list[int]] = {}
        for i, key in enumerate(zip(*(df[c] for c in keys), strict=True)):
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
    return pd.Series(status, index=df.index, dtype=object)


def _score_columns(df: pd.DataFrame, k: int) -> pd.DataFrame:
    """From n / *_mean / *_sd (0-10) and a status column: 0-100 scores, CIs and labels; every
    number of a hidden cell set to missing."""
    out = df.copy()
    shown = out["status"] == SHOWN
    for name in SCORES:
        vals: dict[str, list[float | None]] = {"score": [], "ci_low": [], "ci_high": []}
        for is_shown, n, mean, sd in zip(
            shown, out["n"], out[f"{name}_mean"], out[f"{name}_sd"], strict=True
        ):
            sc = stats.make_score(int(n or 0), _num(mean), _num(sd), k) if is_shown else None
            ci = sc.ci if sc is not None else None
            vals["score"].append(sc.mean if sc is not None else None)
            vals["ci_low"].append(ci[0] if ci else None)
            vals["ci_high"].append(ci[1] if ci else None)
        for key, values in vals.items():
            out[f"{name}_{key}"] = pd.array(values, dtype="Float64")
    out["small_sample"] = shown & (out["n"].fillna(0) < stats.SMALL_SAMPLE_N)
    out["n"] = visible_n(out["n"], out["status"])
    out["status_label"] = [
        status_label(s, bool(small), k) for s, small in zip(out["status"], out["small_sample"], strict=True)
    ]
    drop = [f"{m}_{x}" for m in SCORES for x in ("mean", "sd")]
    return out.drop(columns=drop)


def visible_n(n: pd.Series, status: pd.Series) -> pd.Series:
    """The count a reader may see: n when shown, 0 when empty, missing when hidden."""
    values = [
        int(v) if s == SHOWN else 0 if s == EMPTY else None for v, s in zip(n.fillna(0), status, strict=True)
    ]
    return pd.Series(pd.array(values, dtype="Int64"), index=n.index)


def _score_of(row: pd.Series, name: str, k: int) -> stats.Score:
    return stats.make_score(int(row["n"] or 0), _num(row[f"{name}_mean"]), _num(row[f"{name}_sd"]), k)


# ---------------------------------------------------------------------------------------------
# Headline tiles
# ---------------------------------------------------------------------------------------------


def period_scores(conn: Connection, f: Filters, k: int) -> dict[str, Any]:
    """One row for the period: n and 0-10 means / sds over reportable responses, plus how many
    responses and groups the scope holds before suppression (used only to say *that* something
    was suppressed, never shown as a number below k)."""
    sql = f"""
    with {reportable_cte()}
    select {SCORE_AGGREGATES},
           (select count(*) from scoped) as scoped_n,
           (select count(distinct group_key) from scoped) as groups_count,
           (select count(distinct group_key) from reportable) as reportable_groups_count
    from reportable r
    """
    row = read_frame(conn, sql, _params(f, k)).iloc[0]
    return {c: row[c] for c in row.index}


def score_kpis(conn: Connection, f: Filters, k: int = stats.DEFAULT_K) -> dict[str, Kpi]:
    """Trust, safety and responses over reportable responses, each with the prior period and change z."""
    cur, pri = period_scores(conn, f, k), period_scores(conn, f.prior(), k)
    out: dict[str, Kpi] = {}
    for name in SCORES:
        c, p = _score_of(pd.Series(cur), name, k), _score_of(pd.Series(pri), name, k)
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
    first = read_frame(conn, "select min(response_date) as d from feedback").d.iat[0]
    if pd.isna(first) or f.prior().end < first:  # no feedback recorded by the prior period's end
        out["responses"] = replace(out["responses"], prior=None, z=None)
    return out


def suppression_summary(conn: Connection, f: Filters, k: int) -> dict[str, int]:
    """How many groups the scope holds and how many are suppressed (counts of groups, not responses)."""
    row = period_scores(conn, f, k)
    groups = int(row["groups_count"])
    return {"groups": groups, "suppressed_groups": groups - int(row["reportable_groups_count"])}


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


def _divisions_in_scope(conn: Connection, f: Filters) -> pd.DataFrame:
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


def score_series(
    conn: Connection, f: Filters, k: int = stats.DEFAULT_K, *, grain: str = "month", split: str = "none"
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
    cell = "coalesce(r.division_code, '(none)')" if split == "division" else "'all'"
    sql = f"""
    with {reportable_cte()}
    -- one row per bucket (and division) with responses
    select {bucket_sql(grain)} as bucket_start,
           {cell} as cell,
           {SCORE_AGGREGATES}
    from reportable r
    group by all
    """
    agg = read_frame(conn, sql, _params(f, k))
    if split == "division":
        divs = _divisions_in_scope(conn, f)
        cells = pd.DataFrame(
            {
                "cell": [*divs.division_code, NO_DIVISION],
                "division_name": [*divs.division_name, "No division recorded"],
            }
        )
    else:
        cells = pd.DataFrame({"cell": ["all"], "division_name": ["All in filter"]})
    grid = pd.DataFrame({"bucket_start": buckets(f.start, f.end, grain)}).merge(cells, how="cross")
    if not agg.empty:
        agg["bucket_start"] = pd.to_datetime(agg["bucket_start"]).dt.date
    df = grid.merge(agg, on=["bucket_start", "cell"], how="left")
    df["n"] = df["n"].fillna(0).astype(int)
    # Empty period or empty scope: no bucket to show.
    if df["n"].sum() == 0:
        return _empty_series(split)
    margins: list[tuple[str, ...]] = [()] if split == "none" else [("bucket_start",), ("cell",)]
    df["status"] = protect(df, k=k, margins=margins, order=["bucket_start", "cell"])
    df = _score_columns(df, k)
    df["bucket_end"] = [bucket_end(b, grain) for b in df["bucket_start"]]
    df["is_partial"] = [
        (b < f.start) or (e > f.end) for b, e in zip(df["bucket_start"], df["bucket_end"], strict=True)
    ]
    df["bucket_label"] = [bucket_label(b, grain) for b in df["bucket_start"]]
    df = df.rename(columns={"cell": "division_code"})
    records = df.to_dict("records")
    for metric in SCORES:
        df[f"{metric}_hover"] = [_hover(row, metric) for row in records]
    return df[SERIES_COLUMNS].reset_index(drop=True)


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


def comparison_by_division(conn: Connection, f: Filters, k: int = stats.DEFAULT_K) -> pd.DataFrame:
    """One row per patrol division in scope (plus '(none)' for responses without a division):
    trust and safety with CI and n over reportable responses, the prior period's scores and the
    change z (same test as the Overview's score drops). Cells are protected against the shown total."""
    sql = f"""
    with {reportable_cte()}
    -- one row per division with reportable responses
    select coalesce(r.division_code, '(none)') as division_code, {SCORE_AGGREGATES}
    from reportable r
    group by 1
    """
    divs = _divisions_in_scope(conn, f)
    cells = pd.DataFrame(
        {
            "division_code": [*divs.division_code, NO_DIVISION],
            "division_name": [*divs.division_name, "No division recorded"],
        }
    )

    def one(period: Filters) -> pd.DataFrame:
        agg = read_frame(conn, sql, _params(period, k))
        df = cells.merge(agg, on="division_code", how="left")
        df["n"] = df["n"].fillna(0).astype(int)
        df["status"] = protect(df, k=k, order=["division_code"])  # same tie-break as the series
        return df

    cur, pri = one(f), one(f.prior())
    if cur["n"].sum() == 0:
        return pd.DataFrame(columns=DIVISION_COLUMNS)
    rows = []
    for (_, c), (_, p) in zip(cur.iterrows(), pri.iterrows(), strict=True):
        row: dict[str, Any] = {"division_code": c.division_code, "division_name": c.division_name}
        for name in SCORES:
            sc = _score_of(c, name, k) if c.status == SHOWN else None
            sp = _score_of(p, name, k) if p.status == SHOWN else None
            z = stats.score_change_z(sc, sp) if sc and sp else None
            row[f"{name}_prior"] = sp.mean if sp else None
            row[f"{name}_z"] = z
            row[f"{name}_change"] = stats.change_label(z) if sc else ""
        rows.append(row)
    changes = pd.DataFrame(rows)
    scored = _score_columns(cur, k)
    out = scored.merge(changes, on=["division_code", "division_name"])
    # the '(none)' row last
    out = out.sort_values("division_code", key=lambda s: s == NO_DIVISION, kind="stable")
    for col in ("trust_prior", "trust_z", "safety_prior", "safety_z"):
        out[col] = pd.array(out[col], dtype="Float64")
    return out[DIVISION_COLUMNS].reset_index(drop=True)


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


def comparison_by_community(conn: Connection, f: Filters, k: int = stats.DEFAULT_K) -> pd.DataFrame:
    """One row per community in scope: active communities the filters select (home division in the
    division filter, or citywide) and any community with responses in scope, plus one row per
    division for responses without a community. Trust and safety with CI and n; groups under k
    (including those with no responses) are suppressed. `add_trust_vs_home` adds the gap to the
    home division's score.

    These rows are the suppression groups themselves, and suppressed groups are left out of
    every total, so no complementary suppression is needed here.
    """
    sql = f"""
    with {reportable_cte()},
    -- one row per group in scope, counted before suppression
    groups as (
        select r.group_key, any_value(r.community_id) as community_id,
               any_value(r.division_code) filter (where r.community_id is null) as no_community_division,
               {SCORE_AGGREGATES}
        from scoped r
        group by r.group_key
    ),
    listed as (
        select 'c:' || c.community_id as group_key, c.community_id
        from communities c
        where c.is_active
          and {in_list("communities", "c.community_id")}
          and (c.division_code is null or {in_list("divisions", "c.division_code")})
    )
    select coalesce(g.group_key, l.group_key) as group_key,
           coalesce(g.community_id, l.community_id) as community_id,
           case when coalesce(g.community_id, l.community_id) is null then coalesce(g.no_community_division, '')
                else c.division_code end as division_code,
           c.name as community_name, c.kind, coalesce(g.n, 0) as n,
           g.trust_mean, g.trust_sd, g.safety_mean, g.safety_sd
    from groups g
    full join listed l using (group_key)
    left join communities c on c.community_id = coalesce(g.community_id, l.community_id)
    """
    df = read_frame(conn, sql, _params(f, k))
    if df.empty or df["n"].sum() == 0:
        return pd.DataFrame(columns=COMMUNITY_COLUMNS)
    names = dict(read_frame(conn, "select division_code, name from patrol_divisions").itertuples(index=False))
    is_community = df["community_id"].notna()
    df["home_division"] = [
        (names.get(d, d) if d else "citywide") if comm else (names.get(d, d) if d else "no division recorded")
        for comm, d in zip(is_community, df["division_code"].fillna(""), strict=True)
    ]
    df["community_name"] = [
        n if comm else f"No community recorded · {home}"
        for comm, n, home in zip(is_community, df["community_name"], df["home_division"], strict=True)
    ]
    df["n"] = df["n"].astype(int)
    df["status"] = protect(df, k=k, margins=[], zero_is_empty=False)
    df = _score_columns(df, k)
    df["home_division_code"] = df["division_code"].fillna("")
    df["is_community"] = is_community
    df = df.sort_values(
        ["is_community", "status", "trust_score", "community_name"],
        ascending=[False, True, True, True],
        na_position="last",
        kind="stable",
    )
    return df[COMMUNITY_COLUMNS].reset_index(drop=True)


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
    out.insert(out.columns.get_loc("trust_ci_high") + 1, "trust_vs_home", pd.array(gaps, dtype="Float64"))
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


def channel_volume(
    conn: Connection, f: Filters, k: int = stats.DEFAULT_K, *, grain: str = "month"
) -> pd.DataFrame:
    """One row per bucket × channel: reportable responses (missing when hidden), status, hover.

    Cells under k are suppressed; complementary suppression protects them against each
    bucket's total (the trend's n) and each channel's period total."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    sql = f"""
    with {reportable_cte()}
    -- one row per bucket per channel with responses
    select {bucket_sql(grain)} as bucket_start, r.channel, count(*) as n
    from reportable r
    group by all
    """
    agg = read_frame(conn, sql, _params(f, k))
    if agg.empty:
        return pd.DataFrame(columns=CHANNEL_COLUMNS)
    agg["bucket_start"] = pd.to_datetime(agg["bucket_start"]).dt.date
    channels = list(FEEDBACK_CHANNELS) + sorted(set(agg["channel"]) - set(FEEDBACK_CHANNELS))
    grid = pd.DataFrame({"bucket_start": buckets(f.start, f.end, grain)}).merge(
        pd.DataFrame({"channel": channels}), how="cross"
    )
    df = grid.merge(agg, on=["bucket_start", "channel"], how="left")
    df["n"] = df["n"].fillna(0).astype(int)
    df["status"] = protect(
        df, k=k, margins=[("bucket_start",), ("channel",)], order=["bucket_start", "channel"]
    )
    df["bucket_label"] = [bucket_label(b, grain) for b in df["bucket_start"]]
    df["status_label"] = [status_label(s, False, k) for s in df["status"]]
    df["n"] = visible_n(df["n"], df["status"])
    df["hover"] = [
        f"{b} · {channel_name(c)}: " + (f"{int(n):,} responses" if s == SHOWN else lab)
        for b, c, n, s, lab in zip(
            df["bucket_label"], df["channel"], df["n"], df["status"], df["status_label"], strict=True
        )
    ]
    return df[CHANNEL_COLUMNS]


CHANNEL_COLUMNS = ["bucket_start", "bucket_label", "channel", "n", "status", "status_label", "hover"]


def channel_totals(conn: Connection, f: Filters, k: int = stats.DEFAULT_K) -> pd.DataFrame:
    """One row per channel: reportable responses in the period and the prior period with the
    Poisson change z; cells under k suppressed, protected against the shown total."""
    sql = f"""
    with {reportable_cte()}
    -- one row per channel with responses
    select r.channel, count(*) as n from reportable r group by 1
    """
    channels = pd.DataFrame({"channel": list(FEEDBACK_CHANNELS)})

    def one(period: Filters) -> pd.DataFrame:
        agg = read_frame(conn, sql, _params(period, k))
        extra = sorted(set(agg["channel"]) - set(FEEDBACK_CHANNELS))
        df = pd.concat([channels, pd.DataFrame({"channel": extra})]).merge(agg, on="channel", how="left")
        df["n"] = df["n"].fillna(0).astype(int)
        df["status"] = protect(df, k=k, order=["channel"])
        return df

    cur, pri = one(f), one(f.prior())
    if cur["n"].sum() == 0:
        return pd.DataFrame(columns=CHANNEL_TOTAL_COLUMNS)
    df = cur.merge(pri, on="channel", how="left", suffixes=("", "_prior"))
    df["status_prior"] = df["status_prior"].fillna(EMPTY)
    df["n_prior"] = df["n_prior"].fillna(0)
    z = [
        stats.poisson_z(n, p) if s == SHOWN and sp in (SHOWN, EMPTY) else None
        for n, p, s, sp in zip(df["n"], df["n_prior"], df["status"], df["status_prior"], strict=True)
    ]
    df["z"] = pd.array(z, dtype="Float64")
    df["change"] = [stats.change_label(v) if s == SHOWN else "" for v, s in zip(z, df["status"], strict=True)]
    df["channel_name"] = [channel_name(c) for c in df["channel"]]
    df["status_label"] = [status_label(s, False, k) for s in df["status"]]
    df["n"] = visible_n(df["n"], df["status"])
    df["n_prior"] = visible_n(df["n_prior"], df["status_prior"])
    return df[CHANNEL_TOTAL_COLUMNS]


CHANNEL_TOTAL_COLUMNS = ["channel", "channel_name", "n", "n_prior", "z", "change", "status", "status_label"]


def channel_name(code: str) -> str:
    return code.replace("_", " ").capitalize()


# ---------------------------------------------------------------------------------------------
# Topics
# ---------------------------------------------------------------------------------------------


def topic_counts(conn: Connection, f: Filters, k: int = stats.DEFAULT_K) -> pd.DataFrame:
    """One row per comment topic seen in the period or the prior one: reportable responses tagged
    with it, the prior count and the Poisson change z. Counts under k are suppressed and
    protected against the shown total of commented responses; most mentioned first."""
    sql = f"""
    with {reportable_cte()}
    -- one row per topic tag of a reportable response
    select t.topic, count(*) as n
    from (select unnest(r.topic_tags) as topic from reportable r) t
    group by 1
    """
    cur = read_frame(conn, sql, _params(f, k))
    pri = read_frame(conn, sql, _params(f.prior(), k))
    topics = sorted(set(cur["topic"]) | set(pri["topic"]))
    if cur.empty:
        return pd.DataFrame(columns=TOPIC_COLUMNS)
    base = pd.DataFrame({"topic": topics})
    c = base.merge(cur, on="topic", how="left").fillna({"n": 0})
    p = base.merge(pri, on="topic", how="left").fillna({"n": 0})
    c["status"] = protect(c, k=k, order=["topic"])
    p["status"] = protect(p, k=k, order=["topic"])
    df = c.merge(p, on="topic", suffixes=("", "_prior"))
    shown = df["status"] == SHOWN
    shown_prior = df["status_prior"].isin([SHOWN, EMPTY])
    z = [
        stats.poisson_z(n, q) if s and sp else None
        for n, q, s, sp in zip(df["n"], df["n_prior"], shown, shown_prior, strict=True)
    ]
    df["z"] = pd.array(z, dtype="Float64")
    df["change"] = [stats.change_label(v) if s else "" for v, s in zip(z, shown, strict=True)]
    df["status_label"] = [status_label(s, False, k) for s in df["status"]]
    df["sort_n"] = df["n"].where(df["status"].isin([SHOWN, EMPTY]), -1)
    df["n"] = visible_n(df["n"], df["status"])
    df["n_prior"] = visible_n(df["n_prior"], df["status_prior"])
    df["topic_name"] = [topic_name(t) for t in df["topic"]]
    df = df.sort_values(["sort_n", "topic"], ascending=[False, True], kind="stable")
    return df[TOPIC_COLUMNS].reset_index(drop=True)


TOPIC_COLUMNS = ["topic", "topic_name", "n", "n_prior", "z", "change", "status", "status_label"]


def topic_name(tag: str) -> str:
    return tag.replace("_", " ").capitalize()


def topic_trend(conn: Connection, f: Filters, k: int = stats.DEFAULT_K) -> pd.DataFrame:
    """One row per month × topic seen in the period: tagged reportable responses (monthly, so counts
    clear k more often), suppressed under k, protected against month and topic totals."""
    sql = f"""
    with {reportable_cte()}
    -- one row per month per topic
    select cast(date_trunc('month', t.response_date) as date) as bucket_start, t.topic, count(*) as n
    from (select r.response_date, unnest(r.topic_tags) as topic from reportable r) t
    group by all
    """
    agg = read_frame(conn, sql, _params(f, k))
    if agg.empty:
        return pd.DataFrame(columns=TOPIC_TREND_COLUMNS)
    agg["bucket_start"] = pd.to_datetime(agg["bucket_start"]).dt.date
    grid = pd.DataFrame({"bucket_start": buckets(f.start, f.end, "month")}).merge(
        pd.DataFrame({"topic": sorted(set(agg["topic"]))}), how="cross"
    )
    df = grid.merge(agg, on=["bucket_start", "topic"], how="left")
    df["n"] = df["n"].fillna(0).astype(int)
    df["status"] = protect(df, k=k, margins=[("bucket_start",), ("topic",)], order=["bucket_start", "topic"])
    df["bucket_label"] = [bucket_label(b, "month") for b in df["bucket_start"]]
    df["topic_name"] = [topic_name(t) for t in df["topic"]]
    df["status_label"] = [status_label(s, False, k) for s in df["status"]]
    df["n"] = visible_n(df["n"], df["status"])
    df["hover"] = [
        f"{b} · {t}: " + (f"{int(n):,} responses" if s == SHOWN else lab)
        for b, t, n, s, lab in zip(
            df["bucket_label"], df["topic_name"], df["n"], df["status"], df["status_label"], strict=True
        )
    ]
    return df[TOPIC_TREND_COLUMNS]


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
    df["period_month"] = pd.to_datetime(df["period_month"]).dt.date
    hidden = df["n"].notna() & (df["n"].fillna(0) < k)
    df["status"] = [SUPPRESSED if h else SHOWN for h in hidden]
    df["score"] = pd.array(
        [None if h else float(s) for s, h in zip(df["score"], hidden, strict=True)], "Float64"
    )
    df["n"] = pd.array(
        [None if (h or pd.isna(n)) else int(n) for n, h in zip(df["n"], hidden, strict=True)], "Int64"
    )
    df["hover"] = [
        f"{row.source} · {row.area} · {row.group_name} · {row.period_month:%b %Y}: "
        + (
            suppressed_label(k)
            if row.status != SHOWN
            else f"{row.metric} {row.score:.1f}"
            + (f" · n = {int(row.n):,}" if not pd.isna(row.n) else " · n not published")
        )
        for row in df.itertuples()
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
    where = "r.comment is not null and trim(r.comment) <> ''"
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


def comment_topics(conn: Connection, f: Filters, k: int = stats.DEFAULT_K) -> list[str]:
    """Topics tagged on the comments a reader may browse (reportable groups only), alphabetical."""
    if not may_view_comments(f.role):
        return []
    sql = f"""
    with {reportable_cte()}
    select distinct unnest(r.topic_tags) as topic
    from reportable r
    where r.comment is not null and trim(r.comment) <> ''
    order by 1
    """
    return list(read_frame(conn, sql, _params(f, k))["topic"])


def comment_page(
    conn: Connection,
    f: Filters,
    k: int = stats.DEFAULT_K,
    *,
    search: str = "",
    topic: str = "",
    page: int = 1,
    page_size: int = COMMENT_PAGE_SIZE,
) -> CommentPage:
    """One page of comments from reportable groups (n ≥ k in the filtered period), newest first,
    matching a literal text search (case-insensitive) and a topic. Raises PermissionError for
    roles that may not read comments."""
    if not may_view_comments(f.role):
        raise PermissionError(f"role {f.role!r} may not read comments")
    page_size = max(1, min(int(page_size), 200))
    where, extra = _comment_where(search, topic)
    params = _params(f, k, **extra)
    total = int(
        read_frame(
            conn, f"with {reportable_cte()} select count(*) as n from reportable r where {where}", params
        ).iat[0, 0]
    )
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, int(page)), pages)
    sql = f"""
    with {reportable_cte()}
    -- one row per comment on this page
    select r.response_date, r.channel,
           coalesce(c.name, 'No community recorded') as community_name,
           coalesce(d.name, 'no division recorded') as division_name,
           array_to_string(r.topic_tags, ', ') as topics,
           r.comment
    from reportable r
    left join communities c on c.community_id = r.community_id
    left join patrol_divisions d on d.division_code = r.division_code
    where {where}
    order by r.response_date desc, r.response_id desc
    limit :limit offset :offset
    """
    rows = read_frame(conn, sql, {**params, "limit": page_size, "offset": (page - 1) * page_size})
    if not rows.empty:
        rows["channel"] = [channel_name(c) for c in rows["channel"]]
        rows["topics"] = [
            ", ".join(topic_name(t.strip()) for t in s.split(",") if t.strip()) for s in rows["topics"]
        ]
    return CommentPage(rows=rows, total=total, page=page, pages=pages)
