"""Meetings page numbers against values worked out by hand on a tiny database, plus one cross-check of
monthly counts against a plain pandas groupby over sample_data/meetings.csv.

The tiny world (period Wed 4 Mar – Tue 14 Apr 2026, 42 days; prior period 21 Jan – 3 Mar):

    id   date         community  org  division unit(lead) type                 res concerns            notes
    M01  Tue  3 Mar   C1         O1   EAST     LIA (S1)   liaison_meeting      100                     (prior period)
    M10  Fri 20 Feb   C2         O2   NORTH    CIO (S2)   business_association  20                     (prior period)
    M02  Wed  4 Mar   C1         O1   EAST     LIA (S1)   liaison_meeting       10 traffic;youth       Discussed 50%_off signs
    M03  Thu  5 Mar   C2         O2   NORTH    CIO (S2)   business_association  20 traffic
    M04  Tue 10 Mar   C3         O3   EAST     SW  (S3)   neighborhood_watch     5 lighting;lighting   50 people said hands off
    M05  Tue 10 Mar   C1         -    EAST     LIA (S1)   listening_session     30                     It's fine ' OR '1'='1
    M06  Tue 31 Mar   C2         O2   NORTH    CIO (S2)   business_association   8 youth;youth;youth
    M07  Wed  1 Apr   C1         O1   EAST     LIA (S1)   liaison_meeting       12
    M08  Tue 14 Apr   C3         O3   EAST     SW  (S3)   neighborhood_watch     0 lighting            Street lights out
    M09  Wed 15 Apr   C1         O1   EAST     LIA (S1)   liaison_meeting       50                     (after the period)

Other staff: M05 S3; M07 S2;S3;S2 (S2 twice: once); M08 S3 (its own lead, which must not count as support).
Organization O2 is named "Merchants 50%_off Guild".
"""

from __future__ import annotations

import math
import statistics
from dataclasses import replace
from datetime import date, time, timedelta

import pandas as pd
import pytest

from data_access import meetings as mt
from data_access import rollups, stats
from data_access.filters import Filters
from tests.conftest import ROOT
from tests.fixtures import build, community, meeting

START, END = date(2026, 3, 4), date(2026, 4, 14)


def _m(mid, day, cid, org, division, lead, mtype, residents, concerns="", notes="", other="", start="18:00"):
    return {
        **meeting(
            mid, day, cid, residents=residents, division=division, lead=lead, mtype=mtype, concerns=concerns
        ),
        "org_id": org,
        "notes": notes,
        "other_staff_ids": other,
        "start_time": start,
    }


MEETINGS = [
    _m("M01", "2026-03-03", "C1", "O1", "EAST", "S1", "liaison_meeting", 100),
    _m("M10", "2026-02-20", "C2", "O2", "NORTH", "S2", "business_association", 20),
    _m(
        "M02",
        "2026-03-04",
        "C1",
        "O1",
        "EAST",
        "S1",
        "liaison_meeting",
        10,
        "traffic;youth",
        "Discussed 50%_off signs",
    ),
    _m("M03", "2026-03-05", "C2", "O2", "NORTH", "S2", "business_association", 20, "traffic"),
    _m(
        "M04",
        "2026-03-10",
        "C3",
        "O3",
        "EAST",
        "S3",
        "neighborhood_watch",
        5,
        "lighting;lighting",
        "50 people said hands off",
        start="09:00",
    ),
    _m(
        "M05",
        "2026-03-10",
        "C1",
        "",
        "EAST",
        "S1",
        "listening_session",
        30,
        "",
        "It's fine ' OR '1'='1",
        "S3",
    ),
    _m("M06", "2026-03-31", "C2", "O2", "NORTH", "S2", "business_association", 8, "youth;youth;youth"),
    _m("M07", "2026-04-01", "C1", "O1", "EAST", "S1", "liaison_meeting", 12, other="S2;S3;S2"),
    _m(
        "M08",
        "2026-04-14",
        "C3",
        "O3",
        "EAST",
        "S3",
        "neighborhood_watch",
        0,
        "lighting",
        "Street lights out",
        "S3",
    ),
    _m("M09", "2026-04-15", "C1", "O1", "EAST", "S1", "liaison_meeting", 50),
]
IN_PERIOD = {"M02": 10, "M03": 20, "M04": 5, "M05": 30, "M06": 8, "M07": 12, "M08": 0}
PRIOR = {"M01": 100, "M10": 20}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return build(
        tmp_path_factory.mktemp("meetings"),
        communities=[
            community("C1", "Muslim community"),
            community("C2", "Downtown merchants", division="NORTH", kind="business", owner="S2"),
            community("C3", "Riverside watch", kind="neighborhood", owner="S3"),
        ],
        organizations=[
            {"org_id": "O1", "name": "Islamic Center", "community_id": "C1"},
            {"org_id": "O2", "name": "Merchants 50%_off Guild", "community_id": "C2"},
            {"org_id": "O3", "name": "Riverside Watch Association", "community_id": "C3"},
        ],
        meetings=MEETINGS,
    )


