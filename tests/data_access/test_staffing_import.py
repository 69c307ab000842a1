"""Staffing import rules (data_access/tables.py STAFFING), through the real importer.

Errors reject the whole file and leave the staffing table as it was; warnings are
reported and the rows kept. Line numbers count the header as line 1.
"""

from __future__ import annotations

from datetime import date

import pytest

from data_access.db import Database, read_frame
from data_access.importer import Issue, import_files
from tests.fixtures import build

HEADER = "month,unit_code,division_code,authorized,filled,available\n"
BASE = [
    {
        "month": "2026-01",
        "unit_code": "CIT",
        "division_code": "EAST",
        "authorized": 3,
        "filled": 2.5,
        "available": 2,
    },
]


def _next_month(today: date) -> str:
    y, m = divmod(today.year * 12 + today.month, 12)
    return f"{y:04d}-{m + 1:02d}"


@pytest.fixture
def db(tmp_path) -> Database:
    return build(tmp_path, staffing=BASE)


def _staffing(db: Database):
    with db.connect() as conn:
        return read_frame(conn, "select * from staffing order by month, unit_code, division_code")


def _import(db: Database, body: str):
    (result,) = import_files(
        [("staffing", "staffing.csv", (HEADER + body).encode())], user="test", url=db.url
    )
    return result


def _rejected(db: Database, body: str) -> list[Issue]:
    before = _staffing(db)
    result = _import(db, body)
    assert not result.committed and not result.ok
    assert result.added == result.updated == 0
    after = _staffing(db)
    assert after.equals(before), "a rejected file must leave the staffing table unchanged"
    return result.errors


@pytest.mark.parametrize(
    ("row", "column", "value"),
    [
        ("2026-02,CIT,EAST,-1,0,0", "authorized", "-1"),
        ("2026-02,CIT,EAST,3,2,-0.5", "available", "-0.5"),
    ],
)
def test_negative_fte_is_an_error(db, row, column, value):
    errors = _rejected(db, row + "\n")
    assert errors == [Issue(2, column, "below the minimum of 0", value, "error")]


def test_negative_filled_is_an_error_and_so_is_available_above_it(db):
    errors = _rejected(db, "2026-02,CIT,EAST,3,-0.5,0\n")
    assert errors == [
        Issue(2, "available", "available is greater than filled", "0", "error"),
        Issue(2, "filled", "below the minimum of 0", "-0.5", "error"),
    ]


def test_available_above_filled_is_an_error_naming_line_and_column(db):
    body = "2026-02,CIT,EAST,3,3,3\n2026-02,LIA,EAST,2,1.5,1.6\n2026-02,CIO,NORTH,4,4,3.5\n"
    errors = _rejected(db, body)
    assert errors == [Issue(3, "available", "available is greater than filled", "1.6", "error")]
    assert str(errors[0]) == "line 3, column available: available is greater than filled (value: '1.6')"


def test_a_month_in_the_future_is_an_error(db):
    future = _next_month(date.today())
    errors = _rejected(db, f"2026-02,CIT,EAST,3,3,3\n{future},CIT,EAST,3,3,3\n")
    assert errors == [Issue(3, "month", "month is in the future", future, "error")]


def test_the_current_month_is_accepted(db):
    this_month = f"{date.today():%Y-%m}"
    result = _import(db, f"{this_month},CIT,NORTH,3,3,3\n")
    assert result.committed and result.errors == [] and result.warnings == []


def test_one_bad_row_rejects_the_whole_file(db):
    before = _staffing(db)
    errors = _rejected(db, "2026-01,CIT,EAST,3,3,3\n2026-02,CIT,EAST,3,3,3\n2026-02,LIA,EAST,-2,0,0\n")
    assert [(e.line, e.column, e.message) for e in errors] == [(4, "authorized", "below the minimum of 0")]
    # the good rows did not sneak in: January CIT East still reads 2.5 filled, no February rows
    assert _staffing(db).equals(before)
    assert list(before.filled) == [2.5]


def test_filled_above_authorized_beyond_tolerance_is_a_warning_and_the_row_is_kept(db):
    result = _import(db, "2026-02,CIT,EAST,2,2.5,2\n2026-02,LIA,EAST,1.5,1.5,1\n")
    assert result.committed and result.ok and result.added == 2
    assert result.warnings == [
        Issue(2, "filled", "filled exceeds authorized by more than 10%", "2.5", "warning")
    ]
    df = _staffing(db)
    kept = df[(df.unit_code == "CIT") & (df.month == date(2026, 2, 1))].iloc[0]
    assert (kept.authorized, kept.filled, kept.available) == (2.0, 2.5, 2.0)


def test_filled_up_to_ten_percent_over_authorized_is_not_warned(db):
    # exactly +10% is within tolerance even where float rounding puts 9.04 × 1.1 just below 9.944
    body = "2026-02,CIT,EAST,10,11,9\n2026-02,LIA,EAST,1.5,1.65,1\n2026-02,CFMH,EAST,9.04,9.944,9\n"
    result = _import(db, body + "2026-02,CIO,EAST,0,0,0\n")
    assert result.committed and result.warnings == []


def test_fractional_fte_import_as_numbers(db):
    result = _import(db, "2026-02,CHAP,EAST,1.5,1.25,0.75\n")
    assert result.committed and result.errors == []
    row = _staffing(db).query("unit_code == 'CHAP'").iloc[0]
    assert (row.authorized, row.filled, row.available) == (1.5, 1.25, 0.75)


def test_reimport_updates_the_row_by_its_key(db):
    result = _import(db, "2026-01,CIT,EAST,3,3,2.5\n")
    assert (result.added, result.updated) == (0, 1)
    assert list(_staffing(db).filled) == [3.0]
