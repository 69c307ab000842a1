"""Browser journey through the Briefing deck on a 1920×1080 screen: next button and arrow key move the
deck and the URL, every slide is screenshot, and the exported HTML opens offline with live Plotly charts."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS

SLIDES = ["Overview", "Coverage", "Staffing", "Feedback"]


def _heading(app, title: str):
    return app.page.get_by_role("heading", name=title, exact=True)


def test_walk_the_deck_and_export_it_for_offline_use(app_factory, browser, tmp_path):
    app = app_factory(width=1920, height=1080)
    app.goto("/")
    page = app.page
    app.rerun(lambda: page.get_by_test_id("stSidebarNavLink").filter(has_text="Briefing").click())
    expect(_heading(app, "Overview")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]slide=1\b"))
    # sidebar and Streamlit chrome are hidden on a shared screen
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    expect(page.get_by_test_id("stHeader")).to_be_hidden()
    # the dated snapshot stamp: filters, data-through date and last import
    stamp = page.locator(".st-key-briefing_stamp")
    expect(stamp).to_contain_text("all communities")
    expect(stamp).to_contain_text("data through 20 Nov 2026")
    expect(stamp).to_contain_text("last import")
    expect(page.get_by_test_id("stMetric")).to_have_count(6)
    app.shot("briefing_1_overview", full_page=False)

    # slide 2 with the Next button
    app.rerun(lambda: page.get_by_role("button", name="Next").click())
    expect(_heading(app, "Coverage")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]slide=2\b"))
    expect(page.locator(".st-key-briefing_stamp")).to_contain_text("slide 2 of 4")
    app.shot("briefing_2_coverage", full_page=False)

    # slide 3 with the right arrow key (focus must not sit in an input)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    app.rerun(lambda: page.keyboard.press("ArrowRight"))
    expect(_heading(app, "Staffing")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]slide=3\b"))
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart.locator(".main-svg").first).to_be_visible(timeout=30_000)  # first Plotly load is slow
    expect(chart.locator(".barlayer .trace")).to_have_count(3)  # authorized, filled, available
    app.shot("briefing_3_staffing", full_page=False)

    app.rerun(lambda: page.keyboard.press("ArrowRight"))
    expect(_heading(app, "Feedback")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]slide=4\b"))
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart.locator(".scatterlayer .trace").first).to_be_attached(timeout=30_000)
    app.shot("briefing_4_feedback", full_page=False)

    # left arrow goes back
    app.rerun(lambda: page.keyboard.press("ArrowLeft"))
    expect(_heading(app, "Staffing")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]slide=3\b"))

    # export the deck as one HTML file
    with page.expect_download() as info:
        page.get_by_role("button", name="Export deck (HTML)").click()
    download = info.value
    path = tmp_path / "deck.html"
    download.save_as(path)
    assert download.suggested_filename.endswith(".html")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert app.errors == []

    # open the file offline: any request that is not the file itself is recorded and refused
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, offline=True)
    requested: list[str] = []

    def refuse(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            requested.append(route.request.url)
            route.abort()

    ctx.route("**/*", refuse)
    offline = ctx.new_page()
    errors: list[str] = []
    offline.on("pageerror", lambda e: errors.append(str(e)))
    offline.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    offline.goto(path.as_uri())
    expect(offline.locator("section.slide")).to_have_count(4)
    for title in SLIDES:
        expect(offline.get_by_role("heading", name=title, exact=True)).to_have_count(1)
    plots = offline.locator(".js-plotly-plot")
    expect(plots).to_have_count(2)  # staffing bars, feedback trend
    for i in range(2):
        expect(plots.nth(i).locator(".main-svg").first).to_be_attached()
    assert offline.locator("#slide-3 .js-plotly-plot .barlayer .trace").count() == 3
    assert offline.locator("#slide-4 .js-plotly-plot .scatterlayer .trace").count() >= 2
    expect(offline.locator("footer").first).to_contain_text("data through 20 Nov 2026")
    offline.locator("#slide-4").scroll_into_view_if_needed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    offline.screenshot(path=ARTIFACTS / "briefing_export_slide4.png")
    ctx.close()
    assert errors == [] and requested == []


def _base_path_probes(app) -> list[str]:
    """404s the Streamlit frontend causes itself on a deep link: it first looks for its server under
    the page's path (/briefing/_stcore/health, …/host-config), then falls back to the root."""
    found: list[str] = []
    app.page.on("response", lambda r: found.append(r.url) if r.status == 404 else None)
    return found


def _real_errors(app, probes: list[str]) -> list[str]:
    assert all(re.search(r"/briefing/_stcore/(health|host-config)$", u) for u in probes), probes
    not_found = [e for e in app.errors if "status of 404" in e]
    assert len(not_found) <= len(probes), (not_found, probes)
    return [e for e in app.errors if "status of 404" not in e]


def test_copied_link_opens_the_same_slide_with_the_same_filters(app_factory):
    app = app_factory(width=1920, height=1080)
    probes = _base_path_probes(app)
    app.goto("/briefing?slide=3&division=EAST&period=ytd")
    expect(_heading(app, "Staffing")).to_be_visible()
    expect(app.page.locator(".st-key-briefing_stamp")).to_contain_text("East")
    expect(app.page.locator(".st-key-briefing_stamp")).to_contain_text("1 Jan – 20 Nov 2026")
    expect(app.page).to_have_url(re.compile(r"division=EAST"))

    # auto-advance (off by default): switched on at 10 s a slide, the deck moves on by itself
    page = app.page
    app.rerun(lambda: page.get_by_text("Auto-advance").click())
    expect(_heading(app, "Staffing")).to_be_visible()
    page.get_by_role("combobox", name="Seconds per slide").click()
    app.rerun(lambda: page.get_by_role("option", name="every 10 s").click())
    expect(_heading(app, "Feedback")).to_be_visible(timeout=20_000)
    expect(page).to_have_url(re.compile(r"[?&]slide=4\b"))
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert _real_errors(app, probes) == []
