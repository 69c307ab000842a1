"""Meetings: how often are we meeting, with whom, and by whom?"""

from __future__ import annotations

import html
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.colors import sequential

from data_access.meetings import (
    EXPORT_CAP,
    HEATMAP_MAX_DAYS,
    LOG_PAGE_SIZE,
    LOG_SORT_LABELS,
    LOG_SORTS,
    OTHER_TAGS,
    concerns_over_time,
    meeting_kpis,
    meeting_log,
    meeting_log_export,
    meetings_by_community,
    meetings_by_day,
    meetings_by_organization,
    meetings_by_staff,
    meetings_over_time,
)
from data_access.settings import small_n_k
from ui import cache
from ui.pager import deferred_download, pager_controls, requested_page
from ui.text import shorten
from ui.theme import PALETTE, empty, figure, show
from ui.widgets import CHANGE_RULE, change_basis, header, kpi_tile, table

GRAIN_LABELS = {"week": "Weekly", "month": "Monthly"}
SPLIT_LABELS = {"unit": "Unit", "type": "Meeting type"}
DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# Plotly's sequential blue (ColorBrewer's Blues): one hue, light to dark, safe for colour-blind readers.
# Spelled out: plotly.js has its own, different scale under the name "Blues".
HEAT_SCALE = [[i / (len(sequential.Blues) - 1), c] for i, c in enumerate(sequential.Blues)]
LABEL_CHARS = 34
LOG_COLUMNS = {
    "meeting_date": st.column_config.DateColumn("Date", format="D MMM YYYY", width=105),
    "start_time": st.column_config.TimeColumn("Time", format="HH:mm", width=60),
    "community_name": st.column_config.TextColumn("Community", width="medium"),
    "org_name": st.column_config.TextColumn("Organization", width="medium"),
    "division_name": st.column_config.TextColumn("Division", width="small"),
    "meeting_type": st.column_config.TextColumn("Type", width="medium"),
    "unit_code": st.column_config.TextColumn("Unit", width="small"),
    "lead_name": st.column_config.TextColumn("Lead", width="medium"),
    "residents_count": st.column_config.NumberColumn("Residents", width="small"),
    "officers_count": st.column_config.NumberColumn("Officers", width="small"),
    "concerns": st.column_config.TextColumn("Concerns", width="medium"),
    "notes": st.column_config.TextColumn("Notes", width="large"),
}
EXPORT_HEADERS = {
    "meeting_id": "Meeting ID",
    "meeting_date": "Date",
    "start_time": "Time",
    "community_name": "Community",
    "org_name": "Organization",
    "division_name": "Patrol division",
    "meeting_type": "Meeting type",
    "unit_code": "Unit",
    "lead_name": "Lead",
    "residents_count": "Residents",
    "officers_count": "Officers",
    "concerns": "Concerns",
    "notes": "Notes",
}


def _plain(text: object) -> str:
    """Imported text for a Plotly label or hover: Plotly reads a subset of HTML, so escape it."""
    return html.escape(str(text), quote=False)


def _short(text: str, n: int = LABEL_CHARS) -> str:
    return _plain(shorten(text, n))


def _period_label(start: date, grain: str, partial: bool, multi_year: bool) -> str:
    if grain == "month":
        text = f"{start:%b %Y}"
    else:
        text = f"{start.day} {start:%b}" + (f" {start:%y}" if multi_year else "")
    return text + ("*" if partial else "")


def _with_labels(df: pd.DataFrame, grain: str) -> pd.DataFrame:
    multi_year = df["period_start"].map(lambda d: d.year).nunique() > 1
    labels = [
        _period_label(s, grain, bool(p), multi_year)
        for s, p in zip(df["period_start"], df["is_partial"], strict=True)
    ]
    return df.assign(period_label=labels)


def _partial_note(df: pd.DataFrame, grain: str, marked: str = "") -> str:
    """'* Partial weeks: 1 of 7 days (week of 17 Aug), 5 of 7 days (week of 16 Nov) …' or ''."""
    edges = df[df["is_partial"]].drop_duplicates("period_start")
    if edges.empty:
        return ""
    parts = [
        f"{r.period_label.rstrip('*')}: {r.days_in_period} of {r.period_days} days"
        for r in edges.itertuples()
    ]
    noun = "weeks" if grain == "week" else "months"
    return (
        f"\\* Partial {noun}{marked} — the filter period covers only part of them, so they are not "
        f"comparable with full {noun}: " + "; ".join(parts) + "."
    )


