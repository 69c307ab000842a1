"""The importer refuses bad files with the exact line and column, and a refused file changes no data.

Each bad file is written by hand (so the expected line numbers are known without the
importer's help) against a tiny database built by tests.fixtures.build. "Unchanged" is
checked on the data itself: every row of every table, before and after.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from data_access import db
from data_access.db import Database
from data_access.importer import import_files
from data_access.tables import BY_NAME, IMPORTABLE
from tests.fixtures import build, community, response

FEEDBACK_HEADER = ",".join(BY_NAME["feedback"].column_names)
INJECTION = "'; DROP TABLE meetings;--"


def fb(
    rid: str,
    day: str = "2026-01-05",
    *,
    safety: str = "5",
    respect: str = "6",
    listen: str = "7",
    community_id: str = "C1",
    comment: str = "",
    extra: str | None = None,
) -> str:
    """One feedback CSV line in header order (response_id … topic_tags), written by hand."""
    fields = [rid, day, "community_survey", community_id, "EAST", safety, respect, listen, "yes", comment, ""]
    if extra is not None:
        fields.append(extra)
    return ",".join(fields)


def csv_text(*lines: str, header: str = FEEDBACK_HEADER, newline: str = "\n") -> bytes:
    return (newline.join([header, *lines]) + newline).encode()


def _live(database):
    return duckdb.connect(str(db.current_version(database.link)), read_only=True)


def data_snapshot(database) -> dict[str, list[tuple]]:
    """Every row of every importable table, sorted: equal snapshots mean the data did not change."""
    with _live(database) as con:
        return {
            spec.name: sorted(con.execute(f"select * from {spec.name}").fetchall(), key=repr)
            for spec in IMPORTABLE
        }


def audit_rows(database) -> list[tuple]:
    with _live(database) as con:
        return con.execute(
            "select file_name, table_name, outcome, rows_in_file, rows_added, rows_updated, rows_rejected "
            "from imports order by imported_at"
        ).fetchall()


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    built = build(
        tmp_path_factory.mktemp("template"),
        communities=[community("C1", "Alpha"), community("C2", "Beta")],
        feedback=[response("R0", "2026-01-02", safety=4, respect=5, listen=6, community="C1")],
    )
    return built.link.parent


@pytest.fixture
def database(template_db, tmp_path):
    """A private copy of the module's small database (built once through the importer: it is slow)."""
    folder = shutil.copytree(template_db, tmp_path / "db", symlinks=True)
    return Database(f"duckdb:///{folder / 'test.duckdb'}")


def _import(database, data: bytes, table: str = "feedback", name: str = "feedback.csv", **kwargs):
    return import_files([(table, name, data)], url=database.url, user="tester", **kwargs)[0]


# (case, file bytes, expected [(line, column, message fragment)])
BAD_FILES = [
    (
        "missing required column",
        csv_text(
            "R1,2026-01-05,community_survey,C1,EAST,6,7,yes,,",
            header=FEEDBACK_HEADER.replace("safety,", ""),
        ),
        [(1, "safety", "required column is missing")],
    ),
    (
        "bad date",
        csv_text(fb("R1"), fb("R2", "2026-02-30"), fb("R3")),
        [(3, "response_date", "not a date as YYYY-MM-DD")],
    ),
    (
        "score 11",
        csv_text(fb("R1", safety="11"), fb("R2")),
        [(2, "safety", "above the maximum of 10")],
    ),
    (
        "unknown community",
        csv_text(fb("R1"), fb("R2"), fb("R3", community_id="C-NOPE")),
        [(4, "community_id", "unknown community_id")],
    ),
    (
        "duplicate key in the file",
        csv_text(fb("R1"), fb("R2"), fb("R1", safety="9")),
        [(4, "response_id", "also on line 2")],
    ),
    (
        "header only",
        csv_text(),
        [(None, None, "header but no data rows")],
    ),
    (
        "latin-1 bytes (not UTF-8)",
        csv_text(fb("R1"), fb("R2", comment="caf\u00e9")).replace(
            "caf\u00e9".encode(), "caf\u00e9".encode("latin-1")
        ),
        [(3, None, "not UTF-8")],
    ),
    (
        "error in the last row, no final newline",
        csv_text(fb("R1"), fb("R2"), fb("R3"), fb("R4"), fb("R5", respect="x")).rstrip(b"\n"),
        [(6, "respect", "not a whole number")],
    ),
    (
        "ragged row with an extra field",
        csv_text(fb("R1"), fb("R2", extra="surplus"), fb("R3")),
        [(3, None, "expected 11 fields, found 12")],
    ),
    (
        "quoted newlines shift the lines of later records",
        csv_text(fb("R1", comment='"first line\nsecond line"'), fb("R2"), fb("R3", safety="11")),
        [(5, "safety", "above the maximum of 10")],
    ),
    (
        "blank line in the middle is skipped but still counted",
        csv_text(fb("R1"), "", fb("R2", listen="-1")),
        [(4, "listen", "below the minimum of 0")],
    ),
    (
        "Windows line endings",
        csv_text(fb("R1"), fb("R2", safety="eleven"), newline="\r\n"),
        [(3, "safety", "not a whole number")],
    ),
    (
        "injection string in a key column is only a value",
        csv_text(fb("R1", community_id=INJECTION)),
        [(2, "community_id", "unknown community_id")],
    ),
    (
        "NUL bytes (a binary file)",
        csv_text(fb("R1"), fb("R2", comment="a\x00b")),
        [(3, None, "NUL bytes")],
    ),
]


