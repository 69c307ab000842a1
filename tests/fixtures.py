"""Tiny hand-made databases for tests, built through the real importer.

`build(tmp_path, **tables)` writes each table's rows as CSV and imports them, so
tests exercise the same path a user's files take. Reference tables default to a
minimal division: two patrol divisions, all six units and a few staff.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from data_access.db import Database
from data_access.importer import import_files
from data_access.tables import BY_NAME

DIVISIONS = [
    {"division_code": "EAST", "name": "East"},
    {"division_code": "NORTH", "name": "North"},
]
UNITS = [
    {"unit_code": "SW", "name": "Social Workers", "is_sworn": "false"},
    {"unit_code": "CIO", "name": "Community Interaction Officers", "is_sworn": "true"},
    {"unit_code": "CIT", "name": "Crisis Intervention Team", "is_sworn": "true"},
    {"unit_code": "CFMH", "name": "Crime-Free Multi-Housing", "is_sworn": "true"},
    {"unit_code": "CHAP", "name": "Chaplains", "is_sworn": "false"},
    {"unit_code": "LIA", "name": "Liaison Officers", "is_sworn": "true"},
]
STAFF = [
    {
        "staff_id": "S1",
        "display_name": "Liaison One",
        "title": "Muslim Community Liaison",
        "unit_code": "LIA",
        "division_code": "EAST",
        "start_date": "2020-01-01",
        "end_date": "",
        "is_cit_trained": "true",
    },
    {
        "staff_id": "S2",
        "display_name": "Officer Two",
        "title": "",
        "unit_code": "CIO",
        "division_code": "NORTH",
        "start_date": "2020-01-01",
        "end_date": "",
        "is_cit_trained": "false",
    },
    {
        "staff_id": "S3",
        "display_name": "Worker Three",
        "title": "",
        "unit_code": "SW",
        "division_code": "EAST",
        "start_date": "2020-01-01",
        "end_date": "",
        "is_cit_trained": "false",
    },
]


def csv_bytes(table: str, rows: list[dict[str, Any]]) -> bytes:
    cols = BY_NAME[table].column_names
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in cols})
    return buf.getvalue().encode()


def community(
    cid: str,
    name: str,
    *,
    division: str = "EAST",
    cadence: int = 30,
    owner: str = "S1",
    kind: str = "identity",
    active: bool = True,
) -> dict[str, Any]:
    return {
        "community_id": cid,
        "name": name,
        "kind": kind,
        "division_code": division,
        "target_cadence_days": cadence,
        "responsible_staff_id": owner,
        "is_active": str(active).lower(),
    }


def meeting(
    mid: str,
    day: str,
    cid: str,
    *,
    residents: int = 10,
    division: str = "EAST",
    lead: str = "S1",
    mtype: str = "liaison_meeting",
    concerns: str = "",
) -> dict[str, Any]:
    return {
        "meeting_id": mid,
        "meeting_date": day,
        "start_time": "18:00",
        "duration_min": 60,
        "community_id": cid,
        "division_code": division,
        "meeting_type": mtype,
        "residents_count": residents,
        "officers_count": 1,
        "lead_staff_id": lead,
        "concern_tags": concerns,
    }


def response(
    rid: str,
    day: str,
    *,
    safety: int,
    respect: int,
    listen: int,
    community: str = "",
    division: str = "EAST",
    channel: str = "community_survey",
    comment: str = "",
    topics: str = "",
) -> dict[str, Any]:
    return {
        "response_id": rid,
        "response_date": day,
        "channel": channel,
        "community_id": community,
        "division_code": division,
        "safety": safety,
        "respect": respect,
        "listen": listen,
        "comment": comment,
        "topic_tags": topics,
    }


def build(tmp_path: Path, **tables: list[dict[str, Any]]) -> Database:
    """Import the given tables (plus default reference tables) into a fresh database under tmp_path."""
    tables.setdefault("patrol_divisions", DIVISIONS)
    tables.setdefault("units", UNITS)
    tables.setdefault("staff", STAFF)
    url = f"duckdb:///{tmp_path / 'db' / 'test.duckdb'}"
    files = [(name, f"{name}.csv", csv_bytes(name, rows)) for name, rows in tables.items() if rows]
    results = import_files(files, user="test", url=url)
    bad = [(r.file_name, [str(e) for e in r.errors]) for r in results if not r.committed]
    assert not bad, bad
    return Database(url)
