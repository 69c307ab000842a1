"""Two baselines for every page's aggregates: hand-written SQL on the raw tables straight on a
DuckDB connection (no SQLAlchemy, no roll-ups, no post-processing), and the naive pandas way
(every table loaded into DataFrames, then filtered and grouped in pandas).

Each page lists the aggregates it shows (the same ones its query functions compute, written the
plain way); the SQL and the pandas version of one aggregate sit side by side. They are
benchmarks, not a second implementation: they compute the same groupings over the same rows,
without the app's presentation work (suppression badges, labels, hover text).

Parameters of every aggregate: start/end (period), prior_start/prior_end (the period before),
communities/divisions/units (empty = all), k (small-n threshold).
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd


def _in(param: str, column: str) -> str:
    return f"(len(cast(${param} as varchar[])) = 0 or list_contains(cast(${param} as varchar[]), {column}))"


def M(a: str = "m") -> str:  # noqa: N802 - meeting filters (community, division, unit)
    return f"{_in('communities', f'{a}.community_id')} and {_in('divisions', f'{a}.division_code')} and {_in('units', f'{a}.unit_code')}"


def F(a: str = "f") -> str:  # noqa: N802 - feedback filters (community, division)
    return f"{_in('communities', f'{a}.community_id')} and {_in('divisions', f'{a}.division_code')}"


def S(a: str = "s") -> str:  # noqa: N802 - staffing filters (unit, division)
    return f"{_in('units', f'{a}.unit_code')} and {_in('divisions', f'{a}.division_code')}"


# communities in scope (active, selected, home division in filter or citywide, liaison's unit)
SCOPED_COMMUNITIES = f"""
scoped_communities as (
    select c.*, s.unit_code as responsible_unit, s.end_date as liaison_end
    from communities c left join staff s on s.staff_id = c.responsible_staff_id
    where c.is_active and {_in("communities", "c.community_id")}
      and (c.division_code is null or {_in("divisions", "c.division_code")})
      and {_in("units", "s.unit_code")}
)"""

STATUS_AT = (
    SCOPED_COMMUNITIES
    + f""",
