"""Frame and router: page config, the shared filter sidebar, navigation, URL sync. Nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from ui import audit, filters
from ui.theme import PAGE_ICON

HERE = Path(__file__).parent

st.set_page_config(page_title="Community Engagement", page_icon=PAGE_ICON, layout="wide")

PAGES = [
    ("pages/overview.py", "Overview", ":material/dashboard:"),
    ("pages/meetings.py", "Meetings", ":material/groups:"),
    ("pages/coverage.py", "Coverage", ":material/fact_check:"),
    ("pages/staffing.py", "Staffing", ":material/badge:"),
    ("pages/feedback.py", "Feedback", ":material/forum:"),
    ("pages/briefing.py", "Briefing", ":material/slideshow:"),
    ("pages/data.py", "Data", ":material/upload_file:"),
]
pages = [
    st.Page(path, title=title, icon=icon, default=(i == 0))
    for i, (path, title, icon) in enumerate(PAGES)
    if (HERE / path).exists()
]
nav = st.navigation(pages)
st.session_state["filters"] = filters.sidebar()

# Test hook (browser tier): proves the "no exception" checks can fail. Off unless the env var is set.
if os.environ.get("CED_TEST_HOOKS") == "1" and st.query_params.get("boom") == "1":
    raise RuntimeError("boom: test hook raised on purpose")

audit.page_view(nav.title)  # one audit line on entering a sensitive page (Data, Feedback)
nav.run()
