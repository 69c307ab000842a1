"""The Data page: runs for admins only, shows freshness and history from a hand-made database, and its
helpers (AppTest cannot upload files) refuse, preview, check and template files correctly."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import tomllib
from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

import ui.auth
from data_access.db import Database, read_frame
from data_access.filters import format_date
from data_access.importer import ImportResult, Issue, import_files, parse_csv
from data_access.tables import BY_NAME, IMPORTABLE
from pages import data as page
from tests.fixtures import build, community, csv_bytes, meeting
from ui.text import plain_md

ROOT = Path(__file__).resolve().parents[2]
TODAY = date.today()
CIO_LAST = TODAY - timedelta(days=40)


@pytest.fixture
def db_url(tmp_path) -> str:
    database = build(
        tmp_path,
        communities=[community("C1", "Alpha")],
        meetings=[
            meeting("M1", (TODAY - timedelta(days=3)).isoformat(), "C1", lead="S1"),  # LIA, current
            meeting("M2", CIO_LAST.isoformat(), "C1", lead="S2"),  # CIO, stale
        ],
    )
    return database.url  # build imported 5 files: divisions, units, staff, communities, meetings


@pytest.fixture
def at(db_url, monkeypatch) -> AppTest:
    monkeypatch.setenv("CED_DATABASE_URL", db_url)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    return app


def test_data_page_runs_and_shows_freshness_and_history(at):
    at.switch_page("pages/data.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert [t.value for t in at.title] == ["Data"]
    warnings = [w.value for w in at.warning]
    assert f"▲ CIO has logged no meetings since {format_date(CIO_LAST)} (40 days)." in warnings
    for unit in ("SW", "CIT", "CFMH", "CHAP"):
        assert f"▲ {unit} has never logged a meeting." in warnings
    assert not any(w.startswith("▲ LIA") for w in warnings)
    assert any(c.value.startswith("Imports 1–5 of 5, newest first") for c in at.caption)
    assert "Upload a CSV file to check it" in at.info[0].value


def test_after_a_commit_the_page_shows_the_summary_numbers(at):
    done = ImportResult(
        "meetings", "meetings_[nov](http://x).csv", rows_in_file=7, added=4, updated=2, unchanged=1
    )
    done.committed = True
    done.warnings = [Issue(3, "notes", "a warning")]
    at.session_state["data_committed"] = [done]
    at.switch_page("pages/data.py").run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown == {"Added": "4", "Updated": "2", "Unchanged": "1", "Warnings": "1"}
    success = at.success[0].value
    assert "meetings\\_\\[nov\\]\\(http\\:" in success  # the file name cannot become a link
    assert "into Meetings: 7 rows" in success


def test_a_viewer_is_refused_and_nothing_else_runs(at, monkeypatch):
    monkeypatch.setattr(ui.auth, "current_user", lambda: ui.auth.User("Vera", "viewer", "test"))
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert any("may not open this page" in e.value for e in at.error)
    assert [t.value for t in at.title] == []  # the page stopped before its title
    assert len(at.tabs) == 0


class FakeUpload:
    """What st.file_uploader returns, for the one thing AppTest cannot do: upload a file."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def test_check_then_commit_imports_the_file_and_the_page_shows_the_new_history(at, db_url, monkeypatch):
    rows = [
        meeting("M3", TODAY.isoformat(), "C1", lead="S3"),
        meeting("M1", TODAY.isoformat(), "C1", lead="S1"),
    ]
    upload = FakeUpload("meetings_update.csv", csv_bytes("meetings", rows))
    monkeypatch.setattr(DeltaGenerator, "file_uploader", lambda self, *a, **k: upload)
    at.switch_page("pages/data.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.success[0].value.startswith("All 2 rows are valid: 1 new, 1 changed, 0 unchanged.")
    assert any(c.value.startswith("Imports 1–5 of 5") for c in at.caption)  # the check recorded nothing

    at.button(key="data_commit").click().run()
    assert not at.exception, [e.message for e in at.exception]
    shown = {m.label: m.value for m in at.metric}
    assert shown == {"Added": "1", "Updated": "1", "Unchanged": "0", "Warnings": "0"}
    assert "Imported **meetings\\_update\\.csv** into Meetings: 2 rows" in at.success[0].value
    assert any(c.value.startswith("Imports 1–6 of 6") for c in at.caption)  # caches were cleared
    # SW (S3's unit) logged a meeting today, so it is no longer flagged
    assert not any(w.value.startswith("▲ SW") for w in at.warning)
    with Database(db_url).connect() as conn:
        got = read_frame(conn, "select meeting_id, meeting_date, unit_code from meetings order by 1")
    assert got.values.tolist() == [["M1", TODAY, "LIA"], ["M2", CIO_LAST, "CIO"], ["M3", TODAY, "SW"]]
    # the same file again: valid, nothing to import, and the commit button is disabled
    assert "nothing to import" in at.info[0].value
    assert at.button(key="data_commit").disabled


def test_a_cli_import_while_the_app_runs_shows_on_the_next_rerun(at, db_url, tmp_path):
    """The app process keeps its read-only handle open; the CLI (another process) imports; the next
    rerun shows the new history without a restart, a lock error or a cache clear."""
    at.switch_page("pages/data.py").run()
    assert any(c.value.startswith("Imports 1–5 of 5") for c in at.caption)
    path = tmp_path / "meetings_cli.csv"
    path.write_bytes(csv_bytes("meetings", [meeting("M9", TODAY.isoformat(), "C1", lead="S2")]))
    done = subprocess.run(
        [sys.executable, "-m", "data_access.importer", str(path), "--db", db_url, "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(c.value.startswith("Imports 1–6 of 6") for c in at.caption)
    assert not any(w.value.startswith("▲ CIO") for w in at.warning)  # CIO's new meeting is seen


# ---------------------------------------------------------------- helpers


def test_the_size_limit_matches_the_servers_and_is_named_in_the_message():
    conf = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert page.MAX_UPLOAD_MB == conf["server"]["maxUploadSize"] == 50
    header = b"meeting_id\n"
    assert page.check_upload("meetings.csv", header + b"x" * (50 * 1024 * 1024 - len(header))) is None
    refused = page.check_upload("meetings.csv", b"x" * (50 * 1024 * 1024 + 1))
    assert refused is not None and "the limit is 50 MB" in refused and "This file is 50.0 MB" in refused


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("meetings.xlsx", b"PK\x03\x04rest-of-a-zip", "Excel workbook"),
        ("meetings.csv", b"PK\x03\x04renamed workbook", "Excel workbook"),
        ("meetings.xls", b"\xd0\xcf\x11\xe0old excel", "Excel workbook"),
        ("meetings.txt", b"meeting_id\nM1\n", "Only .csv files"),
        ("meetings.csv", b"  \n", "empty"),
    ],
)
def test_non_csv_files_are_refused_with_a_clear_reason(name, data, fragment):
    assert fragment in page.check_upload(name, data)


def test_a_mis_encoded_csv_passes_the_page_check_and_the_importer_names_the_line(sample_db_url):
    data = "meeting_id,notes\nM1,ok\nM2,caf\u00e9\n".encode("latin-1")
    assert page.check_upload("meetings.csv", data) is None
    result = import_files([("meetings", "meetings.csv", data)], url=sample_db_url, dry_run=True)[0]
    assert [(i.line, "not UTF-8" in i.message) for i in result.errors] == [(3, True)]


def test_the_table_comes_from_the_form_or_the_file_name():
    assert page.resolve_table(page.FROM_FILE_NAME, "meetings_2026-11.csv") == "meetings"
    assert page.resolve_table(page.FROM_FILE_NAME, "Follow_Ups-nov.CSV") == "follow_ups"
    assert page.resolve_table(page.FROM_FILE_NAME, "staffing.csv") == "staffing"
    assert page.resolve_table(page.FROM_FILE_NAME, "export (3).csv") is None
    assert page.resolve_table("feedback", "meetings.csv") == "feedback"


def test_the_preview_shows_the_first_rows_as_written():
    text = (
        "\ufeffresponse_id,comment,safety\n"
        'R1,"two\nlines",5\n'
        "R2,<b>bold</b> =cmd(),7,surplus\n"
        "R3,short\n" + "".join(f"R{i},x,1\n" for i in range(4, 30))
    )
    df = page.preview_frame(text.encode(), rows=4)
    assert list(df.columns) == ["response_id", "comment", "safety", "extra 1"]
    assert df.values.tolist() == [
        ["R1", "two\nlines", "5", ""],
        ["R2", "<b>bold</b> =cmd()", "7", "surplus"],
        ["R3", "short", "", ""],
        ["R4", "x", "1", ""],
    ]


def test_the_error_table_lists_line_column_rule_and_value(sample_db_url):
    header = ",".join(BY_NAME["feedback"].column_names)
    data = (
        f"{header}\n"
        "R9000001,2026-01-05,community_survey,,EAST,11,5,5,,,\n"
        "R9000002,2026-13-01,community_survey,,EAST,5,5,5,,,\n"
    ).encode()
    result = import_files([("feedback", "feedback.csv", data)], url=sample_db_url, dry_run=True)[0]
    df = page.issues_frame(result)
    assert df.drop(columns="severity").values.tolist() == [
        [2, "safety", "above the maximum of 10", "11"],
        [3, "response_date", "not a date as YYYY-MM-DD", "2026-13-01"],
    ]
    level, sentence = page.check_summary(result)
    assert level == "error" and sentence.startswith("2 problems found.")


def test_the_check_summary_says_what_a_commit_would_do():
    ok = ImportResult("feedback", "f.csv", rows_in_file=5, added=3, updated=1, unchanged=1)
    assert page.check_summary(ok) == (
        "success",
        "All 5 rows are valid: 3 new, 1 changed, 1 unchanged. Nothing is saved until you commit.",
    )
    same = ImportResult("feedback", "f.csv", rows_in_file=2, unchanged=2)
    assert page.check_summary(same)[0] == "info" and "nothing to import" in page.check_summary(same)[1]
    many = ImportResult("feedback", "f.csv", rows_in_file=5000, error_count=1500)
    many.errors = [Issue(2, "safety", "x")] * 1000
    assert page.check_summary(many)[1].startswith("1,500 problems found (the first 1,000 are listed).")


@pytest.mark.parametrize("table", [s.name for s in IMPORTABLE])
def test_each_template_has_the_header_and_one_example_row(table):
    spec = BY_NAME[table]
    data = page.template_csv(table)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [list(spec.column_names), [c.example for c in spec.columns]]
    assert parse_csv(data, spec)[1] == []  # the importer accepts its header and shape


def test_template_examples_are_well_typed(sample_db_url):
    """Dry-run every template against the sample data: only references to unknown ids may fail."""
    files = [(s.name, f"{s.name}.csv", page.template_csv(s.name)) for s in IMPORTABLE]
    for r in import_files(files, url=sample_db_url, dry_run=True):
        bad = [str(i) for i in r.errors if "not found in" not in i.message]
        assert bad == [], (r.table, bad)


def test_the_column_guide_states_each_rule():
    guide = page.column_guide("feedback").set_index("column")
    assert list(guide.index) == list(BY_NAME["feedback"].column_names)
    assert guide.loc["safety", "rule"] == "0 to 10"
    assert guide.loc["safety", "type"] == "whole number"
    assert guide.loc["community_id", "required"] == "optional"
    assert "must exist in communities.community_id" in guide.loc["community_id", "rule"]
    assert guide.loc["channel", "rule"].startswith("one of: community_survey, post_meeting_card, online_form")
    assert guide.loc["response_id", "notes"].startswith("key")
    assert guide.loc["comment", "rule"] == "up to 4,000 characters"


def test_markdown_escape_leaves_no_active_character():
    raw = "[click](http://evil.example) <img src=x onerror=alert(1)> *bold* :red[x] $x$.csv"
    escaped = plain_md(raw)
    i = 0
    while i < len(escaped):
        if escaped[i] == "\\":
            i += 2
            continue
        assert escaped[i] not in "[]()<>*:$", (i, escaped)
        i += 1
    assert escaped.replace("\\", "") == raw


def test_file_sizes_read_naturally():
    assert [page.file_size(n) for n in (333, 2048, 3 * 1024 * 1024 + 1)] == ["333 bytes", "2.0 KB", "3.0 MB"]


def test_history_pages():
    assert [page.history_pages(n) for n in (0, 1, 20, 21, 45)] == [1, 1, 1, 2, 3]
