"""Every registered page runs through Streamlit's AppTest with no exception, at default and narrowed filters."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def registered_pages() -> list[str]:
    """The page files listed in app.py's PAGES (read from the source, so a new page is tested automatically)."""
    tree = ast.parse((ROOT / "app.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "PAGES":
            return [elt.elts[0].value for elt in node.value.elts if (ROOT / elt.elts[0].value).exists()]
    raise AssertionError("PAGES not found in app.py")


@pytest.fixture
def at(sample_db_url, monkeypatch):
    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def test_overview_is_the_default_page(at):
    at.run()
    assert not at.exception
    assert at.title[0].value == "Overview"


@pytest.mark.parametrize("page", registered_pages())
def test_page_runs_without_exception(at, page):
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]


@pytest.mark.parametrize("page", registered_pages())
def test_page_runs_with_narrow_filters_and_an_empty_period(at, page):
    at.query_params["community"] = "C004"
    at.query_params["division"] = "EAST"
    at.query_params["period"] = "custom"
    at.query_params["from"] = "2020-01-01"
    at.query_params["to"] = "2020-01-31"  # before any data: every view must show its empty state
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]


def test_url_filters_are_read_and_unknown_codes_dropped(at):
    at.query_params["community"] = ["C004", "NOPE"]
    at.query_params["unit"] = "' OR '1'='1"
    at.run()
    assert at.multiselect(key="f_communities").value == ["C004"]
    assert at.multiselect(key="f_units").value == []
    assert any("Ignored unknown link values" in w.value for w in at.warning)


def test_reset_restores_default_filters(at):
    at.query_params["division"] = "EAST"
    at.query_params["period"] = "ytd"
    at.run()
    assert at.multiselect(key="f_divisions").value == ["EAST"]
    at.button(key="f_reset").click().run()
    assert at.multiselect(key="f_divisions").value == []
    assert at.selectbox(key="f_period").value == "last_90"
    assert not at.exception
