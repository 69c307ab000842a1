"""Staffing numbers on a hand-made division; every expected value is worked out by hand below.

Period Q1: 1 Jan – 31 Mar 2026 (90 days = 90 / 30.4375 = 2.9569 months); last staffing month March.

Staffing rows (authorized, filled, available); SW has no February row:

    team          Dec-25    Jan        Feb        Mar          Apr
    CIT NORTH     3,3,3     3,3,2.5    3,3,3      3,1.5,1.5    3,0,0
    CIT EAST                2,2,2      2,2,1.5    2,2,2
    LIA EAST                2,2,1.5    2,1,1      2,1,0.5
    CIO NORTH               4,4,4      4,4,3.5    4,3.5,3
    SW EAST                 2,2,1      -          2,2,2
    CFMH NORTH              8,8,8      8,7,7      8,8,6
    CHAP EAST               2,2,2      2,2,1      2,1.7,1.7    (exactly 85% filled in March)

Staff (sworn units CIO, CIT, CFMH, LIA; civilian SW, CHAP):
    L1 LIA EAST trained · L2 LIA EAST trained, left 15 Feb · C1 CIT NORTH trained
    C2 CIT NORTH trained, from 10 Jan · C3 CIT EAST trained, left 31 Mar (still serving at end)
    O1 CIO NORTH · O2 CIO EAST · O3 CIO NORTH · N1 CIO NORTH trained, starts 1 May (not yet)
    W1 SW EAST trained (civilian) · W2 SW NORTH (civilian) · H1 CHAP EAST (civilian)
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data_access import overview, staffing
from data_access.filters import Filters
from tests.fixtures import DIVISIONS, build, community, meeting

Q1 = Filters(start=date(2026, 1, 1), end=date(2026, 3, 31))
Q1_MONTHS = 90 / 30.4375

ROWS = {
    "2025-12": [("CIT", "NORTH", 3, 3, 3)],
    "2026-01": [
        ("CIT", "NORTH", 3, 3, 2.5),
        ("CIT", "EAST", 2, 2, 2),
        ("LIA", "EAST", 2, 2, 1.5),
        ("CIO", "NORTH", 4, 4, 4),
        ("SW", "EAST", 2, 2, 1),
        ("CFMH", "NORTH", 8, 8, 8),
        ("CHAP", "EAST", 2, 2, 2),
    ],
    "2026-02": [
        ("CIT", "NORTH", 3, 3, 3),
        ("CIT", "EAST", 2, 2, 1.5),
        ("LIA", "EAST", 2, 1, 1),
        ("CIO", "NORTH", 4, 4, 3.5),
        ("CFMH", "NORTH", 8, 7, 7),
        ("CHAP", "EAST", 2, 2, 1),
    ],
    "2026-03": [
        ("CIT", "NORTH", 3, 1.5, 1.5),
        ("CIT", "EAST", 2, 2, 2),
        ("LIA", "EAST", 2, 1, 0.5),
        ("CIO", "NORTH", 4, 3.5, 3),
        ("SW", "EAST", 2, 2, 2),
        ("CFMH", "NORTH", 8, 8, 6),
        ("CHAP", "EAST", 2, 1.7, 1.7),
    ],
    "2026-04": [("CIT", "NORTH", 3, 0, 0)],
}


def _staff(sid, unit, division, *, trained=False, start="2020-01-01", end="", title=""):
    return {
        "staff_id": sid,
        "display_name": f"Staff {sid}",
        "title": title,
        "unit_code": unit,
        "division_code": division,
        "start_date": start,
        "end_date": end,
        "is_cit_trained": str(trained).lower(),
    }


STAFF = [
    _staff("L1", "LIA", "EAST", trained=True, title="Muslim Community Liaison"),
    _staff("L2", "LIA", "EAST", trained=True, end="2026-02-15", title="Campus Liaison"),
    _staff("C1", "CIT", "NORTH", trained=True),
    _staff("C2", "CIT", "NORTH", trained=True, start="2026-01-10"),
    _staff("C3", "CIT", "EAST", trained=True, end="2026-03-31"),
    _staff("O1", "CIO", "NORTH"),
    _staff("O2", "CIO", "EAST"),
    _staff("O3", "CIO", "NORTH"),
    _staff("N1", "CIO", "NORTH", trained=True, start="2026-05-01"),
    _staff("W1", "SW", "EAST", trained=True),
    _staff("W2", "SW", "NORTH"),
    _staff("H1", "CHAP", "EAST"),
]

COMMUNITIES = [
    community("K1", "Muslim community", division="EAST", owner="L1"),
    community("K2", "Campus", division="EAST", owner="L2"),  # liaison left 15 Feb
    community("K3", "North treatment center", division="NORTH", owner="C1", kind="service_partner"),
    community("K4", "North watch", division="NORTH", owner="O1", kind="neighborhood"),
    community("K5", "East watch", division="EAST", owner="O1", kind="neighborhood"),
    community("K6", "Citywide group", division="", owner="L1"),
    community("K7", "Dormant group", division="NORTH", owner="C1", active=False),
    community("K8", "Unassigned group", division="NORTH", owner=""),
    community("K9", "East shelter", division="EAST", owner="C3", kind="service_partner"),
]

MEETINGS = [
    # CIT (lead C1): 6 in Q1 (4 in North, 2 in East), one before and one after
    meeting("M01", "2026-01-01", "K3", division="NORTH", lead="C1"),
    meeting("M02", "2026-01-20", "K3", division="NORTH", lead="C1"),
    meeting("M03", "2026-02-10", "K3", division="NORTH", lead="C1"),
    meeting("M04", "2026-03-31", "K3", division="NORTH", lead="C1"),
    meeting("M05", "2026-02-11", "K9", division="EAST", lead="C1"),
    meeting("M06", "2026-03-05", "K9", division="EAST", lead="C1"),
    meeting("M07", "2026-04-01", "K3", division="NORTH", lead="C1"),
    meeting("M08", "2025-12-15", "K3", division="NORTH", lead="C1"),
    # LIA (lead L1): 4 in Q1, one of them in North
    meeting("M09", "2026-01-05", "K1", division="EAST", lead="L1"),
    meeting("M10", "2026-02-05", "K1", division="EAST", lead="L1"),
    meeting("M11", "2026-03-05", "K6", division="EAST", lead="L1"),
    meeting("M12", "2026-03-15", "K6", division="NORTH", lead="L1"),
    # CIO (lead O1): 3 in Q1, two in North
    meeting("M13", "2026-01-12", "K4", division="NORTH", lead="O1"),
    meeting("M14", "2026-02-12", "K5", division="EAST", lead="O1"),
    meeting("M15", "2026-03-12", "K4", division="NORTH", lead="O1"),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    staffing_rows = [
        {"month": m, "unit_code": u, "division_code": d, "authorized": a, "filled": f, "available": v}
        for m, rows in ROWS.items()
        for u, d, a, f, v in rows
    ]
    return build(
        tmp_path_factory.mktemp("staffing"),
        patrol_divisions=[*DIVISIONS, {"division_code": "METRO", "name": "Metro"}],
        staff=STAFF,
        communities=COMMUNITIES,
        meetings=MEETINGS,
        staffing=staffing_rows,
    )


@pytest.fixture
def conn(db):
    with db.connect() as c:
        yield c


def f(**kw) -> Filters:
    return Filters(start=kw.pop("start", Q1.start), end=kw.pop("end", Q1.end), **kw)


def rows(df: pd.DataFrame, key: str, cols: list[str]) -> dict[str, tuple]:
    return {r[key]: tuple(round(float(r[c]), 6) for c in cols) for _, r in df.iterrows()}


# ---------------------------------------------------------------- the period's last month


def test_last_month_is_latest_month_on_or_before_period_end_as_the_overview_picks_it(conn):
    assert staffing.latest_staffing_month(conn, Q1) == date(2026, 3, 1)  # April is after the end
    feb = f(end=date(2026, 2, 28))
    assert staffing.latest_staffing_month(conn, feb) == date(2026, 2, 1)
    # SW has no February row, so SW alone falls back to January
    assert staffing.latest_staffing_month(conn, f(end=date(2026, 2, 28), units=("SW",))) == date(2026, 1, 1)
    assert staffing.latest_staffing_month(conn, f(start=date(2025, 1, 1), end=date(2025, 11, 30))) is None
    for flt in (Q1, feb, f(units=("SW",), end=date(2026, 2, 28)), f(divisions=("EAST",))):
        assert overview.staffing_totals(conn, flt)["month"] == staffing.latest_staffing_month(conn, flt)


def test_by_unit_sums_and_rates_in_march(conn):
    df = staffing.staffing_month(conn, Q1).by_unit
    cols = ["authorized", "filled", "available", "vacancy_rate", "availability"]
    assert rows(df, "unit_code", cols) == {
        "CFMH": (8, 8, 6, 0.0, 0.75),
        "CHAP": (2, 1.7, 1.7, 0.15, 0.85),
        "CIO": (4, 3.5, 3, 0.125, 0.75),
        "CIT": (5, 3.5, 3.5, 0.3, 0.7),  # North 3/1.5/1.5 + East 2/2/2
        "LIA": (2, 1, 0.5, 0.5, 0.25),
        "SW": (2, 2, 2, 0.0, 1.0),
    }
    assert set(df["month"]) == {date(2026, 3, 1)}


def test_units_below_85_percent_filled_are_flagged_as_on_the_overview(conn):
    df = staffing.staffing_month(conn, Q1).by_unit
    flagged = set(df.loc[df.is_below_filled, "unit_code"])
    assert flagged == {"CIT", "LIA"}  # 70% and 50%; CHAP at exactly 85% is not below
    for flt in (Q1, f(divisions=("EAST",)), f(divisions=("NORTH",)), f(end=date(2026, 2, 28))):
        by_unit = staffing.staffing_month(conn, flt).by_unit
        assert set(by_unit.loc[by_unit.is_below_filled, "unit_code"]) == set(
            overview.units_below_filled(conn, flt)["unit_code"]
        )


def test_by_division_sums_rates_and_flags_in_march(conn):
    df = staffing.staffing_month(conn, Q1).by_division
    cols = ["authorized", "filled", "available", "vacancy_rate", "availability"]
    # East: CIT 2/2/2 + LIA 2/1/0.5 + SW 2/2/2 + CHAP 2/1.7/1.7; North: CIT 3/1.5/1.5 + CIO 4/3.5/3 + CFMH 8/8/6
    assert rows(df, "division_code", cols) == {
        "EAST": (8, 6.7, 6.2, round(1.3 / 8, 6), round(6.2 / 8, 6)),
        "NORTH": (15, 13, 10.5, round(2 / 15, 6), 0.7),
    }
    assert dict(zip(df.division_code, df.is_below_filled, strict=True)) == {"EAST": True, "NORTH": False}


def test_teams_below_85_percent_filled_least_filled_first(conn):
    df = staffing.staffing_month(conn, Q1).cells
    assert list(zip(df.unit_code, df.division_code, df.filled_share, strict=True)) == [
        ("CIT", "NORTH", 0.5),
        ("LIA", "EAST", 0.5),
    ]
    assert list(df.vacant_fte) == [1.5, 1.0]


def test_unit_and_division_filters_narrow_the_last_month(conn):
    east = staffing.staffing_month(conn, f(divisions=("EAST",))).by_unit
    assert rows(east, "unit_code", ["authorized", "filled", "available"]) == {
        "CHAP": (2, 1.7, 1.7),
        "CIT": (2, 2, 2),
        "LIA": (2, 1, 0.5),
        "SW": (2, 2, 2),
    }
    assert set(east.loc[east.is_below_filled, "unit_code"]) == {"LIA"}
    cit = staffing.staffing_month(conn, f(units=("CIT",))).by_division
    assert rows(cit, "division_code", ["authorized", "filled", "available"]) == {
        "EAST": (2, 2, 2),
        "NORTH": (3, 1.5, 1.5),
    }
    assert dict(zip(cit.division_code, cit.is_below_filled, strict=True)) == {"EAST": False, "NORTH": True}


def test_a_division_with_no_staffing_rows_gives_empty_results(conn):
    metro = f(divisions=("METRO",))
    assert staffing.latest_staffing_month(conn, metro) is None
    last = staffing.staffing_month(conn, metro)
    assert last.totals is None
    assert last.by_unit.empty and last.by_division.empty and last.cells.empty
    for fn in (
        staffing.staffing_by_month,
        staffing.cit_trained_share_by_division,
        staffing.workload_by_unit,
        staffing.roster,
    ):
        assert fn(conn, metro).empty, fn.__name__
    assert staffing.cit_trained_share_total(conn, metro) == {
        "sworn_count": 0,
        "cit_trained_count": 0,
        "cit_trained_share": None,
    }


def test_the_page_reads_the_last_month_in_one_statement(conn, monkeypatch):
    """staffing_month (one statement) gives the Overview's totals (its own SQL) and the tables
    above; in March: 8 + 2 + 4 + 5 + 2 + 2 = 23 authorized, 8 + 1.7 + 3.5 + 3.5 + 1 + 2 = 19.7
    filled, 6 + 1.7 + 3 + 3.5 + 0.5 + 2 = 16.7 available."""
    import sqlalchemy as sa

    from data_access import db
    from data_access.db import MACRO_DDL

    march = staffing.staffing_month(conn, Q1)
    assert march.totals is not None
    assert march.totals["month"] == date(2026, 3, 1)
    assert [round(march.totals[c], 6) for c in ("authorized", "filled", "available")] == [23, 19.7, 16.7]
    for flt in (
        Q1,
        f(end=date(2026, 2, 28)),
        f(units=("SW",), end=date(2026, 2, 28)),  # January: SW has no February row
        f(divisions=("EAST",)),
        f(units=("CIT", "LIA"), divisions=("NORTH",)),
        f(divisions=("METRO",)),  # no staffing rows: no totals, empty tables
    ):
        month = staffing.staffing_month(conn, flt)
        assert month.totals == overview.staffing_totals(conn, flt), flt
        if month.totals is None:
            assert month.by_unit.empty and month.by_division.empty and month.cells.empty
            continue
        for part in (month.by_unit, month.by_division):
            assert set(part["month"]) == {month.totals["month"]}
            for c in ("authorized", "filled", "available"):
                assert round(part[c].sum(), 6) == round(month.totals[c], 6), (flt, c)

    # every statement: those sent to DuckDB past SQLAlchemy (db._execute) and any through it
    statements: list[str] = []
    execute = db._execute

    def sent(conn_, sql, params):
        statements.append(sql)
        return execute(conn_, sql, params)

    def seen(_conn, _cursor, statement, *_args, **_kw):
        if not statement.startswith(MACRO_DDL):
            statements.append(statement)

    monkeypatch.setattr(db, "_execute", sent)
    sa.event.listen(conn, "before_cursor_execute", seen)
    try:
        staffing.staffing_month(conn, f(divisions=("NORTH",)))
    finally:
        sa.event.remove(conn, "before_cursor_execute", seen)
    assert len(statements) == 1


# ---------------------------------------------------------------- month by month


def test_trend_totals_per_month_of_the_period(conn):
    df = staffing.staffing_by_month(conn, Q1)
    assert [d.strftime("%Y-%m") for d in df.month] == ["2026-01", "2026-02", "2026-03"]  # not Dec, not Apr
    assert [
        tuple(round(v, 6) for v in r) for r in df[["authorized", "filled", "available"]].itertuples(False)
    ] == [
        (23, 23, 21),
        (21, 19, 17),  # no SW row in February
        (23, 19.7, 16.7),
    ]
    assert [round(v, 6) for v in df.vacancy_rate] == [0.0, round(2 / 21, 6), round(3.3 / 23, 6)]
    assert [round(v, 6) for v in df.availability] == [
        round(21 / 23, 6),
        round(17 / 21, 6),
        round(16.7 / 23, 6),
    ]


def test_vacancy_trend_by_division_for_one_unit_shows_the_north_gap(conn):
    df = staffing.staffing_by_month(conn, f(units=("CIT",)), by="division")
    north = df[df.division_code == "NORTH"]
    assert [round(v, 6) for v in north.vacancy_rate] == [0.0, 0.0, 0.5]
    east = df[df.division_code == "EAST"]
    assert list(east.vacancy_rate) == [0.0, 0.0, 0.0]
    by_unit = staffing.staffing_by_month(conn, f(divisions=("EAST",)), by="unit")
    lia = by_unit[by_unit.unit_code == "LIA"]
    assert list(lia.vacancy_rate) == [0.0, 0.5, 0.5]


def test_trend_split_comes_only_from_the_allowlist(conn):
    with pytest.raises(ValueError, match="unknown split"):
        staffing.staffing_by_month(conn, Q1, by="division_code; drop table staffing")


# ---------------------------------------------------------------- CIT-trained share


def test_cit_trained_share_of_sworn_staff_by_division(conn):
    df = staffing.cit_trained_share_by_division(conn, Q1)
    # East sworn serving 31 Mar: L1 (trained), C3 (trained, left that day), O2 -> 2 of 3
    #   (not L2, who left 15 Feb; not W1 or H1, civilians)
    # North: C1, C2 (trained), O1, O3 -> 2 of 4 (not N1, who starts in May; not W2, civilian)
    assert rows(df, "division_code", ["sworn_count", "cit_trained_count", "cit_trained_share"]) == {
        "EAST": (3, 2, round(2 / 3, 6)),
        "NORTH": (4, 2, 0.5),
    }
    assert staffing.cit_trained_share_total(conn, Q1) == {
        "sworn_count": 7,
        "cit_trained_count": 4,
        "cit_trained_share": 4 / 7,
    }


def test_cit_trained_share_follows_unit_division_and_period_end(conn):
    assert staffing.cit_trained_share_total(conn, f(units=("CIO",)))["cit_trained_share"] == 0.0
    assert staffing.cit_trained_share_total(conn, f(units=("SW", "CHAP"))) == {
        "sworn_count": 0,
        "cit_trained_count": 0,
        "cit_trained_share": None,
    }
    # on 10 Feb L2 still serves (trained) and C2 has started: East 3 of 4, North 2 of 4
    feb10 = staffing.cit_trained_share_by_division(conn, f(end=date(2026, 2, 10)))
    assert rows(feb10, "division_code", ["sworn_count", "cit_trained_count"]) == {
        "EAST": (4, 3),
        "NORTH": (4, 2),
    }
    # on 9 Jan C2 has not started yet
    jan9 = staffing.cit_trained_share_total(conn, f(end=date(2026, 1, 9), divisions=("NORTH",)))
    assert (jan9["sworn_count"], jan9["cit_trained_count"]) == (3, 1)


def test_the_page_reads_both_cit_shares_in_one_statement(conn):
    """cit_trained_shares (the Staffing page's one statement) gives what the two functions give,
    the hand-counted figures above included, and no division row when nobody sworn serves."""
    for flt in (
        Q1,
        f(units=("CIO",)),
        f(units=("SW", "CHAP")),
        f(end=date(2026, 2, 10)),
        f(end=date(2026, 1, 9), divisions=("NORTH",)),
        f(divisions=("EAST",)),
    ):
        total, by_division = staffing.cit_trained_shares(conn, flt)
        assert total == staffing.cit_trained_share_total(conn, flt), flt
        alone = staffing.cit_trained_share_by_division(conn, flt)
        # (an empty result from the database has no column types to compare)
        pd.testing.assert_frame_equal(by_division, alone, check_dtype=not alone.empty)
    total, by_division = staffing.cit_trained_shares(conn, f(units=("SW", "CHAP")))
    assert total == {"sworn_count": 0, "cit_trained_count": 0, "cit_trained_share": None}
    assert by_division.empty
    assert staffing.cit_trained_shares(conn, Q1)[0]["cit_trained_count"] == 4


# ---------------------------------------------------------------- workload


def test_workload_is_meetings_per_average_filled_fte_per_month(conn):
    df = staffing.workload_by_unit(conn, Q1)
    got = {r.unit_code: r for r in df.itertuples()}
    assert set(got) == {"CFMH", "CHAP", "CIO", "CIT", "LIA", "SW"}
    expected = {
        # unit: (meetings, average filled FTE over the months with rows, months with rows)
        "CIT": (6, (5 + 5 + 3.5) / 3, 3),
        "LIA": (4, (2 + 1 + 1) / 3, 3),
        "CIO": (3, (4 + 4 + 3.5) / 3, 3),
        "SW": (0, (2 + 2) / 2, 2),  # no February row: averaged over January and March
        "CFMH": (0, (8 + 7 + 8) / 3, 3),
        "CHAP": (0, (2 + 2 + 1.7) / 3, 3),
    }
    for unit, (n, fte, months) in expected.items():
        r = got[unit]
        assert r.meetings_count == n, unit
        assert r.avg_filled_fte == pytest.approx(fte), unit
        assert r.staffing_months_count == months, unit
        assert r.period_months == pytest.approx(Q1_MONTHS)
        assert r.workload == pytest.approx(n / fte / Q1_MONTHS), unit
    assert got["CIT"].workload == pytest.approx(0.450926, abs=1e-6)  # 6 / 4.5 / 2.9569
    assert got["LIA"].workload == pytest.approx(1.014583, abs=1e-6)  # 4 / 1.3333 / 2.9569


def test_workload_with_a_division_filter_and_no_staffing_is_empty_not_zero(conn):
    df = staffing.workload_by_unit(conn, f(divisions=("NORTH",)))
    got = {r.unit_code: r for r in df.itertuples()}
    # North meetings: CIT M01-M04, LIA M12, CIO M13 and M15; North staffing: CIT, CIO, CFMH
    assert got["CIT"].meetings_count == 4
    assert got["CIT"].workload == pytest.approx(4 / ((3 + 3 + 1.5) / 3) / Q1_MONTHS)
    assert got["CIO"].workload == pytest.approx(2 / ((4 + 4 + 3.5) / 3) / Q1_MONTHS)
    assert (
        got["LIA"].meetings_count == 1 and pd.isna(got["LIA"].avg_filled_fte) and pd.isna(got["LIA"].workload)
    )
    assert got["CFMH"].workload == 0
    assert set(got) == {"CIT", "CIO", "LIA", "CFMH"}


def test_workload_over_one_month_and_with_a_unit_filter(conn):
    dec = staffing.workload_by_unit(conn, f(start=date(2025, 12, 1), end=date(2025, 12, 31)))
    assert list(dec.unit_code) == ["CIT"]
    assert dec.workload.iloc[0] == pytest.approx(1 / 3 / (31 / 30.4375))
    only = staffing.workload_by_unit(conn, f(units=("LIA",)))
    assert list(only.unit_code) == ["LIA"]


# ---------------------------------------------------------------- communities per liaison


def _cpl(df: pd.DataFrame) -> dict:
    out = {}
    for r in df.itertuples():
        key = r.unit_code if isinstance(r.unit_code, str) else None
        cpl = None if pd.isna(r.communities_per_liaison) else round(float(r.communities_per_liaison), 6)
        out[key] = (r.communities_count, r.liaisons_count, cpl, r.liaison_left_count)
    return out


def test_communities_per_liaison_by_unit(conn):
    # CIO: K4, K5 both O1 -> 2 / 1. CIT: K3 (C1), K9 (C3, serving on 31 Mar) -> 2 / 2; K7 inactive.
    # LIA: K1, K6 (L1) -> 2 / 1, plus K2 whose liaison L2 left on 15 Feb. K8 has no liaison.
    assert _cpl(staffing.communities_per_liaison(conn, Q1)) == {
        "CIO": (2, 1, 2.0, 0),
        "CIT": (2, 2, 1.0, 0),
        "LIA": (3, 1, 2.0, 1),
        None: (1, 0, None, 0),
    }


def test_communities_per_liaison_follows_period_end_and_filters(conn):
    # on 10 Feb L2 still serves: LIA 3 communities / 2 liaisons
    assert _cpl(staffing.communities_per_liaison(conn, f(end=date(2026, 2, 10))))["LIA"] == (3, 2, 1.5, 0)
    # North: K3 (CIT), K4 (CIO), K6 (citywide, LIA), K8 (no liaison)
    assert _cpl(staffing.communities_per_liaison(conn, f(divisions=("NORTH",)))) == {
        "CIO": (1, 1, 1.0, 0),
        "CIT": (1, 1, 1.0, 0),
        "LIA": (1, 1, 1.0, 0),
        None: (1, 0, None, 0),
    }
    assert _cpl(staffing.communities_per_liaison(conn, f(units=("LIA",)))) == {"LIA": (3, 1, 2.0, 1)}
    assert _cpl(staffing.communities_per_liaison(conn, f(communities=("K1", "K2")))) == {
        "LIA": (2, 1, 1.0, 1)
    }


# ---------------------------------------------------------------- roster


def test_roster_shows_staff_serving_at_end_of_period_by_default(conn):
    df = staffing.roster(conn, Q1)
    # not L2 (left 15 Feb), not N1 (starts 1 May); C3 left on the last day and still counts
    assert sorted(df.display_name) == sorted(
        f"Staff {s}" for s in ("L1", "C1", "C2", "C3", "O1", "O2", "O3", "W1", "W2", "H1")
    )
    assert set(df.status) == {"serving"}
    l1 = df[df.display_name == "Staff L1"].iloc[0]
    assert (l1.title, l1.unit_name, l1.division_name, l1.start_date, l1.is_cit_trained) == (
        "Muslim Community Liaison",
        "Liaison Officers",
        "East",
        date(2020, 1, 1),
        True,
    )


def test_roster_can_include_former_staff_and_obeys_filters(conn):
    df = staffing.roster(conn, Q1, include_former=True)
    assert len(df) == 11
    l2 = df[df.display_name == "Staff L2"].iloc[0]
    assert (l2.status, l2.end_date) == ("left", date(2026, 2, 15))
    east = staffing.roster(conn, f(divisions=("EAST",)))
    assert sorted(east.display_name) == [f"Staff {s}" for s in ("C3", "H1", "L1", "O2", "W1")]
    lia = staffing.roster(conn, f(units=("LIA",)), include_former=True)
    assert sorted(lia.display_name) == ["Staff L1", "Staff L2"]
    assert staffing.roster(conn, f(units=("LIA",), divisions=("NORTH",))).empty


def test_roster_pages_in_sql_with_totals_over_every_page(conn):
    """Q1 with former staff: 11 people (10 serving + L2), listed by unit, division, name."""
    everyone = staffing.roster(conn, Q1, include_former=True)
    order = list(everyone.display_name)
    first = staffing.roster_page(conn, Q1, include_former=True, page=1, page_size=3)
    assert (len(first.rows), first.total, first.serving, first.page, first.pages) == (3, 11, 10, 1, 4)
    assert list(first.rows.display_name) == order[:3]
    pages = [staffing.roster_page(conn, Q1, include_former=True, page=p, page_size=3) for p in (1, 2, 3, 4)]
    assert [n for pg in pages for n in pg.rows.display_name] == order  # every person once, in order
    assert [len(pg.rows) for pg in pages] == [3, 3, 3, 2]
    past_end = staffing.roster_page(conn, Q1, include_former=True, page=9, page_size=3)
    assert (past_end.page, list(past_end.rows.display_name)) == (4, order[9:])
    serving_only = staffing.roster_page(conn, Q1, page=1, page_size=50)
    assert (serving_only.total, serving_only.serving, len(serving_only.rows)) == (10, 10, 10)
    nobody = staffing.roster_page(conn, f(units=("LIA",), divisions=("NORTH",)))
    assert (nobody.total, nobody.serving, nobody.pages, nobody.rows.empty) == (0, 0, 1, True)
    assert len(staffing.roster(conn, Q1, include_former=True, cap=4)) == 4
    with pytest.raises(ValueError):
        staffing.roster_page(conn, Q1, page_size=0)
