"""Feedback: is trust moving, where, and what are people telling us?

Every number here comes from data_access.feedback, which applies the small-n rule before
anything reaches the browser: groups under k responses are left out of every number and
shown only as a badge; breakdown cells under k (and the cells that would give them away)
carry no score and no count. This page only draws what it is given.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from data_access import feedback as fb
from data_access.filters import Filters
from data_access.settings import small_n_k
from data_access.stats import SMALL_SAMPLE_N
from ui import cache, pager
from ui.auth import allowed
from ui.theme import PALETTE, empty, figure, reference_line, show, style
from ui.widgets import CHANGE_RULE, change_basis, download, header, kpi_tile, table

OURS = PALETTE[0]
GREY = PALETTE[7]
EXTERNAL_COLOURS = PALETTE[1:7]
METRIC_LABELS = {"trust": "Trust", "safety": "Safety"}
GRAIN_LABELS = {"week": "Week", "month": "Month"}
SPLIT_LABELS = {"none": "All in filter", "division": "By patrol division"}
SUPPRESSED_MARK = "⊘"
SMALL_MARK = "⚠"


def plain(value: object) -> str:
    """Imported text for a Plotly label or hover: Plotly reads a subset of HTML there, so escape it."""
    return html.escape(str(value), quote=False)


def rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def badge(label: str) -> str:
    """The text badge beside a row: ⊘ for suppressed, ⚠ for a small sample, nothing otherwise."""
    if not label or label == "no responses":
        return label
    return f"{SUPPRESSED_MARK} {label}" if label.startswith("suppressed") else f"{SMALL_MARK} {label}"


def mid(start: date, end: date) -> date:
    """Points sit in the middle of their week or month, so a bucket's shading centres on it."""
    return start + timedelta(days=(end - start).days // 2)


def month_mid(start: date) -> date:
    return mid(start, fb.bucket_end(start, "month"))


def band(xs: list[date], lo: list[float | None], hi: list[float | None]) -> tuple[list, list]:
    """A closed polygon per run of consecutive shown points (None between runs), for fill='toself'."""
    bx: list = []
    by: list = []
    run: list[int] = []
    for i in [*range(len(xs)), None]:
        if i is not None and lo[i] is not None and hi[i] is not None:
            run.append(i)
            continue
        if run:
            bx += [xs[j] for j in run] + [xs[j] for j in reversed(run)] + [None]
            by += [hi[j] for j in run] + [lo[j] for j in reversed(run)] + [None]
        run = []
    return bx, by


def floats(values: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in values]


def y_range(series: pd.DataFrame, metric: str, ext: pd.DataFrame) -> list[float]:
    values = floats(series[f"{metric}_ci_low"]) + floats(series[f"{metric}_ci_high"])
    if not ext.empty:
        values += floats(ext["score"])
    values = [v for v in values if v is not None]
    if not values:
        return [0, 100]
    return [max(0.0, math.floor(min(values) - 5)), min(100.0, math.ceil(max(values) + 5))]


def our_traces(
    s: pd.DataFrame,
    metric: str,
    k: int,
    *,
    labels: bool,
    legend: bool,
    ymark: float,
    legend_suppressed: bool = True,
    axes: tuple[str, str] | None = None,
) -> tuple[list[dict], list[dict]]:
    """CI band, line with n on every point, and a ⊘ marker (with grey shading) on every hidden
    bucket: (traces, shapes) as plain dicts, on the given x and y axes (a subplot's) or the figure's."""
    on = {} if axes is None else dict(xaxis=axes[0], yaxis=axes[1])
    xs = [mid(a, b) for a, b in zip(s["bucket_start"], s["bucket_end"], strict=True)]
    shown = list(s["status"] == fb.SHOWN)
    bx, by = band(xs, floats(s[f"{metric}_ci_low"]), floats(s[f"{metric}_ci_high"]))
    traces: list[dict] = [
        dict(
            type="scatter",
            x=bx,
            y=by,
            fill="toself",
            fillcolor=rgba(OURS, 0.18),
            line=dict(width=0),
            mode="lines",
            hoverinfo="skip",
            name="95% confidence band",
            legendgroup="band",
            showlegend=legend,
            **on,
        ),
        dict(
            type="scatter",
            x=xs,
            y=floats(s[f"{metric}_score"]),
            mode="lines+markers+text" if labels else "lines+markers",
            text=[
                (f"n={int(n):,}" + (f" {SMALL_MARK}" if small else "")) if ok else ""
                for n, ok, small in zip(s["n"].fillna(0), shown, s["small_sample"], strict=True)
            ],
            textposition="top center",
            textfont=dict(size=11),
            line=dict(color=OURS, width=3),
            marker=dict(
                color=OURS,
                size=8,
                symbol=["circle-open" if p else "circle" for p in s["is_partial"]],
                line=dict(width=2, color=OURS),
            ),
            connectgaps=False,
            hovertext=[plain(t) for t in s[f"{metric}_hover"]],
            hoverinfo="text",
            name=f"Our feedback: {METRIC_LABELS[metric].lower()} (n on each point)",
            legendgroup="ours",
            showlegend=legend,
            **on,
        ),
    ]
    lone = [
        i
        for i, ok in enumerate(shown)
        if ok and not (i > 0 and shown[i - 1]) and not (i + 1 < len(shown) and shown[i + 1])
    ]
    if lone:  # a point with no shown neighbour has no band to sit in: give it error bars
        score, lo, hi = (
            floats(s[f"{metric}_score"]),
            floats(s[f"{metric}_ci_low"]),
            floats(s[f"{metric}_ci_high"]),
        )
        traces.append(
            dict(
                type="scatter",
                x=[xs[i] for i in lone],
                y=[score[i] for i in lone],
                mode="markers",
                marker=dict(color=OURS, size=8),
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=[hi[i] - score[i] for i in lone],
                    arrayminus=[score[i] - lo[i] for i in lone],
                    color=rgba(OURS, 0.5),
                    thickness=6,
                    width=0,
                ),
                hoverinfo="skip",
                showlegend=False,
                **on,
            )
        )
    hidden = s[s["status"].isin(fb.HIDDEN)]
    shapes = [
        dict(
            type="rect",
            xref=on.get("xaxis", "x"),
            yref=f"{on.get('yaxis', 'y')} domain",
            x0=a,
            x1=b + timedelta(days=1),
            y0=0,
            y1=1,
            fillcolor=GREY,
            opacity=0.18,
            line=dict(width=0),
            layer="below",
        )
        for a, b in zip(hidden["bucket_start"], hidden["bucket_end"], strict=True)
    ]
    traces.append(
        dict(
            type="scatter",
            x=[mid(a, b) for a, b in zip(hidden["bucket_start"], hidden["bucket_end"], strict=True)],
            y=[ymark] * len(hidden),
            mode="markers+text" if labels else "markers",
            text=["suppressed"] * len(hidden),
            textposition="bottom center",
            textfont=dict(size=11),
            marker=dict(symbol="circle-x-open", size=14, color=GREY, line=dict(width=2)),
            hovertext=[plain(t) for t in hidden[f"{metric}_hover"]],
            hoverinfo="text",
            name=f"suppressed (n < {k})",
            legendgroup="suppressed",
            showlegend=legend_suppressed and not hidden.empty,
            **on,
        )
    )
    return traces, shapes