@pytest.fixture
def conn(db):
    with db.connect() as c:
        yield c


def F(**kw) -> Filters:
    return Filters(start=START, end=END, **kw)


# -- tiles ----------------------------------------------------------------------------------------------


def test_kpis_count_the_period_and_compare_with_the_prior_period(conn):
    k = mt.meeting_kpis(conn, F())
    assert k["meetings_held"].value == 7 and k["meetings_held"].prior == 2
    assert k["meetings_held"].z == pytest.approx(2 * (math.sqrt(7) - math.sqrt(2)))
    assert k["residents_reached"].value == 85 and k["residents_reached"].prior == 120
    assert k["residents_reached"].z == pytest.approx(2 * (math.sqrt(85) - math.sqrt(120)))
    cur, pri = list(IN_PERIOD.values()), list(PRIOR.values())
    assert k["mean_attendance"].value == pytest.approx(85 / 7)
    assert k["mean_attendance"].prior == pytest.approx(60.0)
    se1 = statistics.stdev(cur) / math.sqrt(len(cur))
    se0 = statistics.stdev(pri) / math.sqrt(len(pri))
    assert k["mean_attendance"].z == pytest.approx((85 / 7 - 60) / math.sqrt(se1**2 + se0**2))
    assert k["mean_attendance"].change == stats.change_label(k["mean_attendance"].z)


def test_kpis_with_no_meetings_have_no_mean_and_no_mean_change(conn):
    # a month after the last meeting, whose prior month holds none either
    k = mt.meeting_kpis(conn, Filters(start=date(2026, 6, 1), end=date(2026, 6, 30)))
    assert k["meetings_held"].value == 0 and k["meetings_held"].prior == 0 and k["meetings_held"].z == 0
    assert k["mean_attendance"].value is None and k["mean_attendance"].z is None


def test_a_prior_period_before_the_first_meeting_is_not_compared_with(conn):
    """The first meeting recorded is M10 on 20 Feb 2026: a period whose prior one ends before it
    has nothing to compare with (not zero meetings: a rise from 0 would be called significant)."""
    first = min(date.fromisoformat(m["meeting_date"]) for m in MEETINGS)
    assert first == date(2026, 2, 20)
    whole = Filters(start=first, end=END)  # the whole history: its prior period ends on 19 Feb
    k = mt.meeting_kpis(conn, whole)
    assert k["meetings_held"].value == len(MEETINGS) - 1  # M09 is after END
    for name in ("meetings_held", "residents_reached", "mean_attendance"):
        assert k[name].prior is None and k[name].z is None, name
    assert k["meetings_held"].change == "no comparison"
    # one day later the prior period ends on the first meeting's day: compared as usual
    k = mt.meeting_kpis(conn, Filters(start=first + timedelta(days=1), end=END))
    assert k["meetings_held"].prior == 1 and k["meetings_held"].value == len(MEETINGS) - 2
    assert k["meetings_held"].z == pytest.approx(2 * (math.sqrt(len(MEETINGS) - 2) - 1))


# -- frequency ------------------------------------------------------------------------------------------


def test_weekly_counts_cover_every_week_with_partial_edges_flagged(conn):
    df = mt.meetings_over_time(conn, F(), grain="week", split="unit")
    weekly = df.groupby("period_start")["meetings_count"].sum()
    assert weekly.to_dict() == {
        date(2026, 3, 2): 2,
        date(2026, 3, 9): 2,
        date(2026, 3, 16): 0,
        date(2026, 3, 23): 0,
        date(2026, 3, 30): 2,
        date(2026, 4, 6): 0,
        date(2026, 4, 13): 1,
    }
    edges = df.drop_duplicates("period_start").set_index("period_start")
    assert edges.loc[date(2026, 3, 2), ["days_in_period", "period_days", "is_partial"]].tolist() == [
        5,
        7,
        True,
    ]
    assert edges.loc[date(2026, 4, 13), ["days_in_period", "period_days", "is_partial"]].tolist() == [
        2,
        7,
        True,
    ]
    assert not edges.loc[date(2026, 3, 9), "is_partial"]
    assert len(df) == 7 * 3  # every week × every unit seen (LIA, CIO, SW), zeros included


