"""Browser journey through Coverage: change the period, pick a community from a worklist row and then
from a grid cell so every page narrows to it, check the Meetings page follows, come back, widen again
and export the worklist."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import expect


def _tags(app):
    return app.page.get_by_test_id("stSidebar").locator("[data-tag]")


def _worklist(app):
    return app.page.get_by_test_id("stDataFrame").first


def test_coverage_journey(app):
    page = app.page
    not_found: list[str] = []
    page.on("response", lambda r: not_found.append(r.url) if r.status == 404 else None)
    app.goto("/coverage")  # a deep link, possibly the fresh server's first request (serve.py handles it)
    expect(page.get_by_role("heading", name="Coverage", exact=True)).to_be_visible()
    grid = page.get_by_test_id("stPlotlyChart").first
    expect(grid.locator(".heatmaplayer")).to_have_count(1)
    expect(grid.locator("text", has_text="All divisions")).to_have_count(1)
    expect(grid.locator("text", has_text="never ○").first).to_be_visible()
    app.shot("coverage_1_default")

    # period: Last 30 days (data ends 20 Nov 2026)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("combobox", name="Period").click()
    app.rerun(lambda: page.get_by_role("option", name="Last 30 days", exact=True).click())
    expect(page.get_by_text(re.compile(r"22 Oct – 20 Nov 2026")).first).to_be_visible()
    expect(page).to_have_url(re.compile(r"period=last_30"))
    expect(grid.locator(".heatmaplayer")).to_have_count(1)
    app.shot("coverage_2_last_30_days")

    # pick the second worklist row (the most overdue community that was ever met) in the grid canvas
    table = _worklist(app)
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    assert box is not None
    app.rerun(lambda: page.mouse.click(box["x"] + 16, box["y"] + 35 + 35 + 17))
    expect(_tags(app)).to_have_count(1)
    picked = _tags(app).first.inner_text().strip()
    assert picked
    expect(page.get_by_text(re.compile(f"Every page now shows only {re.escape(picked)}"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"community=C\d+"))
    app.shot("coverage_3_worklist_row_chosen")
    app.rerun(lambda: page.get_by_role("button", name="Show all communities again").click())
    expect(_tags(app)).to_have_count(0)

    # the worklist's name search: one match, on one page
    search = page.get_by_role("textbox", name="Find a community by name")
    search.scroll_into_view_if_needed()
    expect(page.get_by_text(re.compile(r"communities 1–\d+ of \d+"))).to_be_visible()
    app.rerun(lambda: (search.fill("sikh"), search.press("Enter")))
    expect(page.get_by_text("Page 1 of 1 · communities 1–1 of 1")).to_be_visible()
    app.shot("coverage_3a_worklist_search")
    app.rerun(lambda: (search.fill(""), search.press("Enter")))
    expect(page.get_by_text("Page 1 of 1 · communities 1–1 of 1")).to_have_count(0)

    # click a cell of the grid: LGBTQ+ community's row, "All divisions" column
    chosen = "LGBTQ+ community"
    label = grid.locator("g.ytick text", has_text=chosen)
    label.scroll_into_view_if_needed()
    row = label.bounding_box()
    column = grid.locator("g.xtick text", has_text="All divisions").bounding_box()
    assert row is not None and column is not None
    x, y = column["x"] + column["width"] / 2, row["y"] + row["height"] / 2
    app.rerun(lambda: page.mouse.click(x, y))
    expect(_tags(app)).to_have_count(1)
    expect(_tags(app).first).to_have_text(chosen)
    expect(page.get_by_text(re.compile(f"Every page now shows only {re.escape(chosen)}"))).to_be_visible()
    app.shot("coverage_3b_grid_cell_chosen")

    # the Meetings page follows the global filter
    app.rerun(lambda: sidebar.get_by_test_id("stSidebarNavLink").filter(has_text="Meetings").click())
    expect(page).to_have_url(re.compile(r"/meetings\?.*community=C\d+"))
    expect(page.get_by_role("heading", name="Meetings").first).to_be_visible()
    expect(_tags(app)).to_have_count(1)
    expect(_tags(app).first).to_have_text(chosen)
    expect(page.get_by_text(chosen).first).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    app.shot("coverage_4_meetings_filtered")

    # back to Coverage: still narrowed; widen again and export the whole worklist
    app.rerun(lambda: sidebar.get_by_test_id("stSidebarNavLink").filter(has_text="Coverage").click())
    expect(page.get_by_text(re.compile(f"Every page now shows only {re.escape(chosen)}"))).to_be_visible()
    app.rerun(lambda: page.get_by_role("button", name="Show all communities again").click())
    expect(_tags(app)).to_have_count(0)
    button = page.get_by_role("button", name="Download worklist (CSV)")
    expect(button).to_be_visible()
    with page.expect_download() as info:
        button.click()  # no rerun: the browser only asks for the file
    download = info.value
    assert download.suggested_filename == "coverage_worklist_2026-11-20.csv"
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8-sig").read())))
    assert rows[0] == [
        "Status",
        "Community",
        "Days since",
        "Target (days)",
        "Last contact",
        "Responsible liaison",
        "Home division",
        "Kind",
        "community_id",
    ]
    assert len(rows) == 1 + 41
    assert rows[1][0] == "○ never met"
    assert chosen in {r[1] for r in rows[1:]}
    app.shot("coverage_5_back_and_exported")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # A deep link makes Streamlit's frontend probe /coverage/_stcore/... for a base path before
    # falling back to /; those two 404s (and their console lines) are expected, nothing else is.
    assert all(re.search(r"/coverage/_stcore/(health|host-config)$", u) for u in not_found), not_found
    errors = [e for e in app.errors if "status of 404" not in e]
    assert errors == [] and len(app.errors) - len(errors) <= len(not_found), app.errors