def external_traces(
    ext: pd.DataFrame,
    *,
    colour_of: dict,
    legend_once: set,
    per_division: bool = False,
    axes: tuple[str, str] | None = None,
) -> list[dict]:
    """Published scores as dashed lines, one per source × area, named by their source (one per
    source in a division's own panel)."""
    on = {} if axes is None else dict(xaxis=axes[0], yaxis=axes[1])
    traces = []
    for (source, area), grp in ext.groupby(["source", "area"], sort=True):
        key = source if per_division else (source, area)
        colour = colour_of.setdefault(key, EXTERNAL_COLOURS[len(colour_of) % len(EXTERNAL_COLOURS)])
        name = source if per_division else f"{source} · {area}"
        traces.append(
            dict(
                type="scatter",
                x=[month_mid(m) for m in grp["period_month"]],
                y=floats(grp["score"]),
                mode="lines+markers",
                line=dict(color=colour, width=2, dash="dash"),
                marker=dict(symbol="diamond-open", size=8, color=colour),
                connectgaps=False,
                hovertext=[plain(t) for t in grp["hover"]],
                hoverinfo="text",
                name=plain(name),
                legendgroup=f"ext:{key}",
                showlegend=key not in legend_once,
                **on,
            )
        )
        legend_once.add(key)
    return traces


def trend_figure(series: pd.DataFrame, ext: pd.DataFrame, metric: str, k: int) -> go.Figure:
    lo, hi = y_range(series, metric, ext)
    traces, shapes = our_traces(series, metric, k, labels=True, legend=True, ymark=hi - (hi - lo) * 0.08)
    traces += external_traces(ext, colour_of={}, legend_once=set())
    return figure(
        traces,
        height=440,
        y_title=f"{METRIC_LABELS[metric]} score (0-100)",
        layout=dict(
            yaxis=dict(range=[lo, hi]), hovermode="closest", legend=dict(font=dict(size=12)), shapes=shapes
        ),
    )


def trend_by_division_figure(series: pd.DataFrame, ext: pd.DataFrame, metric: str, k: int) -> go.Figure:
    shown_divs = series[series["division_code"] != fb.NO_DIVISION]
    divisions = list(
        dict.fromkeys(zip(shown_divs["division_code"], shown_divs["division_name"], strict=True))
    )
    cols = 3
    rows = max(1, math.ceil(len(divisions) / cols))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_xaxes=True,
        shared_yaxes=True,
        subplot_titles=[plain(name) for _, name in divisions],
        vertical_spacing=0.14 if rows > 1 else 0.1,
        horizontal_spacing=0.03,
    )
    lo, hi = y_range(shown_divs, metric, ext)
    colour_of: dict = {}
    legend_once: set = set()
    marked = False
    traces: list[dict] = []
    shapes: list[dict] = []
    for i, (code, _) in enumerate(divisions):
        axes = ("x" if i == 0 else f"x{i + 1}", "y" if i == 0 else f"y{i + 1}")
        s = shown_divs[shown_divs["division_code"] == code]
        cell_traces, cell_shapes = our_traces(
            s,
            metric,
            k,
            labels=False,
            legend=i == 0,
            ymark=hi - (hi - lo) * 0.08,
            legend_suppressed=not marked,
            axes=axes,
        )
        marked |= bool(cell_shapes)
        traces += cell_traces
        shapes += cell_shapes
        if not ext.empty:
            traces += external_traces(
                ext[ext["division_code"] == code],
                colour_of=colour_of,
                legend_once=legend_once,
                per_division=True,
                axes=axes,
            )
    # one add_traces call and one layout update: each add_scatter/add_vrect re-lays-out the figure
    fig.add_traces(traces)
    style(fig, height=250 * rows + 130)
    fig.update_yaxes(range=[lo, hi])
    fig.update_yaxes(title=f"{METRIC_LABELS[metric]} (0-100)", col=1)
    fig.update_annotations(font=dict(size=14))
    fig.update_layout(
        hovermode="closest",
        legend=dict(font=dict(size=12), y=1.0, yanchor="top", yref="container"),
        margin=dict(t=90),
        shapes=shapes,
    )
    return fig