def frequency_chart(df: pd.DataFrame, grain: str, split: str) -> go.Figure:
    """Stacked bars of meetings per week/month by unit or type; partial edge periods hatched and labelled."""
    df = _with_labels(df, grain)
    # plain lists and numpy, one pass over the rows: pandas' group-bys and masks over the text
    # columns were most of the chart (at S over all time 18 ms a rerun, for 700 rows)
    labels = df["period_label"].tolist()
    names = df["split_label"].tolist()
    meetings = df["meetings_count"].to_numpy()
    residents = df["residents_count"].to_numpy()
    rows_of: dict[tuple[str, bool], list[int]] = {}
    split_total: dict[str, int] = {}
    period_total: dict[date, int] = {}
    periods: dict[date, tuple[str, bool, int, int]] = {}  # in row order: label, partial, days of it
    for i, (name, start, partial, days, n_days) in enumerate(
        zip(names, df["period_start"], df["is_partial"], df["days_in_period"], df["period_days"], strict=True)
    ):
        partial = bool(partial)
        rows_of.setdefault((name, partial), []).append(i)
        split_total[name] = split_total.get(name, 0) + int(meetings[i])
        period_total[start] = period_total.get(start, 0) + int(meetings[i])
        periods.setdefault(start, (labels[i], partial, days, n_days))
    order = sorted(split_total, key=lambda name: (-split_total[name], name))  # most meetings first
    traces: list[dict] = []
    for i, name in enumerate(order):
        colour = PALETTE[i % len(PALETTE)]
        only_partial = (name, False) not in rows_of
        # full and partial periods as two traces, so the legend swatch is never hatched
        for partial in (False, True):
            rows = rows_of.get((name, partial))
            if rows is None:
                continue
            traces.append(
                dict(
                    type="bar",
                    x=[labels[r] for r in rows],
                    y=meetings[rows],
                    name=_plain(name),
                    legendgroup=name,
                    showlegend=not partial or only_partial,
                    marker=dict(color=colour, pattern=dict(shape="/" if partial else "")),
                    opacity=0.75 if partial else 1.0,
                    customdata=residents[rows][:, None],
                    hovertemplate="%{fullData.name}: %{y} meetings · %{customdata[0]:,} residents<extra></extra>",
                )
            )
    edges = [
        (start, label, days, n_days) for start, (label, partial, days, n_days) in periods.items() if partial
    ]
    if edges:
        traces.append(
            dict(
                type="scatter",
                x=[label for _, label, _, _ in edges],
                y=[period_total[start] for start, _, _, _ in edges],
                mode="text",
                text=[f"partial<br>{days} of {n_days} days" for _, _, days, n_days in edges],
                textposition="top center",
                textfont=dict(size=11),
                cliponaxis=False,
                showlegend=False,
                hoverinfo="skip",
            )
        )
    top = float(max(period_total.values())) if period_total else 0.0
    return figure(
        traces,
        height=400,
        y_title=f"Meetings per {grain}",
        layout=dict(
            barmode="stack",
            bargap=0.15,
            xaxis=dict(
                type="category",
                categoryorder="array",
                categoryarray=[label for label, *_ in periods.values()],
            ),
            yaxis=dict(rangemode="tozero", range=[0, top * 1.25 + 1]),
        ),
    )


