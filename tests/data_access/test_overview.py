"""Overview numbers on a hand-made division, every expected value worked out by hand below.

Period: June 2026 (30 days); prior period: 2 May – 31 May 2026.
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from data_access import overview
from data_access.filters import Filters
from tests.fixtures import build, community, meeting, response

JUNE = Filters(start=date(2026, 6, 1), end=date(2026, 6, 30))


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    communities = [
        community("C1", "Alpha", division="EAST", cadence=30, owner="S1"),
        community("C2", "Beta", division="NORTH", cadence=30, owner="S2"),
        community("C3", "Gamma", division="EAST", cadence=14, owner="S1"),
        community("C4", "Delta", division="", cadence=30, owner=""),
        community("C5", "Epsilon", division="EAST", cadence=30, owner="S1", active=False),
    ]
    meetings = [
        meeting("M1", "2026-06-20", "C1", residents=10),
        meeting("M2", "2026-05-10", "C1", residents=5),
        meeting("M3", "2026-05-25", "C2", residents=20, division="NORTH", lead="S2"),
        meeting("M4", "2026-04-01", "C3", residents=7),
        meeting("M5", "2026-06-15", "C5", residents=3),
    ]
    follow_ups = [
        {
            "follow_up_id": "F1",
            "meeting_id": "M1",
            "concern_tag": "traffic",
            "opened_date": "2026-06-20",
            "owner_staff_id": "S1",
            "status": "open",
        },
        {
            "follow_up_id": "F2",
            "meeting_id": "M2",
            "concern_tag": "noise",
            "opened_date": "2026-05-10",
            "owner_staff_id": "S1",
            "status": "closed",
            "closed_date": "2026-05-20",
        },
        {
            "follow_up_id": "F3",
            "meeting_id": "M3",
            "concern_tag": "youth",
            "opened_date": "2026-05-25",
            "owner_staff_id": "S2",
            "status": "closed",
            "closed_date": "2026-07-15",
        },
    ]
    staffing = [
        {
            "month": "2026-06",
            "unit_code": "LIA",
            "division_code": "EAST",
            "authorized": 2,
            "filled": 1,
            "available": 1,
        },
        {
            "month": "2026-06",
            "unit_code": "CIO",
            "division_code": "NORTH",
            "authorized": 4,
            "filled": 4,
            "available": 3,
        },
        {
            "month": "2026-05",
            "unit_code": "LIA",
            "division_code": "EAST",
            "authorized": 2,
            "filled": 2,
            "available": 2,
        },
        {
            "month": "2026-05",
            "unit_code": "CIO",
            "division_code": "NORTH",
            "authorized": 4,
            "filled": 4,
            "available": 4,
        },
    ]
    feedback = (
        [response(f"J{i}", "2026-06-10", safety=5, respect=8, listen=8) for i in range(6)]
        + [response(f"K{i}", "2026-06-12", safety=5, respect=6, listen=6) for i in range(6)]
        + [response(f"P{i}", "2026-05-12", safety=5, respect=9, listen=9) for i in range(12)]
    )
    database = build(
        tmp_path_factory.mktemp("overview"),
        communities=communities,
        meetings=meetings,
        follow_ups=follow_ups,
        staffing=staffing,
        feedback=feedback,
    )
    with database.connect() as conn:
        yield conn


def test_prior_period_is_the_same_length_immediately_before():
    p = JUNE.prior()
    assert (p.start, p.end) == (date(2026, 5, 2), date(2026, 5, 31))
    assert p.days == JUNE.days == 30


def test_meetings_and_residents_count_every_meeting_in_the_period(db):
    assert overview.meeting_totals(db, JUNE) == {"meetings": 2, "residents": 13}
    assert overview.meeting_totals(db, JUNE.prior()) == {"meetings": 2, "residents": 25}


def test_coverage_counts_active_communities_on_track_at_end_of_period(db):
    # C1 10 days (on track), C2 36 (due), C3 90 vs 14 (overdue), C4 never; C5 inactive
    assert overview.coverage_counts(db, JUNE) == {"communities": 4, "on_track": 1}
    # at 31 May: C1 21 days and C2 6 days on track
    assert overview.coverage_counts(db, JUNE.prior()) == {"communities": 4, "on_track": 2}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            Filters(date(2026, 6, 1), date(2026, 6, 30), divisions=("EAST",)),
            {"communities": 3, "on_track": 1},
        ),
        (Filters(date(2026, 6, 1), date(2026, 6, 30), units=("CIO",)), {"communities": 1, "on_track": 0}),
        (
            Filters(date(2026, 6, 1), date(2026, 6, 30), communities=("C2", "C4")),
            {"communities": 2, "on_track": 0},
        ),
    ],
)
def test_coverage_obeys_division_unit_and_community_filters(db, filters, expected):
    assert overview.coverage_counts(db, filters) == expected


def test_open_follow_ups_are_counted_at_the_end_of_each_period(db):
    assert overview.open_follow_up_count(db, JUNE) == 2  # F1 open, F3 closed only in July
    assert overview.open_follow_up_count(db, JUNE.prior()) == 1  # F3 opened 25 May


def test_staffing_totals_use_the_last_month_of_the_period(db):
    s = overview.staffing_totals(db, JUNE)
    assert (s["authorized"], s["filled"], s["available"]) == (6, 5, 4)


def test_kpis_with_change_flags(db):
    k = overview.overview_kpis(db, JUNE, k=10)
    assert k["meetings_held"].value == 2 and k["meetings_held"].z == 0
    assert k["coverage_rate"].value == pytest.approx(0.25)
    assert k["coverage_rate"].prior == pytest.approx(0.5)
    assert k["coverage_rate"].z == pytest.approx(2 * (1 - math.sqrt(2)))
    assert k["open_follow_ups"].z == pytest.approx(2 * (math.sqrt(2) - 1))
    assert k["vacancy_rate"].value == pytest.approx(1 / 6)
    assert k["vacancy_rate"].prior == 0
    # trust: six responses of 8 and six of 6 -> mean 7 -> 70; sample sd = sqrt(12/11); prior all 9 -> 90, sd 0
    trust = k["trust_score"]
    se = 10 * math.sqrt(12 / 11) / math.sqrt(12)
    assert trust.value == pytest.approx(70.0)
    assert trust.n == 12
    assert trust.z == pytest.approx((70 - 90) / se)
    assert trust.change == "significant drop"
    # safety 5 everywhere: both standard errors are zero, so there is no test, not a fake z
    assert k["safety_score"].value == pytest.approx(50.0)
    assert k["safety_score"].z is None


def test_tiles_do_not_compare_with_a_prior_period_before_the_records_begin(db):
    """The first meeting is M4 on 1 April, the first response on 12 May. From 1 April the prior
    period ends on 31 March, before either: zero meetings, follow-ups, contacts and responses
    there are no records, not counts to call a rise from. From 13 May it ends on 12 May: both
    compare as usual (M4; the twelve P responses)."""
    k = overview.overview_kpis(db, Filters(date(2026, 4, 1), date(2026, 6, 30)), k=10)
    assert k["meetings_held"].value == 5  # all five meetings (M5 too: a meeting, though C5 is inactive)
    for name in ("meetings_held", "coverage_rate", "open_follow_ups", "responses"):
        assert k[name].prior is None and k[name].z is None, name
    k = overview.overview_kpis(db, Filters(date(2026, 5, 13), date(2026, 6, 30)), k=10)
    assert (k["meetings_held"].value, k["meetings_held"].prior) == (3, 2)  # M1, M3, M5 | M4, M2
    assert k["meetings_held"].z == pytest.approx(2 * (math.sqrt(3) - math.sqrt(2)))
    assert (k["responses"].value, k["responses"].prior) == (12, 12)
    assert k["coverage_rate"].prior is not None and k["open_follow_ups"].prior == 1  # F2 on 12 May


def test_scores_below_k_are_suppressed_with_no_value_and_no_n(db):
    k = overview.overview_kpis(db, JUNE, k=13)
    assert k["trust_score"].suppressed and k["trust_score"].value is None and k["trust_score"].n is None


def test_needs_attention_lists_overdue_understaffed_drops_and_silent_units(db):
    items = overview.needs_attention(db, JUNE, k=10)
    by_kind = items.groupby("kind")["subject"].apply(list).to_dict()
    assert by_kind["Overdue community"] == ["Delta", "Gamma"]  # never met first, then most overdue
    assert by_kind["Unit below 85% filled"] == ["Liaison Officers"]
    assert by_kind["Significant drop in trust"] == ["East"]
    assert by_kind["No meetings logged"] == ["Community Interaction Officers", "Social Workers"]
    gamma = items[items.subject == "Gamma"].detail.iloc[0]
    assert gamma.startswith("90 days since last contact (target 14)")
    assert "Beta" not in set(items.subject)  # due, not overdue


def test_overview_page_names_the_most_overdue_and_counts_the_whole_list(db):
    whole = overview.needs_attention(db, JUNE, k=10)
    # by hand (fixture): Delta never met, Gamma 90 days against 14; one unit below 85%, East's
    # trust drop, two silent units; most first, ties in list order
    expected = [
        ("Overdue community", 2),
        ("No meetings logged", 2),
        ("Unit below 85% filled", 1),
        ("Significant drop in trust", 1),
    ]
    full = overview.overview_page(db, JUNE, k=10)
    assert full.complete and full.total == len(whole) == 6
    assert list(full.counts.items()) == expected
    top = overview.overview_page(db, JUNE, k=10, communities=1)
    assert not top.complete and top.total == 6 and list(top.counts.items()) == expected
    # the list less Gamma (the less overdue of the two), every other item kept in its order
    assert top.needs.to_dict("records") == whole[whole.subject != "Gamma"].to_dict("records")
    assert top.kpis == full.kpis


def test_overview_shows_the_same_trust_n_as_the_feedback_page(sample_db):
    """No suppressed group can be recovered as Overview n minus Feedback n (SPEC §3 complementary rule)."""
    from data_access import feedback

    f = Filters(start=date(2026, 8, 23), end=date(2026, 11, 20))
    with sample_db.connect() as conn:
        tile = overview.overview_kpis(conn, f)["trust_score"]
        page = feedback.score_kpis(conn, f)["trust_score"]
        everyone = overview.feedback_scores(conn, f, 10)["trust_score"].n
        drops = overview.score_drops(conn, f)
        divisions = feedback.comparison_by_division(conn, f)
    assert (tile.n, tile.value) == (page.n, page.value)
    assert everyone > tile.n  # a small group really is left out here, so the check is not vacuous
    east = divisions.set_index("division_code").loc["EAST"]
    assert drops[drops.division_code == "EAST"].n.tolist() == [int(east.n), int(east.n)]


@pytest.mark.parametrize(
    ("kind", "n", "words"),
    [
        ("Overdue community", 1, "overdue community"),
        ("Overdue community", 7, "overdue communities"),
        ("Overdue community", 1064, "overdue communities"),
        ("Unit below 85% filled", 1, "unit below 85% filled"),
        ("Unit below 85% filled", 2, "units below 85% filled"),
        ("Significant drop in trust", 1, "significant drop in trust"),
        ("Notable drop in safety", 3, "notable drops in safety"),
        ("No meetings logged", 1, "unit with no meetings logged"),
        ("No meetings logged", 4, "units with no meetings logged"),
    ],
)
def test_the_counts_line_words_each_kind_in_the_singular_or_plural(kind, n, words):
    assert overview.needs_count_words(kind, n) == words
