"""Browser journey through the Meetings page: charts render, the split changes, the log searches,
pages and exports exactly the matching meetings (counted independently from sample_data/meetings.csv)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pandas as pd
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT

# The default period is the last 90 days up to the latest data date (20 Nov 2026).
PERIOD = (date(2026, 8, 23), date(2026, 11, 20))


def _sample_meetings() -> pd.DataFrame:
    df = pd.read_csv(ROOT / "sample_data" / "meetings.csv", dtype=str, keep_default_na=False)
    day = pd.to_datetime(df["meeting_date"]).dt.date
    return df[(day >= PERIOD[0]) & (day <= PERIOD[1])]


def test_meetings_page_charts_log_and_export(app):
    in_period = _sample_meetings()
    # Arrive the way a user does, from the sidebar. (A deep link to /meetings on a server that has not
    # yet run app.py is served in Streamlit's legacy pages/ mode; reported to the lead.)
    app.goto("/")
    page = app.page
    app.rerun(lambda: page.get_by_test_id("stSidebarNav").get_by_role("link", name="Meetings").click())
    expect(page.get_by_role("heading", name="Meetings", exact=True)).to_be_visible()
    for section in ("How often", "With whom", "By whom", "Concerns raised", "Meeting log"):
        expect(page.get_by_role("heading", name=section)).to_be_visible()
    # five charts; Plotly draws in the browser after the run, slowly on a busy 2-core machine
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(5, timeout=60_000)
    expect(page.locator(".js-plotly-plot")).to_have_count(5, timeout=60_000)
    expect(page.get_by_text(f"meetings 1–50 of {len(in_period):,}")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    app.shot("meetings_page")
    for section in ("How often", "With whom", "By whom", "Concerns raised", "Meeting log"):
        page.get_by_role("heading", name=section).scroll_into_view_if_needed()
        page.get_by_role("heading", name=section).evaluate("h => h.scrollIntoView({block: 'start'})")
        app.shot("meetings_" + section.lower().replace(" ", "_"), full_page=False)

    # split by meeting type: the legend names the types
    app.rerun(lambda: page.get_by_text("Meeting type", exact=True).first.click())
    expect(page.get_by_test_id("stPlotlyChart").first.get_by_text("Liaison meeting")).to_be_visible(
        timeout=60_000
    )

    # next page of the log
    app.rerun(lambda: page.get_by_role("button", name="Next").click())
    expect(page.get_by_text(f"meetings 51–100 of {len(in_period):,}")).to_be_visible()

    # a search narrows the log (and goes back to page 1)
    wanted = in_period[in_period["notes"].str.contains("contact cards", case=False, regex=False)]
    box = page.get_by_role("textbox", name="Search the log")
    box.fill("contact cards")
    app.rerun(lambda: box.press("Enter"))
    expect(page.get_by_text(f"meetings 1–{min(50, len(wanted))} of {len(wanted):,}")).to_be_visible()
    app.shot("meetings_page_searched")

    # the export holds every matching meeting, not just the page
    button = page.get_by_role("button", name=re.compile(r"Download .* matching meetings"))
    with page.expect_download() as info:
        button.click()
    body = open(info.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == len(wanted)
    assert {r["Meeting ID"] for r in rows} == set(wanted["meeting_id"])
    assert all("contact cards" in r["Notes"].lower() for r in rows)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert app.errors == []
