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


def status_label(status: str) -> str:
    return f"{STATUS_SYMBOLS.get(status, '')} {status}".strip()


def style(
    fig: go.Figure, *, title: str | None = None, height: int = 360, y_title: str | None = None
) -> go.Figure:
    fig.update_layout(
        colorway=PALETTE,
        height=height,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        title=dict(text=title) if title else None,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0, title=None),
        hovermode="x unified",
        font=dict(size=14),
    )
    if y_title is not None:
        fig.update_yaxes(title=y_title)
    fig.update_xaxes(title=None)
    return fig


def show(fig: go.Figure, *, key: str | None = None) -> None:
    st.plotly_chart(fig, width="stretch", theme="streamlit", key=key, config={"displaylogo": False})


def empty(message: str = EMPTY_MESSAGE) -> None:
    """The one empty state every chart and table uses."""
    st.info(message, icon=":material/info:")
