"""Browser journey through the Staffing page: picking a unit in the sidebar redraws the charts,
and the sample's short teams (CIT in North, LIA in East) are visible."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def _chart(app, title: str):
    return app.page.get_by_test_id("stPlotlyChart").filter(has_text=title)


def _tick_labels(chart) -> list[str]:
    return chart.locator(".xtick text").all_text_contents()


def test_unit_filter_redraws_staffing_charts_and_shows_short_teams(app):
    # Enter through the front page and the sidebar link: on a fresh server Streamlit runs the very first
    # session's /staffing straight from pages/ (its v1 multipage mode) until app.py has called
    # st.navigation once, and that run has no filters (reported to the maintainers, not fixed here).
    app.goto("/")
    page = app.page
    app.rerun(lambda: page.get_by_role("link", name="Staffing").click())
    expect(page).to_have_url(re.compile(r"/staffing$"))
    expect(page.get_by_role("heading", name="Staffing", exact=True)).to_be_visible()
    by_division = _chart(app, "By patrol division")
    expect(by_division.locator(".xtick text").first).to_be_visible(timeout=30_000)  # Plotly loads lazily
    before = _tick_labels(by_division)
    # all units together North is 87% filled, not flagged (Plotly puts the <br> lines in tspans)
    assert "North87% filled" in before, before
    expect(page.get_by_test_id("stException")).to_have_count(0)
    app.shot("staffing_all_units")

    sidebar = page.get_by_test_id("stSidebar")
    combo = sidebar.get_by_role("combobox", name="Units")
    combo.click()
    combo.press_sequentially("CIT")
    app.rerun(lambda: page.get_by_role("option", name="CIT · Crisis Intervention Team", exact=True).click())
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"/staffing\?.*unit=CIT"))
    # the division chart now shows CIT only, and North (1.5 of 3 filled) carries the ▼ flag
    expect(by_division.locator(".xtick text").filter(has_text="North ▼")).to_have_count(1)
    after = _tick_labels(by_division)
    assert after != before and "North ▼50% filled" in after, after
    expect(by_division.locator(".legend .traces")).to_have_count(3)
    app.shot("staffing_cit_units")

    # a year of trend, split by division: North's vacancy line jumps in April 2026
    app.rerun(lambda: page.get_by_text("12 months", exact=True).click())
    app.rerun(lambda: page.get_by_text("By patrol division", exact=True).click())
    vacancy = _chart(app, "Vacancy rate")
    expect(vacancy.locator(".legend .traces").filter(has_text="North")).to_have_count(1)
    expect(vacancy.locator(".scatterlayer .trace")).to_have_count(6)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.get_by_role("heading", name="Month by month").scroll_into_view_if_needed()
    app.shot("staffing_cit_trend_by_division", full_page=False)
    assert app.errors == []
