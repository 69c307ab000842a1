"""The briefing deck: slides built from the query modules, rendered live in large type.

`build_deck(run, filters, ...)` asks each area's own query functions (through `run`,
which is `ui.cache.query` on the page and a plain connection in tests) and turns the
answers into a `ui.briefing_html.Deck` of display text, figures and download frames.
The live page (`render_slide`) and the HTML export (`ui.briefing_html.deck_html`)
draw the same Deck, so both show the same numbers, captions and suppression.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from data_access.coverage import cadence_worklist, status_counts
from data_access.feedback import HIDDEN, SHOWN, SUPPRESSED, FeedbackScope, score_kpis, score_series
from data_access.feedback import scope as feedback_scope
from data_access.filters import Filters, format_date
from data_access.metrics import format_value, metric
from data_access.overview import (
    BELOW_FILLED_SHARE,
    OVERVIEW_SCOPE,
    Kpi,
    needs_attention,
    overview_page,
)
from data_access.staffing import UNIT_COLUMNS, staffing_month
from data_access.stats import SMALL_SAMPLE_N
from ui.briefing_html import (
    SUPPRESSED_MARK,
    ChartBlock,
    Deck,
    Slide,
    Stamp,
    TableBlock,
    Tile,
    chart_text,
    suppressed_text,
)
from ui.text import plain_md
from ui.theme import PALETTE, STATUS_COLOURS, empty, house_layout, merged, show, status_label
from ui.widgets import change_basis, download

Run = Callable[..., Any]  # run(query_fn, filters, **kwargs) -> the query's result

DECK_TITLE = "Community Engagement briefing"
ROWS_ON_SLIDE = 8  # table rows that stay readable from the back of a room at 1080p
ATTENTION_ROWS = 7  # the overview also carries six tiles
CHART_FONT = 20
OVERVIEW_TILES = (
    "meetings_held",
    "coverage_rate",
    "open_follow_ups",
    "vacancy_rate",
    "trust_score",
    "safety_score",
)
BEHIND = ("never met", "overdue", "due")  # the worklist's order, most overdue first
KIND_ICONS = {"Overdue community": "▲", "Unit below 85% filled": "◆", "No meetings logged": "○"}
BELOW_MARK = "◆"
CHART_HEIGHT = 480


# -- text helpers ---------------------------------------------------------------------------------


def _date(d: object) -> str:
    return format_date(None if d is None or pd.isna(d) else pd.Timestamp(d).date())


def _more(shown: int, total: int, what: str) -> str:
    return f"Showing {shown:,} of {total:,} {what}." if total > shown else ""


# -- slides ---------------------------------------------------------------------------------------


def _each_kind_first(items: pd.DataFrame, limit: int) -> pd.DataFrame:
    """At most `limit` rows, in list order, that include the first item of every kind, so a long run
    of overdue communities cannot push a trust drop or a short-staffed unit off the slide."""
    if len(items) <= limit:
        return items
    firsts = list(items.drop_duplicates("kind").index)[:limit]
    rest = [i for i in items.index if i not in firsts][: limit - len(firsts)]
    return items.loc[sorted(firsts + rest)]


def kpi_tile(kpi: Kpi, k: int) -> Tile:
    """A KPI as tile text; the change is said in words (never a bare % arrow), as ui.widgets.kpi_tile."""
    m = metric(kpi.metric)
    label = m.label + (f" · n = {kpi.n:,}" if kpi.n is not None else "")
    if kpi.suppressed:
        return Tile(
            m.label, suppressed_text(k), "too few responses to show", help=m.description, suppressed=True
        )
    value = format_value(kpi.metric, kpi.value)
    if kpi.value is None or kpi.prior is None:
        delta = "no prior period to compare" if kpi.value is not None else None
        if delta and kpi.small_sample:
            delta += f" · small sample (n < {SMALL_SAMPLE_N})"
        return Tile(label, value, delta, help=m.description)
    diff = kpi.value - kpi.prior
    shown = (
        f"{100 * diff:+.0f} pts"
        if m.fmt == "pct"
        else f"{diff:+,.1f}"
        if m.fmt in ("score", "float", "fte")
        else f"{diff:+,.0f}"
    )
    change = kpi.change
    delta = f"{shown} · {change}" + (f" (z = {kpi.z:+.1f})" if kpi.z is not None else "")
    tone = "neutral"
    if change != "within normal variation" and m.higher_is_better is not None and diff != 0:
        tone = "good" if (diff > 0) == m.higher_is_better else "bad"
    if kpi.small_sample:  # SPEC §3: k ≤ n < 30 is flagged where the number is shown
        delta += f" · small sample (n < {SMALL_SAMPLE_N})"
    return Tile(
        label,
        value,
        delta,
        tone,
        help=f"{m.description} Prior period: {format_value(kpi.metric, kpi.prior)}.",
    )


def overview_slide(run: Run, f: Filters, k: int, scope: FeedbackScope) -> Slide:
    # Trust and safety come from the Feedback queries (reportable groups only, as on the Feedback
    # slide), so no n on this deck differs from another by a suppressed group's responses.
    page = run(overview_page, f, k=k, scope=scope)
    kpis, items = page.kpis, page.needs
    shown = _each_kind_first(items, ATTENTION_ROWS)
    total = page.total
    frame = pd.DataFrame(
        {
            "What": [f"{KIND_ICONS.get(x, '▼')} {x}" for x in shown["kind"]],
            "Who": shown["subject"],
            "Detail": shown["detail"],
        }
    )
    summary = " · ".join(f"{kind}: {n:,}" for kind, n in page.counts.items())
    return Slide(
        key="overview",
        title="Overview",
        question="How are we doing this period, and what needs attention now?",
        tiles=tuple(kpi_tile(kpis[name], k) for name in OVERVIEW_TILES),
        blocks=(
            TableBlock(
                title="Needs attention" + (f" · {total:,} items" if total else ""),
                frame=frame,
                # the whole list, read when the CSV is asked for, when the Overview fetched its top only
                data=items if page.complete else lambda: run(needs_attention, f, k=k),
                file_name="briefing_needs_attention.csv",
                note=" ".join(
                    x for x in (summary + "." if summary else "", _more(len(shown), total, "items")) if x
                ),
                empty_message="Nothing needs attention for these filters: every community is within 1.5× its "
                "cadence, every unit is at least 85% filled, no score fell notably and every unit logged meetings.",
            ),
        ),
        note=f"{change_basis(f.days, kpis['meetings_held'])} Notable at |z| ≥ 2, significant at |z| ≥ 3, "
        "otherwise within normal variation.",
    )


def _liaison(row: Any) -> str:
    if row.responsible_name is None or pd.isna(row.responsible_name):
        return "— none assigned"
    if "liaison_left_date" in row._fields and not pd.isna(row.liaison_left_date):
        return f"{row.responsible_name} (left {_date(row.liaison_left_date)})"
    return str(row.responsible_name)


def coverage_slide(run: Run, f: Filters) -> Slide:
    counts = run(status_counts, f)
    # Only the top of the worklist: it is ordered never met, overdue, due, then on track, so the
    # communities behind cadence among its first ROWS_ON_SLIDE rows are the first ones behind.
    top = run(cadence_worklist, f, page_size=ROWS_ON_SLIDE).rows
    total = sum(counts.values())
    behind_count = sum(counts[s] for s in BEHIND)
    shown = top[top["cadence_status"].isin(BEHIND)]
    frame = pd.DataFrame(
        {
            "Status": [status_label(s) for s in shown["cadence_status"]],
            "Community": shown["name"],
            "Days since contact": [
                "never" if pd.isna(d) else f"{int(d)} d (target {t})"
                for d, t in zip(shown["days_since_contact"], shown["target_cadence_days"], strict=True)
            ],
            "Last met": [_date(d) for d in shown["last_contact_date"]],
            "Responsible liaison": [_liaison(r) for r in shown.itertuples()],
        }
    )
    rate = counts["on track"] / total if total else None
    tiles = (
        Tile(
            metric("coverage_rate").label,
            format_value("coverage_rate", rate),
            f"{counts['on track']:,} of {total:,} {'community' if total == 1 else 'communities'} on track"
            if total
            else None,
            help=metric("coverage_rate").description,
        ),
        *(
            Tile(status_label(s), f"{counts[s]:,}", help=metric("cadence_status").description)
            for s in ("overdue", "never met", "due")
        ),
    )
    # the CSV holds the rows on the slide; the whole worklist is exported from the Coverage page
    data = shown.drop(columns=["responsible_staff_id"])
    return Slide(
        key="coverage",
        title="Coverage",
        question="Which communities have we not met lately?",
        tiles=tiles,
        blocks=(
            TableBlock(
                title="Worklist: most overdue first",
                frame=frame,
                data=data,
                file_name="briefing_coverage_worklist.csv",
                note=" ".join(
                    x
                    for x in (
                        _more(len(shown), behind_count, "communities behind cadence"),
                        "The full worklist is on the Coverage page." if behind_count > len(shown) else "",
                    )
                    if x
                ),
                empty_message="Every active community in scope is on track: nothing is due, overdue or never met.",
                tones={status_label(s): STATUS_COLOURS[s] for s in ("overdue", "on track")},
            ),
        ),
        note=f"As of {format_date(f.end)}. On track: days since last contact ≤ target cadence; due: up to "
        "1.5 × target; overdue: beyond that.",
    )


def _big(fig: go.Figure, *, height: int, layout: dict | None = None) -> go.Figure:
    """The house look with room-sized type on every part of a chart (explicit sizes win over the
    Streamlit theme's), then `layout`: one layout update, as each update call re-lays-out the figure."""
    axis = dict(tickfont=dict(size=CHART_FONT - 2), title=dict(font=dict(size=CHART_FONT)))
    big = merged(
        house_layout(None, height),
        dict(
            font=dict(size=CHART_FONT),
            legend=dict(font=dict(size=CHART_FONT)),
            hoverlabel=dict(font=dict(size=CHART_FONT)),
            hovermode="closest",
        ),
    )
    for ax in (*fig.select_xaxes(), *fig.select_yaxes()):
        big[ax.plotly_name] = axis
    fig.update_layout(merged(big, layout or {}))
    return fig


def _staffing_figure(units: pd.DataFrame) -> go.Figure:
    labels = [
        chart_text(name) + (f" {BELOW_MARK}" if below else "")
        for name, below in zip(units["unit_name"], units["is_below_filled"], strict=True)
    ]
    traces = [
        dict(
            type="bar",
            y=labels,
            x=units[col],
            name=name,
            orientation="h",
            marker=dict(color=PALETTE[i]),
            text=[f"{v:,.1f}" for v in units[col]],
            textposition="outside",
            textfont=dict(size=CHART_FONT - 2),
            cliponaxis=False,
            hovertemplate=f"%{{y}}<br>{name}: %{{x:,.1f}} FTE<extra></extra>",
        )
        for i, (col, name) in enumerate(
            (("authorized", "Authorized"), ("filled", "Filled"), ("available", "Available"))
        )
    ]
    return _big(
        go.Figure(dict(data=traces)),
        height=CHART_HEIGHT,
        layout=dict(
            barmode="group",
            bargap=0.22,
            bargroupgap=0.05,
            uniformtext=dict(minsize=CHART_FONT - 4, mode="show"),
            xaxis=dict(title=dict(text="FTE")),
            yaxis=dict(autorange="reversed", title=dict(text=None)),
        ),
    )


def staffing_slide(run: Run, f: Filters) -> Slide:
    month_of = run(staffing_month, f)
    totals, units = month_of.totals, month_of.by_unit
    month = "" if units.empty else f"{pd.Timestamp(units['month'].iloc[0]):%b %Y}"
    authorized = totals["authorized"] if totals else 0
    vacancy = (totals["authorized"] - totals["filled"]) / authorized if totals and authorized else None
    availability = totals["available"] / authorized if totals and authorized else None
    values = {
        "authorized": totals["authorized"] if totals else None,
        "filled": totals["filled"] if totals else None,
        "available": totals["available"] if totals else None,
        "vacancy_rate": vacancy,
        "availability": availability,
    }
    tiles = tuple(
        Tile(metric(name).label, format_value(name, value), help=metric(name).description)
        for name, value in values.items()
    )
    ranked = units.sort_values(["filled_share", "unit_name"], na_position="last", kind="stable")
    below_count = int(units["is_below_filled"].sum())
    frame = pd.DataFrame(
        {
            "Unit": ranked["unit_name"],
            "Filled": [
                f"{fi:g} of {a:g}" for fi, a in zip(ranked["filled"], ranked["authorized"], strict=True)
            ],
            "Filled %": [
                "—" if pd.isna(sh) else (f"{BELOW_MARK} {sh:.0%}" if below else f"{sh:.0%}")
                for sh, below in zip(ranked["filled_share"], ranked["is_below_filled"], strict=True)
            ],
            "Available": [f"{v:g}" for v in ranked["available"]],
        }
    )
    data = units[[c for c in UNIT_COLUMNS if c != "vacant_fte"]]  # the units' sums and rates, as read
    no_rows = "No staffing rows for these filters in or before this period."
    below_title = f"{below_count} unit{'s' if below_count != 1 else ''} below {BELOW_FILLED_SHARE:.0%} filled"
    return Slide(
        key="staffing",
        title="Staffing",
        question="Is each unit staffed to do the work?",
        tiles=tiles,
        blocks=(
            ChartBlock(
                title=f"FTE by unit{f', {month}' if month else ''}",
                figure=None if units.empty else _staffing_figure(units),
                data=data,
                file_name="briefing_staffing_by_unit.csv",
                empty_message=no_rows,
            ),
            TableBlock(
                title=below_title if below_count else f"Every unit at least {BELOW_FILLED_SHARE:.0%} filled",
                frame=frame,
                data=data,
                file_name="briefing_staffing_by_unit.csv",
                note=f"Least filled first; {BELOW_MARK} marks a unit below {BELOW_FILLED_SHARE:.0%} of authorized.",
                empty_message=no_rows,
                tones={t: STATUS_COLOURS["overdue"] for t in frame["Filled %"] if t.startswith(BELOW_MARK)},
            ),
        ),
        widths=(3, 2),
        note=f"FTE in {month or 'the latest month with data'}, patrol divisions in the filter summed; available = "
        "filled minus leave and light duty. The communities filter does not apply to staffing.",
    )


def _bucket_label(start: date, grain: str, partial: bool) -> str:
    return (f"{start.day} {start:%b}" if grain == "week" else f"{start:%b %Y}") + ("*" if partial else "")


def _trend_figure(series: pd.DataFrame, k: int, grain: str) -> go.Figure:
    """Trust and safety with 95% CI bands (top) and responses per bucket (bottom), one category per
    week or month; a suppressed bucket draws no point and no bar, only a grey ⊘ marker."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.06)
    x = [
        _bucket_label(b, grain, p) for b, p in zip(series["bucket_start"], series["is_partial"], strict=True)
    ]
    hidden_rows = series["status"].isin(HIDDEN)
    top: list[dict] = []  # added in one call per row: each add_scatter re-lays-out the figure
    for i, (name, label) in enumerate((("trust", "Trust"), ("safety", "Safety"))):
        colour = PALETTE[i]
        lo, hi = series[f"{name}_ci_low"].astype(float), series[f"{name}_ci_high"].astype(float)
        top.append(
            dict(
                type="scatter",
                x=x,
                y=hi,
                mode="lines",
                line=dict(width=0),
                hoverinfo="skip",
                showlegend=False,
            )
        )
        top.append(
            dict(
                type="scatter",
                x=x,
                y=lo,
                mode="lines",
                line=dict(width=0),
                fill="tonexty",
                fillcolor=_rgba(colour, 0.18),
                hoverinfo="skip",
                name=f"{label} 95% CI",
                showlegend=False,
            )
        )
        top.append(
            dict(
                type="scatter",
                x=x,
                y=series[f"{name}_score"].astype(float),
                mode="lines+markers",
                name=f"{label} score",
                line=dict(color=colour, width=4),
                marker=dict(
                    size=13,
                    color=colour,
                    symbol=["circle-open" if p else "circle" for p in series["is_partial"]],
                    line=dict(width=3, color=colour),
                ),
                hovertext=[chart_text(t) for t in series[f"{name}_hover"]],
                hoverinfo="text",
                connectgaps=False,
            )
        )
    n_shown = series["n"].astype("Float64")
    bottom: list[dict] = [
        dict(
            type="bar",
            x=x,
            y=[None if pd.isna(v) else float(v) for v in n_shown],
            name="Responses (n)",
            marker=dict(color=PALETTE[7]),
            text=["" if pd.isna(v) else f"{int(v):,}" for v in n_shown],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="n = %{y:,}<extra></extra>",
        )
    ]
    if hidden_rows.any():
        hidden = series[hidden_rows]
        bottom.append(
            dict(
                type="scatter",
                x=[x[i] for i in range(len(x)) if hidden_rows.iloc[i]],
                y=[0] * len(hidden),
                mode="markers",
                name=suppressed_text(k),
                marker=dict(symbol="circle-x-open", size=20, color="#555555", line=dict(width=2)),
                hovertext=[chart_text(t) for t in hidden["status_label"]],
                hoverinfo="text",
            )
        )
    fig.add_traces(top + bottom, rows=[1] * len(top) + [2] * len(bottom), cols=1)
    return _big(
        fig,
        height=CHART_HEIGHT,
        layout=dict(
            bargap=0.3,
            yaxis=dict(title=dict(text="Score (0-100)")),
            yaxis2=dict(title=dict(text="n"), rangemode="tozero"),
        ),
    )


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _score_cell(row: Any, name: str, k: int) -> str:
    if row.status in HIDDEN:  # the badge once per row (in the trust column); a bare mark elsewhere
        if name != "trust":
            return SUPPRESSED_MARK
        return (
            suppressed_text(k)
            if row.status == SUPPRESSED
            else f"{SUPPRESSED_MARK} suppressed (protects n < {k})"
        )
    if row.status != SHOWN:
        return str(row.status_label) or "—"  # e.g. "no responses": a zero discloses nobody
    score, lo, hi = (
        getattr(row, f"{name}_score"),
        getattr(row, f"{name}_ci_low"),
        getattr(row, f"{name}_ci_high"),
    )
    if pd.isna(score):
        return "—"
    return f"{score:.1f} ({lo:.1f}–{hi:.1f})" if not pd.isna(lo) else f"{score:.1f}"


WEEKS_MAX_DAYS = 120  # the feedback trend is weekly only for a period this short


def _trend_grain(f: Filters, responses: float | None, k: int) -> str:
    """Weeks for a short period with plenty of responses (about 3k a week on average); months
    otherwise, so a narrow filter shows a few real points rather than a row of suppressed weeks."""
    weeks = -(-f.days // 7)
    return "week" if f.days <= WEEKS_MAX_DAYS and (responses or 0) >= 3 * k * weeks else "month"


def deck_scope(run: Run, f: Filters, k: int) -> FeedbackScope:
    """The feedback scope the deck reads, with weeks whenever its trend may use them."""
    return run(feedback_scope, f, k=k, weekly=f.days <= WEEKS_MAX_DAYS, topics=False, channels=False)


def feedback_slide(run: Run, f: Filters, k: int, scope: FeedbackScope) -> Slide:
    kpis = run(score_kpis, f, k=k, scope=scope)
    grain = _trend_grain(f, kpis["responses"].value, k)
    series = run(score_series, f, k=k, grain=grain, split="none", scope=scope)
    recent = series.iloc[::-1].head(ROWS_ON_SLIDE)
    label = "Week of" if grain == "week" else "Month"
    frame = pd.DataFrame(
        {
            label: [
                _bucket_label(b, grain, p)
                for b, p in zip(recent["bucket_start"], recent["is_partial"], strict=True)
            ],
            "Trust (95% CI)": [_score_cell(r, "trust", k) for r in recent.itertuples()],
            "Safety (95% CI)": [_score_cell(r, "safety", k) for r in recent.itertuples()],
            "n": [
                SUPPRESSED_MARK if r.status in HIDDEN else "—" if pd.isna(r.n) else f"{int(r.n):,}"
                for r in recent.itertuples()
            ],
        }
    )
    data = series.drop(columns=["trust_hover", "safety_hover"], errors="ignore")
    empty_message = "No feedback responses for these filters in this period."
    return Slide(
        key="feedback",
        title="Feedback",
        question="Is trust moving, and how sure are we?",
        tiles=tuple(kpi_tile(kpis[name], k) for name in ("trust_score", "safety_score", "responses")),
        blocks=(
            ChartBlock(
                title=f"Trust and safety by {grain}, with 95% confidence bands",
                figure=None if series.empty else _trend_figure(series, k, grain),
                data=data,
                file_name=f"briefing_feedback_by_{grain}.csv",
                note=f"* and open markers: partial {grain}. {SUPPRESSED_MARK}: under {k} responses, or hidden "
                "to protect such a group; no score or count shown.",
                empty_message=empty_message,
            ),
            TableBlock(
                title=f"Latest {grain}s",
                frame=frame,
                data=data,
                file_name=f"briefing_feedback_by_{grain}.csv",
                note=_more(len(recent), len(series), f"{grain}s"),
                empty_message=empty_message,
            ),
        ),
        widths=(3, 2),
        note="Trust = 10 × mean of (respect + listen) / 2; safety = 10 × mean of safety (0-100). Groups under "
        f"{k} responses are left out of every number. Changes compare with the prior period.",
    )


SLIDE_KEYS = ("overview", "coverage", "staffing", "feedback")  # the deck's slides, in order


def slide_needs_scope(index: int) -> bool:
    """Whether slide `index` (0-based) reads a feedback scope (slide_scope)."""
    return SLIDE_KEYS[index] in ("overview", "feedback")


def slide_scope(run: Run, f: Filters, k: int, index: int) -> FeedbackScope | None:
    """The feedback scope slide `index` reads, or None: the overview slide the Overview page's own
    (no weeks, no topics: the same cached result, and at L a third of the cells of a weekly one),
    the feedback slide deck_scope (its trend may be weekly)."""
    match SLIDE_KEYS[index]:
        case "overview":
            return run(feedback_scope, f, k=k, **OVERVIEW_SCOPE)
        case "feedback":
            return deck_scope(run, f, k)
        case _:
            return None


def slide_queries(
    index: int, k: int, scope: FeedbackScope | None
) -> tuple[tuple[Callable[..., Any], dict[str, Any]], ...]:
    """The queries `build_slide(index)` runs whatever they answer, with their arguments (the
    feedback trend's grain depends on the response count, so its query is not here): a page can
    start them together (ui.cache.ahead) before building the slide. `scope`: the feedback scope
    the slide reads (slide_scope, counted first because the feedback queries need it), or None
    when slide_needs_scope(index) is false."""
    match SLIDE_KEYS[index]:
        case "overview":
            return ((overview_page, {"k": k, "scope": scope}),)
        case "coverage":
            return ((status_counts, {}), (cadence_worklist, {"page_size": ROWS_ON_SLIDE}))
        case "staffing":
            return ((staffing_month, {}),)
        case _:
            return ((score_kpis, {"k": k, "scope": scope}),)


def build_slide(run: Run, f: Filters, index: int, *, k: int) -> Slide:
    """Slide `index` (0-based) of the deck for these filters: only its own queries run (the live
    page shows one slide at a time; the export builds them all)."""
    match SLIDE_KEYS[index]:
        case "overview":
            return overview_slide(run, f, k, slide_scope(run, f, k, index))
        case "coverage":
            return coverage_slide(run, f)
        case "staffing":
            return staffing_slide(run, f)
        case _:
            return feedback_slide(run, f, k, slide_scope(run, f, k, index))


def deck_stamp(
    f: Filters, names: dict[str, dict[str, str]], data_through: date | None, imported_at: datetime | None
) -> Stamp:
    """The snapshot stamp every slide carries: the filters, the data's latest date, the last import."""
    return Stamp(f.caption(names), data_through, imported_at)


def build_deck(
    run: Run,
    f: Filters,
    *,
    k: int,
    names: dict[str, dict[str, str]],
    data_through: date | None,
    imported_at: datetime | None,
) -> Deck:
    """Every slide for these filters, with the snapshot stamp (the HTML export)."""
    slides = tuple(build_slide(run, f, i, k=k) for i in range(len(SLIDE_KEYS)))
    return Deck(DECK_TITLE, slides, deck_stamp(f, names, data_through, imported_at))


# -- live rendering (Streamlit) -------------------------------------------------------------------

# Large type for a room, the sidebar and Streamlit's chrome hidden. Constant CSS, no data in it.
BRIEFING_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 1.2rem 2.5rem 1rem 2.5rem; max-width: 100%; }
[data-testid="stMain"] h1 { font-size: 3.4rem; padding: 0 0 0.2rem 0; }
[data-testid="stMain"] h3 { font-size: 1.9rem; }
[data-testid="stMetricLabel"] p, [data-testid="stMetricLabel"] div { font-size: 1.45rem !important; }
[data-testid="stMetricValue"] { font-size: 3.3rem !important; }
[data-testid="stMetricDelta"] { font-size: 1.3rem !important; height: auto !important; }
[data-testid="stMetricDelta"] [data-testid="stMarkdownContainer"],
[data-testid="stMetricDelta"] p { white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; }
[data-testid="stTable"] table { font-size: 1.45rem; }
[data-testid="stTable"] th { font-size: 1.35rem; }
[data-testid="stTable"] td [data-testid="stMarkdownContainer"] { max-width: none !important; }
[data-testid="stCaptionContainer"] p, [data-testid="stCaptionContainer"] { font-size: 1.2rem !important; }
.st-key-briefing_question p { font-size: 1.6rem; }
.st-key-briefing_stamp [data-testid="stCaptionContainer"], .st-key-briefing_stamp p {
  font-size: 1.25rem !important; color: inherit !important; }
</style>
"""


def render_slide(
    slide: Slide, *, number: int, total: int, stamp: Stamp, controls: Callable[[], None] | None = None
) -> None:
    """One slide in large type: title and question (with the presenter's `controls` beside them),
    tiles, blocks, notes and the snapshot stamp."""
    left, right = st.columns([2, 3], vertical_alignment="center")
    with left:
        st.title(slide.title, anchor=False)
        with st.container(key="briefing_question"):
            st.markdown(plain_md(slide.question))
    if controls is not None:
        with right:
            controls()
    if slide.tiles:
        for col, t in zip(st.columns(len(slide.tiles)), slide.tiles, strict=True):
            _render_tile(col, t)
    if slide.blocks:
        cols = st.columns(list(slide.widths)) if slide.widths else [st.container() for _ in slide.blocks]
        offered: set[str] = set()  # one download per file, even when two blocks share their data
        for i, (col, block) in enumerate(zip(cols, slide.blocks, strict=True)):
            with col:
                _render_block(block, key=f"briefing_{slide.key}_{i}", offer=block.file_name not in offered)
            offered.add(block.file_name)
    if slide.note:
        st.caption(plain_md(slide.note))
    with st.container(key="briefing_stamp"):
        st.caption(f"{plain_md(stamp.text())} · slide {number} of {total}")


def _render_tile(col: Any, t: Tile) -> None:
    color = {"good": "green", "bad": "red"}.get(t.tone, "gray")
    col.metric(
        plain_md(t.label),
        t.value,
        delta=t.delta,
        delta_color=color,
        delta_arrow="off" if t.tone == "neutral" else "auto",
        help=t.help or None,
        border=True,
    )


def _render_block(block: TableBlock | ChartBlock, *, key: str, offer: bool = True) -> None:
    st.subheader(plain_md(block.title), anchor=False)
    if isinstance(block, ChartBlock):
        if block.figure is None:
            empty(block.empty_message)
        else:
            show(block.figure, key=key)
    elif block.frame.empty:
        empty(block.empty_message)
    else:
        frame = block.frame.map(plain_md)
        frame.columns = [plain_md(c) for c in frame.columns]
        tones = {plain_md(text): colour for text, colour in block.tones.items()}
        styled = frame.style.map(lambda v: f"color: {tones[v]}; font-weight: 600" if v in tones else "")
        st.table(styled, hide_index=True, border="horizontal")
    if block.note:
        st.caption(plain_md(block.note))
    if offer and (callable(block.data) or not block.data.empty):
        download(block.data, file_name=block.file_name, key=f"dl_{key}", label="Download data (CSV)")
