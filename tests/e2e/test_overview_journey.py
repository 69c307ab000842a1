"""Browser journey through the Overview: a filter change moves a KPI, a copied link reproduces the view."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def _meetings_tile(app):
    return (
        app.page.get_by_test_id("stMetric").filter(has_text="Meetings held").get_by_test_id("stMetricValue")
    )


def test_filter_changes_kpi_and_copied_url_reproduces_view(app, app_factory):
    app.goto("/")
    expect(app.page.get_by_role("heading", name="Overview")).to_be_visible()
    all_value = _meetings_tile(app).inner_text()
    assert re.fullmatch(r"[\d,]+", all_value), all_value

    sidebar = app.page.get_by_test_id("stSidebar")
    combo = sidebar.get_by_role("combobox", name="Communities")
    combo.click()
    combo.press_sequentially("Muslim comm")
    app.rerun(lambda: app.page.get_by_role("option", name="Muslim community", exact=True).click())
    app.page.keyboard.press("Escape")
    expect(_meetings_tile(app)).not_to_have_text(all_value)
    filtered_value = _meetings_tile(app).inner_text()
    assert int(filtered_value.replace(",", "")) < int(all_value.replace(",", ""))
    expect(app.page.get_by_text("Muslim community", exact=False).first).to_be_visible()
    expect(app.page).to_have_url(re.compile(r"community=C\d+"))
    app.shot("overview_filtered")

    # a colleague opens the copied link in a fresh browser context
    copied = app.page.url
    other = app_factory()
    other.goto(copied.removeprefix(other.base_url))
    expect(_meetings_tile(other)).to_have_text(filtered_value)
    expect(other.page.get_by_test_id("stSidebar").locator("[data-tag]")).to_have_count(1)
    expect(other.page.get_by_test_id("stException")).to_have_count(0)
    assert app.errors == [] and other.errors == []


def test_exception_detector_sees_a_raising_page(app):
    """Proves the 'no exception' assertions above can fail: the test hook makes the app raise."""
    app.goto("/?boom=1")
    expect(app.page.get_by_test_id("stException")).to_have_count(1)
