"""Browser journeys through the sidebar's Communities control, in both of its modes.

The sample has 41 active communities, under the 2,000 threshold: one full list. A second server
with CED_COMMUNITY_LIST_MAX=10 shows the search mode a database of 34,000 communities gets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LOOPBACK_ONLY, App, streamlit_server


@pytest.fixture(scope="module")
def search_server(e2e_db_url: str, server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("search_server") / "streamlit.log"
    env = {"CED_DATABASE_URL": e2e_db_url, "CED_TEST_HOOKS": "1", "CED_COMMUNITY_LIST_MAX": "10"}
    with streamlit_server(env, log_path) as url:
        yield url


@pytest.fixture
def search_app(browser, search_server: str) -> Iterator[App]:
    ctx = browser.new_context(base_url=search_server, viewport={"width": 1400, "height": 900})
    ctx.route(LOOPBACK_ONLY, lambda route: route.abort())
    ctx.set_default_timeout(30_000)
    yield App(ctx.new_page(), search_server)
    ctx.close()


def _showing(app: App):
    return app.page.get_by_test_id("stCaptionContainer").filter(has_text="Showing:")


def test_few_communities_are_one_list_to_pick_from(app):
    app.goto("/")
    sidebar = app.page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_label("Find a community")).to_have_count(0)
    combo = sidebar.get_by_role("combobox", name="Communities")
    combo.click()
    app.page.wait_for_timeout(300)
    app.shot("sidebar_full_list_open", full_page=False)
    # the list is virtualised (only what fits is in the DOM): it starts with the first name
    options = app.page.get_by_role("option").filter(has_not_text="Select all")
    expect(options.first).to_have_text("African American community")
    combo.press_sequentially("Sikh")
    app.rerun(lambda: app.page.get_by_role("option", name="Sikh community", exact=True).click())
    app.page.keyboard.press("Escape")
    expect(app.page.get_by_role("option")).to_have_count(0)  # the list has closed
    expect(_showing(app)).to_contain_text("Sikh community")
    app.shot("sidebar_full_list_chosen", full_page=False)
    assert app.errors == []


def test_many_communities_are_searched_and_a_deep_link_still_works(search_app):
    app = search_app
    app.goto("/?community=C038&community=NOPE")
    sidebar = app.page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Ignored unknown link values: community=NOPE")).to_be_visible()
    expect(sidebar.locator("[data-tag]")).to_have_count(1)
    expect(sidebar.locator("[data-tag]")).to_contain_text("Muslim Students Association")
    expect(sidebar.get_by_text("41 active communities; the first 10 by name are listed.")).to_be_visible()
    expect(_showing(app)).to_contain_text("Muslim Students Association")
    app.shot("sidebar_search_deep_link", full_page=False)

    box = sidebar.get_by_label("Find a community")
    box.fill("east")
    app.rerun(lambda: box.press("Enter"))
    expect(sidebar.get_by_text("5 communities match “east”.")).to_be_visible()
    combo = sidebar.get_by_role("combobox", name="Communities")
    combo.click()
    # the five matches (and Streamlit's "Select all"); the chosen one is a chip, not an option
    app.page.wait_for_timeout(300)
    app.shot("sidebar_search_east_open", full_page=False)
    options = app.page.get_by_role("option").filter(has_not_text="Select all")
    expect(options).to_have_text(
        [
            "East apartment communities",
            "East interfaith council",
            "East merchants association",
            "East neighborhood watch",
            "Eastside Family Shelter",
        ]
    )
    app.rerun(lambda: app.page.get_by_role("option", name="East interfaith council", exact=True).click())
    app.page.keyboard.press("Escape")
    expect(app.page.get_by_role("option")).to_have_count(0)
    expect(sidebar.locator("[data-tag]")).to_have_count(2)
    expect(_showing(app)).to_contain_text(
        "East interfaith council, Muslim Students Association"
    )  # Filters sorts ids
    expect(app.page).to_have_url(re.compile(r"community=C038&community=C015"))

    box.fill("zz_%")
    app.rerun(lambda: box.press("Enter"))
    expect(sidebar.get_by_text("No active community name contains “zz_%”.")).to_be_visible()
    expect(sidebar.locator("[data-tag]")).to_have_count(2)  # the choice survives a search without matches
    app.shot("sidebar_search_no_match", full_page=False)
    expect(app.page.get_by_test_id("stException")).to_have_count(0)
    assert app.errors == []
