"""The tag-list reference rule (meetings.other_staff_ids must name known staff), after its rewrite
from a per-row list_has_all (O(rows × staff), hours at scale L) to one join over the unnested ids."""

from __future__ import annotations

from data_access.importer import import_files
from tests.fixtures import build, community, csv_bytes, meeting


def _meetings(**others: str) -> bytes:
    rows = []
    for i, (mid, other) in enumerate(others.items()):
        rows.append({**meeting(mid, f"2026-03-{i + 1:02d}", "C1"), "other_staff_ids": other})
    return csv_bytes("meetings", rows)


def test_unknown_ids_in_a_tag_list_are_errors_on_their_own_lines(tmp_path):
    database = build(tmp_path, communities=[community("C1", "Alpha")])
    data = _meetings(M1="S2", M2="S2;NOPE", M3="", M4="S3 ; S2", M5="GHOST;ALSO_GHOST", M6="S1")
    r = import_files([("meetings", "m.csv", data)], url=database.url, dry_run=True)[0]
    bad = [(e.line, e.column, e.message) for e in r.errors]
    # header is line 1, so M2 is on line 3 and M5 on line 6; one error per line however many bad ids
    assert bad == [
        (3, "other_staff_ids", "contains an id not found in staff"),
        (6, "other_staff_ids", "contains an id not found in staff"),
    ]
    assert [e.value for e in r.errors] == ["S2;NOPE", "GHOST;ALSO_GHOST"]


def test_known_ids_pass_and_commit(tmp_path):
    database = build(tmp_path, communities=[community("C1", "Alpha")])
    data = _meetings(M1="S2", M2="S2;S3", M3="", M4=" S3 ; S2 ")
    r = import_files([("meetings", "m.csv", data)], url=database.url)[0]
    assert r.committed and r.error_count == 0 and r.added == 4