def ranking_chart(df: pd.DataFrame, name_col: str, context_col: str | None = None) -> go.Figure:
    """Horizontal bars, most meetings at the top, each labelled '42 · 510 residents'."""
    df = df.iloc[::-1]
    labels = [_short(str(n)) for n in df[name_col]]
    text = [f"{m:,} · {r:,} residents" for m, r in zip(df.meetings_count, df.residents_count, strict=True)]
    hover = [
        _plain(n) + (f"<br>{_plain(c)}" if context_col and isinstance(c, str) else "")
        for n, c in zip(df[name_col], df[context_col] if context_col else df[name_col], strict=True)
    ]
    positions = list(range(len(df)))  # one row per bar even where two shortened names coincide
    bars = dict(
        type="bar",
        x=df["meetings_count"],
        y=positions,
        orientation="h",
        text=text,
        textposition="outside",
        cliponaxis=False,
        marker=dict(color=PALETTE[0]),
        customdata=hover,
        hovertemplate="%{customdata}<br>%{x} meetings<extra></extra>",
    )
    return figure(
        [bars],
        height=max(240, 30 * len(df) + 40),
        layout=dict(
            # leave room right of the longest bar for its outside label
            xaxis=dict(
                range=[0, float(df["meetings_count"].max()) * 2.0], showticklabels=False, showgrid=False
            ),
            yaxis=dict(
                tickmode="array",
                tickvals=positions,
                ticktext=labels,
                automargin=True,
                showgrid=False,
                zeroline=False,
            ),
            hovermode="closest",
            showlegend=False,
        ),
    )


def day_heatmap(df: pd.DataFrame) -> go.Figure:
    """Weeks across, Monday to Sunday down; days outside the period left blank."""
    columns: dict[date, int] = {}  # week start -> its column, in row order
    cols = [columns.setdefault(w, len(columns)) for w in df["week_start"]]
    rows = df["iso_dow"].to_numpy(dtype=int) - 1
    z = np.full((7, len(columns)), np.nan)  # one row per day: each cell set once
    z[rows, cols] = df["meetings_count"].to_numpy(dtype=float)
    days = np.full(z.shape, "outside the period", dtype=object)
    days[rows, cols] = [f"{d:%a} {d.day} {d:%b %Y}" for d in df["day"]]
    return count_heatmap(
        [f"{w.day} {w:%b %y}" for w in columns],
        DAY_NAMES,
        z,
        days,
        hovertemplate="%{customdata}: %{z} meetings<extra></extra>",
        height=330,
        trace=dict(hoverongaps=False),
    )


def count_heatmap(
    x: list[str],
    y: list[str],
    z: np.ndarray,
    customdata: object,
    *,
    hovertemplate: str,
    height: int,
    trace: dict | None = None,
    yaxis: dict | None = None,
) -> go.Figure:
    """Meetings counted per category cell (x across, y down from the top; `z` one row per y, NaN
    where there is no cell), each cell labelled with its count while there are few enough columns
    to read it."""
    few = len(x) <= 26
    heat = dict(
        type="heatmap",
        x=x,
        y=y,
        z=z,
        customdata=customdata,
        colorscale=HEAT_SCALE,
        xgap=2,
        ygap=2,
        texttemplate="%{z}" if few else None,
        hovertemplate=hovertemplate,
        colorbar=dict(title=dict(text="Meetings"), thickness=12),
        **(trace or {}),
    )
    return figure(
        [heat],
        height=height,
        layout=dict(
            yaxis=dict(autorange="reversed", type="category", **(yaxis or {})),
            xaxis=dict(type="category", tickangle=-45 if not few else 0),
            hovermode="closest",
        ),
    )


def concerns_chart(df: pd.DataFrame, grain: str) -> go.Figure:
    """Concern tag × week/month: meetings raising the tag (hover adds the share of meetings held)."""
    df = _with_labels(df, grain)
    tags: dict[str, int] = {}  # label -> its row, in row order
    rows = [
        tags.setdefault(f"{_plain(t.replace('_', ' '))} ({n:,})", len(tags))
        for t, n in zip(df["concern_tag"], df["tag_total_count"], strict=True)
    ]
    held: dict[str, int] = {}  # period label -> meetings held in it, in row order
    for label, n in zip(df["period_label"], df["meetings_held_count"], strict=True):
        held.setdefault(label, int(n))
    columns = {label: i for i, label in enumerate(held)}
    z = np.full((len(tags), len(held)), np.nan)  # one row per tag and period: each cell set once
    z[rows, [columns[label] for label in df["period_label"]]] = df["meetings_count"].to_numpy(dtype=float)
    return count_heatmap(
        list(held),
        list(tags),
        z,
        [list(held.values()) for _ in tags],
        hovertemplate="%{y} · %{x}: raised at %{z} of %{customdata} meetings<extra></extra>",
        height=max(260, 30 * len(tags) + 90),
        yaxis=dict(automargin=True),
    )


