"""Overview: how are we doing this period, and what needs the Major's attention now?"""

from __future__ import annotations

import streamlit as st

from data_access.feedback import scope as feedback_scope
from data_access.overview import (
    NEEDS_COMMUNITY_ROWS,
    OVERDUE_KIND,
    OVERVIEW_SCOPE,
    needs_attention,
    needs_count_words,
    overview_page,
)
from data_access.settings import small_n_k
from ui import cache
from ui.widgets import CHANGE_RULE, change_basis, header, kpi_tile, plain_table

NEEDS_ROWS_SHOWN = 14  # a longer list scrolls in a box this many rows high
KIND_ICONS = {
    "Overdue community": "▲",
    "Unit below 85% filled": "◆",
    "No meetings logged": "○",
}

filters = st.session_state["filters"]
k = small_n_k()
header("Overview", "How are we doing this period, and what needs attention now?", filters)

page = cache.query(
    overview_page, filters, k=k, scope=cache.query(feedback_scope, filters, k=k, **OVERVIEW_SCOPE)
)
kpis = page.kpis
row1 = st.columns(3)
row2 = st.columns(3)
for col, name in zip(
    row1 + row2,
    ["meetings_held", "coverage_rate", "open_follow_ups", "vacancy_rate", "trust_score", "safety_score"],
    strict=True,
):
    kpi_tile(kpis[name], k, container=col)
st.caption(f"{change_basis(filters.days, kpis['meetings_held'])} {CHANGE_RULE}")

st.subheader("Needs attention")
items = page.needs
if not items.empty:
    st.markdown(" · ".join(f"**{n:,}** {needs_count_words(kind, n)}" for kind, n in page.counts.items()))
    items = items.assign(kind=[f"{KIND_ICONS.get(k_, '▼')} {k_}" for k_ in items["kind"]])
if not page.complete:
    overdue = page.counts[OVERDUE_KIND]
    st.caption(
        f"Showing the {NEEDS_COMMUNITY_ROWS} most overdue of {overdue:,} overdue communities, and every other item. "
        "The Coverage page's worklist pages through them all; the CSV download holds the whole list."
    )
    st.page_link("pages/coverage.py", label="Open the Coverage worklist", icon=":material/checklist:")
plain_table(  # Markdown, not a dataframe: the first page shows at once (ui.widgets.plain_table)
    items,
    {"kind": "What", "subject": "Who", "detail": "Detail"},
    # the whole list, read through the cache when the CSV is asked for (as the Briefing's slide)
    everything=None if page.complete else lambda: cache.query(needs_attention, filters, k=k),
    file_name="needs_attention.csv",
    key="dl_needs_attention",
    scroll_after=NEEDS_ROWS_SHOWN,
    empty_message="Nothing needs attention for these filters: every community is within 1.5× its cadence, "
    "every unit is at least 85% filled, no score fell notably and every unit logged meetings.",
)