last_contact as (
    select m.community_id, max(m.meeting_date) as last_date from meetings m
    where m.meeting_date <= $end and {_in("divisions", "m.division_code")}
    group by 1
),
status as (
    select c.community_id, c.name, c.target_cadence_days, c.responsible_staff_id, c.liaison_end,
           date_diff('day', l.last_date, cast($end as date)) as days_since,
           case when l.last_date is null then 'never met'
                when date_diff('day', l.last_date, cast($end as date)) <= c.target_cadence_days then 'on track'
                when date_diff('day', l.last_date, cast($end as date)) <= 1.5 * c.target_cadence_days then 'due'
                else 'overdue' end as status
    from scoped_communities c left join last_contact l using (community_id)
)"""
)

SCORES_SQL = """count(*) as n, avg((respect + listen) / 2.0) as trust, stddev_samp((respect + listen) / 2.0) as trust_sd,
       avg(safety) as safety, stddev_samp(safety) as safety_sd"""

REPORTABLE = f"""
scoped as (
    select f.*, coalesce('c:' || f.community_id, 'd:' || f.division_code, 'none') as g
    from feedback f where f.response_date between $start and $end and {F("f")}
),
reportable as (
    select * from scoped where g in (select g from scoped group by g having count(*) >= $k)
)"""

LATEST_MONTH = f"(select max(month) from staffing s where s.month <= date_trunc('month', cast($end as date)) and {S('s')})"


# ------------------------------------------------------------------ pandas helpers


def _isin(col: pd.Series, values: list[str]) -> pd.Series:
    return pd.Series(True, index=col.index) if not values else col.isin(values)


def _m(t: dict[str, pd.DataFrame], p: dict[str, Any], start: Any = None, end: Any = None) -> pd.DataFrame:
    m = t["meetings"]
    s, e = pd.Timestamp(start or p["start"]), pd.Timestamp(end or p["end"])
    mask = (m.meeting_date >= s) & (m.meeting_date <= e)
    mask &= _isin(m.community_id, p["communities"]) & _isin(m.division_code, p["divisions"])
    mask &= _isin(m.unit_code, p["units"])
    return m[mask]


def _f(t: dict[str, pd.DataFrame], p: dict[str, Any], start: Any = None, end: Any = None) -> pd.DataFrame:
    f = t["feedback"]
    s, e = pd.Timestamp(start or p["start"]), pd.Timestamp(end or p["end"])
    mask = (f.response_date >= s) & (f.response_date <= e)
    mask &= _isin(f.community_id, p["communities"]) & _isin(f.division_code, p["divisions"])
    return f[mask]


# Within one page run the naive pandas page computes its filtered frames once and reuses them
# (as a page would keep them in local variables); time_pandas clears this between runs.
_MEMO: dict[tuple, Any] = {}


def _memo_key(name: str, p: dict[str, Any], *extra: Any) -> tuple:
    return (
        name,
        p["start"],
        p["end"],
        tuple(p["communities"]),
        tuple(p["divisions"]),
        tuple(p["units"]),
        p["k"],
        *extra,
    )


def _reportable(t: dict[str, pd.DataFrame], p: dict[str, Any]) -> pd.DataFrame:
    key = _memo_key("reportable", p)
    if key not in _MEMO:
        _MEMO[key] = _reportable_uncached(t, p)
    return _MEMO[key]


def _reportable_uncached(t: dict[str, pd.DataFrame], p: dict[str, Any]) -> pd.DataFrame:
    f = _f(t, p)
    g = ("c:" + f.community_id).fillna("d:" + f.division_code).fillna("none")
    n = g.map(g.value_counts())
    return f.assign(g=g, trust=(f.respect + f.listen) / 2.0)[n >= p["k"]]


def _scores(f: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    f = f.assign(trust=(f.respect + f.listen) / 2.0) if "trust" not in f else f
    if not by:
        return pd.DataFrame(
            {
                "n": [len(f)],
                "trust": [f.trust.mean()],
                "trust_sd": [f.trust.std()],
                "safety": [f.safety.mean()],
            }
        )
    return f.groupby(by, observed=True).agg(
        n=("trust", "size"), trust=("trust", "mean"), trust_sd=("trust", "std"), safety=("safety", "mean")
    )


def _staffing_month(t: dict[str, pd.DataFrame], p: dict[str, Any]) -> pd.DataFrame:
    s = t["staffing"]
    s = s[_isin(s.unit_code, p["units"]) & _isin(s.division_code, p["divisions"])]
    end_month = pd.Timestamp(p["end"]).to_period("M").to_timestamp()
    s = s[s.month <= end_month]
    return s[s.month == s.month.max()] if len(s) else s


def _status(t: dict[str, pd.DataFrame], p: dict[str, Any], as_of: Any = None) -> pd.DataFrame:
    key = _memo_key("status", p, as_of)
    if key not in _MEMO:
        _MEMO[key] = _status_uncached(t, p, as_of)
    return _MEMO[key]


def _status_uncached(t: dict[str, pd.DataFrame], p: dict[str, Any], as_of: Any = None) -> pd.DataFrame:
    as_of = pd.Timestamp(as_of or p["end"])
    c, st = t["communities"], t["staff"]
    c = c.merge(
        st[["staff_id", "unit_code", "end_date"]],
        how="left",
        left_on="responsible_staff_id",
        right_on="staff_id",
    )
    c = c[c.is_active & _isin(c.community_id, p["communities"]) & _isin(c.unit_code, p["units"])]
    if p["divisions"]:
        c = c[c.division_code.isna() | c.division_code.isin(p["divisions"])]
    m = t["meetings"]
    m = m[(m.meeting_date <= as_of) & _isin(m.division_code, p["divisions"])]
    last = m.groupby("community_id").meeting_date.max().rename("last_date")
    c = c.join(last, on="community_id")
    days = (as_of - c.last_date).dt.days
    status = np.select(
        [c.last_date.isna(), days <= c.target_cadence_days, days <= 1.5 * c.target_cadence_days],
        ["never met", "on track", "due"],
        "overdue",
    )
    return c.assign(days_since=days, status=status)


# ------------------------------------------------------------------ the aggregates per page


@dataclass(frozen=True)
class Agg:
    name: str
    sql: str
    pandas: Callable[[dict[str, pd.DataFrame], dict[str, Any]], Any]


def _overview() -> list[Agg]:
    return [
        Agg(
            "meetings and residents, period and prior",
            f"select meeting_date >= $start as cur, count(*), sum(residents_count) from meetings m "
            f"where meeting_date between $prior_start and $end and {M()} group by 1",
            lambda t, p: (
                _m(t, p, p["prior_start"]).groupby(lambda i: True).residents_count.agg(["size", "sum"])
            ),
        ),
        Agg(
            "coverage status counts at end",
            f"with {STATUS_AT} select status, count(*) from status group by 1",
            lambda t, p: _status(t, p).status.value_counts(),
        ),
        Agg(
            "coverage status counts at prior end",
            f"with {STATUS_AT.replace('$end', '$prior_end')} select status, count(*) from status group by 1",
            lambda t, p: _status(t, p, p["prior_end"]).status.value_counts(),
        ),
        Agg(
            "open follow-ups at end and prior end",
            f"select count(*) filter (where fu.opened_date <= $end and (fu.closed_date is null or fu.closed_date > $end)), "
            f"count(*) filter (where fu.opened_date <= $prior_end and (fu.closed_date is null or fu.closed_date > $prior_end)) "
            f"from follow_ups fu join meetings m using (meeting_id) where {M()}",
            lambda t, p: _open_follow_ups(t, p),
        ),
        Agg(
            "staffing totals, latest month",
            f"select sum(authorized), sum(filled), sum(available) from staffing s where month = {LATEST_MONTH} and {S()}",
            lambda t, p: _staffing_month(t, p)[["authorized", "filled", "available"]].sum(),
        ),
        Agg(
            "trust and safety, period and prior",
            f"select response_date >= $start as cur, {SCORES_SQL} from feedback f "
            f"where response_date between $prior_start and $end and {F()} group by 1",
            lambda t, p: _scores(
                _f(t, p, p["prior_start"]).assign(cur=lambda d: d.response_date >= pd.Timestamp(p["start"])),
                ["cur"],
            ),
        ),
        Agg(
            "overdue communities",
            f"with {STATUS_AT} select * from status where status in ('overdue', 'never met') order by days_since desc",
            lambda t, p: _status(t, p).query("status in ['overdue', 'never met']").sort_values("days_since"),
        ),
        Agg(
            "units below 85% filled",
            f"select unit_code, sum(filled) / sum(authorized) as share from staffing s where month = {LATEST_MONTH} "
            f"and {S()} group by 1 having share < 0.85",
            lambda t, p: (lambda s: s.filled / s.authorized)(
                _staffing_month(t, p).groupby("unit_code")[["filled", "authorized"]].sum()
            ),
        ),
        Agg(
            "score drops by division",
            f"select division_code, response_date >= $start as cur, {SCORES_SQL} from feedback f "
            f"where response_date between $prior_start and $end and division_code is not null and {F()} group by 1, 2",
            lambda t, p: _scores(
                _f(t, p, p["prior_start"]).assign(cur=lambda d: d.response_date >= pd.Timestamp(p["start"])),
                ["division_code", "cur"],
            ),
        ),
        Agg(
            "units with no meetings logged",
            f"select unit_code, count(*) filter (where meeting_date >= $start), max(meeting_date) from meetings m "
            f"where meeting_date <= $end and {_in('divisions', 'm.division_code')} group by 1",
            lambda t, p: _units_logged(t, p),
        ),
    ]


def _open_follow_ups(t: dict[str, pd.DataFrame], p: dict[str, Any]) -> tuple[int, int]:
    fu = t["follow_ups"].merge(
        t["meetings"][["meeting_id", "community_id", "division_code", "unit_code"]], on="meeting_id"
    )
    fu = fu[
        _isin(fu.community_id, p["communities"])
        & _isin(fu.division_code, p["divisions"])
        & _isin(fu.unit_code, p["units"])
    ]
    out = []
    for d in (pd.Timestamp(p["end"]), pd.Timestamp(p["prior_end"])):
        out.append(int(((fu.opened_date <= d) & (fu.closed_date.isna() | (fu.closed_date > d))).sum()))
    return out[0], out[1]


def _units_logged(t: dict[str, pd.DataFrame], p: dict[str, Any]) -> pd.DataFrame:
    m = t["meetings"]
    m = m[(m.meeting_date <= pd.Timestamp(p["end"])) & _isin(m.division_code, p["divisions"])]
    return (
        m.assign(cur=m.meeting_date >= pd.Timestamp(p["start"]))
        .groupby("unit_code")
        .agg(n=("cur", "sum"), last=("meeting_date", "max"))
    )


def _meetings() -> list[Agg]:
    return [
        Agg(
            "kpis: meetings, residents, sd, period and prior",
            f"select meeting_date >= $start as cur, count(*), sum(residents_count), stddev_samp(residents_count) "
            f"from meetings m where meeting_date between $prior_start and $end and {M()} group by 1",
            lambda t, p: (
                _m(t, p, p["prior_start"])
                .assign(cur=lambda d: d.meeting_date >= pd.Timestamp(p["start"]))
                .groupby("cur")
                .residents_count.agg(["size", "sum", "std"])
            ),
        ),
        Agg(
            "meetings per week × unit",
            f"select date_trunc('week', meeting_date), unit_code, count(*), sum(residents_count) from meetings m "
            f"where meeting_date between $start and $end and {M()} group by 1, 2",
            lambda t, p: (
                _m(t, p)
                .groupby(
                    [pd.Grouper(key="meeting_date", freq="W-MON", label="left", closed="left"), "unit_code"]
                )
                .residents_count.agg(["size", "sum"])
            ),
        ),
        Agg(
            "meetings per day (weekday × week heat)",
            f"select meeting_date, count(*) from meetings m where meeting_date between $start and $end and {M()} group by 1",
            lambda t, p: _m(t, p).groupby("meeting_date").size(),
        ),
        Agg(
            "top communities",
            f"select community_id, count(*) as n, sum(residents_count) from meetings m "
            f"where meeting_date between $start and $end and {M()} group by 1 order by n desc limit 15",
            lambda t, p: (
                _m(t, p).groupby("community_id").residents_count.agg(["size", "sum"]).nlargest(15, "size")
            ),
        ),
        Agg(
            "top organizations",
            f"select org_id, count(*) as n from meetings m where meeting_date between $start and $end and {M()} "
            f"and org_id is not null group by 1 order by n desc limit 15",
            lambda t, p: _m(t, p).groupby("org_id").size().nlargest(15),
        ),
        Agg(
            "meetings per staff member",
            f"select lead_staff_id, count(*), sum(residents_count) from meetings m "
            f"where meeting_date between $start and $end and {M()} group by 1",
            lambda t, p: _m(t, p).groupby("lead_staff_id").residents_count.agg(["size", "sum"]),
        ),
        Agg(
            "concerns per month × tag",
            f"select month, tag, count(*) from (select date_trunc('month', meeting_date) as month, unnest(concern_tags) as tag "
            f"from meetings m where meeting_date between $start and $end and {M()}) group by 1, 2",
            lambda t, p: (
                _m(t, p)[["meeting_date", "concern_tags"]]
                .explode("concern_tags")
                .groupby([pd.Grouper(key="meeting_date", freq="MS"), "concern_tags"])
                .size()
            ),
        ),
        Agg(
            "meeting log: count and first page",
            f"select count(*) over () as total, m.meeting_date, c.name, m.meeting_type, m.residents_count from meetings m "
            f"join communities c using (community_id) where meeting_date between $start and $end and {M()} "
            f"order by meeting_date desc, start_time desc limit 50",
            lambda t, p: (
                _m(t, p)
                .sort_values(["meeting_date", "start_time"], ascending=False)
                .head(50)
                .merge(t["communities"][["community_id", "name"]], on="community_id")
            ),
        ),
    ]


def _coverage() -> list[Agg]:
    return [
        Agg(
            "status counts",
            f"with {STATUS_AT} select status, count(*) from status group by 1",
            lambda t, p: _status(t, p).status.value_counts(),
        ),
        Agg(
            "worklist, stalest first",
            f"with {STATUS_AT} select * from status order by status = 'never met' desc, days_since * 1.0 / target_cadence_days desc",
            lambda t, p: (
                _status(t, p)
                .assign(r=lambda d: d.days_since / d.target_cadence_days)
                .sort_values("r", ascending=False)
            ),
        ),
        Agg(
            "community × division days since contact",
            f"with {SCOPED_COMMUNITIES} select m.community_id, m.division_code, max(meeting_date) from meetings m "
            f"where meeting_date <= $end and {_in('divisions', 'm.division_code')} "
            f"and m.community_id in (select community_id from scoped_communities) group by 1, 2",
            lambda t, p: (
                _m(t, {**p, "units": []}, "1900-01-01")
                .groupby(["community_id", "division_code"])
                .meeting_date.max()
            ),
        ),
        Agg(
            "coverage rate per week end",
            f"""with {SCOPED_COMMUNITIES},
            ends as (select cast(d as date) as as_of from range(cast($start as timestamp), cast($end as timestamp) + interval 1 day, interval 1 day) t(d)
                     where dayofweek(d) = 0 or cast(d as date) = $end),
            contacts as (select distinct community_id, meeting_date from meetings m where meeting_date <= $end
                         and {_in("divisions", "m.division_code")} and community_id in (select community_id from scoped_communities)),
            grid as (select e.as_of, c.community_id, c.target_cadence_days from ends e cross join scoped_communities c)
            select g.as_of, avg(case when date_diff('day', ct.meeting_date, g.as_of) <= g.target_cadence_days then 1.0 else 0 end)
            from grid g asof left join contacts ct on ct.community_id = g.community_id and g.as_of >= ct.meeting_date group by 1""",
            lambda t, p: _coverage_series(t, p),
        ),
        Agg(
            "communities without a serving liaison",
            f"with {STATUS_AT} select * from status where responsible_staff_id is null or liaison_end <= $end",
            lambda t, p: _status(t, p).query(
                "responsible_staff_id.isna() or end_date <= @pd.Timestamp(@p['end'])", engine="python"
            ),
        ),
        Agg(
            "follow-ups: open, median age, closed within 30 days",
            f"select count(*) filter (where closed_date is null or closed_date > $end), "
            f"median(date_diff('day', opened_date, cast($end as date))) filter (where closed_date is null or closed_date > $end), "
            f"count(*) filter (where opened_date >= $start and closed_date is not null and date_diff('day', opened_date, closed_date) <= 30) "
            f"from follow_ups fu join meetings m using (meeting_id) where fu.opened_date <= $end and {M()}",
            lambda t, p: _follow_up_summary(t, p),
        ),
        Agg(
            "open follow-ups, oldest first (a page)",
            f"select fu.*, c.name from follow_ups fu join meetings m using (meeting_id) join communities c on c.community_id = m.community_id "
            f"where fu.opened_date <= $end and (fu.closed_date is null or fu.closed_date > $end) and {M()} "
            f"order by fu.opened_date, fu.follow_up_id limit 200",
            lambda t, p: _open_list(t, p),
        ),
    ]


def _coverage_series(t: dict[str, pd.DataFrame], p: dict[str, Any]) -> pd.Series:
    """Share on track at each week end: the latest contact on or before each date by merge_asof."""
    start, end = pd.Timestamp(p["start"]), pd.Timestamp(p["end"])
    ends = [d for d in pd.date_range(start, end) if d.dayofweek == 6 or d == end]
    comms = _status(t, p)[["community_id", "target_cadence_days"]]
    grid = pd.DataFrame({"as_of": pd.DatetimeIndex(ends).astype("datetime64[us]")}).merge(comms, how="cross")
    grid = grid.sort_values("as_of")
    m = t["meetings"]
    m = m[(m.meeting_date <= end) & _isin(m.division_code, p["divisions"])]
    contacts = m[["community_id", "meeting_date"]].drop_duplicates().sort_values("meeting_date")
    contacts["meeting_date"] = contacts.meeting_date.astype("datetime64[us]")
    last = pd.merge_asof(grid, contacts, left_on="as_of", right_on="meeting_date", by="community_id")
    on_track = (last.as_of - last.meeting_date).dt.days <= last.target_cadence_days
    return on_track.groupby(last.as_of).mean()


def _follow_ups_scoped(t: dict[str, pd.DataFrame], p: dict[str, Any]) -> pd.DataFrame:
    fu = t["follow_ups"].merge(
        t["meetings"][["meeting_id", "community_id", "division_code", "unit_code"]], on="meeting_id"
    )
    fu = fu[
        _isin(fu.community_id, p["communities"])
        & _isin(fu.division_code, p["divisions"])
        & _isin(fu.unit_code, p["units"])
    ]
    return fu[fu.opened_date <= pd.Timestamp(p["end"])]


def _follow_up_summary(t: dict[str, pd.DataFrame], p: dict[str, Any]) -> tuple:
    fu, end = _follow_ups_scoped(t, p), pd.Timestamp(p["end"])
    open_ = fu[fu.closed_date.isna() | (fu.closed_date > end)]
    closed30 = fu[
        (fu.opened_date >= pd.Timestamp(p["start"])) & ((fu.closed_date - fu.opened_date).dt.days <= 30)
    ]
    return len(open_), (end - open_.opened_date).dt.days.median(), len(closed30)


def _open_list(t: dict[str, pd.DataFrame], p: dict[str, Any]) -> pd.DataFrame:
    fu, end = _follow_ups_scoped(t, p), pd.Timestamp(p["end"])
    open_ = (
        fu[fu.closed_date.isna() | (fu.closed_date > end)]
        .sort_values(["opened_date", "follow_up_id"])
        .head(200)
    )
    return open_.merge(t["communities"][["community_id", "name"]], on="community_id")


def _staffing() -> list[Agg]:
    return [
        Agg(
            "by unit, latest month",
            f"select unit_code, sum(authorized), sum(filled), sum(available) from staffing s where month = {LATEST_MONTH} and {S()} group by 1",
            lambda t, p: (
                _staffing_month(t, p).groupby("unit_code")[["authorized", "filled", "available"]].sum()
            ),
        ),
        Agg(
            "by division, latest month",
            f"select division_code, sum(authorized), sum(filled), sum(available) from staffing s where month = {LATEST_MONTH} and {S()} group by 1",
            lambda t, p: (
                _staffing_month(t, p).groupby("division_code")[["authorized", "filled", "available"]].sum()
            ),
        ),
        Agg(
            "vacancy trend by month",
            f"select month, sum(authorized), sum(filled) from staffing s where month between date_trunc('month', cast($start as date)) and $end and {S()} group by 1",
            lambda t, p: (
                lambda s: (
                    s[
                        (s.month >= pd.Timestamp(p["start"]).to_period("M").to_timestamp())
                        & (s.month <= pd.Timestamp(p["end"]))
                    ]
                    .groupby("month")[["authorized", "filled"]]
                    .sum()
                )
            )(
                t["staffing"][
                    _isin(t["staffing"].unit_code, p["units"])
                    & _isin(t["staffing"].division_code, p["divisions"])
                ]
            ),
        ),
        Agg(
            "CIT-trained share of sworn staff by division",
            f"select st.division_code, count(*), count(*) filter (where is_cit_trained) from staff st join units u using (unit_code) "
            f"where u.is_sworn and st.start_date <= $end and (st.end_date is null or st.end_date >= $end) "
            f"and {_in('units', 'st.unit_code')} and {_in('divisions', 'st.division_code')} group by 1",
            lambda t, p: _cit(t, p),
        ),
        Agg(
            "workload: meetings per filled FTE per month",
            f"with held as (select unit_code, count(*) as n from meetings m where meeting_date between $start and $end and {M()} group by 1), "
            f"fte as (select unit_code, avg(f) as fte from (select unit_code, month, sum(filled) as f from staffing s "
            f"where month between date_trunc('month', cast($start as date)) and $end and {S()} group by 1, 2) group by 1) "
            f"select * from held full join fte using (unit_code)",
            lambda t, p: _m(t, p).groupby("unit_code").size(),
        ),
        Agg(
            "communities per liaison",
            f"with {SCOPED_COMMUNITIES} select responsible_unit, count(*), count(distinct responsible_staff_id) from scoped_communities group by 1",
            lambda t, p: (
                _status(t, p).groupby("unit_code", dropna=False).responsible_staff_id.agg(["size", "nunique"])
            ),
        ),
        Agg(
            "roster",
            f"select st.*, u.name from staff st join units u using (unit_code) where st.start_date <= $end "
            f"and (st.end_date is null or st.end_date >= $end) and {_in('units', 'st.unit_code')} and {_in('divisions', 'st.division_code')} "
            f"order by u.name, st.display_name limit 10000",
            lambda t, p: _roster(t, p),
        ),
    ]


def _serving_staff(t: dict[str, pd.DataFrame], p: dict[str, Any]) -> pd.DataFrame:
    st, end = t["staff"], pd.Timestamp(p["end"])
    st = st[(st.start_date <= end) & (st.end_date.isna() | (st.end_date >= end))]
    return st[_isin(st.unit_code, p["units"]) & _isin(st.division_code, p["divisions"])]


def _cit(t: dict[str, pd.DataFrame], p: dict[str, Any]) -> pd.DataFrame:
    st = _serving_staff(t, p).merge(t["units"][["unit_code", "is_sworn"]], on="unit_code")
    return st[st.is_sworn].groupby("division_code").is_cit_trained.agg(["size", "sum"])


def _roster(t: dict[str, pd.DataFrame], p: dict[str, Any]) -> pd.DataFrame:
    st = _serving_staff(t, p).merge(t["units"][["unit_code", "name"]], on="unit_code")
    return st.sort_values(["name", "display_name"]).head(10_000)


def _feedback() -> list[Agg]:
    return [
        Agg(
            "trust and safety (reportable groups), period and prior",
            f"with {REPORTABLE} select {SCORES_SQL} from reportable union all "
            f"select * from (with {REPORTABLE.replace('$start', '$prior_start').replace('$end', '$prior_end')} select {SCORES_SQL} from reportable)",
            lambda t, p: (
                _scores(_reportable(t, p)),
                _scores(_reportable(t, {**p, "start": p["prior_start"], "end": p["prior_end"]})),
            ),
        ),
        Agg(
            "trust and safety per month",
            f"with {REPORTABLE} select date_trunc('month', response_date), {SCORES_SQL} from reportable group by 1",
            lambda t, p: _scores(_reportable(t, p), [pd.Grouper(key="response_date", freq="MS")]),
        ),
        Agg(
            "by division",
            f"with {REPORTABLE} select division_code, {SCORES_SQL} from reportable group by 1",
            lambda t, p: _scores(_reportable(t, p), ["division_code"]),
        ),
        Agg(
            "by community",
            f"with {REPORTABLE} select community_id, {SCORES_SQL} from reportable where community_id is not null group by 1",
            lambda t, p: _scores(_reportable(t, p), ["community_id"]),
        ),
        Agg(
            "responses per month × channel",
            f"with {REPORTABLE} select date_trunc('month', response_date), channel, count(*) from reportable group by 1, 2",
            lambda t, p: (
                _reportable(t, p).groupby([pd.Grouper(key="response_date", freq="MS"), "channel"]).size()
            ),
        ),
        Agg(
            "topics",
            f"with {REPORTABLE} select topic, count(*) from (select unnest(topic_tags) as topic from reportable) group by 1",
            lambda t, p: _reportable(t, p).topic_tags.explode().value_counts(),
        ),
        Agg(
            "topics per month",
            f"with {REPORTABLE} select month, topic, count(*) from (select date_trunc('month', response_date) as month, "
            f"unnest(topic_tags) as topic from reportable) group by 1, 2",
            lambda t, p: (
                _reportable(t, p)[["response_date", "topic_tags"]]
                .explode("topic_tags")
                .groupby([pd.Grouper(key="response_date", freq="MS"), "topic_tags"])
                .size()
            ),
        ),
        Agg(
            "external scores",
            "select * from external_scores where period_month between date_trunc('month', cast($start as date)) and $end",
            lambda t, p: t["external_scores"][
                (t["external_scores"].period_month >= pd.Timestamp(p["start"]).to_period("M").to_timestamp())
                & (t["external_scores"].period_month <= pd.Timestamp(p["end"]))
            ],
        ),
        Agg(
            "comments, newest first (a page)",
            f"with {REPORTABLE} select response_date, comment, topic_tags from reportable where comment is not null "
            f"order by response_date desc, response_id limit 25",
            lambda t, p: (
                lambda r: (
                    r[r.comment.notna()]
                    .sort_values(["response_date", "response_id"], ascending=[False, True])
                    .head(25)
                )
            )(_reportable(t, p)),
        ),
    ]


def _named(aggs: list[Agg], *names: str) -> list[Agg]:
    """The aggregates of `aggs` with these names, in the order named (each must be there)."""
    by_name = {a.name: a for a in aggs}
    return [by_name[n] for n in names]


def _feedback_as_opened() -> list[Agg]:
    """The Feedback page on its divisions' tab: the community comparison runs only on its own tab."""
    return [a for a in _feedback() if a.name != "by community"]