def comparison_figure(
    df: pd.DataFrame, label_col: str, metric: str, k: int, total: float | None
) -> go.Figure:
    """Score with its 95% CI per row; a hidden row keeps its place with a ⊘ badge, never a value."""
    df = df[df["status"] != fb.EMPTY].iloc[::-1]  # plotly draws the first category at the bottom
    names = [plain(n) for n in df[label_col]]
    shown = df["status"] == fb.SHOWN
    score = floats(df[f"{metric}_score"])
    lo, hi = floats(df[f"{metric}_ci_low"]), floats(df[f"{metric}_ci_high"])
    points = dict(
        type="scatter",
        x=score,
        y=names,
        mode="markers",
        marker=dict(
            color=OURS,
            size=10,
            symbol=["diamond-open" if small else "circle" for small in df["small_sample"]],
            line=dict(width=2, color=OURS),
        ),
        error_x=dict(
            type="data",
            symmetric=False,
            array=[None if s is None or h is None else h - s for s, h in zip(score, hi, strict=True)],
            arrayminus=[
                None if s is None or low is None else s - low for s, low in zip(score, lo, strict=True)
            ],
            color=OURS,
            thickness=1.5,
        ),
        hovertext=[
            plain(
                f"{n} · {metric} {s:.1f} (95% CI {a:.1f}–{b:.1f}) · n = {int(cnt):,}"
                + (f" · small sample (n < {SMALL_SAMPLE_N})" if small else "")
            )
            if ok
            else plain(f"{n} · {lab}")
            for n, s, a, b, cnt, small, ok, lab in zip(
                df[label_col],
                score,
                lo,
                hi,
                df["n"].fillna(0),
                df["small_sample"],
                shown,
                df["status_label"],
                strict=True,
            )
        ],
        hoverinfo="text",
        name=f"{METRIC_LABELS[metric]} with 95% CI",
    )
    traces = [points]
    values = [v for v in lo + hi if v is not None] + ([total] if total is not None else [])
    x0 = math.floor(min(values) - 3) if values else 0
    x1 = math.ceil(max(values) + 3) if values else 100
    hidden = df[~shown]
    if not hidden.empty:
        traces.append(
            dict(
                type="scatter",
                x=[x0] * len(hidden),
                y=[plain(n) for n in hidden[label_col]],
                mode="text",
                text=[f"  {SUPPRESSED_MARK} {lab}" for lab in hidden["status_label"]],
                textposition="middle right",
                textfont=dict(size=13),
                hovertext=[
                    plain(f"{n} · {lab}")
                    for n, lab in zip(hidden[label_col], hidden["status_label"], strict=True)
                ],
                hoverinfo="text",
                name=f"{SUPPRESSED_MARK} suppressed: no score, no n",
            )
        )
    layout = dict(
        xaxis=dict(range=[x0, x1], title=f"{METRIC_LABELS[metric]} score (0-100)"),
        yaxis=dict(type="category", automargin=True),
        hovermode="closest",
        showlegend=False,
        margin=dict(t=40),
    )
    if total is not None:
        layout |= reference_line(
            x=total, text=f"all in filter {total:.1f}", line=dict(color=GREY, dash="dot", width=2)
        )
    return figure(traces, height=max(240, 26 * len(df) + 110), layout=layout)


def channel_figure(vol: pd.DataFrame, k: int) -> go.Figure:
    xs = {b: mid(b, e) for b, e in zip(vol["bucket_start"], vol["bucket_end"], strict=True)}
    traces = [
        dict(
            type="bar",
            x=[xs[b] for b in grp["bucket_start"]],
            y=floats(grp["n"]),
            name=plain(fb.channel_name(channel)),
            marker=dict(color=PALETTE[i % len(PALETTE)]),
            hovertext=[plain(t) for t in grp["hover"]],
            hoverinfo="text",
        )
        for i, (channel, grp) in enumerate(vol.groupby("channel", sort=False))
    ]
    hidden = vol[vol["status"].isin(fb.HIDDEN)]
    if not hidden.empty:
        tops = vol.groupby("bucket_start")["n"].sum(min_count=0).astype(float)
        notes = hidden.groupby("bucket_start")["hover"].apply(lambda s: "<br>".join(plain(t) for t in s))
        traces.append(
            dict(
                type="scatter",
                x=[xs[b] for b in notes.index],
                y=[float(tops.get(b, 0.0)) for b in notes.index],
                mode="markers+text",
                text=["suppressed"] * len(notes),
                textposition="top center",
                textfont=dict(size=11),
                marker=dict(symbol="circle-x-open", size=14, color=GREY, line=dict(width=2)),
                hovertext=list(notes),
                hoverinfo="text",
                name=f"{SUPPRESSED_MARK} a channel here is suppressed (n < {k}): bar left out",
                cliponaxis=False,
            )
        )
    return figure(traces, height=380, y_title="Responses", layout=dict(barmode="stack", hovermode="closest"))