@pytest.mark.parametrize(("case", "data", "expected"), BAD_FILES, ids=[c for c, _, _ in BAD_FILES])
def test_bad_file_is_refused_at_the_exact_line_and_column_and_changes_no_data(database, case, data, expected):
    before = data_snapshot(database)
    result = _import(database, data)
    found = [(i.line, i.column) for i in result.errors]
    assert found == [(line, column) for line, column, _ in expected], [str(i) for i in result.errors]
    for issue, (_, _, fragment) in zip(result.errors, expected, strict=True):
        assert fragment in issue.message, str(issue)
    assert not result.committed and result.error_count == len(expected)
    assert data_snapshot(database) == before
    assert audit_rows(database)[-1][:3] == ("feedback.csv", "feedback", "rejected")


def test_the_reported_value_is_the_text_as_written(database):
    result = _import(database, csv_text(fb("R1", safety=" 11 "), fb("R2", community_id=INJECTION)))
    assert [(i.line, i.column, i.value) for i in result.errors] == [
        (2, "safety", " 11 "),
        (3, "community_id", INJECTION),
    ]


def test_quoted_newlines_and_injection_strings_are_stored_literally(database):
    comment = f'line one\nline two, with "quotes" and {INJECTION}'
    quoted = '"' + comment.replace('"', '""') + '"'
    result = _import(database, csv_text(fb("R1", comment=quoted), fb("R2", comment=INJECTION)))
    assert result.committed and (result.added, result.updated) == (2, 0)
    with _live(database) as con:
        stored = dict(
            con.execute(
                "select response_id, comment from feedback where response_id in ('R1', 'R2')"
            ).fetchall()
        )
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert stored == {"R1": comment, "R2": INJECTION}
    assert {"meetings", "feedback", "communities"} <= tables


def test_injection_in_a_community_name_is_stored_literally(database):
    name = "Robert'); DROP TABLE communities;--"
    data = (
        ",".join(BY_NAME["communities"].column_names) + f'\nC3,"{name}",identity,EAST,30,S1,true\n'
    ).encode()
    result = _import(database, data, table="communities", name="communities.csv")
    assert result.committed
    with _live(database) as con:
        assert con.execute("select name from communities where community_id = 'C3'").fetchone() == (name,)
        assert con.execute("select count(*) from communities").fetchone() == (3,)


def test_reimporting_the_same_file_changes_nothing(database):
    data = csv_text(fb("R1"), fb("R2"))
    first = _import(database, data)
    after_first = data_snapshot(database)
    again = _import(database, data)
    assert (first.added, first.updated) == (2, 0)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert data_snapshot(database) == after_first


def test_a_corrected_file_updates_rows_in_place_without_duplicates(database):
    _import(database, csv_text(fb("R1", safety="3"), fb("R2", safety="4")))
    result = _import(database, csv_text(fb("R1", safety="3"), fb("R2", safety="9"), fb("R3")))
    assert (result.added, result.updated, result.unchanged) == (1, 1, 1)
    with _live(database) as con:
        rows = con.execute("select response_id, safety from feedback order by 1").fetchall()
    assert rows == [("R0", 4), ("R1", 3), ("R2", 9), ("R3", 5)]


def test_every_import_attempt_leaves_one_audit_row_and_a_dry_run_none(database):
    before = audit_rows(database)
    _import(database, csv_text(fb("R1")), name="good.csv")
    _import(database, csv_text(fb("R2", safety="11")), name="bad.csv")
    _import(database, csv_text(), name="empty.csv")
    _import(database, csv_text(fb("R3")), name="dry.csv", dry_run=True)
    new = audit_rows(database)[len(before) :]
    assert new == [
        ("good.csv", "feedback", "committed", 1, 1, 0, 0),
        ("bad.csv", "feedback", "rejected", 1, 0, 0, 1),
        ("empty.csv", "feedback", "rejected", 0, 0, 0, 0),
    ]


def test_a_dry_run_checks_a_later_file_against_an_earlier_file_of_the_same_batch(database):
    """Communities first, then feedback naming the new community: valid together, as the real import is."""
    communities = (
        ",".join(BY_NAME["communities"].column_names) + "\nC9,Gamma,identity,EAST,30,S1,true\n"
    ).encode()
    feedback = csv_text(fb("R1", community_id="C9"))
    before = data_snapshot(database)
    results = import_files(
        [("feedback", "feedback.csv", feedback), ("communities", "communities.csv", communities)],
        url=database.url,
        dry_run=True,
    )
    assert [(r.table, r.ok, r.added, r.committed) for r in results] == [
        ("communities", True, 1, False),
        ("feedback", True, 1, False),
    ]
    assert data_snapshot(database) == before