# -- the page -------------------------------------------------------------------------------------------

filters = st.session_state["filters"]
k = small_n_k()
header("Meetings", "How often are we meeting, with whom, and by whom?", filters)

tiles = st.container()  # drawn once the sections below are read

# How often -----------------------------------------------------------------------------------------------
st.subheader("How often")
if "mt_grain" not in st.session_state:
    st.session_state["mt_grain"] = "week" if filters.days <= 180 else "month"
c1, c2, _ = st.columns([1, 1, 2])
grain = c1.radio(
    "Count per", list(GRAIN_LABELS), format_func=GRAIN_LABELS.get, key="mt_grain", horizontal=True
)
split = c2.radio(
    "Split by", list(SPLIT_LABELS), format_func=SPLIT_LABELS.get, key="mt_split", horizontal=True
)
how_often = st.container()

# With whom ------------------------------------------------------------------------------------------------
st.subheader("With whom")
top_n = st.selectbox("Show top", [10, 15, 25, 50], index=1, key="mt_top_n", width=160)

# Every section above the meeting log: the results not cached yet come from one statement.
kpis, freq, days, by_community, by_org, staff, concerns = cache.together(
    filters,
    cache.call(meeting_kpis),
    cache.call(meetings_over_time, grain=grain, split=split),
    cache.call(meetings_by_day),
    cache.call(meetings_by_community, top_n=top_n),
    cache.call(meetings_by_organization, top_n=top_n),
    cache.call(meetings_by_staff),
    cache.call(concerns_over_time, grain=grain),
)

with tiles:
    for col, name in zip(
        st.columns(3), ["meetings_held", "residents_reached", "mean_attendance"], strict=True
    ):
        kpi_tile(kpis[name], k, container=col)
    st.caption(f"{change_basis(filters.days, kpis['meetings_held'])} {CHANGE_RULE}")

with how_often:
    if freq.empty or freq["meetings_count"].sum() == 0:
        empty("No meetings in this period for these filters. Widen the period or clear a filter.")
    else:
        show(frequency_chart(freq, grain, split), key="mt_frequency_chart")
        note = _partial_note(_with_labels(freq, grain), grain, " (hatched)")
        st.caption(f"n = {int(freq['meetings_count'].sum()):,} meetings. " + note)

    st.markdown("**Day of week × week**")
    if days.empty or days["meetings_count"].sum() == 0:
        empty("No meetings in this period for these filters, so there is no weekly pattern to show.")
    else:
        show(day_heatmap(days), key="mt_day_heatmap")
        capped = filters.days > HEATMAP_MAX_DAYS
        st.caption(
            f"n = {int(days['meetings_count'].sum()):,} meetings"
            + (f" in the period's last {HEATMAP_MAX_DAYS // 7} weeks" if capped else "")
            + ". Blank cells are days outside the period; 0 means no meeting that day."
        )

left, right = st.columns(2)
with left:
    st.markdown("**By community**")
    if by_community.empty:
        empty("No community was met in this period for these filters.")
    else:
        show(ranking_chart(by_community, "community_name"), key="mt_community_chart")
        first = by_community.iloc[0]
        shown = int(by_community["meetings_count"].sum())
        st.caption(
            f"Top {len(by_community)} of {int(first.communities_count):,} communities met · "
            f"{shown:,} of {int(first.all_meetings_count):,} meetings."
        )
with right:
    st.markdown("**By organization**")
    if by_org.empty:
        empty("No meeting with a recorded organization in this period for these filters.")
    else:
        show(ranking_chart(by_org, "org_name", context_col="community_name"), key="mt_org_chart")
        first = by_org.iloc[0]
        shown = int(by_org["meetings_count"].sum())
        st.caption(
            f"Top {len(by_org)} of {int(first.orgs_count):,} organizations met · {shown:,} of "
            f"{int(first.all_meetings_count):,} meetings; {int(first.no_org_meetings_count):,} meetings "
            "had no organization recorded."
        )