def topics_figure(topics: pd.DataFrame, k: int) -> go.Figure:
    df = topics.iloc[::-1]
    shown = ~df["status"].isin(fb.HIDDEN)
    bars = dict(
        type="bar",
        x=floats(df["n"].where(shown)),
        y=[plain(t) for t in df["topic_name"]],
        orientation="h",
        marker=dict(color=OURS),
        text=[f"{int(n):,}" if ok else "" for n, ok in zip(df["n"].fillna(0), shown, strict=True)],
        textposition="outside",
        cliponaxis=False,
        hovertext=[
            plain(f"{t}: {int(n):,} responses" if ok else f"{t}: {lab}")
            for t, n, ok, lab in zip(
                df["topic_name"], df["n"].fillna(0), shown, df["status_label"], strict=True
            )
        ],
        hoverinfo="text",
        name="Responses mentioning the topic",
    )
    traces = [bars]
    hidden = df[~shown]
    if not hidden.empty:
        traces.append(
            dict(
                type="scatter",
                x=[0] * len(hidden),
                y=[plain(t) for t in hidden["topic_name"]],
                mode="text",
                text=[f"  {SUPPRESSED_MARK} {lab}" for lab in hidden["status_label"]],
                textposition="middle right",
                textfont=dict(size=13),
                hoverinfo="skip",
                name="suppressed",
            )
        )
    return figure(
        traces,
        height=max(220, 30 * len(df) + 80),
        layout=dict(
            xaxis=dict(title="Responses mentioning the topic", rangemode="tozero"),
            yaxis=dict(type="category", automargin=True),
            hovermode="closest",
            showlegend=False,
        ),
    )


def topic_heatmap(trend: pd.DataFrame) -> go.Figure:
    """Month × topic counts; a hidden cell is blank with a ⊘ and the word 'suppressed', never a number."""
    months = list(dict.fromkeys(trend["bucket_start"]))
    topics = list(dict.fromkeys(trend["topic_name"]))
    cell = {
        (b, t): (n, lab)
        for b, t, n, lab in zip(
            trend["bucket_start"], trend["topic_name"], trend["n"], trend["status_label"], strict=True
        )
    }
    z = [[None if pd.isna(cell[(b, t)][0]) else float(cell[(b, t)][0]) for b in months] for t in topics]
    text = [
        [
            f"{int(cell[(b, t)][0]):,}" if not pd.isna(cell[(b, t)][0]) else f"{SUPPRESSED_MARK} suppressed"
            for b in months
        ]
        for t in topics
    ]
    hover = [
        [
            plain(
                f"{t} · {b:%b %Y}: "
                + (f"{int(cell[(b, t)][0]):,} responses" if not pd.isna(cell[(b, t)][0]) else cell[(b, t)][1])
            )
            for b in months
        ]
        for t in topics
    ]
    heat = dict(
        type="heatmap",
        z=z,
        x=[f"{b:%b %Y}" for b in months],
        y=[plain(t) for t in topics],
        text=text,
        texttemplate="%{text}",
        hovertext=hover,
        hoverinfo="text",
        colorscale=[[0, rgba(OURS, 0.08)], [1, rgba(OURS, 0.75)]],
        showscale=False,
        xgap=2,
        ygap=2,
    )
    return figure(
        [heat],
        height=max(220, 34 * len(topics) + 80),
        layout=dict(
            xaxis=dict(type="category", side="top"),
            yaxis=dict(type="category", automargin=True, autorange="reversed"),
        ),
    )


def score_table(
    df: pd.DataFrame, label_col: str, label: str, *, with_change: bool, with_home: bool
) -> pd.DataFrame:
    """What a reader (and the CSV) sees: blanks and a ⊘ badge for hidden rows, never a number."""
    out = pd.DataFrame({label: df[label_col]})
    if "home_division" in df:
        out["Home division"] = df["home_division"]
    out["Responses (n)"] = df["n"]
    for metric in ("trust", "safety"):
        m = METRIC_LABELS[metric]
        out[m] = df[f"{metric}_score"]
        out[f"{m} CI low"] = df[f"{metric}_ci_low"]
        out[f"{m} CI high"] = df[f"{metric}_ci_high"]
        if with_home and metric == "trust":
            out["Trust vs home division"] = df["trust_vs_home"]
        if with_change:
            out[f"{m} prior period"] = df[f"{metric}_prior"]
            out[f"{m} change z"] = df[f"{metric}_z"]
            out[f"{m} change"] = df[f"{metric}_change"]
    out["Note"] = [badge(t) for t in df["status_label"]]
    return out


