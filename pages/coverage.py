"""Coverage: which communities have we not met lately?

A community × patrol-division grid of days since last contact, the cadence worklist
(most overdue first, with the responsible liaison), coverage rate over time,
communities without a serving liaison, and follow-ups open and ageing. Choosing a
community here narrows the global filter, so every page follows.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data_access.coverage import (
    EXPORT_CAP,
    FOLLOW_UP_PAGE_SIZE,
    GRID_PAGE_SIZE,
    MAX_SEARCH_LEN,
    STATUSES,
    WITHOUT_LIAISON_PAGE_SIZE,
    WORKLIST_PAGE_SIZE,
    WithoutLiaisonPage,
    cadence_worklist,
    cadence_worklist_export,
    communities_without_liaison_export,
    contact_grid,
    coverage_rate_over_time,
    coverage_status,
    follow_ups_at_end,
    open_follow_up_list,
)
from data_access.filters import Filters, format_date
from data_access.metrics import format_value, metric
from ui import cache
from ui import filters as ui_filters
from ui.auth import allowed
from ui.pager import deferred_download, pager_controls, requested_page
from ui.text import plain_md
from ui.theme import PALETTE, STATUS_COLOURS, STATUS_SYMBOLS, empty, figure, show, status_label
from ui.widgets import header, table

NO_COMMUNITIES = (
    "No active communities match these filters. Clear a community, division or unit filter "
    "(the unit filter keeps communities whose responsible liaison is in that unit)."
)
KIND_LABELS = {
    "identity": "Identity",
    "faith": "Faith",
    "neighborhood": "Neighborhood",
    "business": "Business",
    "campus": "Campus",
    "rental_property": "Rental property",
    "service_partner": "Service partner",
}
WORKLIST_IDS = "_coverage_worklist_ids"
GRID_IDS = "_coverage_grid_ids"


def _date(d: object) -> str:
    return format_date(None if d is None or pd.isna(d) else d)


def _focus(community_id: str) -> None:
    """Narrow the global community filter; the sidebar applies it at the start of the next run."""
    ui_filters.request(communities=[community_id])


def _on_worklist_select(key: str) -> None:
    # A callback runs only when the selection changes, before the rerun it triggers.
    state = st.session_state.get(key)
    rows = list(state.selection.rows) if state is not None else []
    ids = st.session_state.get(WORKLIST_IDS, [])
    if rows and rows[0] < len(ids):
        _focus(ids[rows[0]])


def _on_grid_select(key: str) -> None:
    # A click on a cell selects that point; its y is the community's row label.
    state = st.session_state.get(key)
    points = list(state.selection.points) if state is not None else []
    ids = st.session_state.get(GRID_IDS, {})
    if points and points[0].get("y") in ids:
        _focus(ids[points[0]["y"]])


def _tiles(counts: dict[str, int], end_label: str) -> None:
    total = sum(counts.values())
    tiles = st.columns(4)
    tiles[0].metric(
        metric("coverage_rate").label,
        f"{counts['on track'] / total:.0%}",
        delta=f"{counts['on track']:,} of {total:,} on track",
        delta_color="off",
        delta_arrow="off",
        help=metric("coverage_rate").description,
        border=True,
    )
    for col, status in zip(tiles[1:], ("due", "overdue", "never met"), strict=True):
        col.metric(
            status_label(status),
            f"{counts[status]:,}",
            help=metric("cadence_status").description,
            border=True,
        )
    if counts["never met"] == total:
        st.info(
            f"None of these communities had a meeting on or before {end_label} in the chosen divisions, "
            "so every one shows as never met.",
            icon=":material/info:",
        )


def _cell_text(days: object, status: object, expected: bool) -> str:
    if days is None or pd.isna(days):
        return f"never {STATUS_SYMBOLS['never met']}" if expected else "—"
    return f"{int(days)} d {STATUS_SYMBOLS[str(status)]}" if expected else f"{int(days)} d"


def _grid_figure(grid: pd.DataFrame) -> go.Figure:
    communities = list(dict.fromkeys(grid["name"]))
    divisions = ["All divisions", *dict.fromkeys(grid["division_name"])]
    code = {s: i for i, s in enumerate(STATUSES)}
    # plain dicts over plain records: DataFrame .loc assignments were ~0.5 s for 40 rows, and a
    # groupby with .iloc/.itertuples per community most of a cached rerun
    z: dict[tuple[str, str], float] = {}
    text: dict[tuple[str, str], str] = {}
    hover: dict[tuple[str, str], str] = {}
    for r in grid.to_dict("records"):
        name, division = r["name"], r["division_name"]
        if (name, "All divisions") not in text:
            overall, since = r["community_status"], r["community_days_since"]
            z[name, "All divisions"] = code[overall]
            text[name, "All divisions"] = _cell_text(since, overall, True)
            days = "" if pd.isna(since) else f", {int(since)} days"
            hover[name, "All divisions"] = (
                f"{name}: {status_label(overall)} in any division{days} "
                f"(target every {r['target_cadence_days']} days)"
            )
        if r["is_expected"]:
            z[name, division] = code[r["cell_status"]]
            where = f"target every {r['target_cadence_days']} days: {status_label(r['cell_status'])}"
        else:
            where = "outside its home division, no cadence applies"
        text[name, division] = _cell_text(r["days_since_contact"], r["cell_status"], r["is_expected"])
        hover[name, division] = f"{name} · {division}: last met {_date(r['last_contact_date'])}; {where}"
    z_rows = [[z.get((c, d), float("nan")) for d in divisions] for c in communities]
    text_rows = [[text.get((c, d), "") for d in divisions] for c in communities]
    n = len(STATUSES)
    scale: list[list[object]] = []
    for i, s in enumerate(STATUSES):  # one flat band per status: z = 0..3
        scale += [[i / n, STATUS_COLOURS[s]], [(i + 1) / n, STATUS_COLOURS[s]]]
    heat = dict(
        type="heatmap",
        z=np.array(z_rows, dtype=float),
        x=divisions,
        y=communities,
        text=np.array(text_rows, dtype=object),
        texttemplate="%{text}",
        hoverinfo="skip",
        colorscale=scale,
        zmin=-0.5,
        zmax=n - 0.5,
        showscale=False,
        xgap=2,
        ygap=2,
        textfont=dict(size=13),
    )
    # Heatmap cells cannot be selected in Plotly, so an invisible marker on each cell carries the
    # hover text and the click that narrows the filter.
    cells = [(d, c) for c in communities for d in divisions]
    markers = dict(
        type="scatter",
        x=[d for d, _ in cells],
        y=[c for _, c in cells],
        mode="markers",
        marker=dict(size=24, opacity=0),
        selected=dict(marker=dict(opacity=0)),
        unselected=dict(marker=dict(opacity=0)),
        customdata=[hover.get((c, d), "") for d, c in cells],
        hovertemplate="%{customdata}<extra></extra>",
        showlegend=False,
    )
    return figure(
        [heat, markers],
        height=max(220, 30 * len(communities) + 70),
        layout=dict(
            hovermode="closest",
            xaxis=dict(side="top", showgrid=False),
            yaxis=dict(autorange="reversed", showgrid=False),
        ),
    )


def _grid(filters: Filters, total: int, end_label: str) -> None:
    st.subheader("Days since last contact, by patrol division")
    legend = " · ".join(f"{STATUS_SYMBOLS[s]} {s}" for s in STATUSES)
    st.caption(
        f"As of {end_label}: days since the last meeting with each community held in each division "
        f"({legend}, against the community's target cadence). “All divisions” is the community's "
        "overall status; a plain number or “—” is a division outside the community's home, where no "
        "cadence applies. Most overdue first; click a row to show only that community on every page."
    )
    offset = 0
    pages = math.ceil(total / GRID_PAGE_SIZE)
    if pages > 1:
        page_no = st.selectbox(
            "Communities shown",
            list(range(pages)),
            format_func=lambda i: (
                f"{i * GRID_PAGE_SIZE + 1:,}–{min((i + 1) * GRID_PAGE_SIZE, total):,} "
                f"of {total:,}" + (" (most overdue)" if i == 0 else "")
            ),
            key="coverage_grid_page",
        )
        offset = int(page_no or 0) * GRID_PAGE_SIZE
    grid = cache.query(contact_grid, filters, limit=GRID_PAGE_SIZE, offset=offset)
    if grid.empty:
        empty(NO_COMMUNITIES)
        return
    st.session_state[GRID_IDS] = dict(zip(grid["name"], grid["community_id"], strict=False))
    key = "coverage_grid_" + hashlib.sha1(f"{filters!r}{offset}".encode()).hexdigest()[:10]
    # ui.theme.show's settings, plus a click on a cell narrowing the global community filter
    st.plotly_chart(
        _grid_figure(grid),
        width="stretch",
        theme="streamlit",
        key=key,
        config={"displaylogo": False},
        on_select=lambda: _on_grid_select(key),
        selection_mode="points",
    )


def _liaison(row: Any) -> str:
    """A worklist row (itertuples: one row.apply per community was most of a rerun at scale M)."""
    if pd.isna(row.responsible_staff_id):
        return "— none assigned"
    if not pd.isna(row.liaison_left_date):
        return f"{row.responsible_name} (left {_date(row.liaison_left_date)})"
    return str(row.responsible_name)


def _shown(worklist: pd.DataFrame) -> pd.DataFrame:
    """The worklist as people read it (the table and the CSV)."""
    return pd.DataFrame(
        {
            "Status": worklist["cadence_status"].map(status_label),
            "Community": worklist["name"],
            "Days since": worklist["days_since_contact"].astype("Int64"),
            "Target (days)": worklist["target_cadence_days"],
            "Last contact": worklist["last_contact_date"].map(_date),
            "Responsible liaison": [_liaison(r) for r in worklist.itertuples(index=False)],
            "Home division": worklist["division_name"].fillna("Citywide"),
            "Kind": worklist["kind"].map(lambda k: KIND_LABELS.get(k, k)),
        }
    )


def _export(filters: Filters, total: int) -> None:
    """The whole worklist as CSV (up to EXPORT_CAP rows), read from the database only when the button
    is clicked (on Streamlit's download thread), never on a rerun; audited like every download."""
    if not allowed("export"):
        return
    deferred_download(
        cadence_worklist_export,
        filters,
        file_name=f"coverage_worklist_{filters.end.isoformat()}.csv",
        key="dl_coverage_worklist",
        label="Download worklist (CSV)",
        shape=lambda rows: _shown(rows).assign(community_id=rows["community_id"].to_numpy()),
        help=f"Every community in scope ({min(total, EXPORT_CAP):,}), most overdue first; the name search "
        "does not apply.",
        cap=EXPORT_CAP,
    )
    if total > EXPORT_CAP:
        st.caption(
            f"{total:,} communities are in scope; the file holds the first {EXPORT_CAP:,} (the most overdue). "
            "Narrow the filters to export the rest."
        )


def _worklist_args(filters: Filters, search: str) -> dict[str, object]:
    """cadence_worklist's search and page for what the worklist's widgets hold: the early start
    (_start_sections) and the section both ask with these, so the section finds the early result."""
    search = search.strip()
    page = requested_page("coverage_wl_page", query=(filters, search))
    return {"search": search, "page": page, "page_size": WORKLIST_PAGE_SIZE}


def _worklist(filters: Filters, total: int, end_label: str) -> None:
    st.subheader("Cadence worklist")
    st.caption(
        f"Every active community in scope at {end_label} ({total:,}), most overdue first (never met, then "
        f"days since contact ÷ target), {WORKLIST_PAGE_SIZE} a page. Select a row to show only that "
        "community on every page."
    )
    search = st.text_input(
        "Find a community by name",
        key="coverage_search",
        max_chars=MAX_SEARCH_LEN,
        placeholder="Part of a community's name",
        help="Keeps the communities whose name contains this text (case-insensitive), in worklist order.",
    ).strip()
    wl = cache.query(cadence_worklist, filters, **_worklist_args(filters, search))
    if wl.total == 0:
        # the search text is not echoed back: st.info renders markdown
        empty(
            "No community in scope has a name containing that text. Check the spelling or clear the search."
        )
    else:
        worklist = wl.rows
        st.session_state[WORKLIST_IDS] = list(worklist["community_id"])
        # The key changes with the filters, search and page, so a row selection never carries over to
        # a different list.
        key = "coverage_worklist_" + hashlib.sha1(repr((filters, search, wl.page)).encode()).hexdigest()[:10]
        st.dataframe(
            _shown(worklist),
            hide_index=True,
            width="stretch",
            height=min(38 + 35 * len(worklist), 600),
            key=key,
            on_select=lambda: _on_worklist_select(key),
            selection_mode="single-row",
            placeholder="—",
            column_config={
                "Status": st.column_config.TextColumn("Status", help=metric("cadence_status").description),
                "Days since": st.column_config.NumberColumn(
                    "Days since", help=metric("days_since_contact").description, format="%d"
                ),
            },
        )
        pager_controls(
            "coverage_wl_page", page=wl.page, total=wl.total, page_size=WORKLIST_PAGE_SIZE, noun="communities"
        )
    _export(filters, total)
    if len(filters.communities) == 1 and total == 1:
        name = plain_md(wl.rows["name"].iloc[0]) if wl.total else "one community"
        st.caption(f"Every page now shows only **{name}**.")
        if st.button("Show all communities again", icon=":material/filter_alt_off:", key="coverage_unfocus"):
            ui_filters.request(communities=[])
            st.rerun()
        return
    if wl.total == 0:
        return
    names = dict(zip(wl.rows["community_id"], wl.rows["name"], strict=True))
    pick_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
    picked = pick_col.selectbox(
        "Focus on one community (from this page of the worklist)",
        list(names),
        format_func=names.get,
        index=None,
        placeholder="Choose a community…",
        key="coverage_focus_pick",
    )
    if button_col.button(
        "Show only this community",
        disabled=picked is None,
        icon=":material/filter_alt:",
        key="coverage_focus_apply",
    ):
        _focus(picked)
        st.rerun()


def _default_grain(filters: Filters) -> str:
    return "week" if filters.days <= 120 else "month"


def _rate_over_time(filters: Filters, end_label: str) -> None:
    st.subheader("Coverage rate over time")
    default_grain = _default_grain(filters)
    grain = (
        st.segmented_control(
            "Points at the end of each", ["week", "month"], default=default_grain, key="coverage_grain"
        )
        or default_grain
    )
    series = cache.query(coverage_rate_over_time, filters, grain=grain)
    if series.empty:
        empty(NO_COMMUNITIES)
        return
    n = int(series["communities_count"].iloc[-1])
    if int(series["on_track_count"].sum()) == 0:
        empty(
            f"None of the {n} communities in scope was on track at any point in this period: coverage was 0%."
        )
        return
    # Label every point, except a week/month end crowded by the period's last day just after it.
    dates = list(series["as_of_date"])
    labels = [
        ""
        if i == len(dates) - 2 and series["is_partial"].iloc[-1] and (dates[-1] - d).days < 4
        else f"{100 * v:.0f}%"
        for i, (d, v) in enumerate(zip(dates, series["coverage_rate"], strict=True))
    ]
    when = series["as_of_date"].map(_date) + series["is_partial"].map(lambda p: " (period end)" if p else "")
    line = dict(
        type="scatter",
        x=series["as_of_date"],
        y=100 * series["coverage_rate"],
        mode="lines+markers+text" if len(series) <= 16 else "lines+markers",
        text=labels,
        textposition="top center",
        customdata=list(zip(when, series["on_track_count"], series["communities_count"], strict=True)),
        hovertemplate="%{customdata[0]}: %{y:.0f}% on track "
        "(%{customdata[1]} of %{customdata[2]})<extra></extra>",
        line=dict(color=PALETTE[0]),
        name="Coverage rate",
    )
    fig = figure(
        [line],
        height=320,
        y_title="% of communities on track",
        layout=dict(hovermode="closest", showlegend=False, yaxis=dict(range=[0, 110], ticksuffix="%")),
    )
    show(fig, key="coverage_rate_chart")
    st.caption(
        f"Share of active communities on track at the end of each {grain}"
        f"{' (Sundays)' if grain == 'week' else ''} and at {end_label}; "
        f"n = {n:,} active communities in scope (today's list)."
    )


def _orphans_shown(orphans: pd.DataFrame) -> pd.DataFrame:
    """The communities without a serving liaison as people read them (the table and the CSV)."""
    return pd.DataFrame(
        {
            "Community": orphans["name"],
            # plain lists, not itertuples: pandas holds the text in Arrow
            "Why": [
                "none assigned" if reason == "none assigned" else f"{former} left {_date(left)}"
                for reason, former, left in zip(
                    orphans["reason"].tolist(),
                    orphans["former_liaison"].tolist(),
                    orphans["liaison_left_date"].tolist(),
                    strict=True,
                )
            ],
            "Status": orphans["cadence_status"].map(status_label),
            "Days since contact": orphans["days_since_contact"].map(
                lambda d: "never" if pd.isna(d) else f"{int(d)}"
            ),
            "Home division": orphans["division_name"].fillna("Citywide"),
        }
    )


def _without_liaison(filters: Filters, orphans: WithoutLiaisonPage, end_label: str) -> None:
    st.subheader("Without a responsible liaison")
    if orphans.total == 0:
        empty(f"Every community in scope has a serving responsible liaison at {end_label}.")
        return
    left = orphans.total - orphans.none_assigned
    st.caption(
        f"{orphans.total:,} active communities in scope have no serving responsible liaison at {end_label}: "
        f"{orphans.none_assigned:,} with nobody assigned, {left:,} whose liaison's service ended on or before "
        f"it. Nobody assigned first, then most overdue first; {WITHOUT_LIAISON_PAGE_SIZE} a page."
    )
    shown = _orphans_shown(orphans.rows)
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(shown), 600),
        placeholder="—",
        column_config={
            "Status": st.column_config.TextColumn("Status", help=metric("cadence_status").description),
        },
    )
    if orphans.pages > 1:
        pager_controls(
            "coverage_nl_page",
            page=orphans.page,
            total=orphans.total,
            page_size=WITHOUT_LIAISON_PAGE_SIZE,
            noun="communities",
        )
    deferred_download(
        communities_without_liaison_export,
        filters,
        file_name=f"communities_without_liaison_{filters.end.isoformat()}.csv",
        key="dl_coverage_orphans",
        label="Download list (CSV)",
        shape=lambda rows: _orphans_shown(rows).assign(community_id=rows["community_id"].to_numpy()),
        help=f"Every community in this list ({min(orphans.total, EXPORT_CAP):,}), in its order.",
        cap=EXPORT_CAP,
    )