# By whom --------------------------------------------------------------------------------------------------
st.subheader("By whom")
staff_shown = staff.assign(
    display_name=[
        f"{n} · {t}" if isinstance(t, str) and t else n
        for n, t in zip(staff["display_name"], staff["title"], strict=True)
    ]
).drop(columns=["staff_id", "title"])
table(
    staff_shown,
    file_name="meetings_by_staff.csv",
    key="mt_staff_download",
    height=420,
    column_config={
        "display_name": st.column_config.TextColumn("Staff member", width=260),
        "unit_code": st.column_config.TextColumn("Unit", width=60),
        "division_name": st.column_config.TextColumn("Division", width=100),
        "meetings_led_count": st.column_config.ProgressColumn(
            "Meetings led",
            format="%d",
            min_value=0,
            max_value=int(staff["meetings_led_count"].max()) if not staff.empty else 1,
            width=150,
        ),
        "residents_count": st.column_config.NumberColumn(
            "Residents", format="%d", width=90, help="Residents reached at the meetings this person led."
        ),
        "mean_attendance": st.column_config.NumberColumn("Mean attendance", format="%.1f", width=90),
        "meetings_supported_count": st.column_config.NumberColumn(
            "Supported",
            format="%d",
            width=90,
            help="Meetings this person attended as other staff, not as lead.",
        ),
    },
    empty_message="No staff led or supported a meeting in this period for these filters.",
)
if not staff.empty:
    st.caption(
        f"{len(staff):,} staff members · meetings led and residents reached count each meeting once, "
        "under its lead; the unit filter applies to the lead's unit."
    )

# Concerns -------------------------------------------------------------------------------------------------
st.subheader("Concerns raised")
if concerns.empty:
    empty("No concerns were tagged on meetings in this period for these filters.")
else:
    show(concerns_chart(concerns, grain), key="mt_concerns_chart")
    note = _partial_note(_with_labels(concerns, grain), grain)
    other = (
        " Less frequent tags are folded into “(other tags)”."
        if OTHER_TAGS in set(concerns.concern_tag)
        else ""
    )
    st.caption(
        f"Meetings raising each tag per {grain} (a meeting can raise several tags; totals in brackets)."
        + other
        + (" " + note if note else "")
    )

# Meeting log ----------------------------------------------------------------------------------------------
st.subheader("Meeting log")
c1, c2, c3 = st.columns([3, 1.3, 1.3])
search = c1.text_input(
    "Search the log",
    key="mt_search",
    max_chars=200,
    placeholder="Notes, community, organization or meeting type",
    help="Matches the text literally (case-insensitive) anywhere in the notes, community name, "
    "organization name or meeting type.",
)
sort = c2.selectbox("Sort by", list(LOG_SORTS), format_func=LOG_SORT_LABELS.get, key="mt_sort")
descending = (
    c3.selectbox(
        "Order", ["desc", "asc"], format_func={"desc": "Descending", "asc": "Ascending"}.get, key="mt_order"
    )
    == "desc"
)
search = search.strip()
page = requested_page("mt_page", query=(filters, search, sort, descending))
log = cache.query(
    meeting_log, filters, search=search, sort=sort, descending=descending, page=page, page_size=LOG_PAGE_SIZE
)
if log.total == 0:
    # the search text is not echoed back: st.info renders markdown
    empty(
        "No meetings match this search for these filters. Check the spelling or clear the search."
        if search.strip()
        else "No meetings in this period for these filters."
    )
else:
    st.dataframe(
        log.rows.fillna({"org_name": "", "concerns": "", "notes": ""}),
        hide_index=True,
        column_order=list(LOG_COLUMNS),
        column_config=LOG_COLUMNS,
        height=560,
        width="stretch",
    )
    pager_controls("mt_page", page=log.page, total=log.total, page_size=LOG_PAGE_SIZE, noun="meetings")
    exported = min(log.total, EXPORT_CAP)
    deferred_download(
        meeting_log_export,
        filters,
        file_name="meeting_log.csv",
        key="mt_log_export",
        label=f"Download {exported:,} matching meetings (CSV)",
        rename=EXPORT_HEADERS,
        search=search,
        sort=sort,
        descending=descending,
        cap=EXPORT_CAP,
    )
    if log.total > EXPORT_CAP:
        st.warning(
            f"{log.total:,} meetings match; the export holds the first {EXPORT_CAP:,} in the current order. "
            "Narrow the period, filters or search to export the rest.",
            icon=":material/warning:",
        )