def number_columns(df: pd.DataFrame) -> dict:
    cfg: dict = {}
    for col in df.columns:
        if col == "Responses (n)" or col.startswith("Responses"):
            cfg[col] = st.column_config.NumberColumn(col, format="%d")
        elif col.endswith(" z"):
            cfg[col] = st.column_config.NumberColumn(col, format="%+.1f")
        elif any(col.startswith(m) for m in METRIC_LABELS.values()) and not col.endswith("change"):
            cfg[col] = st.column_config.NumberColumn(col, format="%.1f")
        elif col == "Trust vs home division":
            cfg[col] = st.column_config.NumberColumn(col, format="%+.1f")
    return cfg


def series_table(series: pd.DataFrame, metric: str, split: str) -> pd.DataFrame:
    m = METRIC_LABELS[metric]
    out = pd.DataFrame({"Period": series["bucket_label"]})
    if split == "division":
        out["Patrol division"] = series["division_name"]
    out["Partial period"] = series["is_partial"].map({True: "yes", False: ""})
    out["Responses (n)"] = series["n"]
    out[m] = series[f"{metric}_score"]
    out[f"{m} CI low"] = series[f"{metric}_ci_low"]
    out[f"{m} CI high"] = series[f"{metric}_ci_high"]
    out["Note"] = [badge(t) for t in series["status_label"]]
    return out


WHERE_TABS = ("By patrol division", "By community")
WHERE_TAB_KEY = "fb_where_tab"  # also the URL parameter: ?fb_where_tab=By community opens the second
CHART_COMMUNITIES = 20  # the lowest-scoring reportable communities drawn; every community is in the table


@dataclass(frozen=True)
class CommunityQueries:
    """The By community tab's query (the table's page and the chart's communities, one statement),
    started with the page's others."""

    search: str  # the name search the rows were asked for
    pages: cache.Pending[tuple[fb.CommunityPage, fb.CommunityPage]]  # (every community, the chart's)


def community_queries(filters: Filters, k: int, metric: str) -> CommunityQueries:
    search = st.session_state.get("fb_comm_search", "").strip()
    page_no = pager.requested_page("fb_comm_page", query=(filters, k, search))
    pages = cache.ahead(
        fb.community_pages,
        filters,
        k=k,
        search=search,
        page=page_no,
        page_size=fb.COMMUNITY_PAGE_SIZE,
        chart_order=metric,
        chart_size=CHART_COMMUNITIES,
    )
    return CommunityQueries(search, pages)


def comment_args(filters: Filters, search: str, topic: str) -> dict[str, object]:
    """fb.comment_page's search, topic and page for what the Comments widgets hold: the early start
    and the section both ask with these, so the section finds the early result in the cache."""
    search = search.strip()
    page_no = pager.requested_page("fb_comment_page", query=(filters, search, topic))
    return {"search": search, "topic": topic, "page": page_no}


def comment_ahead(filters: Filters, k: int, scope: fb.FeedbackScope) -> None:
    """Start the comment page the Comments section will ask for, with the search, topic and page its
    widgets hold (a widget's value is in the session state before it is drawn), so that it runs
    while the page is drawn instead of after. A topic no longer on the list makes the section ask
    for another page, computed then."""
    state = st.session_state
    args = comment_args(filters, str(state.get("fb_search", "")), state.get("fb_topic", "") or "")
    cache.ahead(fb.comment_page, filters, k=k, scope=scope, **args)


# ---------------------------------------------------------------------------------------------

filters = st.session_state["filters"]
k = small_n_k()
header("Feedback", "Is trust moving, where, and what are people telling us?", filters)

tiles = st.container()  # the headline tiles and the small-n note, drawn once the headline query is back

# -- over time ---------------------------------------------------------------------------------
st.subheader("Is trust moving?")
c1, c2, c3 = st.columns(3)
metric = c1.radio(
    "Score", list(METRIC_LABELS), format_func=METRIC_LABELS.get, horizontal=True, key="fb_metric"
)
grain = c2.radio(
    "Time step",
    list(fb.GRAINS),
    index=0 if filters.days <= 120 else 1,
    format_func=GRAIN_LABELS.get,
    horizontal=True,
    key="fb_grain",
)
split = c3.radio("Show", list(fb.SPLITS), format_func=SPLIT_LABELS.get, horizontal=True, key="fb_split")

# The community comparison counts its own groups; every other query reads the small-n groups
# counted once (fb.scope). They all start here, in the order the page reads them, and run on
# ui.cache's worker threads while the page is drawn (the comment page too: comment_ahead).
# The community comparison runs only when its tab is open (the tab is in the URL, so a link can
# open it; on a page opened with it, it starts when the tab is drawn).
external_q = cache.ahead(fb.external_scores, filters, k=k)
community_q = (
    community_queries(filters, k, metric) if st.session_state.get(WHERE_TAB_KEY) == WHERE_TABS[1] else None
)
scope = cache.query(fb.scope, filters, k=k, weekly=grain == "week")
top_q = cache.ahead(fb.headline, filters, k=k, scope=scope)  # tiles, suppression summary, divisions
series_q = cache.ahead(fb.score_series, filters, k=k, grain=grain, split=split, scope=scope)
volume_q = cache.ahead(fb.channel_volume, filters, k=k, grain=grain, scope=scope)
channels_q = cache.ahead(fb.channel_totals, filters, k=k, scope=scope)
topics_q = cache.ahead(fb.topic_counts, filters, k=k, scope=scope)
trend_q = cache.ahead(fb.topic_trend, filters, k=k, scope=scope)
topic_options_q = (
    cache.ahead(fb.comment_topics, filters, k=k, scope=scope) if allowed("view_comments") else None
)
if topic_options_q is not None:
    comment_ahead(filters, k, scope)

