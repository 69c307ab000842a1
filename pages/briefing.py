"""Briefing: what do command staff or a community board need to see, on one shared screen?

A deck of slides (overview, coverage, staffing, feedback) in large type with the
sidebar hidden. Next / previous buttons (and the arrow keys) move through it, an
optional timer advances it, and the slide number lives in the URL (`slide=2`), so a
copied link opens the same slide with the same global filters. Every slide carries
the snapshot stamp: what the filters are, when data was last imported, the data's
latest date. One click exports the whole deck as a self-contained HTML file.
"""

from __future__ import annotations

import time

import streamlit as st

from data_access.reference import last_import_time, latest_data_date
from data_access.settings import small_n_k
from ui import cache
from ui.audit import export_data
from ui.auth import allowed
from ui.briefing import (
    BRIEFING_CSS,
    SLIDE_KEYS,
    build_deck,
    build_slide,
    deck_stamp,
    render_slide,
    slide_queries,
    slide_scope,
)
from ui.briefing_html import deck_html
from ui.filters import names

SLIDE_KEY = "briefing_slide"  # 0-based index of the slide on screen
WRITTEN_KEY = "_briefing_slide_written"  # the URL value this page last wrote
TICK_KEY = "_briefing_shown_at"
INTERVALS = (10, 20, 30, 60)

st.html(BRIEFING_CSS)

filters = st.session_state["filters"]
k = small_n_k()
total = len(SLIDE_KEYS)
state = st.session_state


def _from_url() -> int | None:
    raw = st.query_params.get("slide")
    try:
        return min(max(int(raw), 1), total) - 1 if raw is not None else None
    except ValueError:
        return None


# The URL wins when it differs from what this page last wrote (a pasted link, a reload);
# otherwise the session's slide stands (a click changed it before this run).
url_slide = _from_url()
if st.query_params.get("slide") != state.get(WRITTEN_KEY) and url_slide is not None:
    state[SLIDE_KEY] = url_slide
index = min(max(int(state.get(SLIDE_KEY, 0)), 0), total - 1)
state[SLIDE_KEY] = index
state[WRITTEN_KEY] = str(index + 1)
st.query_params["slide"] = str(index + 1)
state[TICK_KEY] = time.monotonic()


def _step(delta: int) -> None:
    state[SLIDE_KEY] = (int(state.get(SLIDE_KEY, 0)) + delta) % total


# Only the slide on screen is built: its queries start together on ui.cache's worker threads (the
# feedback scope first, when the slide reads it). The export builds every slide on click.
scope = slide_scope(cache.query, filters, k, index)
for query_fn, kwargs in slide_queries(index, k, scope):
    cache.ahead(query_fn, filters, **kwargs)
reference_names = names(filters.communities)
slide = build_slide(cache.query, filters, index, k=k)
stamp = deck_stamp(filters, reference_names, cache.lookup(latest_data_date), cache.lookup(last_import_time))
database = cache.database()  # resolved here: the export is built outside the script thread


def _deck_file() -> tuple[bytes, None]:
    """The whole deck as one HTML file, read fresh (its stamp too) when the browser asks for it."""
    with database.connect() as conn:
        deck = build_deck(
            lambda fn, f, **kw: fn(conn, f, **kw),
            filters,
            k=k,
            names=reference_names,
            data_through=latest_data_date(conn),
            imported_at=last_import_time(conn),
        )
    return deck_html(deck).encode("utf-8"), None


def controls() -> None:
    """Presenter controls, beside the slide title: previous / next (arrow keys), auto-advance, export, exit."""
    with st.container(horizontal=True, horizontal_alignment="right", vertical_alignment="center"):
        st.button(
            "Previous",
            icon=":material/arrow_back:",
            on_click=_step,
            args=(-1,),
            key="briefing_prev",
            shortcut="Left",
        )
        st.button(
            "Next",
            icon=":material/arrow_forward:",
            on_click=_step,
            args=(1,),
            key="briefing_next",
            shortcut="Right",
            type="primary",
        )
        st.toggle("Auto-advance", value=False, key="briefing_auto")
        st.selectbox(
            "Seconds per slide",
            INTERVALS,
            index=1,
            key="briefing_interval",
            disabled=not state.get("briefing_auto", False),
            label_visibility="collapsed",
            format_func=lambda s: f"every {s} s",
            width=140,
        )
    with st.container(horizontal=True, horizontal_alignment="right", vertical_alignment="center"):
        if allowed("export"):
            export_name = f"briefing_{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.html"
            st.download_button(
                "Export deck (HTML)",
                data=export_data(export_name, _deck_file),
                file_name=export_name,
                mime="text/html",
                key="briefing_export",
                icon=":material/download:",
                on_click="ignore",  # no rerun; the export is audited when the file is built
            )
        st.page_link("pages/overview.py", label="Leave briefing", icon=":material/close:")


render_slide(slide, number=index + 1, total=total, stamp=stamp, controls=controls)
auto = bool(state.get("briefing_auto", False))
seconds = int(state.get("briefing_interval", INTERVALS[1]))

if auto:

    @st.fragment(run_every=seconds)
    def _advance() -> None:
        # Runs with every full run (elapsed ≈ 0: nothing happens) and then every `seconds`.
        if time.monotonic() - state.get(TICK_KEY, 0.0) >= seconds - 0.5:
            _step(1)
            st.rerun(scope="app")

    _advance()