def test_weekly_split_by_unit(conn):
    df = mt.meetings_over_time(conn, F(), grain="week", split="unit")
    got = {(r.period_start, r.split_value): r.meetings_count for r in df.itertuples() if r.meetings_count}
    assert got == {
        (date(2026, 3, 2), "LIA"): 1,
        (date(2026, 3, 2), "CIO"): 1,
        (date(2026, 3, 9), "LIA"): 1,
        (date(2026, 3, 9), "SW"): 1,
        (date(2026, 3, 30), "CIO"): 1,
        (date(2026, 3, 30), "LIA"): 1,
        (date(2026, 4, 13), "SW"): 1,
    }
    assert set(df["split_label"]) == {"Liaison Officers", "Community Interaction Officers", "Social Workers"}
    residents = df.groupby("split_value")["residents_count"].sum().to_dict()
    assert residents == {"LIA": 52, "CIO": 28, "SW": 5}


def test_monthly_split_by_type_with_partial_months(conn):
    df = mt.meetings_over_time(conn, F(), grain="month", split="type")
    got = {(r.period_start, r.split_value): r.meetings_count for r in df.itertuples() if r.meetings_count}
    assert got == {
        (date(2026, 3, 1), "liaison_meeting"): 1,
        (date(2026, 3, 1), "business_association"): 2,
        (date(2026, 3, 1), "neighborhood_watch"): 1,
        (date(2026, 3, 1), "listening_session"): 1,
        (date(2026, 4, 1), "liaison_meeting"): 1,
        (date(2026, 4, 1), "neighborhood_watch"): 1,
    }
    months = df.drop_duplicates("period_start").set_index("period_start")
    assert months.loc[date(2026, 3, 1), ["days_in_period", "period_days"]].tolist() == [28, 31]
    assert months.loc[date(2026, 4, 1), ["days_in_period", "period_days"]].tolist() == [14, 30]
    assert "Business association" in set(df["split_label"])


def test_a_period_of_whole_months_has_no_partial_month(conn):
    df = mt.meetings_over_time(conn, Filters(start=date(2026, 3, 1), end=date(2026, 4, 30)), grain="month")
    assert not df["is_partial"].any()
    assert df.groupby("period_start")["meetings_count"].sum().tolist() == [6, 3]  # M01..M06, M07..M09


def test_bad_grain_or_split_is_rejected(conn):
    with pytest.raises(ValueError):
        mt.meetings_over_time(conn, F(), grain="day")
    with pytest.raises(ValueError):
        mt.meetings_over_time(conn, F(), split="community_id; drop table meetings")


# -- with whom / by whom --------------------------------------------------------------------------------


def test_by_community_ranks_by_meetings_then_residents(conn):
    df = mt.meetings_by_community(conn, F())
    assert df[["community_id", "meetings_count", "residents_count"]].values.tolist() == [
        ["C1", 3, 52],
        ["C2", 2, 28],
        ["C3", 2, 5],
    ]
    top2 = mt.meetings_by_community(conn, F(), top_n=2)
    assert top2["community_id"].tolist() == ["C1", "C2"]
    assert top2["communities_count"].tolist() == [3, 3] and top2["all_meetings_count"].tolist() == [7, 7]
    assert top2["last_meeting_date"].tolist() == [date(2026, 4, 1), date(2026, 3, 31)]


def test_by_organization_leaves_out_and_counts_meetings_without_one(conn):
    df = mt.meetings_by_organization(conn, F())
    assert df[["org_id", "meetings_count", "residents_count"]].values.tolist() == [
        ["O2", 2, 28],
        ["O1", 2, 22],
        ["O3", 2, 5],
    ]
    assert df["community_name"].tolist() == ["Downtown merchants", "Muslim community", "Riverside watch"]
    assert set(df["no_org_meetings_count"]) == {1} and set(df["all_meetings_count"]) == {7}
    assert set(df["orgs_count"]) == {3}


def test_per_staff_meetings_led_residents_and_support(conn):
    df = mt.meetings_by_staff(conn, F()).set_index("staff_id")
    assert df.index.tolist() == ["S1", "S2", "S3"]
    assert df["meetings_led_count"].tolist() == [3, 2, 2]
    assert df["residents_count"].tolist() == [52, 28, 5]
    assert df["mean_attendance"].tolist() == pytest.approx([52 / 3, 14.0, 2.5])
    # S2 supported M07; S3 supported M05 and M07 (M08 lists its own lead S3: not support)
    assert df["meetings_supported_count"].tolist() == [0, 1, 2]