# The Briefing builds only the slide on screen: as opened, its first slide (the Overview's tiles
# and needs-attention list); the others are measured as "Briefing · slide N" (bench.pages.EXTRA_VIEWS).
def _briefing() -> list[Agg]:
    return _overview()


def _briefing_coverage() -> list[Agg]:
    return _named(_coverage(), "status counts", "worklist, stalest first")


def _briefing_staffing() -> list[Agg]:
    return _named(_overview(), "staffing totals, latest month") + _named(_staffing(), "by unit, latest month")


def _briefing_feedback() -> list[Agg]:
    return _named(
        _feedback(),
        "trust and safety (reportable groups), period and prior",
        "trust and safety per month",
        "by division",
    )


def _data() -> list[Agg]:
    tables = ("meetings", "feedback", "follow_ups", "staffing", "communities", "staff", "external_scores")
    dates = {
        "meetings": "meeting_date",
        "feedback": "response_date",
        "follow_ups": "opened_date",
        "staffing": "month",
        "external_scores": "period_month",
    }
    parts = [
        f"select '{t}', count(*), {('max(' + dates[t] + ')') if t in dates else 'null'} from {t}"
        for t in tables
    ]
    return [
        Agg(
            "rows and latest date per table",
            " union all ".join(parts),
            lambda t, p: {n: (len(t[n]), t[n][dates[n]].max() if n in dates else None) for n in tables},
        ),
        Agg(
            "latest meeting per unit",
            "select unit_code, max(meeting_date), count(*) from meetings group by 1",
            lambda t, p: t["meetings"].groupby("unit_code").meeting_date.agg(["max", "size"]),
        ),
        Agg(
            "import history (a page)",
            "select * from imports order by imported_at desc limit 25",
            lambda t, p: t["imports"].sort_values("imported_at", ascending=False).head(25),
        ),
    ]


