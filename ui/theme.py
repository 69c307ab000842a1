"""One palette and one look for every chart, readable in light and dark themes.

Okabe-Ito colours (safe for the common colour-vision deficiencies). Status colours
always come with a text label and a symbol, never colour alone.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
STATUS_COLOURS = {
    "on track": "#009E73",
    "due": "#E69F00",
    "overdue": "#D55E00",
    "never met": "#999999",
}
STATUS_SYMBOLS = {"on track": "✓", "due": "◐", "overdue": "▲", "never met": "○"}
EMPTY_MESSAGE = "No data for these filters. Widen the period or clear a filter."
PAGE_ICON = "🤝"  # the browser tab's icon (app.py)


def status_label(status: str) -> str:
    return f"{STATUS_SYMBOLS.get(status, '')} {status}".strip()


def house_layout(title: str | None, height: int) -> dict:
    return dict(
        colorway=PALETTE,
        height=height,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        title=dict(text=title) if title else None,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0, title=None),
        hovermode="x unified",
        font=dict(size=14),
    )


def style(
    fig: go.Figure, *, title: str | None = None, height: int = 360, y_title: str | None = None
) -> go.Figure:
    """The house look on a figure built trace by trace (subplots: every axis gets the y title)."""
    fig.update_layout(house_layout(title, height))
    if y_title is not None:
        fig.update_yaxes(title=y_title)
    fig.update_xaxes(title=None)
    return fig


def figure(
    traces: list[dict],
    *,
    height: int = 360,
    title: str | None = None,
    y_title: str | None = None,
    layout: dict | None = None,
) -> go.Figure:
    """A one-axis chart in the house look, built in one go from plain trace and layout dicts.

    The same figure `style` gives after `add_bar`/`update_layout` calls, 3-6× faster to build:
    each of those calls re-validates and re-lays-out the figure, a rerun's largest cost after the
    queries. `layout` entries win over the house look; dict entries (an axis, the legend, the
    margin) are merged key by key.
    """
    house = house_layout(title, height)
    house["xaxis"] = dict(title=None)
    house["yaxis"] = dict(title=y_title) if y_title is not None else {}
    return go.Figure(dict(data=traces, layout=merged(house, layout or {})))


def merged(base: dict, extra: dict) -> dict:
    """`base` updated with `extra`, dict values merged key by key at every depth (as Plotly's
    update_layout merges), so one layout dict can say what several update calls said."""
    out = dict(base)
    for key, value in extra.items():
        old = out.get(key)
        out[key] = merged(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


def reference_line(*, x: float | None = None, y: float | None = None, text: str, line: dict) -> dict:
    """Layout entries for `figure`: a dotted reference line across the plot at `x` (labelled above
    it) or at `y` (labelled at its right end, above it). The shape and annotation fig.add_vline /
    add_hline would add (annotation_position "top" / "top right"), without their cost: each call
    re-lays-out the whole figure, ~20 ms."""
    if (x is None) == (y is None):
        raise ValueError("give x for a vertical line or y for a horizontal one")
    if x is not None:
        shape = dict(type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain", line=line)
        label = dict(x=x, xanchor="center", xref="x", y=1, yanchor="bottom", yref="y domain")
    else:
        shape = dict(type="line", x0=0, x1=1, xref="x domain", y0=y, y1=y, yref="y", line=line)
        label = dict(x=1, xanchor="right", xref="x domain", y=y, yanchor="bottom", yref="y")
    return dict(shapes=[shape], annotations=[dict(showarrow=False, text=text, **label)])


def show(fig: go.Figure, *, key: str | None = None) -> None:
    st.plotly_chart(fig, width="stretch", theme="streamlit", key=key, config={"displaylogo": False})


def empty(message: str = EMPTY_MESSAGE) -> None:
    """The one empty state every chart and table uses."""
    st.info(message, icon=":material/info:")