top = top_q.result()
kpis = top.kpis
summary = top.summary
NOTHING = (
    f"Every group in these filters has fewer than {k} responses in this period, so nothing can be shown "
    "(small-n rule). Widen the period or the selection."
    if kpis["responses"].suppressed
    else "No feedback responses for these filters in this period. Widen the period or clear a filter."
)
with tiles:
    for col, name in zip(st.columns(3), ("trust_score", "safety_score", "responses"), strict=True):
        kpi_tile(kpis[name], k, container=col)
    st.caption(
        "Scores are 0-100 with 95% confidence intervals. "
        f"{change_basis(filters.days, kpis['responses'])} {CHANGE_RULE} "
        f"**Small-n rule:** a group (a community, or the patrol division of a response without one) with "
        f"fewer than {k} responses in this period shows no score, no count and no comments, and is left out "
        f"of every number on this page. Of the {summary['groups']} groups with responses here, "
        f"{summary['suppressed_groups']} {'falls' if summary['suppressed_groups'] == 1 else 'fall'} under {k}; "
        "the tables below badge every suppressed group. "
        f"{SMALL_MARK} marks a small sample (n < {SMALL_SAMPLE_N})."
    )

series = series_q.result()
external = external_q.result()
ext = external[external["metric"] == metric] if not external.empty else external
if split == "none" and not filters.divisions:
    ext_note = (
        "Published scores are per patrol division: choose divisions in the sidebar, or show "
        "*By patrol division*, to see them beside ours."
    )
    ext = ext.iloc[0:0]
else:
    ext_note = (
        "Dashed lines: scores published by others, as imported, named by their source "
        "(areas matched to patrol divisions by name)."
    )
if series.empty:
    empty(NOTHING)
elif (series["status"] != fb.SHOWN).all():
    empty(
        f"Every {grain} here has fewer than {k} responses from reportable groups, so no score can be shown."
    )
else:
    fig = (
        trend_figure(series, ext, metric, k)
        if split == "none"
        else trend_by_division_figure(series, ext, metric, k)
    )
    show(fig, key="fb_trend")
    st.caption(
        f"Line: our {METRIC_LABELS[metric].lower()} score per {grain} with its 95% confidence band and n "
        f"({SMALL_MARK}: small sample, n < {SMALL_SAMPLE_N}). "
        f"Open circles: partial {grain}s at the period's edges. {SUPPRESSED_MARK} on grey: fewer than {k} "
        "responses, or hidden so a small group cannot be worked out from a total; no score, no n. "
        + ("Responses without a patrol division are not drawn per division. " if split == "division" else "")
        + ext_note
    )
    with st.expander("Data behind this chart"):
        table(
            series_table(series, metric, split),
            file_name=f"feedback_{metric}_by_{grain}.csv",
            key="dl_fb_series",
            column_config=number_columns(series_table(series.head(1), metric, split)),
        )
        if not ext.empty:
            table(
                ext[["period_month", "area", "group_name", "metric", "score", "n", "source"]],
                file_name=f"external_{metric}_scores.csv",
                key="dl_fb_external",
            )

# -- where -------------------------------------------------------------------------------------


def community_chart(lowest: fb.CommunityPage, k: int, metric: str, reference: float | None) -> None:
    """The CHART_COMMUNITIES reportable communities with the lowest score (n on each label), and how
    many communities are reportable in all: one point per community of thousands helps nobody."""
    label = METRIC_LABELS[metric].lower()
    if lowest.total == 0:
        empty(
            f"No community has {k} or more responses in this period, so no community {label} score can "
            "be shown. The table below lists every community with its badge."
        )
        return
    rows = lowest.rows.assign(
        chart_label=[
            f"{name} · n = {int(n):,}"
            for name, n in zip(lowest.rows["community_name"], lowest.rows["n"], strict=True)
        ]
    )
    shown = len(rows)
    st.markdown(
        f"**{'The' if shown < lowest.total else 'All'} {shown:,} reportable "
        f"{'community' if shown == 1 else 'communities'} with the lowest {label} score**"
        + (f" (of {lowest.total:,})" if shown < lowest.total else "")
    )
    show(comparison_figure(rows, "chart_label", metric, k, reference), key="fb_comm_chart")
    st.caption(
        f"{lowest.total:,} {'community has' if lowest.total == 1 else 'communities have'} at least {k} "
        f"responses in this period (reportable); the chart shows the {shown:,} with the lowest {label} score, "
        f"lowest at the top, with n on each label. Dot: score; bar: 95% confidence interval; open diamond: small "
        f"sample (n < {SMALL_SAMPLE_N}). Every community, including those with fewer than {k} responses "
        f"({SUPPRESSED_MARK} suppressed: no score, no n), is in the table below."
    )


