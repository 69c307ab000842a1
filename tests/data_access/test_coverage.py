"""Coverage numbers against values worked out by hand on a tiny database.

End of period is Tue 30 Jun 2026 unless a test says otherwise. Communities (cadence 30 unless noted):

    A  EAST  met 31 May (30 d before end)            -> on track (also met 5 Jul, after the end: ignored)
    B  EAST  met 30 May (31 d)                       -> due
    C  EAST  met 16 May (45 d)                       -> due
    D  EAST  met 15 May (46 d); met in NORTH 1 Apr   -> overdue
    N  EAST  never met; liaison S4 left 15 Jun       -> never met
    W  citywide, cadence 60; EAST 18 Jun (12 d), NORTH 22 Mar (100 d) -> on track
    O  NORTH cadence 14, owner S2 (CIO); met 10 Jun (20 d)           -> due
    L  NORTH no liaison; met 25 Jun (5 d), lead S2                   -> on track
    X  EAST  inactive, met 29 Jun                     -> excluded everywhere
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data_access.coverage import (
    cadence_worklist,
    cadence_worklist_export,
    communities_without_liaison,
    communities_without_liaison_export,
    contact_grid,
    coverage_rate_over_time,
    coverage_status,
    follow_up_ageing,
    follow_up_summary,
    follow_ups_at_end,
    open_follow_up_list,
    status_counts,
)
from data_access.filters import Filters
from data_access.overview import coverage_counts, open_follow_up_count
from tests.fixtures import STAFF, build, community, meeting

END = date(2026, 6, 30)
JUNE = Filters(start=date(2026, 6, 1), end=END)
Q2 = Filters(start=date(2026, 4, 1), end=END)

FORMER = {
    "staff_id": "S4",
    "display_name": "Former Liaison",
    "title": "",
    "unit_code": "LIA",
    "division_code": "EAST",
    "start_date": "2020-01-01",
    "end_date": "2026-06-15",
    "is_cit_trained": "false",
}


def _follow_up(fid: str, mid: str, opened: str, closed: str = "") -> dict[str, str]:
    return {
        "follow_up_id": fid,
        "meeting_id": mid,
        "concern_tag": "traffic",
        "opened_date": opened,
        "owner_staff_id": "S1",
        "status": "closed" if closed else "open",
        "closed_date": closed,
    }


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    communities = [
        community("A", "Alpha"),
        community("B", "Bravo"),
        community("C", "Charlie"),
        community("D", "Delta"),
        community("N", "November", owner="S4"),
        community("W", "Whiskey", division="", cadence=60),
        community("O", "Oscar", division="NORTH", cadence=14, owner="S2"),
        community("L", "Lima", division="NORTH", owner=""),
        community("X", "Xray", active=False),
    ]
    meetings = [
        meeting("MA", "2026-05-31", "A"),
        meeting("MA2", "2026-07-05", "A"),
        meeting("MB", "2026-05-30", "B"),
        meeting("MC", "2026-05-16", "C"),
        meeting("MD", "2026-05-15", "D"),
        meeting("MDN", "2026-04-01", "D", division="NORTH"),
        meeting("MWE", "2026-06-18", "W"),
        meeting("MWN", "2026-03-22", "W", division="NORTH"),
        meeting("MO", "2026-06-10", "O", division="NORTH", lead="S2"),
        meeting("ML", "2026-06-25", "L", division="NORTH", lead="S2"),
        meeting("MX", "2026-06-29", "X"),
    ]
    follow_ups = [
        _follow_up("F1", "MWN", "2026-03-22"),  # open, 100 d, NORTH
        _follow_up("F2", "MD", "2026-05-15", "2026-06-14"),  # closed after exactly 30 d
        _follow_up("F3", "MC", "2026-05-16", "2026-06-16"),  # closed after 31 d
        _follow_up("F4", "MC", "2026-05-20"),  # open, 41 d
        _follow_up("F5", "MO", "2026-06-10"),  # open, 20 d, NORTH, CIO-led meeting
        _follow_up("F6", "MA", "2026-05-31", "2026-07-10"),  # closed after the end: open at end, 30 d
        _follow_up("F7", "MWN", "2026-04-10", "2026-04-20"),  # closed after 10 d, NORTH
        _follow_up("F8", "MWN", "2026-04-20"),  # open, 71 d, NORTH
        _follow_up("F9", "ML", "2026-07-01"),  # opened after the end: ignored
    ]
    return build(
        tmp_path_factory.mktemp("coverage"),
        staff=[*STAFF, FORMER],
        communities=communities,
        meetings=meetings,
        follow_ups=follow_ups,
    )


@pytest.fixture
def conn(db):
    with db.connect() as c:
        yield c


def _status(df, cid):
    return df.set_index("community_id").loc[cid, "cadence_status"]


def test_cadence_boundaries_30_31_45_46_days_and_never(conn):
    wl = cadence_worklist(conn, JUNE).rows
    assert _status(wl, "A") == "on track"  # exactly 30 days
    assert _status(wl, "B") == "due"  # 31 days
    assert _status(wl, "C") == "due"  # 45 days = 1.5 × 30
    assert _status(wl, "D") == "overdue"  # 46 days
    assert _status(wl, "N") == "never met"
    days = wl.set_index("community_id")["days_since_contact"]
    assert [days["A"], days["B"], days["C"], days["D"]] == [30, 31, 45, 46]
    assert wl.set_index("community_id").loc["A", "last_contact_date"] == date(2026, 5, 31)  # not 5 Jul


def test_inactive_communities_are_excluded(conn):
    wl = cadence_worklist(conn, JUNE).rows
    assert "X" not in set(wl.community_id)
    assert len(wl) == 8
    assert status_counts(conn, JUNE) == {"on track": 3, "due": 3, "overdue": 1, "never met": 1}


def test_worklist_is_sorted_never_met_first_then_days_over_target(conn):
    wl = cadence_worklist(conn, JUNE).rows
    # ratios: D 46/30, C 45/30, O 20/14, B 31/30, A 30/30, W 12/60, L 5/30
    assert list(wl.community_id) == ["N", "D", "C", "O", "B", "A", "W", "L"]
    row = wl.set_index("community_id")
    assert pd.isna(row.loc["W", "division_name"]) and row.loc["O", "division_name"] == "North"
    assert row.loc["O", "responsible_name"] == "Officer Two"
    assert row.loc["N", "liaison_left_date"] == date(2026, 6, 15)
    assert pd.isna(row.loc["A", "liaison_left_date"])


def test_worklist_agrees_with_overview_coverage_counts(conn):
    counts = coverage_counts(conn, JUNE)
    assert counts == {"communities": 8, "on_track": 3}


def test_grid_has_one_cell_per_community_and_division(conn):
    grid = contact_grid(conn, JUNE)
    assert len(grid) == 8 * 2
    cell = grid.set_index(["community_id", "division_code"])
    # citywide W: met in East 12 d ago (on track for 60), in North 100 d ago (> 90: overdue)
    assert cell.loc[("W", "EAST"), "days_since_contact"] == 12
    assert cell.loc[("W", "EAST"), "cell_status"] == "on track"
    assert cell.loc[("W", "NORTH"), "days_since_contact"] == 100
    assert cell.loc[("W", "NORTH"), "cell_status"] == "overdue"
    # D's home is East; its one North meeting (1 Apr, 90 d) is shown but carries no cadence
    assert cell.loc[("D", "EAST"), "cell_status"] == "overdue"
    assert cell.loc[("D", "NORTH"), "days_since_contact"] == 90
    assert not cell.loc[("D", "NORTH"), "is_expected"]
    assert pd.isna(cell.loc[("D", "NORTH"), "cell_status"])
    assert cell.loc[("O", "NORTH"), "cell_status"] == "due"
    # home cells at the cadence boundaries: 30 d, 31 d, 45 d, 46 d for a 30-day cadence
    home = [cell.loc[(c, "EAST"), "cell_status"] for c in "ABCD"]
    assert home == ["on track", "due", "due", "overdue"]
    assert cell.loc[("N", "EAST"), "cell_status"] == "never met"
    assert pd.isna(cell.loc[("A", "NORTH"), "last_contact_date"])
    assert list(dict.fromkeys(grid.community_id)) == ["N", "D", "C", "O", "B", "A", "W", "L"]


def test_grid_pages_through_communities_in_worklist_order(conn):
    grid = contact_grid(conn, JUNE, limit=3, offset=3)
    assert list(dict.fromkeys(grid.community_id)) == ["O", "B", "A"]


def test_division_filter_limits_columns_communities_and_contacts(conn):
    north = Filters(start=JUNE.start, end=END, divisions=("NORTH",))
    wl = cadence_worklist(conn, north).rows
    # only citywide W and North's O and L; W's last North contact is 100 d (> 1.5 × 60)
    assert list(wl.community_id) == ["W", "O", "L"]
    assert _status(wl, "W") == "overdue"
    grid = contact_grid(conn, north)
    assert set(grid.division_code) == {"NORTH"} and len(grid) == 3


def test_unit_filter_keeps_communities_whose_liaison_is_in_the_unit(conn):
    cio = Filters(start=JUNE.start, end=END, units=("CIO",))
    assert list(cadence_worklist(conn, cio).rows.community_id) == ["O"]
    lia = Filters(start=JUNE.start, end=END, units=("LIA",))
    assert set(cadence_worklist(conn, lia).rows.community_id) == {"A", "B", "C", "D", "N", "W"}


def test_coverage_rate_at_each_week_end_and_period_end(conn):
    df = coverage_rate_over_time(conn, JUNE, grain="week")
    assert [d.isoformat() for d in df.as_of_date] == [
        "2026-06-07",
        "2026-06-14",
        "2026-06-21",
        "2026-06-28",
        "2026-06-30",
    ]
    # 7 Jun: A B C D on track; 14 Jun: + O (4 d), C 29 d and D 30 d still ok;
    # 21 Jun: A B W O; 28 Jun: A B W L; 30 Jun: A W L
    assert list(df.on_track_count) == [4, 5, 4, 4, 3]
    assert list(df.communities_count) == [8] * 5
    assert list(df.coverage_rate) == pytest.approx([0.5, 0.625, 0.5, 0.5, 0.375])
    assert list(df.is_partial) == [False, False, False, False, True]


def test_coverage_rate_at_each_month_end(conn):
    df = coverage_rate_over_time(conn, Q2, grain="month")
    assert [d.isoformat() for d in df.as_of_date] == ["2026-04-30", "2026-05-31", "2026-06-30"]
    # 30 Apr: W (39 d of 60) and D (North 1 Apr, 29 d); 31 May: A B C D; 30 Jun: A W L
    assert list(df.on_track_count) == [2, 4, 3]
    assert not df.is_partial.any()


def test_coverage_rate_last_point_matches_the_end_of_period_rate(conn):
    for f in (JUNE, Filters(start=JUNE.start, end=date(2026, 6, 12), divisions=("NORTH",))):
        df = coverage_rate_over_time(conn, f, grain="week")
        counts = coverage_counts(conn, f)
        assert df.iloc[-1].on_track_count == counts["on_track"]
        assert df.iloc[-1].communities_count == counts["communities"]


def test_coverage_rate_rejects_unknown_grain(conn):
    with pytest.raises(ValueError):
        coverage_rate_over_time(conn, JUNE, grain="day")


def test_follow_up_summary(conn):
    s = follow_up_summary(conn, Q2)
    # open at 30 Jun: F1 100 d, F8 71 d, F4 41 d, F6 30 d, F5 20 d -> median 41
    assert s["open_count"] == 5
    assert s["median_age_days"] == 41
    # opened 1 Apr-31 May: F2 F3 F4 F6 F7 F8; closed within 30 d: F2 (30 d), F7 (10 d)
    assert s["eligible_count"] == 6
    assert s["closed_within_30_count"] == 2
    assert s["closed_within_30_share"] == pytest.approx(1 / 3)
    assert s["open_count"] == open_follow_up_count(conn, Q2)


def test_follow_up_median_of_an_even_count_is_the_midpoint(conn):
    # North only, end 30 Jun: F1 100 d, F8 71 d, F5 20 d open -> median 71
    north = Filters(start=Q2.start, end=END, divisions=("NORTH",))
    s = follow_up_summary(conn, north)
    assert s["open_count"] == 3 and s["median_age_days"] == 71
    # North, end 12 Apr: F1 (21 d) and F7 (2 d) are open -> median 11.5
    early = Filters(start=date(2026, 4, 1), end=date(2026, 4, 12), divisions=("NORTH",))
    s = follow_up_summary(conn, early)
    assert s["open_count"] == 2 and s["median_age_days"] == pytest.approx(11.5)
    assert s["closed_within_30_share"] is None  # nothing opened 30+ days before the end


def test_follow_up_filters_by_division_and_unit(conn):
    north = follow_up_summary(conn, Filters(start=Q2.start, end=END, divisions=("NORTH",)))
    assert north["eligible_count"] == 2 and north["closed_within_30_share"] == pytest.approx(0.5)
    cio = follow_up_summary(conn, Filters(start=Q2.start, end=END, units=("CIO",)))
    assert cio["open_count"] == 1 and cio["median_age_days"] == 20
    assert cio["closed_within_30_share"] is None


def test_follow_up_ageing_buckets(conn):
    df = follow_up_ageing(conn, Q2)
    assert list(df.age_bucket) == ["0-30 days", "31-60 days", "61-90 days", "over 90 days"]
    assert list(df.open_count) == [2, 1, 1, 1]  # 20 & 30 | 41 | 71 | 100
    empty = follow_up_ageing(conn, Filters(start=date(2020, 1, 1), end=date(2020, 2, 1)))
    assert list(empty.open_count) == [0, 0, 0, 0]


def test_the_page_reads_follow_up_summary_and_ageing_in_one_statement(conn):
    # F6 is open exactly 30 days at 30 Jun: the first bucket's edge
    summary, ageing = follow_ups_at_end(conn, Q2)
    assert list(ageing.open_count) == [2, 1, 1, 1]
    for f in (
        Q2,
        Filters(start=Q2.start, end=END, divisions=("NORTH",)),
        Filters(start=date(2026, 4, 1), end=date(2026, 4, 12), divisions=("NORTH",)),
        Filters(start=Q2.start, end=END, units=("CIO",)),
        Filters(start=date(2020, 1, 1), end=date(2020, 2, 1)),
    ):
        summary, ageing = follow_ups_at_end(conn, f)
        assert summary == follow_up_summary(conn, f)
        pd.testing.assert_frame_equal(ageing, follow_up_ageing(conn, f))


def test_the_page_reads_status_counts_and_the_liaison_list_in_one_statement(conn):
    for f in (
        JUNE,
        Filters(start=date(2026, 6, 1), end=date(2026, 6, 10)),
        Filters(start=JUNE.start, end=END, units=("CHAP",)),
    ):
        counts, orphans = coverage_status(conn, f, page_size=1)
        assert counts == status_counts(conn, f)
        alone = communities_without_liaison(conn, f, page_size=1)
        assert (orphans.total, orphans.none_assigned, orphans.page, orphans.pages) == (
            alone.total,
            alone.none_assigned,
            alone.page,
            alone.pages,
        )
        assert orphans.rows["community_id"].tolist() == alone.rows["community_id"].tolist()
    assert coverage_status(conn, JUNE)[0] == {"on track": 3, "due": 3, "overdue": 1, "never met": 1}


def test_open_follow_ups_oldest_first_and_paged(conn):
    df = open_follow_up_list(conn, Q2)
    assert list(df.follow_up_id) == ["F1", "F8", "F4", "F6", "F5"]
    assert list(df.age_days) == [100, 71, 41, 30, 20]
    assert df.iloc[0].division_name == "North" and df.iloc[0].community_name == "Whiskey"
    assert list(open_follow_up_list(conn, Q2, limit=2, offset=2).follow_up_id) == ["F4", "F6"]


def test_communities_without_a_serving_liaison(conn):
    listed = communities_without_liaison(conn, JUNE)
    df = listed.rows
    assert list(df.community_id) == ["L", "N"]
    assert list(df.reason) == ["none assigned", "liaison left"]
    assert df.iloc[1].liaison_left_date == date(2026, 6, 15)
    assert pd.isna(df.iloc[0].liaison_left_date)
    assert (listed.total, listed.none_assigned, listed.page, listed.pages) == (2, 1, 1, 1)
    # before S4 left, only the community with nobody assigned is listed
    before = communities_without_liaison(conn, Filters(start=date(2026, 6, 1), end=date(2026, 6, 10)))
    assert list(before.rows.community_id) == ["L"]
    assert (before.total, before.none_assigned) == (1, 1)


def test_communities_without_a_liaison_a_page_at_a_time(conn):
    first = communities_without_liaison(conn, JUNE, page_size=1)
    assert list(first.rows.community_id) == ["L"] and (first.total, first.page, first.pages) == (2, 1, 2)
    second = communities_without_liaison(conn, JUNE, page=2, page_size=1)
    assert list(second.rows.community_id) == ["N"] and second.page == 2
    # a page past the end is the last page
    past = communities_without_liaison(conn, JUNE, page=9, page_size=1)
    assert list(past.rows.community_id) == ["N"] and past.page == 2
    assert list(communities_without_liaison_export(conn, JUNE).community_id) == ["L", "N"]
    assert list(communities_without_liaison_export(conn, JUNE, cap=1).community_id) == ["L"]
    with pytest.raises(ValueError):
        communities_without_liaison(conn, JUNE, page_size=0)


def test_a_period_before_any_meeting_is_all_never_met(conn):
    f = Filters(start=date(2020, 1, 1), end=date(2020, 1, 31))
    assert status_counts(conn, f) == {"on track": 0, "due": 0, "overdue": 0, "never met": 8}
    df = coverage_rate_over_time(conn, f)
    assert (df.on_track_count == 0).all() and (df.communities_count == 8).all()
    assert follow_up_summary(conn, f)["open_count"] == 0
    assert follow_up_summary(conn, f)["median_age_days"] is None


def test_no_communities_in_scope_gives_empty_frames(conn):
    f = Filters(start=JUNE.start, end=END, units=("CHAP",))
    assert cadence_worklist(conn, f).rows.empty
    assert contact_grid(conn, f).empty
    assert coverage_rate_over_time(conn, f).empty
    nobody = communities_without_liaison(conn, f)
    assert nobody.rows.empty and (nobody.total, nobody.none_assigned, nobody.pages) == (0, 0, 1)


# -- the worklist a page at a time (ordered, counted and paged in SQL) ------------------------------
# Hand order at JUNE (see test_worklist_is_sorted_never_met_first_then_days_over_target):
# N, D, C, O, B, A, W, L: 8 communities.


def _ids(page) -> list[str]:
    return list(page.rows.community_id)


def test_a_limit_of_three_returns_three_rows_and_the_true_total(conn):
    wl = cadence_worklist(conn, JUNE, page_size=3)
    assert _ids(wl) == ["N", "D", "C"]
    assert (wl.total, wl.page, wl.pages) == (8, 1, 3)
    assert sum(status_counts(conn, JUNE).values()) == wl.total


@pytest.mark.parametrize(
    ("page", "size", "want", "want_page"),
    [
        (2, 3, ["O", "B", "A"], 2),
        (3, 3, ["W", "L"], 3),  # the last page is short
        (9, 3, ["W", "L"], 3),  # past the end: clamped to the last page
        (0, 3, ["N", "D", "C"], 1),  # before the start: page 1
        (4, 2, ["W", "L"], 4),
        (1, 8, ["N", "D", "C", "O", "B", "A", "W", "L"], 1),
        (2, 5, ["A", "W", "L"], 2),
    ],
)
def test_pages_follow_the_hand_order(conn, page, size, want, want_page):
    wl = cadence_worklist(conn, JUNE, page=page, page_size=size)
    assert _ids(wl) == want
    assert (wl.total, wl.page, wl.pages) == (8, want_page, -(-8 // size))


def test_name_search_keeps_worklist_order_and_counts_the_matches(conn):
    # names with an "a" (any case): Alpha, Bravo, Charlie, Delta, Oscar, Lima; not November, Whiskey
    wl = cadence_worklist(conn, JUNE, search="A", page_size=4)
    assert _ids(wl) == ["D", "C", "O", "B"]
    assert (wl.total, wl.pages) == (6, 2)
    assert _ids(cadence_worklist(conn, JUNE, search="a", page=2, page_size=4)) == ["A", "L"]
    assert _ids(cadence_worklist(conn, JUNE, search="  li ")) == ["C", "L"]  # Charlie, Lima; trimmed
    # the search applies inside the filters: North's communities are W, O, L; only Oscar has an "o"
    north = Filters(start=JUNE.start, end=END, divisions=("NORTH",))
    assert _ids(cadence_worklist(conn, north, search="o")) == ["O"]


def test_search_text_is_literal_and_no_match_is_an_empty_page(conn):
    for text in ("%", "_", "\\", "a%", "Alpha'--"):
        wl = cadence_worklist(conn, JUNE, search=text)
        assert wl.rows.empty and (wl.total, wl.page, wl.pages) == (0, 1, 1), text
    assert list(wl.rows.columns) == list(cadence_worklist(conn, JUNE).rows.columns)


def test_empty_scope_is_an_empty_page(conn):
    wl = cadence_worklist(conn, Filters(start=JUNE.start, end=END, units=("CHAP",)), page=3)
    assert wl.rows.empty and (wl.total, wl.page, wl.pages) == (0, 1, 1)


def test_page_size_is_bounded(conn):
    for size in (0, -1, 1_001):
        with pytest.raises(ValueError):
            cadence_worklist(conn, JUNE, page_size=size)


def test_export_reads_the_whole_worklist_in_order_up_to_the_cap(conn):
    assert list(cadence_worklist_export(conn, JUNE).community_id) == ["N", "D", "C", "O", "B", "A", "W", "L"]
    capped = cadence_worklist_export(conn, JUNE, cap=3)
    assert list(capped.community_id) == ["N", "D", "C"]
    assert list(capped.columns) == list(cadence_worklist(conn, JUNE).rows.columns)
    with pytest.raises(ValueError):
        cadence_worklist_export(conn, JUNE, cap=0)
