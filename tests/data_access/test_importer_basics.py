"""The importer's commit path: idempotent re-import, corrected rows update in place, audit rows, versions."""

from __future__ import annotations

import duckdb

from data_access import db
from data_access.importer import import_files
from tests.fixtures import build, community, csv_bytes


def _rows(database, sql):
    with duckdb.connect(str(db.current_version(database.link)), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_reimport_changes_nothing_and_correction_updates_in_place(tmp_path):
    comms = [community("C1", "Alpha"), community("C2", "Beta")]
    database = build(tmp_path, communities=comms)
    again = import_files(
        [("communities", "communities.csv", csv_bytes("communities", comms))], url=database.url
    )[0]
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    fixed = [community("C1", "Alpha renamed"), community("C2", "Beta"), community("C3", "Gamma")]
    r = import_files([("communities", "c.csv", csv_bytes("communities", fixed))], url=database.url)[0]
    assert (r.added, r.updated, r.unchanged) == (1, 1, 1)
    assert _rows(database, "select community_id, name from communities order by 1") == [
        ("C1", "Alpha renamed"),
        ("C2", "Beta"),
        ("C3", "Gamma"),
    ]


def test_rejected_file_leaves_data_unchanged_and_is_audited(tmp_path):
    database = build(tmp_path, communities=[community("C1", "Alpha")])
    before = db.current_version(database.link)
    bad = [community("C9", "Bad", cadence=0)]
    r = import_files(
        [("communities", "bad.csv", csv_bytes("communities", bad))], url=database.url, user="ana"
    )[0]
    assert not r.committed and r.errors[0].line == 2 and r.errors[0].column == "target_cadence_days"
    assert _rows(database, "select count(*) from communities") == [(1,)]
    audit = _rows(
        database, "select user_name, file_name, outcome, rows_rejected from imports order by imported_at"
    )
    assert audit[-1] == ("ana", "bad.csv", "rejected", 1)
    assert db.current_version(database.link) != before  # a new version holding only the audit row


def test_dry_run_reports_counts_and_writes_nothing(tmp_path):
    database = build(tmp_path, communities=[community("C1", "Alpha")])
    before = db.current_version(database.link)
    rows = [community("C1", "Alpha"), community("C2", "Beta")]
    r = import_files(
        [("communities", "c.csv", csv_bytes("communities", rows))], url=database.url, dry_run=True
    )[0]
    assert (r.added, r.unchanged, r.committed) == (1, 1, False)
    assert db.current_version(database.link) == before
    assert len(db.list_versions(database.link)) == 1


def test_meeting_unit_is_the_lead_staff_members_unit(tmp_path):
    from tests.fixtures import meeting

    database = build(
        tmp_path,
        communities=[community("C1", "Alpha")],
        meetings=[meeting("M1", "2026-01-05", "C1", lead="S2"), meeting("M2", "2026-01-06", "C1")],
    )
    assert _rows(database, "select meeting_id, unit_code from meetings order by 1") == [
        ("M1", "CIO"),
        ("M2", "LIA"),
    ]
