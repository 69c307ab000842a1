"""Page furniture shared by every page: header with caption, KPI tiles, tables with CSV download."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from data_access.export import safe_csv
from data_access.filters import Filters
from data_access.metrics import format_value, metric
from data_access.overview import Kpi
from ui import auth
from ui.audit import export_data
from ui.auth import allowed
from ui.filters import names
from ui.text import plain_md
from ui.theme import empty


def header(title: str, question: str, filters: Filters) -> None:
    st.title(title)
    st.caption(f"{question}  \n**Showing:** {plain_md(filters.caption(names(filters.communities)))}")


CHANGE_RULE = "A change is **notable** at |z| ≥ 2 and **significant** at |z| ≥ 3; anything smaller is within normal variation."


def change_basis(days: int, compared: Kpi) -> str:
    """What a row of KPI tiles' changes compare with, judged by one of its tiles (`compared`): the
    days immediately before, or nothing when those days hold no records (kpi.prior_unrecorded)."""
    if compared.value is not None and compared.prior is None:
        return f"The {days} days before this period hold no records, so no change is shown."
    return f"Changes compare with the {days} days immediately before."


def kpi_tile(kpi: Kpi, k: int, container=None) -> None:
    """A metric tile whose delta says how the change compares with normal variation (never a bare %)."""
    m = metric(kpi.metric)
    target = container or st
    help_text = m.description
    if kpi.suppressed:
        target.metric(
            m.label, f"suppressed (n < {k})", help=help_text + " Too few responses to show.", border=True
        )
        return
    value = format_value(kpi.metric, kpi.value)
    if kpi.n is not None:
        value += f"  (n = {kpi.n:,})"
    delta = None
    color = "off"
    if kpi.value is not None and kpi.prior is not None:
        diff = kpi.value - kpi.prior
        shown = (
            f"{100 * diff:+.0f} pts"
            if m.fmt == "pct"
            else f"{diff:+,.1f}"
            if m.fmt in ("score", "float", "fte")
            else f"{diff:+,.0f}"
        )
        label = kpi.change
        delta = f"{shown} · {label}" + (f" (z = {kpi.z:+.1f})" if kpi.z is not None else "")
        if label != "within normal variation" and m.higher_is_better is not None:
            color = "normal" if m.higher_is_better else "inverse"
        help_text += f" Prior period: {format_value(kpi.metric, kpi.prior)}."
    elif kpi.value is not None:
        delta, color = "no prior period to compare", "off"
    if kpi.small_sample:
        help_text += " Small sample (n < 30): read with care."
    target.metric(
        m.label,
        value,
        delta=delta,
        delta_color=color,
        help=help_text,
        border=True,
        delta_arrow="auto" if color != "off" else "off",
    )


def table(
    df: pd.DataFrame,
    *,
    file_name: str,
    key: str,
    column_config: dict | None = None,
    height: int | str = "auto",
    empty_message: str | None = None,
    everything: Callable[[], pd.DataFrame] | None = None,
) -> None:
    """A read-only table with a formula-safe CSV download of exactly what is shown, or of
    `everything()` (read when the file is asked for) when the table shows only the top of a list."""
    _with_download(
        df,
        lambda: st.dataframe(
            df, hide_index=True, column_config=column_config, height=height, width="stretch"
        ),
        file_name=file_name,
        key=key,
        empty_message=empty_message,
        everything=everything,
    )


ROW_PX = 42  # about one row of a Markdown table with one line per cell


def plain_table(
    df: pd.DataFrame,
    columns: dict[str, str],
    *,
    file_name: str,
    key: str,
    empty_message: str | None = None,
    everything: Callable[[], pd.DataFrame] | None = None,
    scroll_after: int | None = None,
) -> None:
    """`table` for a short list on a page that must show at once: `columns` (name -> header) as a
    Markdown table, long text wrapped; a list of more than `scroll_after` rows scrolls in a box
    about that many rows high. The same CSV download. st.dataframe and st.table load the
    browser's Arrow table code on a session's first table, and the elements above one appear
    only once it has loaded: in this headless Chromium a bare app's first KPI tile took 1.5 s,
    with one 20-row table below it 2.4-2.6 s, with a Markdown table 1.5 s. Every cell is escaped
    (`plain_md`), so imported text stays text."""

    def draw() -> None:
        text = "\n".join(
            [
                "| " + " | ".join(plain_md(h) for h in columns.values()) + " |",
                "|" + "---|" * len(columns),
                *(
                    "| " + " | ".join(plain_md(v) for v in row) + " |"
                    for row in df[list(columns)].itertuples(index=False, name=None)
                ),
            ]
        )
        if scroll_after is not None and len(df) > scroll_after:
            st.container(height=ROW_PX * (scroll_after + 1), border=False).markdown(text)
        else:
            st.markdown(text)

    _with_download(df, draw, file_name=file_name, key=key, empty_message=empty_message, everything=everything)


def _with_download(
    df: pd.DataFrame,
    draw: Callable[[], object],
    *,
    file_name: str,
    key: str,
    empty_message: str | None,
    everything: Callable[[], pd.DataFrame] | None,
) -> None:
    """The empty state for an empty `df`; otherwise `draw()` and the CSV download below it."""
    if df.empty:
        empty(empty_message) if empty_message else empty()
        return
    draw()
    download(df if everything is None else everything, file_name=file_name, key=key)


def download(
    data: pd.DataFrame | Callable[[], pd.DataFrame], *, file_name: str, key: str, label: str = "Download CSV"
) -> None:
    """Formula-safe CSV download, offered only to roles that may export. The file is written when
    the button is clicked, not on every rerun (the page's CSVs were a tenth of a cached rerun);
    `data` may be a function giving the frame then (a list longer than the page fetched)."""
    user = auth.current_user()
    if not allowed("export", user):
        return

    def build() -> tuple[bytes, int]:
        df = data() if callable(data) else data
        return safe_csv(df), len(df)

    st.download_button(
        label,
        export_data(file_name, build, user),
        file_name=file_name,
        mime="text/csv",
        key=key,
        icon=":material/download:",
        on_click="ignore",  # no rerun: see ui.audit.export_data
    )
