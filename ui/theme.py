"""One palette and one look for every chart, readable in light and dark themes.

Okabe-Ito colours (safe for the common colour-vision deficiencies). Status colours
always come with a text label and a symbol, never colour alone.
"""

from __future__ import annotations

import base64
import json
import math
import os

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
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
    return JsonFigure(dict(data=traces, layout=merged(house, layout or {})))


# Set (tests/conftest.py sets it for every test and the servers tests start): each JsonFigure is
# also built as a Plotly figure, and must come out as the same JSON.
CHECK_ENV_VAR = "CED_CHECK_CHARTS"


class JsonFigure(go.Figure):
    """A chart as the JSON st.plotly_chart sends to the browser, without Plotly's figure objects.

    st.plotly_chart validates a plain dict by building a Plotly figure from it, and takes a
    figure's `to_dict()` as it is. Building the figure (Plotly validates every property, then
    `to_dict` deep-copies it) was a chart page's largest cost after its queries: the Meetings
    page's five charts 30 ms per rerun at S, 2 ms as JSON. So this is a figure only to
    st.plotly_chart (and plotly.io): it holds the dict in the form Plotly's validation writes it
    (`plotly_json`), and `to_dict` and `to_plotly_json` return it; nothing else of go.Figure works
    on it. Plotly still checks every chart in the tests: with CED_CHECK_CHARTS set, each one is
    also built as a Plotly figure and must give the same JSON, so a misspelt property fails there.
    """

    def __init__(self, spec: dict) -> None:  # go.Figure's __init__ is what this skips
        object.__setattr__(self, "_spec", plotly_json(spec))
        if os.environ.get(CHECK_ENV_VAR):
            check_same_as_plotly(spec, self._spec)

    def to_dict(self) -> dict:
        return self._spec

    def to_plotly_json(self) -> dict:
        return self._spec

    def __repr__(self) -> str:
        return f"JsonFigure({len(self._spec.get('data', []))} traces)"


def plotly_json(spec: dict) -> dict:
    """`spec` (data and layout as plain dicts) as Plotly's validation writes it: the default
    template (Streamlit's) in the layout, entries that are None or empty dropped, and each title
    given as a string made {"text": ...} (plotly.js reads only that form). Data arrays are kept."""
    out = _tidy(spec)
    layout = out.setdefault("layout", {})
    if "template" not in layout:
        layout["template"] = _default_template()
    return out


def _tidy(value: dict) -> dict:
    out = {}
    for key, v in value.items():
        if key == "title" and isinstance(v, str):
            v = {"text": v}
        if isinstance(v, dict):
            v = _tidy(v)
        elif isinstance(v, list | tuple) and v and all(isinstance(x, dict) for x in v):
            v = [_tidy(x) for x in v]  # traces, shapes, annotations
        if v is None or (isinstance(v, dict) and not v) or (key in _LAYOUT_ARRAYS and not v):
            continue
        out[key] = v
    return out


# the layout's lists of objects, which Plotly leaves out when empty
_LAYOUT_ARRAYS = frozenset({"annotations", "images", "selections", "shapes", "sliders", "updatemenus"})
_TEMPLATES: dict[str, dict] = {}


def _default_template() -> dict:
    name = pio.templates.default
    if name not in _TEMPLATES:
        _TEMPLATES[name] = pio.templates[name].to_plotly_json()
    return _TEMPLATES[name]


def check_same_as_plotly(spec: dict, ours: dict) -> None:
    """Raise ValueError naming the first place where `ours` (a JsonFigure's JSON) differs from
    what Plotly makes of `spec`: Plotly builds the figure (raising on an invalid property), and
    the two JSON texts, read back, must hold the same values (Plotly writes numeric arrays as
    base64 typed arrays, and NaN for a missing number, where the plain JSON has a list and null)."""
    plotly = _comparable(json.loads(pio.to_json(go.Figure(spec), validate=False)))
    plain = _comparable(json.loads(pio.to_json(ours, validate=False)))
    where = _first_difference("figure", plotly, plain)
    if where is not None:
        raise ValueError(f"a chart's JSON differs from Plotly's at {where}")


def _comparable(value):
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:
            arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
            if "shape" in value:
                arr = arr.reshape([int(n) for n in str(value["shape"]).split(",")])
            return _comparable(arr.tolist())
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _first_difference(path: str, a, b) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key} (only in {'ours' if key in b else 'Plotly’s'})"
            found = _first_difference(f"{path}.{key}", a[key], b[key])
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(f"{path}[{i}]", x, y)
            if found:
                return found
        return None
    return None if a == b else f"{path}: Plotly {str(a)[:60]!r}, ours {str(b)[:60]!r}"


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