def test_per_staff_includes_someone_who_only_supported(conn):
    df = mt.meetings_by_staff(conn, F(units=("LIA",))).set_index("staff_id")
    # LIA-led meetings M02, M05, M07: S1 led all three; S2 and S3 only supported
    assert df.loc["S1", "meetings_led_count"] == 3
    assert df.loc[["S2", "S3"], "meetings_led_count"].tolist() == [0, 0]
    assert df.loc[["S2", "S3"], "meetings_supported_count"].tolist() == [1, 2]
    assert pd.isna(df.loc["S2", "mean_attendance"])


@pytest.mark.parametrize(
    ("start", "end", "table"),
    [
        (date(2026, 3, 1), date(2026, 4, 30), None),  # two whole months: one cell per meeting
        (date(2026, 1, 15), date(2026, 5, 14), "meeting_lead_months"),  # three
        (date(2025, 9, 1), date(2026, 2, 28), "meeting_lead_city_running"),  # six
    ],
)
def test_a_ranking_reads_its_meetings_month_cells_or_running_totals_by_whole_months(conn, start, end, table):
    """Without a community selection every route reads the meetings by integer key
    (meeting_rank_rows): below three whole months the period's alone; from three, those of the
    partial months beside the month cells or running totals, by how many calendar months lie
    wholly inside the period. The listed rows' names come from the key table."""
    f = Filters(start=start, end=end)
    cells = rollups.meeting_rank_cells(conn, f, "lead")
    rollup_tables = ("meeting_lead_months", "meeting_lead_city_running", "meeting_lead_running")
    assert [t for t in rollup_tables if f"from {t} " in cells.source] == ([table] if table else [])
    assert "from meeting_rank_rows m" in cells.source and "from meetings m" not in cells.source
    assert (cells.names, cells.names_key) == ("staff_keys", "staff_key")
    chosen = rollups.meeting_rank_cells(conn, replace(f, communities=("C1",)), "lead")
    assert "from meetings_by_community m" in chosen.source and "meeting_rank_rows" not in chosen.source
    assert (chosen.names, chosen.names_key) == ("staff", "staff_id")


def test_rankings_over_whole_months_read_the_month_rollups_with_the_same_counts(conn, monkeypatch):
    """1 Mar - 30 Apr is two whole months: with month cells from two months on (three as set, where
    the meetings are read), every ranking comes from meeting_*_months alone."""
    monkeypatch.setattr(rollups, "MONTH_CELLS_FROM_MONTHS", 2)
    f = Filters(start=date(2026, 3, 1), end=date(2026, 4, 30))
    assert "meeting_lead_months" in rollups.meeting_rank_cells(conn, f, "lead").source
    staff = mt.meetings_by_staff(conn, f).set_index("staff_id")
    # S1 led M01, M02, M05, M07, M09; S2 M03, M06; S3 M04, M08
    assert staff["meetings_led_count"].tolist() == [5, 2, 2]
    assert staff["residents_count"].tolist() == [202, 28, 5]
    # M07 lists S2 twice (once) and S3; M05 lists S3; M08 lists its own lead S3 (not support)
    assert staff["meetings_supported_count"].tolist() == [0, 1, 2]
    orgs = mt.meetings_by_organization(conn, f)
    assert orgs[["org_id", "meetings_count", "residents_count"]].values.tolist() == [
        ["O1", 4, 172],
        ["O2", 2, 28],
        ["O3", 2, 5],
    ]
    assert set(orgs["no_org_meetings_count"]) == {1} and set(orgs["all_meetings_count"]) == {9}
    comm = mt.meetings_by_community(conn, f)
    assert comm[["community_id", "meetings_count", "residents_count"]].values.tolist() == [
        ["C1", 5, 202],
        ["C2", 2, 28],
        ["C3", 2, 5],
    ]
    assert comm["last_meeting_date"].tolist() == [date(2026, 4, 15), date(2026, 3, 31), date(2026, 4, 14)]


# -- heatmap --------------------------------------------------------------------------------------------


def test_day_heatmap_has_one_row_per_period_day_and_the_right_cells(conn):
    df = mt.meetings_by_day(conn, F())
    assert len(df) == 42 and df["day"].min() == START and df["day"].max() == END
    cells = {(r.week_start, r.iso_dow): r.meetings_count for r in df.itertuples() if r.meetings_count}
    assert cells == {
        (date(2026, 3, 2), 3): 1,  # Wed 4 Mar
        (date(2026, 3, 2), 4): 1,  # Thu 5 Mar
        (date(2026, 3, 9), 2): 2,  # Tue 10 Mar
        (date(2026, 3, 30), 2): 1,
        (date(2026, 3, 30), 3): 1,
        (date(2026, 4, 13), 2): 1,
    }
    first_week = df[df["week_start"] == date(2026, 3, 2)]
    assert first_week["iso_dow"].tolist() == [3, 4, 5, 6, 7]  # Mon/Tue are outside the period: no cell