PAGE_AGGREGATES: dict[str, Callable[[], list[Agg]]] = {
    "Overview": _overview,
    "Meetings": _meetings,
    "Coverage": _coverage,
    "Staffing": _staffing,
    "Feedback": _feedback_as_opened,
    "Feedback · By community": _feedback,
    "Briefing": _briefing,
    "Briefing · slide 2": _briefing_coverage,
    "Briefing · slide 3": _briefing_staffing,
    "Briefing · slide 4": _briefing_feedback,
    "Data": _data,
}


# ------------------------------------------------------------------ running them


def params_for(
    start: date, end: date, communities: list[str], divisions: list[str], units: list[str], k: int = 10
) -> dict[str, Any]:
    days = (end - start).days + 1
    return {
        "start": start,
        "end": end,
        "prior_start": start - timedelta(days=days),
        "prior_end": start - timedelta(days=1),
        "communities": list(communities),
        "divisions": list(divisions),
        "units": list(units),
        "k": k,
    }


_PARAM = re.compile(r"\$([a-z_]+)")


def run_sql(con: Any, aggs: list[Agg], p: dict[str, Any]) -> int:
    """Run every aggregate once; the most rows any of them returned."""
    most = 0
    for a in aggs:
        used = {name: p[name] for name in set(_PARAM.findall(a.sql))}
        rows = con.sql(a.sql, params=used).to_arrow_table().num_rows
        most = max(most, rows)
    return most