def community_export(filters: Filters, k: int, divisions: pd.DataFrame, total_trust: float | None) -> None:
    """The whole comparison as CSV (up to COMMUNITY_EXPORT_CAP rows, suppressed as on screen), read from
    the database only when the button is clicked, never on a rerun; audited like every download."""

    def shape(rows: pd.DataFrame) -> pd.DataFrame:
        if not rows.empty:
            rows = fb.add_trust_vs_home(rows, divisions, total_trust)
        return score_table(rows, "community_name", "Community", with_change=False, with_home=True)

    pager.deferred_download(
        fb.comparison_by_community_export,
        filters,
        file_name="feedback_by_community.csv",
        key="dl_fb_comm",
        label="Download every community (CSV)",
        shape=shape,
        help=f"Every row of this comparison (at most {fb.COMMUNITY_EXPORT_CAP:,}) in the table's order; the "
        "name search does not apply.",
        k=k,
        cap=fb.COMMUNITY_EXPORT_CAP,
    )


def community_comparison(
    filters: Filters,
    k: int,
    metric: str,
    divisions: pd.DataFrame,
    total_trust: float | None,
    reference: float | None,
    queries: CommunityQueries,
) -> None:
    """The By community tab: the lowest-scoring chart, then every row paged (and searchable) in SQL."""
    search = queries.search
    result, lowest = queries.pages.result()
    if result.total == 0 and not search:
        empty(NOTHING)
        return
    community_chart(lowest, k, metric, reference)
    st.markdown("**Every community**")
    st.text_input(
        "Find a community by name",
        key="fb_comm_search",
        max_chars=200,
        placeholder="Part of a community's name",
        help="Keeps the rows whose name contains this text (case-insensitive), in the table's order.",
    )
    if result.total == 0:
        # the search text is not echoed back: st.info renders markdown
        empty("No community in this comparison has a name containing that text. Clear the search to see all.")
    else:
        rows = fb.add_trust_vs_home(result.rows, divisions, total_trust)
        shown_table = score_table(rows, "community_name", "Community", with_change=False, with_home=True)
        st.dataframe(
            shown_table,
            hide_index=True,
            width="stretch",
            column_config=number_columns(shown_table),
            height=min(38 + 35 * len(shown_table), 600),
            placeholder="—",  # a hidden (suppressed) number: blank, the Note column says why
        )
        pager.pager_controls(
            "fb_comm_page",
            page=result.page,
            total=result.total,
            page_size=fb.COMMUNITY_PAGE_SIZE,
            noun="rows",
        )
    community_export(filters, k, divisions, total_trust)
    st.caption(
        "Communities first, lowest trust first, then those suppressed (fewer than "
        f"{k} responses: {SUPPRESSED_MARK}, no score, no n) by name; then 'No community recorded' rows, the "
        f"responses that name no community, grouped by patrol division. {fb.COMMUNITY_PAGE_SIZE} rows a page. "
        "Trust vs home division: the community's trust minus its home division's (citywide communities: "
        "minus the total in the filter)."
    )


st.subheader("Where: patrol divisions and communities")
divisions = top.divisions
total_trust = kpis["trust_score"].value
# The same division drops the Overview's needs-attention list flags (real divisions only).
drops = (
    divisions[
        (divisions["trust_change"].str.contains("drop") | divisions["safety_change"].str.contains("drop"))
        & (divisions["division_code"] != fb.NO_DIVISION)
    ]
    if not divisions.empty
    else divisions
)
if not drops.empty:
    st.caption(
        "Notable or significant drops against the period before (also on the Overview's needs-attention list):"
    )
    st.dataframe(
        pd.DataFrame(
            {
                "Change": [
                    "▼ "
                    + "; ".join(
                        f"{lab} in {m}"
                        for m, lab in (("trust", r.trust_change), ("safety", r.safety_change))
                        if "drop" in lab
                    )
                    for r in drops.itertuples()
                ],
                "Patrol division": drops["division_name"],
                "Trust now / before": [
                    f"{a:.1f} / {b:.1f}" if not (pd.isna(a) or pd.isna(b)) else "—"
                    for a, b in zip(drops["trust_score"], drops["trust_prior"], strict=True)
                ],
                "Safety now / before": [
                    f"{a:.1f} / {b:.1f}" if not (pd.isna(a) or pd.isna(b)) else "—"
                    for a, b in zip(drops["safety_score"], drops["safety_prior"], strict=True)
                ],
            }
        ),
        hide_index=True,
        width="stretch",
    )
# Tabs that track their state (without it the browser can show the first tab again after a rerun
# caused by a widget inside the second: a name search, a page change), kept in the URL, and lazy:
# only the open tab's content runs.
tab_div, tab_comm = st.tabs(list(WHERE_TABS), key=WHERE_TAB_KEY, on_change="rerun", bind="query-params")
with tab_div:
    if not tab_div.open:
        pass
    elif divisions.empty:
        empty(NOTHING)
    else:
        show(
            comparison_figure(divisions, "division_name", metric, k, kpis[f"{metric}_score"].value),
            key="fb_div_chart",
        )
        shown_table = score_table(
            divisions, "division_name", "Patrol division", with_change=True, with_home=False
        )
        table(
            shown_table,
            file_name="feedback_by_division.csv",
            key="dl_fb_div",
            column_config=number_columns(shown_table),
        )
        st.caption(
            "Dot: score; bar: 95% confidence interval; open diamond: small sample "
            f"(n < {SMALL_SAMPLE_N}). Change: this period against the one before (z for means; the Overview's "
            "needs-attention list flags the same drops)."
        )
