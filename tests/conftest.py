"""Shared pytest setup: the project root on sys.path, and the sample database built once per session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# every chart a test draws (in AppTest, or in a server a test starts) is also built and checked by
# Plotly, and must give the same JSON (ui.theme.JsonFigure)
os.environ["CED_CHECK_CHARTS"] = "1"


@pytest.fixture(scope="session")
def sample_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database built from sample_data/ through the importer, in a temp folder (never the user's data/)."""
    from data_access.importer import import_files, sample_files

    url = f"duckdb:///{tmp_path_factory.mktemp('sample') / 'engagement.duckdb'}"
    results = import_files(sample_files(), user="test", url=url)
    assert all(r.committed for r in results), [r.summary() for r in results]
    return url


@pytest.fixture(scope="session")
def sample_db(sample_db_url: str):
    from data_access.db import Database

    return Database(sample_db_url)


@pytest.fixture(autouse=True)
def _navigation_routing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run AppTest the way the server runs the app: app.py routes with st.navigation.

    AppTest resets Streamlit's legacy-multipage flag before every run, and because our
    page folder is named `pages/`, every rerun after a page switch would otherwise run the
    page file alone, without app.py's sidebar, filters and audit line (serve.py does the
    same fix for the real server).
    """
    from streamlit.runtime import pages_manager

    original = pages_manager.PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        pages_manager.PagesManager.uses_pages_directory = False

    monkeypatch.setattr(pages_manager.PagesManager, "__init__", init)
