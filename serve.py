"""Server entry point: `streamlit run serve.py` serves app.py with a start-up hook.

The hook runs once when the server starts, before any browser connects:
- it tells Streamlit this app routes with st.navigation. Streamlit otherwise treats a
  folder named `pages/` as the old automatic multipage mode until app.py has run once
  in the process, so a copied deep link (/coverage?…) opened first after a restart
  would run the page without the app frame;
- it builds the database from sample_data/ if missing and imports the heavy modules,
  so the first visitor does not pay for them (SPEC §6: first page ≤ 2 s).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


@asynccontextmanager
async def _startup(_app: st.App):
    PagesManager.uses_pages_directory = False
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401

    from data_access.db import Database
    from data_access.importer import ensure_database
    from data_access.reference import latest_data_date

    ensure_database()
    database = Database()
    with database.connect() as conn:
        latest_data_date(conn)
    database.dispose()
    yield


app = st.App("app.py", lifespan=_startup)