def _follow_ups(
    filters: Filters,
    end_label: str,
    follow_ups: tuple[dict[str, float | int | None], pd.DataFrame],
) -> None:
    st.subheader("Follow-ups")
    summary, ageing = follow_ups
    cols = st.columns(3)
    for col, name, value in (
        (cols[0], "open_follow_ups", summary["open_count"]),
        (cols[1], "follow_up_median_age", summary["median_age_days"]),
    ):
        col.metric(metric(name).label, format_value(name, value), help=metric(name).description, border=True)
    eligible = summary["eligible_count"]
    cols[2].metric(
        metric("closed_within_30").label,
        format_value("closed_within_30", summary["closed_within_30_share"]),
        delta=f"{summary['closed_within_30_count']:,} of {eligible:,}"
        if eligible
        else "none opened 30+ days before the end",
        delta_color="off",
        delta_arrow="off",
        help=metric("closed_within_30").description,
        border=True,
    )
    if summary["open_count"] == 0:
        empty(f"No follow-ups open at {end_label} for these filters.")
        return
    bars = dict(
        type="bar",
        y=ageing["age_bucket"],
        x=ageing["open_count"],
        orientation="h",
        text=[f"{v:,}" for v in ageing["open_count"]],
        textposition="outside",
        marker=dict(color=PALETTE[0]),
        hovertemplate="%{y}: %{x} open<extra></extra>",
    )
    top = max(int(ageing["open_count"].max()), 1)
    fig = figure(
        [bars],
        title=f"Open at {end_label}, by days open (n = {summary['open_count']:,})",
        height=240,
        layout=dict(
            hovermode="closest",
            showlegend=False,
            yaxis=dict(autorange="reversed"),
            xaxis=dict(
                title="open follow-ups", range=[0, 1.15 * top], tick0=0, dtick=max(1, math.ceil(top / 8))
            ),
        ),
    )
    show(fig, key="coverage_ageing_chart")

    offset = 0
    pages = math.ceil(summary["open_count"] / FOLLOW_UP_PAGE_SIZE)
    if pages > 1:
        page = st.number_input("Page", min_value=1, max_value=pages, value=1, key="coverage_fu_page")
        offset = (int(page) - 1) * FOLLOW_UP_PAGE_SIZE
    rows = cache.query(open_follow_up_list, filters, limit=FOLLOW_UP_PAGE_SIZE, offset=offset)
    st.caption(
        f"Open follow-ups, oldest first: {offset + 1:,}–{offset + len(rows):,} of {summary['open_count']:,}."
    )
    table(
        rows.rename(
            columns={
                "follow_up_id": "Follow-up",
                "opened_date": "Opened",
                "age_days": "Days open",
                "concern_tag": "Concern",
                "community_name": "Community",
                "division_name": "Division",
                "owner_name": "Owner",
                "meeting_id": "Meeting",
            }
        ),
        file_name=f"open_follow_ups_{filters.end.isoformat()}.csv",
        key="dl_coverage_open_follow_ups",
        height=320,
        empty_message=f"No follow-ups open at {end_label} for these filters.",
    )