def time_sql(con: Any, aggs: list[Agg], p: dict[str, Any], repeat: int) -> tuple[float, int]:
    rows = run_sql(con, aggs, p)  # warm-up
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run_sql(con, aggs, p)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), rows


PANDAS_REPEAT = 2  # pandas has no warm-up to do, and a run costs seconds to minutes at M


def time_pandas(tables: dict[str, pd.DataFrame], aggs: list[Agg], p: dict[str, Any], repeat: int) -> float:
    runs = []
    for _ in range(min(repeat, PANDAS_REPEAT)):
        _MEMO.clear()
        t0 = time.perf_counter()
        for a in aggs:
            a.pandas(tables, p)
        runs.append(time.perf_counter() - t0)
    _MEMO.clear()
    return statistics.median(runs)


PANDAS_TABLES = (
    "patrol_divisions",
    "units",
    "staff",
    "communities",
    "organizations",
    "meetings",
    "follow_ups",
    "staffing",
    "feedback",
    "external_scores",
    "imports",
)


def load_tables(con: Any) -> dict[str, pd.DataFrame]:
    """The naive start: every table, every column, into pandas (dates as datetime64)."""
    out = {}
    for name in PANDAS_TABLES:
        df = con.execute(f"select * from {name}").df()
        for col in df.columns:
            if (
                df[col].dtype == object
                and len(df)
                and isinstance(df[col].dropna().iloc[0] if df[col].notna().any() else None, date)
            ):
                df[col] = pd.to_datetime(df[col])
        out[name] = df
    return out
