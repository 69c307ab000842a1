"""Browser journeys through the Feedback page.

1. On the sample database: the trend, the comparison (with the four small communities shown as
   suppressed), channels, topics and the comment browser's search all render; a split by patrol
   division draws one panel per division; nothing raises, no dialog opens, no page error.
2. On a tiny database whose comments are script-injection strings, served by a second server:
   the comments show literally and no script from them runs (`window.__xss` stays undefined,
   no dialog fires).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import App, _require_browser, streamlit_server
from tests.fixtures import build, community, response

SMALL_COMMUNITIES = (
    "Deaf and Hard of Hearing community",
    "Sikh community",
    "Refugee resettlement network",
    "Somali Cultural Association",
)
XSS = (
    '<img src=x onerror="window.__xss=1;alert(1)">',
    "<script>window.__xss=2</script>",
    "[x](javascript:window.__xss=3)",
    "<img src=x onerror=alert(1)>",
)


def _watch_dialogs(app: App) -> list[str]:
    dialogs: list[str] = []

    def on_dialog(d) -> None:
        dialogs.append(d.message)
        d.dismiss()

    app.page.on("dialog", on_dialog)
    return dialogs


def _open_feedback(app: App) -> None:
    """Start at / and follow the sidebar link. (A fresh server whose very first request is a deep
    link such as /feedback runs Streamlit's legacy pages/ mode, which skips app.py: reported.)"""
    app.goto("/")
    app.rerun(lambda: app.page.get_by_test_id("stSidebarNavLink").filter(has_text="Feedback").click())
    expect(app.page).to_have_url(re.compile(r"/feedback"))


def _chart(app: App, text: str):
    return app.page.get_by_test_id("stPlotlyChart").filter(has_text=text)


def test_feedback_journey_on_sample_data(app):
    dialogs = _watch_dialogs(app)
    _open_feedback(app)
    page = app.page
    expect(page.get_by_role("heading", name="Feedback", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Trust score")).to_contain_text("n =")

    # the trend: our line with n labels on its points
    trend = page.get_by_test_id("stPlotlyChart").first
    expect(trend.locator(".scatterlayer .trace").first).to_be_attached(timeout=30_000)  # Plotly loads lazily
    expect(trend.locator(".legend")).to_contain_text("Our feedback: trust")
    expect(trend.locator(".scatterlayer")).to_contain_text("n=")
    app.shot("feedback_top", full_page=False)

    # the division comparison, with the drops the Overview also lists
    where = page.get_by_role("heading", name="Where: patrol divisions and communities")
    where.scroll_into_view_if_needed()
    expect(_chart(app, "all in filter").first).to_be_visible()
    app.shot("feedback_where", full_page=False)

    # the community comparison: a chart of the lowest-scoring reportable communities with n on each
    # label (the four small communities are not drawn: no score, no n), then every row, paged, with
    # a name search (the table's badges are checked in tests/pages: the grid is a canvas)
    app.rerun(lambda: page.get_by_role("tab", name="By community").click())  # the tabs keep their state
    comm_chart = _chart(app, " · n = ")
    expect(comm_chart).to_be_visible()
    for name in SMALL_COMMUNITIES:
        expect(comm_chart).not_to_contain_text(name)
    expect(page.get_by_text(re.compile(r"\d+ communities have at least 10 responses"))).to_be_visible()
    comm_chart.scroll_into_view_if_needed()
    app.shot("feedback_communities", full_page=False)
    search = page.get_by_role("textbox", name="Find a community by name")
    search.scroll_into_view_if_needed()
    expect(page.get_by_text(re.compile(r"Page 1 of 1 · rows 1–\d+ of \d+"))).to_be_visible()
    app.rerun(lambda: (search.fill("sikh"), search.press("Enter")))
    # the search's rerun leaves the reader on this tab (stateless tabs could fall back to the first)
    expect(page.get_by_role("tab", selected=True)).to_have_text("By community")
    expect(page.get_by_text("Page 1 of 1 · rows 1–1 of 1")).to_be_visible()
    app.shot("feedback_communities_search", full_page=False)
    app.rerun(lambda: (search.fill(""), search.press("Enter")))
    # the whole comparison as CSV, built only on the click: every row, suppressed ones without numbers
    caption = page.get_by_text(re.compile(r"Page 1 of \d+ · rows 1–\d+ of \d+"))
    total = int(re.search(r"of (\d+)$", caption.inner_text().strip()).group(1))
    with page.expect_download() as info:
        page.get_by_role("button", name="Download every community (CSV)").click()
    assert info.value.suggested_filename == "feedback_by_community.csv"
    with open(info.value.path(), encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == total
    small = [r for r in rows if r["Community"] in SMALL_COMMUNITIES]
    assert len(small) == len(SMALL_COMMUNITIES)
    assert all(r["Responses (n)"] == "" and r["Trust"] == "" and "suppressed" in r["Note"] for r in small)

    # by patrol division: one panel per division, with the published survey beside ours
    app.rerun(lambda: page.get_by_text("By patrol division", exact=True).first.click())
    facets = page.get_by_test_id("stPlotlyChart").first
    expect(facets).to_contain_text("East")
    expect(facets).to_contain_text("Shoal Creek")
    expect(facets.locator(".legend")).to_contain_text("City resident survey (open data)")
    facets.scroll_into_view_if_needed()
    app.shot("feedback_by_division", full_page=False)

    # channels and topics: every section draws (or says why it cannot)
    channels = page.get_by_role("heading", name="How people answered: responses by channel")
    channels.scroll_into_view_if_needed()
    expect(_chart(app, "Community survey").locator(".barlayer")).to_be_attached()
    app.shot("feedback_channels", full_page=False)
    topics = page.get_by_role("heading", name="What people are telling us: comment topics")
    topics.scroll_into_view_if_needed()
    expect(_chart(app, "Language access").first).to_be_visible()
    app.shot("feedback_topics", full_page=False)

    # the comment browser: a search narrows the rows
    box = page.get_by_role("textbox", name="Search comments")
    box.scroll_into_view_if_needed()
    app.rerun(lambda: (box.fill("crosswalk"), box.press("Enter")))
    expect(page.get_by_text(re.compile(r"Page 1 of \d+ · comments"))).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").last).to_be_visible()
    app.shot("feedback_comments", full_page=False)

    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []
    assert app.errors == []


# ---------------------------------------------------------------------------------------------
# A second server over a database whose comments are injection strings


@pytest.fixture(scope="module")
def xss_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_browser()
    tmp = tmp_path_factory.mktemp("xss")
    comms = [community("C1", "Alpha", division="EAST")]
    rows = [
        response(
            f"R{i}",
            f"2026-06-{i + 1:02d}",
            safety=7,
            respect=7,
            listen=7,
            community="C1",
            comment=XSS[i % len(XSS)] if i < 8 else "",
            topics="safety" if i < 8 else "",
        )
        for i in range(12)
    ]
    db = build(tmp, communities=comms, feedback=rows)
    with streamlit_server({"CED_DATABASE_URL": db.url}, tmp / "streamlit.log") as url:
        yield url


def test_injected_comments_show_literally_and_run_nothing(browser, xss_server):
    ctx = browser.new_context(base_url=xss_server, viewport={"width": 1400, "height": 900})
    try:
        ctx.set_default_timeout(30_000)
        app = App(ctx.new_page(), xss_server)
        dialogs = _watch_dialogs(app)
        _open_feedback(app)
        page = app.page
        grid = page.get_by_test_id("stDataFrame").last
        grid.scroll_into_view_if_needed()
        expect(page.get_by_text(re.compile(r"Page 1 of 1 · comments"))).to_be_visible()
        # the grid is drawn on a canvas; its accessible table carries each cell's text, literally
        cells = grid.locator("td[role=gridcell]")
        expect(cells.filter(has_text="onerror").first).to_be_attached()
        texts = cells.all_text_contents()
        for text in XSS:
            assert text in texts, (text, texts)
        # select the first row (its checkbox on the canvas): the full comment shows below as plain text
        box = grid.bounding_box()
        app.rerun(lambda: page.mouse.click(box["x"] + 18, box["y"] + 35 + 17))
        shown = page.get_by_test_id("stText")
        expect(shown).to_have_count(1)
        assert shown.inner_text() in XSS
        app.shot("feedback_xss_comments", full_page=False)
        page.wait_for_timeout(500)  # give any injected handler (onerror) time to fire
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.locator("img[src=x]").count() == 0
        assert page.locator("a[href^='javascript']").count() == 0
        assert dialogs == []
        expect(page.get_by_test_id("stException")).to_have_count(0)
        assert app.errors == []
    finally:
        ctx.close()