with tab_comm:
    if tab_comm.open:
        community_comparison(
            filters,
            k,
            metric,
            divisions,
            total_trust,
            kpis[f"{metric}_score"].value,
            community_q or community_queries(filters, k, metric),
        )

# -- channels ----------------------------------------------------------------------------------
st.subheader("How people answered: responses by channel")
volume = volume_q.result()
channels = channels_q.result()
if volume.empty:
    empty(NOTHING)
else:
    volume = volume.assign(bucket_end=[fb.bucket_end(b, grain) for b in volume["bucket_start"]])
    show(channel_figure(volume, k), key="fb_channels")
    ch_table = pd.DataFrame(
        {
            "Channel": channels["channel_name"],
            "Responses (n)": channels["n"],
            "Responses prior period": channels["n_prior"],
            "Change z": channels["z"],
            "Change": channels["change"],
            "Note": [badge(t) for t in channels["status_label"]],
        }
    )
    table(
        ch_table,
        file_name="feedback_by_channel.csv",
        key="dl_fb_channels",
        column_config=number_columns(ch_table),
    )
    with st.expander("Data behind this chart"):
        table(
            pd.DataFrame(
                {
                    "Period": volume["bucket_label"],
                    "Channel": [fb.channel_name(c) for c in volume["channel"]],
                    "Responses (n)": volume["n"],
                    "Note": [badge(t) for t in volume["status_label"]],
                }
            ),
            file_name=f"feedback_channels_by_{grain}.csv",
            key="dl_fb_channel_series",
        )

# -- topics ------------------------------------------------------------------------------------
st.subheader("What people are telling us: comment topics")
topics = topics_q.result()
if topics.empty:
    empty(NOTHING if kpis["responses"].suppressed else "No tagged comments for these filters in this period.")
else:
    left, right = st.columns([2, 3])
    with left:
        show(topics_figure(topics, k), key="fb_topics")
    with right:
        trend = trend_q.result()
        if trend.empty or (trend["status"] != fb.SHOWN).all():
            empty(f"Every month × topic here has fewer than {k} responses; see the totals on the left.")
        else:
            show(topic_heatmap(trend), key="fb_topic_trend")
            st.caption(
                f"Responses per month mentioning each topic. {SUPPRESSED_MARK} suppressed: fewer than {k}, or "
                "hidden so a small cell cannot be worked out from the topic's total."
            )
    tp_table = pd.DataFrame(
        {
            "Topic": topics["topic_name"],
            "Responses (n)": topics["n"],
            "Responses prior period": topics["n_prior"],
            "Change z": topics["z"],
            "Change": topics["change"],
            "Note": [badge(t) for t in topics["status_label"]],
        }
    )
    table(
        tp_table, file_name="feedback_topics.csv", key="dl_fb_topics", column_config=number_columns(tp_table)
    )

# -- comments ----------------------------------------------------------------------------------
st.subheader("Comments")
if not allowed("view_comments"):
    st.info(
        "Comment text is shown to analysts and administrators only. Your role sees scores, counts and topics.",
        icon=":material/lock:",
    )
else:
    st.caption(
        f"Only comments from groups with at least {k} responses in this period (a group is a community, or "
        "the patrol division of a response without one). Shown exactly as written, as plain text; newest first."
    )
    topic_options = topic_options_q.result()
    c1, c2 = st.columns([3, 2])
    search = c1.text_input(
        "Search comments", key="fb_search", max_chars=100, placeholder="Words to find, e.g. crosswalk"
    )
    if st.session_state.get("fb_topic") not in ("", *topic_options):
        st.session_state["fb_topic"] = ""
    topic = c2.selectbox(
        "Topic",
        ["", *topic_options],
        format_func=lambda t: "All topics" if not t else fb.topic_name(t),
        key="fb_topic",
    )
    result = cache.query(fb.comment_page, filters, k=k, scope=scope, **comment_args(filters, search, topic))
    if result.total == 0:
        empty("No comments match this search and topic for these filters.")
    else:
        shown_comments = pd.DataFrame(
            {
                "Date": result.rows["response_date"],
                "Community": result.rows["community_name"],
                "Patrol division": result.rows["division_name"],
                "Channel": result.rows["channel"],
                "Topics": result.rows["topics"],
                "Comment": result.rows["comment"],
            }
        )
        event = st.dataframe(
            shown_comments,
            hide_index=True,
            width="stretch",
            key="fb_comments",
            on_select="rerun",
            selection_mode="single-row",
            column_config={
                "Date": st.column_config.DateColumn("Date", format="D MMM YYYY"),
                "Comment": st.column_config.TextColumn("Comment", width="large"),
            },
        )
        pager.pager_controls(
            "fb_comment_page",
            page=result.page,
            total=result.total,
            page_size=fb.COMMENT_PAGE_SIZE,
            noun="comments",
        )
        rows = event.selection.rows if event is not None else []
        if rows:
            picked = shown_comments.iloc[rows[0]]
            st.caption(f"Selected comment · {picked['Date'].day} {picked['Date']:%b %Y}")
            st.text(picked["Comment"])
        else:
            st.caption("Select a row to read the comment in full.")
        download(shown_comments, file_name="feedback_comments_page.csv", key="dl_fb_comments")
