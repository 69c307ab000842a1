"""Server entry point: `streamlit run serve.py` serves app.py with a start-up hook.

The hook runs once when the server starts, before any browser connects:
- it tells Streamlit this app routes with st.navigation. Streamlit otherwise treats a
  folder named `pages/` as the old automatic multipage mode until app.py has run once
  in the process, so a copied deep link (/coverage?…) opened first after a restart
  would run the page without the app frame;
- it builds the database from sample_data/ if missing, imports the heavy modules and runs the
  first page's queries at the default filters through the query cache (ui.warmup), and pays
  Streamlit's own one-off first-run costs, so the first visitor pays for none of it (SPEC §6:
  first page ≤ 2 s). The server reports healthy only after;
- last, it freezes what start-up left alive (ui.warmup.settle), so that the full garbage
  collection Streamlit runs after every script run does not walk it each time.
"""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

import streamlit as st
from streamlit.logger import get_logger
from streamlit.runtime.pages_manager import PagesManager

_LOG = get_logger("ced.serve")
# the warm-up runs cached functions outside any session, which this logger warns about each time
_NO_CONTEXT_LOG = "streamlit.runtime.scriptrunner_utils.script_run_context"


@asynccontextmanager
async def _startup(_app: st.App):
    PagesManager.uses_pages_directory = False
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401

    from data_access.importer import ensure_database
    from ui import warmup

    ensure_database()
    quiet = logging.getLogger(_NO_CONTEXT_LOG)
    level, quiet.level = quiet.level, logging.ERROR
    try:
        took = warmup.warm()
    finally:
        quiet.setLevel(level)
    _LOG.info("warmed the first page's queries: %s", ", ".join(f"{k} {v:.2f} s" for k, v in took.items()))
    _first_run_costs()
    _LOG.info("froze %d start-up objects out of the post-run garbage collection", warmup.settle())
    yield
    gc.unfreeze()  # so that they are collected at exit like everything else


def _first_run_costs() -> None:
    """Pay here two one-off costs of the first script run in a process, which the first visitor
    would otherwise wait for (together about 0.1 s, far more on a busy machine): Streamlit checks
    once whether it runs in a REPL when any session first draws an element (inspect.stack() over
    the script's deep stack; here the stack is short), and compiles its emoji pattern when
    set_page_config first gets an emoji icon."""
    from streamlit.string_util import is_emoji

    from ui.theme import PAGE_ICON

    quiet = logging.getLogger(_NO_CONTEXT_LOG)
    level, quiet.level = quiet.level, logging.ERROR
    try:
        st.empty()  # outside any session: draws nothing, runs the one-off check
    finally:
        quiet.setLevel(level)
    is_emoji(PAGE_ICON)


app = st.App("app.py", lifespan=_startup)
