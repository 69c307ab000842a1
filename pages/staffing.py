"""Staffing: is each unit staffed to do the work?

Authorized, filled and available FTE by unit and patrol division in the period's last
staffing month, teams below 85% filled, the staffing and vacancy trend, CIT-trained share
of sworn staff, workload and communities per liaison, and the roster.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data_access.filters import format_date
from data_access.metrics import format_value, metric
from data_access.overview import BELOW_FILLED_SHARE
from data_access.staffing import (
    DAYS_PER_MONTH,
    EXPORT_CAP,
    ROSTER_PAGE_SIZE,
    cit_trained_shares,
    communities_per_liaison,
    roster,
    roster_page,
    staffing_by_month,
    staffing_month,
)
from data_access.staffing import (
    workload_by_unit as workload_query,
)
from ui import cache
from ui.filters import names
from ui.pager import deferred_download, pager_controls, requested_page
from ui.theme import PALETTE, empty, figure, reference_line, show
from ui.widgets import header, table

BELOW = f"▼ below {BELOW_FILLED_SHARE:.0%} filled"
OK = f"✓ at least {BELOW_FILLED_SHARE:.0%} filled"
MEASURES = (("authorized", "Authorized"), ("filled", "Filled"), ("available", "Available"))
TREND_WINDOWS = {"period": "The period", "12": "12 months", "24": "24 months"}
SPLITS = {"total": "All units combined", "unit": "By unit", "division": "By patrol division"}

filters = st.session_state["filters"]
header("Staffing", "Is each unit staffed to do the work?", filters)
lookup = names()
unit_names, division_names = lookup["units"], lookup["divisions"]

# Every query that no widget on this page changes runs here: the last month's on a ui.cache worker
# thread, beside the others, whose results not cached yet come from one statement (the trend's and
# the roster's run inline).
month_q = cache.ahead(staffing_month, filters)  # tiles, units, divisions and short teams of the last month
(cit_total, cit), workload, cpl = cache.together(
    filters, cache.call(cit_trained_shares), cache.call(workload_query), cache.call(communities_per_liaison)
)


def tile(container, name: str, value: float | None, note: str | None = None) -> None:
    m = metric(name)
    container.metric(m.label, format_value(name, value), help=m.description, border=True)
    if note:
        container.caption(note)


def month_label(d: date) -> str:
    return f"{d:%b %Y}"


def status(is_below: bool) -> str:
    return BELOW if is_below else OK


def titled(traces: list[dict], title: str, *, layout: dict | None = None, **kwargs) -> go.Figure:
    """ui.theme.figure, with room for the title above the legend (both sit in the top margin)."""
    room = dict(
        margin=dict(t=78),
        title=dict(y=1, yref="container", yanchor="top", pad=dict(t=8), x=0, xanchor="left"),
    )
    return figure(traces, title=title, layout={**room, **(layout or {})}, **kwargs)


def month_axis(months: int) -> dict:
    """Monthly ticks that stay horizontal on a half-width chart: every month up to 6, then every 2nd or 3rd."""
    step = 1 if months <= 6 else 2 if months <= 12 else 3
    return dict(tickformat="%b %Y", dtick=f"M{step}", tickangle=0)


def bars_fig(df: pd.DataFrame, names_: list[str], title: str) -> go.Figure:
    """Authorized / filled / available side by side, one group per unit or division; each group's
    axis label carries its filled share of authorized, with ▼ when below the threshold."""
    labels = [
        f"{n}{' ▼' if b else ''}<br>{'—' if pd.isna(s) else f'{s:.0%}'} filled"
        for n, s, b in zip(names_, df["filled_share"], df["is_below_filled"], strict=True)
    ]
    traces = [
        dict(
            type="bar",
            name=label,
            x=labels,
            y=df[col],
            hovertemplate=f"{label}: %{{y:.1f}} FTE<extra></extra>",
        )
        for col, label in MEASURES
    ]
    return titled(
        traces,
        title,
        y_title="FTE",
        height=400,
        layout=dict(barmode="group", bargap=0.25, yaxis=dict(rangemode="tozero")),
    )


def last_month_table(df: pd.DataFrame, key_col: str, key_label: str, names_: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            key_label: [names_.get(c, c) for c in df[key_col]],
            "Status": [status(b) for b in df["is_below_filled"]],
            "Authorized FTE": df["authorized"],
            "Filled FTE": df["filled"],
            "Available FTE": df["available"],
            "Vacancy rate (%)": 100 * df["vacancy_rate"],
            "Availability (%)": 100 * df["availability"],
        }
    )


FTE_COL = st.column_config.NumberColumn(format="%.1f")
RATE_COLUMNS = {
    "Vacancy rate (%)": st.column_config.NumberColumn(
        format="%.0f%%", help=metric("vacancy_rate").description
    ),
    "Availability (%)": st.column_config.NumberColumn(
        format="%.0f%%", help=metric("availability").description
    ),
    "Authorized FTE": FTE_COL,
    "Filled FTE": FTE_COL,
    "Available FTE": FTE_COL,
}

# ---------------------------------------------------------------- the period's last month

last_month = month_q.result()  # one cache hit for the tiles, both tables and the short teams
totals = last_month.totals  # its month is latest_staffing_month's
month = totals["month"] if totals else None  # the latest staffing month in scope on or before the end
st.subheader("Staffed against authorized")
if month is None:
    empty(
        f"No staffing rows on or before {format_date(filters.end)} for these units and patrol divisions. "
        "Widen the period or clear a filter."
    )
else:
    end_month = date(filters.end.year, filters.end.month, 1)
    note = f"Staffing as of **{month:%B %Y}**, the latest month with staffing data on or before the period's end."
    if month < end_month:
        gap = (end_month.year - month.year) * 12 + end_month.month - month.month
        note += f" **▲ No staffing rows for the {gap} month{'s' if gap > 1 else ''} after it.**"
    st.markdown(note)
    cols = st.columns(5)
    if totals:
        auth = totals["authorized"]
        tile(cols[0], "authorized", auth)
        tile(cols[1], "filled", totals["filled"])
        tile(cols[2], "available", totals["available"])
        tile(cols[3], "vacancy_rate", (auth - totals["filled"]) / auth if auth else None)
        tile(cols[4], "availability", totals["available"] / auth if auth else None)

    by_unit = last_month.by_unit
    by_div = last_month.by_division
    left, right = st.columns(2)
    with left:
        if by_unit.empty:
            empty("No unit has staffing rows in this month for these filters.")
        else:
            show(
                bars_fig(by_unit, list(by_unit.unit_code), f"By unit · {month_label(month)}"),
                key="staffing_by_unit",
            )
    with right:
        if by_div.empty:
            empty("No patrol division has staffing rows in this month for these filters.")
        else:
            labels = [division_names.get(c, c) for c in by_div.division_code]
            show(
                bars_fig(by_div, labels, f"By patrol division · {month_label(month)}"),
                key="staffing_by_division",
            )
    in_scope = list(filters.divisions) or list(division_names)
    missing = [division_names.get(d, d) for d in in_scope if d not in set(by_div.division_code)]
    st.caption(
        f"▼ marks a unit or division whose filled FTE is below {BELOW_FILLED_SHARE:.0%} of authorized "
        "(the Overview's needs-attention rule). Available = filled minus leave and light duty."
        + (f" No staffing rows in {month_label(month)} for: {', '.join(missing)}." if missing else "")
    )
    st.markdown(f"**Teams below {BELOW_FILLED_SHARE:.0%} filled** (one unit in one patrol division)")
    cells = last_month.cells
    table(
        pd.DataFrame(
            {
                "Unit": [unit_names.get(c, c) for c in cells.unit_code],
                "Patrol division": [division_names.get(c, c) for c in cells.division_code],
                "Status": [f"▼ {s:.0%} filled" for s in cells.filled_share],
                "Filled FTE": cells.filled,
                "Authorized FTE": cells.authorized,
                "Vacant FTE": cells.vacant_fte,
                "Available FTE": cells.available,
            }
        ),
        file_name=f"teams_below_filled_{month:%Y-%m}.csv",
        key="dl_short_staffed",
        column_config={c: FTE_COL for c in ("Filled FTE", "Authorized FTE", "Vacant FTE", "Available FTE")},
        empty_message=f"Every unit in every patrol division is at least {BELOW_FILLED_SHARE:.0%} filled in "
        f"{month_label(month)}.",
    )

    tab_unit, tab_div = st.tabs(  # state tracked: a download from the second tab keeps it open
        ["Table by unit", "Table by patrol division"], key="staffing_table_tab", on_change="rerun"
    )
    with tab_unit:
        table(
            last_month_table(by_unit, "unit_code", "Unit", unit_names),
            file_name=f"staffing_by_unit_{month:%Y-%m}.csv",
            key="dl_staffing_by_unit",
            column_config=RATE_COLUMNS,
            empty_message="No unit has staffing rows in this month for these filters.",
        )
    with tab_div:
        table(
            last_month_table(by_div, "division_code", "Patrol division", division_names),
            file_name=f"staffing_by_division_{month:%Y-%m}.csv",
            key="dl_staffing_by_division",
            column_config=RATE_COLUMNS,
            empty_message="No patrol division has staffing rows in this month for these filters.",
        )


# ---------------------------------------------------------------- month by month

st.subheader("Month by month")
c1, c2 = st.columns(2)
window = c1.radio(
    "Trend over (months ending with the period's last)",
    list(TREND_WINDOWS),
    format_func=TREND_WINDOWS.get,
    horizontal=True,
    key="staffing_window",
)
split = c2.radio("Vacancy split", list(SPLITS), format_func=SPLITS.get, horizontal=True, key="staffing_split")
trend_filters = filters
if window != "period":
    months_back = int(window) - 1
    y, m = divmod(filters.end.year * 12 + filters.end.month - 1 - months_back, 12)
    trend_filters = replace(filters, start=min(filters.start, date(y, m + 1, 1)), preset="custom")
trend = cache.query(staffing_by_month, trend_filters, by="total")
left, right = st.columns(2)
with left:
    if trend.empty:
        empty("No staffing rows in these months for these filters.")
    else:
        lines = [
            dict(
                type="scatter",
                name=label,
                x=trend["month"],
                y=trend[col],
                mode="lines+markers",
                hovertemplate=f"{label}: %{{y:.1f}} FTE<extra></extra>",
            )
            for col, label in MEASURES
        ]
        fig = titled(
            lines,
            "Authorized, filled and available FTE",
            y_title="FTE",
            layout=dict(xaxis=month_axis(len(trend))),
        )
        show(fig, key="staffing_trend")
        st.caption(
            f"{len(trend)} month{'s' if len(trend) != 1 else ''}, "
            f"{month_label(trend.month.min())} – {month_label(trend.month.max())}; "
            "units and patrol divisions in the filter summed."
        )
with right:
    vac = trend if split == "total" else cache.query(staffing_by_month, trend_filters, by=split)
    if vac.empty:
        empty("No staffing rows in these months for these filters.")
    else:
        if split == "total":
            groups = [("All units", vac)]
        else:
            key_col = "unit_code" if split == "unit" else "division_code"
            lookup_ = unit_names if split == "unit" else division_names
            groups = [(lookup_.get(k, k), g) for k, g in vac.groupby(key_col, sort=True)]
        lines = [
            dict(
                type="scatter",
                name=label,
                x=g["month"],
                y=g["vacancy_rate"],
                mode="lines+markers",
                customdata=list(zip(g["authorized"] - g["filled"], g["authorized"], strict=True)),
                hovertemplate=f"{label}: %{{y:.0%}} (%{{customdata[0]:.1f}} of %{{customdata[1]:.1f}} FTE vacant)"
                "<extra></extra>",
            )
            for label, g in groups
        ]
        fig = titled(
            lines,
            "Vacancy rate",
            y_title="vacant ÷ authorized",
            layout=dict(
                yaxis=dict(tickformat=".0%", rangemode="tozero"),
                xaxis=month_axis(vac["month"].nunique()),
                **reference_line(
                    y=1 - BELOW_FILLED_SHARE,
                    text=f"{BELOW_FILLED_SHARE:.0%} filled",
                    line=dict(dash="dot", color=PALETTE[-1]),
                ),
            ),
        )
        show(fig, key="vacancy_trend")
        st.caption(
            "Vacancy rate = (authorized − filled) ÷ authorized. Above the dotted line a group is below "
            f"{BELOW_FILLED_SHARE:.0%} filled."
        )

# ---------------------------------------------------------------- CIT-trained share

st.subheader("CIT-trained share of sworn staff")
left, right = st.columns([1, 3])
tile(
    left,
    "cit_trained_share",
    cit_total["cit_trained_share"],
    f"{cit_total['cit_trained_count']:,} of {cit_total['sworn_count']:,} sworn staff serving on "
    f"{format_date(filters.end)}",
)
with right:
    if cit.empty:
        empty(f"No sworn staff serving on {format_date(filters.end)} for these units and patrol divisions.")
    else:
        bars = dict(
            type="bar",
            x=cit["cit_trained_share"],
            y=[division_names.get(c, c) for c in cit.division_code],
            orientation="h",
            marker=dict(color=PALETTE[0]),
            text=[
                f"{s:.0%} · {t:,} of {n:,}"
                for s, t, n in zip(cit.cit_trained_share, cit.cit_trained_count, cit.sworn_count, strict=True)
            ],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.0%} CIT-trained<extra></extra>",
        )
        fig = figure(
            [bars],
            height=90 + 36 * len(cit),
            layout=dict(
                xaxis=dict(tickformat=".0%", range=[0, 1.15], tickvals=[0, 0.25, 0.5, 0.75, 1]),
                yaxis=dict(autorange="reversed"),
                hovermode="closest",
                showlegend=False,
            ),
        )
        show(fig, key="cit_share")
st.caption(
    f"{metric('cit_trained_share').description} Bars read 'share · trained of sworn'; "
    "staff of civilian units are not counted."
)

# ---------------------------------------------------------------- workload

st.subheader("Workload")
wl = workload
left, right = st.columns(2)
with left:
    if wl.empty or wl["workload"].isna().all():
        empty("No unit has both staffing rows and a filled FTE in this period for these filters.")
    else:
        shown = wl.dropna(subset=["workload"])
        bars = dict(
            type="bar",
            x=list(shown.unit_code),
            y=shown["workload"],
            marker=dict(color=PALETTE[2]),
            text=[f"{w:.1f}" for w in shown.workload],
            textposition="outside",
            cliponaxis=False,
            customdata=list(
                zip(
                    [unit_names.get(c, c) for c in shown.unit_code],
                    shown.meetings_count,
                    shown.avg_filled_fte,
                    strict=True,
                )
            ),
            hovertemplate="%{customdata[0]}: %{y:.2f} meetings per filled FTE per month<br>"
            "%{customdata[1]} meetings · %{customdata[2]:.1f} average filled FTE<extra></extra>",
        )
        fig = titled(
            [bars],
            "Meetings per filled FTE per month",
            y_title="meetings / FTE / month",
            height=340,
            layout=dict(hovermode="closest"),
        )
        show(fig, key="workload")
with right:
    table(
        pd.DataFrame(
            {
                "Unit": [unit_names.get(c, c) for c in wl.unit_code],
                "Meetings": wl.meetings_count,
                "Average filled FTE": wl.avg_filled_fte,
                "Workload": wl.workload,
            }
        ),
        file_name="workload_by_unit.csv",
        key="dl_workload",
        column_config={
            "Average filled FTE": st.column_config.NumberColumn(format="%.2f"),
            "Workload": st.column_config.NumberColumn(format="%.2f", help=metric("workload").description),
        },
        empty_message="No meetings or staffing rows in this period for these filters.",
    )
note = f"Period of {filters.days} days = {filters.days / DAYS_PER_MONTH:.2f} months. {metric('workload').description}"
note += " An empty workload means no filled FTE on record for the unit."
if filters.communities:
    note += " The communities filter narrows the meetings counted, not the staff."
st.caption(note)

# ---------------------------------------------------------------- communities per liaison

st.subheader("Communities per liaison")
left_count = int(cpl["liaison_left_count"].sum())
if left_count:
    st.markdown(
        f"▲ **{left_count} active communit{'y' if left_count == 1 else 'ies'}** still assigned to a liaison who "
        f"left before {format_date(filters.end)}: they need reassigning."
    )
table(
    pd.DataFrame(
        {
            "Unit": [
                unit_names.get(c, c) if isinstance(c, str) else "— no responsible liaison"
                for c in cpl.unit_code
            ],
            "Active communities": cpl.communities_count,
            "With a serving liaison": cpl.served_communities_count,
            "Liaisons serving": cpl.liaisons_count,
            "Communities per liaison": [
                "—" if pd.isna(v) else f"{v:.1f}" for v in cpl.communities_per_liaison
            ],
            "Liaison has left": [f"▲ {n}" if n else "0" for n in cpl.liaison_left_count],
        }
    ),
    file_name="communities_per_liaison.csv",
    key="dl_communities_per_liaison",
    column_config={
        "Communities per liaison": st.column_config.TextColumn(
            help=metric("communities_per_liaison").description
        ),
        "Liaison has left": st.column_config.TextColumn(
            help="Communities whose responsible staff member left before the period's end: they need reassigning."
        ),
    },
    empty_message="No active communities with these filters.",
)
st.caption(metric("communities_per_liaison").description)

# ---------------------------------------------------------------- roster

st.subheader("Roster")
include_former = st.checkbox("Include former staff", key="staffing_include_former")
page = requested_page("staffing_roster_page", query=(filters, include_former))
listed = cache.query(
    roster_page, filters, include_former=include_former, page=page, page_size=ROSTER_PAGE_SIZE
)
people = listed.rows
st.caption(
    f"{listed.serving:,} staff serving on {format_date(filters.end)}"
    + (f", {listed.total - listed.serving:,} former" if include_former else "")
    + " · units and patrol divisions in the filter."
)
ROSTER_HEADINGS = {
    "display_name": "Name",
    "title": "Title",
    "unit_name": "Unit",
    "division_name": "Patrol division",
    "start_date": "Start date",
    "end_date": "End date",
    "is_cit_trained": "CIT-trained",
    "status": "Status",
}
if people.empty:
    empty("No staff match these units and patrol divisions for this period.")
else:
    st.dataframe(
        pd.DataFrame(
            {
                "Name": people.display_name,
                "Title": people.title.fillna(""),
                "Unit": people.unit_name,
                "Patrol division": people.division_name,
                # ISO text: sorts like a date, and an empty end date reads as blank rather than "None"
                "Start date": [d.isoformat() for d in people.start_date],
                "End date": [d.isoformat() if isinstance(d, date) else "" for d in people.end_date],
                "CIT-trained": ["yes" if b else "no" for b in people.is_cit_trained],
                "Status": people.status,
            }
        ),
        hide_index=True,
        width="stretch",
    )
    if listed.pages > 1:
        pager_controls(
            "staffing_roster_page",
            page=listed.page,
            total=listed.total,
            page_size=ROSTER_PAGE_SIZE,
            noun="staff",
        )
    deferred_download(
        roster,
        filters,
        include_former=include_former,
        file_name="roster.csv",
        key="dl_roster",
        label=f"Download the roster (CSV, {min(listed.total, EXPORT_CAP):,} rows)",
        rename=ROSTER_HEADINGS,
    )
