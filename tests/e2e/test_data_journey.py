"""Browser journey on the Data page: a bad CSV shows its row-level errors and commits nothing."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from data_access import db
from data_access.tables import BY_NAME

HEADER = ",".join(BY_NAME["feedback"].column_names)
BAD_FEEDBACK = (
    f"{HEADER}\n"
    "R9900001,2026-11-01,community_survey,,EAST,7,8,6,yes,fine,\n"
    'R9900002,2026-11-02,community_survey,,EAST,11,8,6,yes,"<img src=x onerror=alert(1)> <b>bold</b>",\n'
    "R9900003,2026-11-03,community_survey,C-NOPE,EAST,5,5,5,no,,\n"
).encode()


def _open_data_page(app) -> None:
    """From the Overview through the sidebar link, as a person would. (A deep link straight to /data
    makes Streamlit's frontend probe /data/_stcore/health first, two 404s in the console.)"""
    app.goto("/")
    app.rerun(lambda: app.page.get_by_test_id("stSidebarNavLink").filter(has_text="Data").click())
    expect(app.page).to_have_url(re.compile(r"/data"))
    expect(app.page.get_by_role("heading", name="Data")).to_be_visible()


def _history_caption(app):
    return app.page.get_by_text(re.compile(r"^Imports [\d,]+–[\d,]+ of [\d,]+, newest first"))


def test_a_bad_csv_shows_row_errors_and_commits_nothing(app, e2e_db_url):
    link = db.database_path(e2e_db_url)
    live_before = db.current_version(link)
    _open_data_page(app)
    page = app.page
    app.rerun(lambda: page.get_by_role("tab", name="History").click())
    history_before = _history_caption(app).inner_text()
    app.rerun(lambda: page.get_by_role("tab", name="Import").click())

    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    app.rerun(
        lambda: uploader.set_input_files(
            files=[{"name": "feedback_nov.csv", "mimeType": "text/csv", "buffer": BAD_FEEDBACK}]
        )
    )
    problems = page.get_by_test_id("stAlert").filter(has_text="2 problems found")
    expect(problems).to_be_visible()
    expect(page.get_by_text("feedback_nov.csv").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"→ Community feedback · [\d,]+ bytes"))).to_be_visible()
    import_tab = page.get_by_role("tabpanel", name="Import")
    expect(import_tab.get_by_test_id("stDataFrame")).to_have_count(2)  # the preview and the error table
    commit = page.get_by_role("button", name=re.compile("Commit import"))
    expect(commit).to_be_disabled()
    expect(page.locator("img[src=x]")).to_have_count(0)  # the file's HTML stayed text
    expect(page.get_by_test_id("stException")).to_have_count(0)
    app.shot("data_bad_csv")
    commit.scroll_into_view_if_needed()
    app.shot("data_bad_csv_commit_disabled")

    # nothing was committed: the live version is the same file and no import was recorded
    assert db.current_version(link) == live_before
    app.rerun(lambda: page.get_by_role("tab", name="History").click())
    expect(_history_caption(app)).to_have_text(history_before)
    app.shot("data_history")

    app.rerun(lambda: page.get_by_role("tab", name="Freshness").click())
    expect(
        page.get_by_text("CHAP has logged no meetings since 20 Sep 2026", exact=False).first
    ).to_be_visible()
    app.shot("data_freshness")

    app.rerun(lambda: page.get_by_role("tab", name="Templates").click())
    expect(page.get_by_role("button", name=re.compile(r"Download .*\.csv template"))).to_be_visible()
    app.shot("data_templates")
    assert app.errors == []


def test_an_excel_workbook_renamed_to_csv_is_refused(app):
    _open_data_page(app)
    uploader = app.page.get_by_test_id("stFileUploaderDropzoneInput")
    app.rerun(
        lambda: uploader.set_input_files(
            files=[{"name": "meetings.csv", "mimeType": "text/csv", "buffer": b"PK\x03\x04not really a csv"}]
        )
    )
    expect(app.page.get_by_test_id("stAlert").filter(has_text="Excel workbook")).to_be_visible()
    expect(app.page.get_by_role("button", name=re.compile("Commit import"))).to_have_count(0)
    assert app.errors == []
