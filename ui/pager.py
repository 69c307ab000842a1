"""Paginated tables and deferred exports: never more than one page of rows reaches the browser.

`requested_page` keeps a 1-based page in session state (reset to 1 when the query
behind the table changes); `pager_controls` draws previous/next controls for the
page the query actually returned (clamped when the total shrank).
`deferred_download` offers a formula-safe CSV whose rows are fetched only when
the button is clicked, on Streamlit's download thread, so a rerun never pays for
an export nobody asked for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd
import streamlit as st

from data_access.export import safe_csv
from data_access.filters import Filters
from ui import auth, cache
from ui.audit import export_data
from ui.auth import allowed


def page_count(total: int, page_size: int) -> int:
    return max(1, math.ceil(max(total, 0) / page_size))


def requested_page(key: str, *, query: Hashable) -> int:
    """The page (1-based) the user asked for; `query` is anything that identifies the rows (filters,
    search, sort): when it changes the table goes back to page 1. Pass the result to the paginated
    query, which clamps it to the last page."""
    sig_key = f"{key}__query"
    if st.session_state.get(sig_key) != query:
        st.session_state[sig_key] = query
        st.session_state[key] = 1
    return max(1, int(st.session_state.get(key, 1)))


def _step(key: str, delta: int, pages: int) -> None:
    st.session_state[key] = min(max(1, int(st.session_state.get(key, 1)) + delta), pages)


def pager_controls(key: str, *, page: int, total: int, page_size: int, noun: str = "rows") -> None:
    """Previous / next buttons, a page box and 'rows 51–100 of 1,234', for the page the query returned
    (`page`, already clamped), so draw it after the paginated query."""
    pages = page_count(total, page_size)
    st.session_state[key] = page
    first = 0 if total == 0 else (page - 1) * page_size + 1
    last = min(page * page_size, total)
    left, box, right, info = st.columns([1.2, 1.4, 1.2, 6], vertical_alignment="center")
    left.button(
        "Previous",
        key=f"{key}__prev",
        icon=":material/chevron_left:",
        disabled=page <= 1,
        on_click=_step,
        args=(key, -1, pages),
        width="stretch",
    )
    box.number_input(
        "Page",
        min_value=1,
        max_value=pages,
        step=1,
        key=key,
        label_visibility="collapsed",
        help=f"Page number, 1 to {pages}",
    )
    right.button(
        "Next",
        key=f"{key}__next",
        icon=":material/chevron_right:",
        icon_position="right",
        disabled=page >= pages,
        on_click=_step,
        args=(key, 1, pages),
        width="stretch",
    )
    info.caption(f"Page {page:,} of {pages:,} · {noun} {first:,}–{last:,} of {total:,}")


def deferred_download(
    fn: Callable[..., pd.DataFrame],
    filters: Filters,
    *,
    file_name: str,
    key: str,
    label: str = "Download CSV",
    rename: dict[str, str] | None = None,
    shape: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    help: str | None = None,
    **kwargs: Any,
) -> None:
    """A formula-safe CSV download of `fn(conn, filters, **kwargs)`, queried only when clicked and never
    cached (an export can be large). Offered only to roles that may export. `shape` turns the query's
    frame into the file's (as the page shows it), `rename` then renames columns; the audit line
    records the rows the file holds."""
    user = auth.current_user()
    if not allowed("export", user):
        return
    database = cache.database()  # resolved here: the click runs outside the script thread

    def build() -> tuple[bytes, int]:
        with database.connect() as conn:
            df = fn(conn, filters, **kwargs)
        if shape is not None:
            df = shape(df)
        return safe_csv(df.rename(columns=rename or {})), len(df)

    st.download_button(
        label,
        export_data(file_name, build, user),
        file_name=file_name,
        mime="text/csv",
        key=key,
        icon=":material/download:",
        on_click="ignore",  # no rerun: see ui.audit.export_data
        help=help,
    )