def test_day_heatmap_keeps_the_last_two_years_of_a_long_period(conn):
    # 728 days ending 1 Mar 2028 start on Thu 5 Mar 2026: M03..M09 are in, M10, M01 and M02 are not
    df = mt.meetings_by_day(conn, Filters(start=date(2020, 1, 1), end=date(2028, 3, 1)))
    assert len(df) == mt.HEATMAP_MAX_DAYS == 728
    assert (df["day"].min(), df["day"].max()) == (date(2026, 3, 5), date(2028, 3, 1))
    assert df["meetings_count"].sum() == 7


# -- concerns -------------------------------------------------------------------------------------------


def test_concerns_by_tag_per_month_count_each_meeting_once(conn):
    df = mt.concerns_over_time(conn, F(), grain="month")
    got = {(r.period_start, r.concern_tag): r.meetings_count for r in df.itertuples()}
    assert got == {
        (date(2026, 3, 1), "lighting"): 1,  # M04 lists lighting twice
        (date(2026, 3, 1), "traffic"): 2,
        (date(2026, 3, 1), "youth"): 2,
        (date(2026, 4, 1), "lighting"): 1,
        (date(2026, 4, 1), "traffic"): 0,
        (date(2026, 4, 1), "youth"): 0,
    }
    held = df.drop_duplicates("period_start").set_index("period_start")["meetings_held_count"].to_dict()
    assert held == {date(2026, 3, 1): 5, date(2026, 4, 1): 2}
    assert df.drop_duplicates("concern_tag")["concern_tag"].tolist() == ["lighting", "traffic", "youth"]


def test_rare_concern_tags_fold_into_other_counting_a_meeting_once(conn, monkeypatch):
    monkeypatch.setattr(mt, "MAX_CONCERN_TAGS", 1)
    df = mt.concerns_over_time(conn, F(), grain="month")
    got = {(r.period_start, r.concern_tag): r.meetings_count for r in df.itertuples()}
    # lighting ranks first (2 meetings each, ties broken by name; M06 listing youth twice must not lift it);
    # traffic+youth → M02 (once), M03, M06
    assert got == {
        (date(2026, 3, 1), "lighting"): 1,
        (date(2026, 4, 1), "lighting"): 1,
        (date(2026, 3, 1), mt.OTHER_TAGS): 3,
        (date(2026, 4, 1), mt.OTHER_TAGS): 0,
    }


def test_concerns_of_chosen_communities_count_a_repeated_tag_once(conn):
    # a community selection reads the meetings' own lists: M04 lists lighting twice, M06 youth three times
    df = mt.concerns_over_time(conn, F(communities=("C2", "C3")), grain="month")
    got = {(r.period_start, r.concern_tag): r.meetings_count for r in df.itertuples()}
    assert got == {
        (date(2026, 3, 1), "lighting"): 1,  # M04
        (date(2026, 3, 1), "traffic"): 1,  # M03
        (date(2026, 3, 1), "youth"): 1,  # M06
        (date(2026, 4, 1), "lighting"): 1,  # M08
        (date(2026, 4, 1), "traffic"): 0,
        (date(2026, 4, 1), "youth"): 0,
    }


def test_concerns_without_a_selection_read_the_tag_rollups_and_match_the_tag_sets(conn, monkeypatch):
    """With no tags to fold (3 here) and no community selection the counts come from the per-tag
    roll-ups, so the hand-worked tests above check that path; the tag-set path (taken when a
    database has more tags than are listed) gives the same frames."""
    from data_access import rollups

    read: list[bool] = []
    per_tag_cells = rollups.concern_tag_cells
    monkeypatch.setattr(
        rollups, "concern_tag_cells", lambda *a, **kw: read.append(True) or per_tag_cells(*a, **kw)
    )
    filters = [
        F(),
        F(divisions=("NORTH",)),
        F(units=("LIA", "SW")),
        Filters(date(2026, 3, 10), date(2026, 4, 1)),
    ]
    per_tag = {
        (i, g): mt.concerns_over_time(conn, f, grain=g) for i, f in enumerate(filters) for g in mt.GRAINS
    }
    assert len(read) == len(per_tag)
    monkeypatch.setattr(rollups, "concern_tag_count", lambda conn: mt.MAX_CONCERN_TAGS + 1)
    for (i, g), expected in per_tag.items():
        pd.testing.assert_frame_equal(mt.concerns_over_time(conn, filters[i], grain=g), expected)
    assert len(read) == len(per_tag)  # the tag sets were read this time
    assert (per_tag[(0, "month")]["concern_tag"] != mt.OTHER_TAGS).all()