def _sections(filters: Filters) -> list[cache.Together]:
    """The grid's, the worklist's, the rate's and the follow-up list's queries with the values their
    widgets hold (a widget's value is in the session state before it is drawn), so that they run
    with the page's others; each section then asks through the same cache with the same arguments
    and finds its result. A value its widget will not keep (a page past a total that shrank) costs
    one query nobody reads; the section asks for the right one."""
    grid_page = int(st.session_state.get("coverage_grid_page") or 0)
    grain = st.session_state.get("coverage_grain") or _default_grain(filters)
    follow_up_page = int(st.session_state.get("coverage_fu_page") or 1)
    return [
        cache.call(contact_grid, limit=GRID_PAGE_SIZE, offset=grid_page * GRID_PAGE_SIZE),
        cache.call(
            cadence_worklist, **_worklist_args(filters, str(st.session_state.get("coverage_search", "")))
        ),
        cache.call(coverage_rate_over_time, grain=grain),
        cache.call(
            open_follow_up_list, limit=FOLLOW_UP_PAGE_SIZE, offset=(follow_up_page - 1) * FOLLOW_UP_PAGE_SIZE
        ),
    ]


filters: Filters = st.session_state["filters"]
end_label = _date(filters.end)
header("Coverage", "Which communities have we not met lately?", filters)

# Every query of the page runs here: the results not cached yet come from one statement.
orphans_page = requested_page("coverage_nl_page", query=filters)
# (the status counts and the page of communities without a liaison are one query)
(counts, orphans), follow_ups, *_ = cache.together(
    filters,
    cache.call(coverage_status, page=orphans_page, page_size=WITHOUT_LIAISON_PAGE_SIZE),
    cache.call(follow_ups_at_end),  # the follow-ups' summary and ageing
    *_sections(filters),
)
in_scope = sum(counts.values())
if in_scope == 0:
    empty(NO_COMMUNITIES)
else:
    _tiles(counts, end_label)
    _grid(filters, in_scope, end_label)
    _worklist(filters, in_scope, end_label)
    _without_liaison(filters, orphans, end_label)
    _rate_over_time(filters, end_label)
_follow_ups(filters, end_label, follow_ups)