def test_concerns_obey_the_division_filter(conn):
    df = mt.concerns_over_time(conn, F(divisions=("NORTH",)), grain="week")
    totals = df.drop_duplicates("concern_tag").set_index("concern_tag")["tag_total_count"].to_dict()
    assert totals == {"traffic": 1, "youth": 1}  # M03, M06


# -- the meeting log ------------------------------------------------------------------------------------


def _ids(conn, f=None, **kw) -> list[str]:
    return mt.meeting_log(conn, f or F(), page_size=100, **kw).rows["meeting_id"].tolist()


def test_search_matches_wildcards_literally(conn):
    # unescaped, '%50%_off%' would also match M04's "50 people said hands off"
    assert sorted(_ids(conn, search="50%_off")) == ["M02", "M03", "M06"]  # M02 notes; M03/M06 org name
    assert mt.meeting_log_count(conn, F(), search="50%_off") == 3


def test_search_with_quotes_is_data_not_sql(conn):
    assert _ids(conn, search="' OR '1'='1") == ["M05"]
    assert _ids(conn, search="'; drop table meetings; --") == []
    assert mt.meeting_log_count(conn, F()) == 7  # still there


def test_search_covers_community_org_and_type_case_insensitively(conn):
    assert sorted(_ids(conn, search="RIVERSIDE")) == ["M04", "M08"]  # community and org names
    assert sorted(_ids(conn, search="islamic")) == ["M02", "M07"]  # org only; M01/M09 are outside the period
    assert sorted(_ids(conn, search="business")) == ["M03", "M06"]  # meeting type code/label
    assert _ids(conn, search="listening session") == ["M05"]
    assert sorted(_ids(conn, search="  lights ")) == ["M08"]  # trimmed
    assert sorted(_ids(conn, search="")) == sorted(IN_PERIOD)


def test_sort_by_allowlisted_columns_and_direction(conn):
    assert _ids(conn, sort="residents", descending=False) == ["M08", "M04", "M06", "M02", "M07", "M03", "M05"]
    assert _ids(conn, sort="community", descending=False) == ["M03", "M06", "M02", "M05", "M07", "M04", "M08"]
    assert _ids(conn, sort="date", descending=True) == ["M08", "M07", "M06", "M05", "M04", "M03", "M02"]
    assert _ids(conn, sort="organization", descending=False)[-1] == "M05"  # no organization sorts last


def test_sort_rejects_a_column_outside_the_allowlist(conn):
    for bad in ("notes", "m.meeting_date; drop table meetings", "residents_count"):
        with pytest.raises(ValueError):
            mt.meeting_log(conn, F(), sort=bad)
        with pytest.raises(ValueError):
            mt.meeting_log_export(conn, F(), sort=bad)


def test_pagination_returns_the_right_slice_and_total(conn):
    page2 = mt.meeting_log(conn, F(), sort="date", descending=True, page=2, page_size=3)
    assert page2.rows["meeting_id"].tolist() == ["M05", "M04", "M03"]
    assert (page2.total, page2.page, page2.pages, page2.first_row, page2.last_row) == (7, 2, 3, 4, 6)
    last = mt.meeting_log(conn, F(), sort="date", descending=True, page=99, page_size=3)
    assert last.page == 3 and last.rows["meeting_id"].tolist() == ["M02"]
    with pytest.raises(ValueError):
        mt.meeting_log(conn, F(), page_size=mt.MAX_PAGE_SIZE + 1)


def test_log_rows_show_the_meeting_in_words(conn):
    row = mt.meeting_log(conn, F(), search="50%_off", sort="date", descending=False).rows.iloc[0]
    assert row.meeting_id == "M02"
    assert (row.meeting_date, row.start_time) == (date(2026, 3, 4), time(18, 0))
    assert (row.community_name, row.org_name, row.division_name) == (
        "Muslim community",
        "Islamic Center",
        "East",
    )
    assert (row.meeting_type, row.unit_code, row.lead_name) == ("Liaison meeting", "LIA", "Liaison One")
    assert (row.residents_count, row.officers_count, row.concerns) == (10, 1, "traffic; youth")
    assert row.notes == "Discussed 50%_off signs"


def test_export_holds_every_match_in_log_order_up_to_the_cap(conn):
    full = mt.meeting_log_export(conn, F(), search="", sort="residents", descending=True)
    assert full["meeting_id"].tolist() == ["M05", "M03", "M07", "M02", "M06", "M04", "M08"]
    capped = mt.meeting_log_export(conn, F(), sort="residents", descending=True, cap=2)
    assert capped["meeting_id"].tolist() == ["M05", "M03"]


# -- global filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"divisions": ("NORTH",)}, {"M03", "M06"}),
        ({"units": ("SW",)}, {"M04", "M08"}),
        ({"communities": ("C1",)}, {"M02", "M05", "M07"}),
        ({"communities": ("C1", "C3"), "divisions": ("EAST",), "units": ("LIA",)}, {"M02", "M05", "M07"}),
    ],
)
def test_filters_exclude_the_right_meetings_everywhere(conn, kw, expected):
    f = F(**kw)
    assert set(_ids(conn, f)) == expected
    residents = sum(IN_PERIOD[m] for m in expected)
    k = mt.meeting_kpis(conn, f)
    assert (k["meetings_held"].value, k["residents_reached"].value) == (len(expected), residents)
    assert mt.meetings_over_time(conn, f, grain="month")["meetings_count"].sum() == len(expected)
    assert mt.meetings_by_day(conn, f)["meetings_count"].sum() == len(expected)
    assert mt.meetings_by_community(conn, f)["meetings_count"].sum() == len(expected)
    assert mt.meetings_by_staff(conn, f)["meetings_led_count"].sum() == len(expected)
    org = mt.meetings_by_organization(conn, f)
    assert org["meetings_count"].sum() + org["no_org_meetings_count"].iat[0] == len(expected)


# -- sample data cross-check ----------------------------------------------------------------------------


def test_monthly_counts_match_a_pandas_groupby_over_the_sample_csv(sample_db):
    start, end = date(2025, 2, 10), date(2025, 12, 31)
    raw = pd.read_csv(ROOT / "sample_data" / "meetings.csv", parse_dates=["meeting_date"])
    raw = raw[(raw["meeting_date"].dt.date >= start) & (raw["meeting_date"].dt.date <= end)]
    expected = raw.groupby([raw["meeting_date"].dt.to_period("M"), "meeting_type"]).size()
    expected.index = [(p.start_time.date(), t) for p, t in expected.index]
    with sample_db.connect() as c:
        df = mt.meetings_over_time(c, Filters(start=start, end=end), grain="month", split="type")
    got = df[df["meetings_count"] > 0].set_index(["period_start", "split_value"])["meetings_count"]
    assert len(expected) > 50
    assert got.to_dict() == expected.to_dict()
    assert df.drop_duplicates("period_start")["is_partial"].tolist() == [True] + [False] * 10


@pytest.mark.parametrize("divisions", [(), ("SHOAL",)])
@pytest.mark.parametrize("descending", [True, False])
def test_log_pages_by_date_match_a_pandas_sort_of_the_sample_csv(sample_db, divisions, descending):
    # by date without a search, the log reads only the days its page lies in (_log_window, from
    # the day cells); every page must still be the slice of the whole sorted period, ties on a
    # day included, and a page past the end the last one
    start, end, size = date(2025, 2, 10), date(2025, 12, 31), 7
    raw = pd.read_csv(
        ROOT / "sample_data" / "meetings.csv", parse_dates=["meeting_date"], dtype={"start_time": str}
    )
    raw = raw[(raw["meeting_date"].dt.date >= start) & (raw["meeting_date"].dt.date <= end)]
    if divisions:
        raw = raw[raw["division_code"].isin(divisions)]
    order = raw.sort_values(
        ["meeting_date", "start_time", "meeting_id"], ascending=not descending, na_position="last"
    )["meeting_id"].tolist()
    pages = -(-len(order) // size)
    assert len(order) > 100 and raw["meeting_date"].duplicated().any()  # several meetings share a day
    f = Filters(start=start, end=end, divisions=divisions)
    with sample_db.connect() as c:
        for page in (1, 2, 3, pages // 2, pages - 1, pages, pages + 5):
            log = mt.meeting_log(c, f, sort="date", descending=descending, page=page, page_size=size)
            shown = min(page, pages)
            assert (log.total, log.page) == (len(order), shown)
            assert log.rows["meeting_id"].tolist() == order[(shown - 1) * size : shown * size], page
        total, log_from, log_to = mt._log_window(c, f, descending, 1, size)
    assert total == len(order)
    # the first page's window is a few days at the sorted end, not the period
    assert (log_from > start + timedelta(days=200)) if descending else (log_to < end - timedelta(days=200))


def _sample_rankings(start: date, end: date) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per organization, staff member and community, counted by hand in pandas from the sample CSVs."""
    raw = pd.read_csv(ROOT / "sample_data" / "meetings.csv", parse_dates=["meeting_date"], dtype=str)
    raw = raw[(raw["meeting_date"].dt.date >= start) & (raw["meeting_date"].dt.date <= end)]
    raw["residents"] = raw["residents_count"].astype(int)
    orgs = pd.read_csv(ROOT / "sample_data" / "organizations.csv", dtype=str)
    by_org = (
        raw.dropna(subset=["org_id"])
        .groupby("org_id")
        .agg(meetings=("meeting_id", "size"), residents=("residents", "sum"))
    )
    by_org = by_org.reset_index().merge(orgs[["org_id", "name"]], on="org_id")
    by_org = by_org.sort_values(
        ["meetings", "residents", "name", "org_id"], ascending=[False, False, True, True]
    )
    led = raw.groupby("lead_staff_id").agg(led=("meeting_id", "size"), residents=("residents", "sum"))
    supports = {
        (m, s)
        for m, lead, others in zip(
            raw["meeting_id"], raw["lead_staff_id"], raw["other_staff_ids"].fillna(""), strict=True
        )
        for s in others.split(";")
        if s and s != lead
    }
    supported = pd.Series([s for _, s in supports]).value_counts().rename("supported")
    staff = pd.read_csv(ROOT / "sample_data" / "staff.csv", dtype=str)
    people = led.join(supported, how="outer").fillna(0).astype(int).rename_axis("staff_id").reset_index()
    people = people.merge(staff[["staff_id", "display_name"]], on="staff_id")
    people = people.sort_values(
        ["led", "residents", "supported", "display_name", "staff_id"],
        ascending=[False, False, False, True, True],
    )
    communities = pd.read_csv(ROOT / "sample_data" / "communities.csv", dtype=str)
    by_community = raw.groupby("community_id").agg(
        meetings=("meeting_id", "size"), residents=("residents", "sum")
    )
    by_community = by_community.reset_index().merge(communities[["community_id", "name"]], on="community_id")
    by_community = by_community.sort_values(
        ["meetings", "residents", "name", "community_id"], ascending=[False, False, True, True]
    )
    return by_org, people, by_community


def _cuts_through_ties(ranked: pd.DataFrame, counts: list[str]) -> list[int]:
    """List lengths that end inside a run of equal counts (the names decide who is listed)."""
    values = list(zip(*(ranked[c] for c in counts), strict=True))
    return [i + 1 for i in range(len(values) - 1) if values[i] == values[i + 1]][:6]


@pytest.mark.parametrize(
    ("start", "end"), [(date(2026, 11, 8), date(2026, 11, 15)), (date(2024, 7, 1), date(2026, 11, 20))]
)
def test_rankings_cut_to_their_length_match_a_pandas_ranking_of_the_sample(
    sample_db, monkeypatch, start, end
):
    # only the entities counted at least as high as the last listed one are joined to their names;
    # the lists must still be the first rows of the whole ranking, ties broken by name, at every length
    by_org, people, by_community = _sample_rankings(start, end)
    org_cuts = _cuts_through_ties(by_org, ["meetings", "residents"])
    community_cuts = _cuts_through_ties(by_community, ["meetings", "residents"])
    staff_cuts = _cuts_through_ties(people, ["led", "residents", "supported"])
    if (end - start).days < 30:  # over a short period some lengths cut through ties
        assert org_cuts and staff_cuts and community_cuts
    f = Filters(start=start, end=end)
    with sample_db.connect() as c:
        for top_n in (1, 3, 15, len(by_community) + 3, *community_cuts):
            got = mt.meetings_by_community(c, f, top_n=top_n)
            assert got["community_id"].tolist() == by_community["community_id"].head(top_n).tolist(), top_n
            assert set(got["communities_count"]) == {len(by_community)}
            assert set(got["all_meetings_count"]) == {by_community["meetings"].sum()}
        for top_n in (1, 3, 15, len(by_org) + 3, *org_cuts):
            got = mt.meetings_by_organization(c, f, top_n=top_n)
            assert got["org_id"].tolist() == by_org["org_id"].head(top_n).tolist(), top_n
            assert set(got["orgs_count"]) == {len(by_org)}
        for rows in (1, 3, 12, len(people) + 2, *staff_cuts):
            monkeypatch.setattr(mt, "MAX_STAFF_ROWS", rows)
            got = mt.meetings_by_staff(c, f)
            assert got["staff_id"].tolist() == people["staff_id"].head(rows).tolist(), rows
            assert got["meetings_supported_count"].tolist() == people["supported"].head(rows).tolist()
