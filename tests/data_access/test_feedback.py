"""Feedback numbers against values computed independently.

Part 1: a hand-made division (k = 3 so it stays small), every expected value worked out from the
literal item values below with Python's `statistics`, never from the code under test.
Period: June 2026 (30 days, weeks counted from 1 June); prior period: 2 – 31 May 2026.

Part 2: a plain pandas recomputation over sample_data/feedback.csv for September 2026.
"""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from data_access import feedback as fb
from data_access import overview, stats
from data_access.filters import Filters
from tests.fixtures import build, community, response

K = 3
JUNE = Filters(start=date(2026, 6, 1), end=date(2026, 6, 30))
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_LINK = "[x](javascript:alert(1))"
LITERAL = "50% off_road \\ back"

# (id, date, safety, respect, listen, community, division, channel, topics, comment)
ROWS = [
    ("R1", "2026-06-02", 8, 8, 6, "C1", "EAST", "post_meeting_card", "traffic", "Speeding near the school"),
    ("R2", "2026-06-03", 6, 6, 6, "C1", "EAST", "community_survey", "traffic", LITERAL),
    ("R3", "2026-06-09", 7, 9, 9, "C1", "EAST", "community_survey", "traffic;youth", "More crossings please"),
    ("R4", "2026-06-10", 5, 4, 4, "C1", "EAST", "community_survey", "youth", "Youth league was great"),
    ("R5", "2026-06-02", 9, 9, 9, "C2", "NORTH", "online_form", "respect", "Officers were kind"),
    ("R6", "2026-06-16", 9, 10, 8, "C2", "NORTH", "post_meeting_card", "", ""),
    ("R7", "2026-06-17", 7, 7, 7, "C2", "NORTH", "post_meeting_card", "", ""),
    # Sigma: two responses, under k = 3: suppressed everywhere
    ("R8", "2026-06-03", 1, 1, 2, "C3", "EAST", "community_survey", "traffic", "SECRET sigma comment"),
    ("R9", "2026-06-04", 2, 2, 1, "C3", "EAST", "community_survey", "", ""),
    # no community, East: a group of three
    ("R10", "2026-06-05", 6, 5, 7, "", "EAST", "community_survey", "safety", XSS_IMG),
    ("R11", "2026-06-12", 4, 4, 4, "", "EAST", "community_survey", "safety", XSS_LINK),
    ("R12", "2026-06-10", 9, 8, 8, "", "EAST", "community_survey", "", ""),
    # prior period (May)
    ("R20", "2026-05-10", 5, 5, 5, "C1", "EAST", "community_survey", "", ""),
    ("R21", "2026-05-11", 6, 6, 4, "C1", "EAST", "community_survey", "", ""),
    ("R22", "2026-05-20", 7, 6, 6, "C1", "EAST", "community_survey", "", ""),
]


def trust_items(ids: list[str]) -> list[float]:
    by_id = {r[0]: r for r in ROWS}
    return [(by_id[i][3] + by_id[i][4]) / 2 for i in ids]


def safety_items(ids: list[str]) -> list[float]:
    by_id = {r[0]: r for r in ROWS}
    return [float(by_id[i][2]) for i in ids]


def score_ci(items: list[float]) -> tuple[float, float, float]:
    """Independent: 10 × mean, ± 1.96 × 10 × sample sd / √n."""
    m = 10 * statistics.mean(items)
    half = 1.96 * 10 * statistics.stdev(items) / math.sqrt(len(items))
    return m, m - half, m + half


REPORTABLE_JUNE = ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R10", "R11", "R12"]
PRIOR = ["R20", "R21", "R22"]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    communities = [
        community("C1", "Alpha", division="EAST"),
        community("C2", "Beta", division="NORTH", owner="S2"),
        community("C3", "Sigma", division="EAST"),
    ]
    feedback = [
        response(
            rid,
            day,
            safety=s,
            respect=r,
            listen=li,
            community=c,
            division=d,
            channel=ch,
            topics=topics,
            comment=comment,
        )
        for rid, day, s, r, li, c, d, ch, topics, comment in ROWS
    ]
    external = [
        {"period_month": "2026-06", "area": "East", "group_name": "All residents", "metric": "trust",
         "score": "61.5", "n": "400", "source": "City resident survey (open data)"},
        {"period_month": "2026-06", "area": "North", "group_name": "All residents", "metric": "trust",
         "score": "70.0", "n": "2", "source": "City resident survey (open data)"},
        {"period_month": "2026-06", "area": "Citywide", "group_name": "All residents", "metric": "trust",
         "score": "64.0", "n": "", "source": "Vendor panel"},
        {"period_month": "2026-05", "area": "East", "group_name": "All residents", "metric": "trust",
         "score": "60.0", "n": "300", "source": "City resident survey (open data)"},
    ]  # fmt: skip
    return build(
        tmp_path_factory.mktemp("feedback"),
        communities=communities,
        feedback=feedback,
        external_scores=external,
    )


@pytest.fixture
def conn(db):
    with db.connect() as c:
        yield c


# -- the scope: the small-n groups, counted once ---------------------------------------------------


def test_scope_names_the_small_groups_and_what_they_answered(conn):
    """June: Sigma (C3) has two responses, under k = 3; every other group has three or more.
    May: C1 alone, three responses. Sigma's part is its two East community-survey responses."""
    sc = fb.scope(conn, JUNE, K, weekly=True)
    assert sc.hidden_keys == ("c:C3",) and len(sc.hidden_ids) == 1
    # groups in June: C1, C2, C3 and East's responses without a community; 12 responses
    assert sc.period(fb.CURRENT) == {"groups_count": 4, "reportable_groups_count": 3, "scoped_n": 12}
    assert sc.period(fb.PRIOR) == {"groups_count": 1, "reportable_groups_count": 1, "scoped_n": 3}
    cells = sc.cells
    (row,) = cells[cells["part"] == fb.SUPPRESSED_PART].to_dict("records")  # nothing suppressed in May
    assert row["period_index"] == fb.CURRENT
    assert (row["week_start"], row["month"]) == (date(2026, 6, 1), date(2026, 6, 1))
    assert (row["division_code"], row["channel"]) == ("EAST", "community_survey")
    # R8 (1, 1, 2) and R9 (2, 2, 1): respect + listen 3 and 3, safety 1 and 2
    assert (row["n"], row["trust_sum"], row["trust_sq"], row["safety_sum"], row["safety_sq"]) == (
        2,
        6,
        18,
        3,
        5,
    )
    everything = cells[cells["part"] == fb.ALL]
    assert everything.groupby("period_index")["n"].sum().to_dict() == {fb.CURRENT: 12, fb.PRIOR: 3}
    # June's weeks from 1 June: R1, R2, R5, R8, R9, R10 fall in the first (1-7 June)
    first_week = everything[everything["week_start"] == date(2026, 6, 1)]
    assert first_week["n"].sum() == 6
    topics = sc.topics
    (tag,) = topics[topics["part"] == fb.SUPPRESSED_PART].to_dict("records")  # R8: traffic; R9 untagged
    assert (tag["topic"], tag["has_comment"], tag["n"]) == ("traffic", True, 1)
    # without weeks the same cells, summed to months
    monthly = fb.scope(conn, JUNE, K)
    assert monthly.cells["week_start"].isna().all()
    assert monthly.cells.groupby("part")["n"].sum().to_dict() == cells.groupby("part")["n"].sum().to_dict()


def test_a_scope_belongs_to_its_filters_and_k(conn):
    sc = fb.scope(conn, JUNE, K)
    with pytest.raises(ValueError):
        fb.score_series(conn, Filters(date(2026, 5, 1), date(2026, 5, 31)), K, scope=sc)
    with pytest.raises(ValueError):
        fb.channel_totals(conn, JUNE, K + 1, scope=sc)
    with pytest.raises(ValueError):
        fb.score_series(conn, JUNE, K, grain="week", scope=sc)  # weeks need a weekly scope
    # the query cache's key
    assert repr(sc) == f"FeedbackScope({JUNE!r}, k=3, weekly=False, topics=True, channels=True)"
    no_channels = fb.scope(conn, JUNE, K, topics=False, channels=False)
    for needs_channels in (fb.channel_totals, fb.channel_volume, fb.comment_page):
        with pytest.raises(ValueError, match="no channels"):
            needs_channels(conn, JUNE, K, scope=no_channels)
    no_topics = fb.scope(conn, JUNE, K, topics=False)
    assert no_topics.topics.empty and not no_topics.cells.empty
    with pytest.raises(ValueError):
        fb.topic_counts(conn, JUNE, K, scope=no_topics)  # topics need a scope with them
    assert fb.channel_totals(conn, JUNE, K, scope=no_topics).equals(
        fb.channel_totals(conn, JUNE, K, scope=sc)
    )


# -- headline scores -------------------------------------------------------------------------------


def test_period_trust_and_safety_with_ci_leave_out_the_small_group(conn):
    kpis = fb.score_kpis(conn, JUNE, K)
    t_mean, _, _ = score_ci(trust_items(REPORTABLE_JUNE))
    s_mean, _, _ = score_ci(safety_items(REPORTABLE_JUNE))
    assert t_mean == pytest.approx(69.0)  # (7+6+9+4+9+9+7+6+4+8) / 10 × 10, worked by hand
    assert s_mean == pytest.approx(70.0)
    assert kpis["trust_score"].value == pytest.approx(t_mean)
    assert kpis["safety_score"].value == pytest.approx(s_mean)
    assert kpis["trust_score"].n == 10  # Sigma's two responses are not counted
    assert kpis["responses"].value == 10
    assert kpis["trust_score"].small_sample  # 10 < 30


def test_change_z_against_prior_period_by_hand(conn):
    kpis = fb.score_kpis(conn, JUNE, K)
    cur, pri = trust_items(REPORTABLE_JUNE), trust_items(PRIOR)
    m1, m0 = 10 * statistics.mean(cur), 10 * statistics.mean(pri)
    se1 = 10 * statistics.stdev(cur) / math.sqrt(len(cur))
    se0 = 10 * statistics.stdev(pri) / math.sqrt(len(pri))
    z = (m1 - m0) / math.sqrt(se1**2 + se0**2)
    assert m0 == pytest.approx(53.333333, abs=1e-5)
    assert kpis["trust_score"].prior == pytest.approx(m0)
    assert kpis["trust_score"].z == pytest.approx(z)
    assert z == pytest.approx(2.2693, abs=1e-3)
    assert kpis["trust_score"].change == "notable rise"
    assert kpis["responses"].z == pytest.approx(2 * (math.sqrt(10) - math.sqrt(3)))


def test_responses_are_not_compared_with_a_prior_period_before_the_first_response(conn):
    """The first response is R20 on 10 May: from 10 May the prior period ends on 9 May, before it
    (no responses recorded, not a count of zero); from 11 May it ends on 10 May: compared."""
    first = min(date.fromisoformat(r[1]) for r in ROWS)
    assert first == date(2026, 5, 10)
    kpis = fb.score_kpis(conn, Filters(start=first, end=JUNE.end), K)
    assert kpis["responses"].value == len(ROWS) - 2  # reportable: Sigma's R8, R9 are under k
    assert kpis["responses"].prior is None and kpis["responses"].z is None
    assert kpis["trust_score"].prior is None and kpis["trust_score"].z is None  # no responses then
    kpis = fb.score_kpis(conn, Filters(start=first + timedelta(days=1), end=JUNE.end), K)
    # R20 is C1's only response in that prior period, a group under k: zero reportable, compared
    assert (kpis["responses"].value, kpis["responses"].prior) == (len(ROWS) - 3, 0)
    assert kpis["responses"].z == pytest.approx(2 * math.sqrt(len(ROWS) - 3))
    headline = fb.headline(conn, Filters(start=first, end=JUNE.end), K)
    assert headline.kpis["responses"].prior is None  # the Feedback page's tiles say the same


def test_a_scope_of_only_small_groups_is_suppressed_not_zero(conn):
    sigma_only = Filters(start=JUNE.start, end=JUNE.end, communities=("C3",))
    kpis = fb.score_kpis(conn, sigma_only, K)
    for name in ("trust_score", "safety_score", "responses"):
        assert kpis[name].suppressed, name
    assert kpis["trust_score"].value is None and kpis["trust_score"].n is None


# -- over time -------------------------------------------------------------------------------------


def test_weekly_series_scores_ci_and_suppression(conn):
    s = fb.score_series(conn, JUNE, K, grain="week")
    assert list(s["bucket_start"]) == [date(2026, 6, d) for d in (1, 8, 15, 22, 29)]
    assert list(s["is_partial"]) == [False, False, False, False, True]
    # week 3 (R6, R7: n = 2 < 3) is suppressed; weeks 4-5 have no responses; week 1 (n = 4, tied
    # smallest with week 2, earlier) is hidden so week 3 cannot be worked out from the total.
    assert list(s["status"]) == ["complementary", "shown", "suppressed", "empty", "empty"]
    w2 = s.iloc[1]
    mean, lo, hi = score_ci(trust_items(["R3", "R4", "R11", "R12"]))
    assert mean == pytest.approx(62.5)
    assert (w2["n"], w2["trust_score"], w2["trust_ci_low"], w2["trust_ci_high"]) == (
        4,
        pytest.approx(mean),
        pytest.approx(lo),
        pytest.approx(hi),
    )
    assert "n = 4" in w2["trust_hover"] and "95% CI" in w2["trust_hover"]
    for _, row in s.iloc[[0, 2]].iterrows():
        assert pd.isna(row["n"]) and pd.isna(row["trust_score"]) and pd.isna(row["trust_ci_low"])
    assert s.iloc[3]["n"] == 0 and s.iloc[3]["status_label"] == "no responses"


def test_monthly_series_by_division(conn):
    s = fb.score_series(conn, JUNE, K, grain="month", split="division")
    rows = {r.division_code: r for r in s.itertuples()}
    east_mean, east_lo, _ = score_ci(trust_items(["R1", "R2", "R3", "R4", "R10", "R11", "R12"]))
    north_mean, _, _ = score_ci(trust_items(["R5", "R6", "R7"]))
    assert rows["EAST"].n == 7 and rows["EAST"].trust_score == pytest.approx(east_mean)
    assert rows["EAST"].trust_ci_low == pytest.approx(east_lo)
    assert rows["NORTH"].n == 3 and rows["NORTH"].trust_score == pytest.approx(north_mean)
    assert rows[fb.NO_DIVISION].status == "empty"


def test_week_buckets_count_from_the_period_start():
    assert fb.buckets(date(2026, 8, 23), date(2026, 9, 6), "week") == [
        date(2026, 8, 23),
        date(2026, 8, 30),
        date(2026, 9, 6),
    ]
    assert fb.buckets(date(2026, 1, 15), date(2026, 3, 1), "month") == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    with pytest.raises(ValueError):
        fb.buckets(date(2026, 1, 1), date(2026, 2, 1), "day; drop table feedback")


# -- community vs division -------------------------------------------------------------------------


def test_division_comparison_with_change_vs_prior(conn):
    d = fb.comparison_by_division(conn, JUNE, K).set_index("division_code")
    east = ["R1", "R2", "R3", "R4", "R10", "R11", "R12"]
    m, lo, hi = score_ci(trust_items(east))
    assert d.loc["EAST", "n"] == 7
    assert d.loc["EAST", "trust_score"] == pytest.approx(m)
    assert (d.loc["EAST", "trust_ci_low"], d.loc["EAST", "trust_ci_high"]) == (
        pytest.approx(lo),
        pytest.approx(hi),
    )
    m0 = 10 * statistics.mean(trust_items(PRIOR))
    se1 = 10 * statistics.stdev(trust_items(east)) / math.sqrt(7)
    se0 = 10 * statistics.stdev(trust_items(PRIOR)) / math.sqrt(3)
    assert d.loc["EAST", "trust_prior"] == pytest.approx(m0)
    assert d.loc["EAST", "trust_z"] == pytest.approx((m - m0) / math.sqrt(se1**2 + se0**2))
    assert d.loc["EAST", "trust_change"] == stats.change_label((m - m0) / math.sqrt(se1**2 + se0**2))
    # North had no responses before: no comparison
    assert pd.isna(d.loc["NORTH", "trust_z"]) and d.loc["NORTH", "trust_change"] == "no comparison"
    assert d.loc["NORTH", "small_sample"]
    assert d.loc[fb.NO_DIVISION, "status"] == "empty"


def test_community_comparison_scores_badges_and_gap_to_home_division(conn):
    c = fb.comparison_by_community(conn, JUNE, K).rows
    d = fb.comparison_by_division(conn, JUNE, K)
    c = fb.add_trust_vs_home(c, d, fb.score_kpis(conn, JUNE, K)["trust_score"].value).set_index(
        "community_name"
    )
    alpha = 10 * statistics.mean(trust_items(["R1", "R2", "R3", "R4"]))
    east = 10 * statistics.mean(trust_items(["R1", "R2", "R3", "R4", "R10", "R11", "R12"]))
    assert alpha == pytest.approx(65.0)
    assert c.loc["Alpha", "n"] == 4 and c.loc["Alpha", "trust_score"] == pytest.approx(alpha)
    assert c.loc["Alpha", "trust_vs_home"] == pytest.approx(alpha - east)
    assert c.loc["Beta", "trust_vs_home"] == pytest.approx(0.0)  # Beta is all of North
    sigma = c.loc["Sigma"]
    assert sigma["status"] == "suppressed" and sigma["status_label"] == "suppressed (n < 3)"
    assert pd.isna(sigma["n"]) and pd.isna(sigma["trust_score"]) and pd.isna(sigma["safety_ci_high"])
    no_comm = c.loc["No community recorded · East"]
    assert no_comm["n"] == 3 and no_comm["trust_score"] == pytest.approx(60.0)
    assert list(c.index[:3]) == ["Alpha", "Beta", "Sigma"]  # communities: scored lowest first, then badges


# -- channels, topics, external --------------------------------------------------------------------


def test_channel_totals_with_complementary_suppression(conn):
    ch = fb.channel_totals(conn, JUNE, K).set_index("channel")
    # online form: R5 only (1 < 3) → suppressed; post-meeting card (3, the smallest other) hidden with it
    assert ch.loc["online_form", "status"] == "suppressed"
    assert ch.loc["post_meeting_card", "status"] == "complementary"
    assert ch.loc["community_survey", "n"] == 6
    assert pd.isna(ch.loc["online_form", "n"]) and pd.isna(ch.loc["post_meeting_card", "n"])


def test_topic_counts_leave_out_small_groups(conn):
    t = fb.topic_counts(conn, JUNE, K).set_index("topic")
    assert t.loc["traffic", "n"] == 3  # R1, R2, R3 (Sigma's R8 is not counted)
    assert t.loc["traffic", "z"] == pytest.approx(2 * math.sqrt(3))  # prior count 0
    assert t.loc["traffic", "change"] == "significant rise"
    for topic in ("youth", "respect", "safety"):  # 2, 1, 2 < 3
        assert t.loc[topic, "status"] == "suppressed" and pd.isna(t.loc[topic, "n"])


def test_external_scores_filtered_by_division_name_and_small_n(conn):
    all_areas = fb.external_scores(conn, JUNE, K)
    assert sorted(all_areas["area"]) == ["Citywide", "East", "North"]  # May is outside the period
    north = all_areas.set_index("area").loc["North"]
    assert north["status"] == "suppressed" and pd.isna(north["score"])
    assert all_areas.set_index("area").loc["Citywide", "source"] == "Vendor panel"
    east_only = fb.external_scores(conn, Filters(start=JUNE.start, end=JUNE.end, divisions=("EAST",)), K)
    assert list(east_only["area"]) == ["East"] and east_only["score"].iloc[0] == pytest.approx(61.5)
    assert east_only["division_code"].iloc[0] == "EAST"
    # the tooltips, by hand: a shown score with its n, an unpublished n, a suppressed score
    hover = all_areas.set_index("area")["hover"]
    assert (
        hover["East"]
        == "City resident survey (open data) · East · All residents · Jun 2026: trust 61.5 · n = 400"
    )
    assert (
        hover["Citywide"]
        == "Vendor panel · Citywide · All residents · Jun 2026: trust 64.0 · n not published"
    )
    assert (
        hover["North"]
        == f"City resident survey (open data) · North · All residents · Jun 2026: suppressed (n < {K})"
    )
    shown = all_areas.set_index("area")
    assert (
        pd.isna(shown.loc["North", "n"])
        and pd.isna(shown.loc["Citywide", "n"])
        and shown.loc["East", "n"] == 400
    )
    assert all_areas["period_month"].tolist() == [date(2026, 6, 1)] * 3


# -- comments --------------------------------------------------------------------------------------


def test_comments_are_returned_literally_newest_first(conn):
    page = fb.comment_page(conn, JUNE, K)
    assert page.total == 7  # R1-R5, R10, R11 (Sigma's comment is not browsable)
    assert list(page.rows["response_date"]) == sorted(page.rows["response_date"], reverse=True)
    comments = set(page.rows["comment"])
    assert {XSS_IMG, XSS_LINK, LITERAL} <= comments
    assert not any("SECRET" in c for c in comments)


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("50%", {LITERAL}),
        ("%", {LITERAL}),  # a literal percent, not a wildcard
        ("_", {LITERAL}),  # a literal underscore, not any character
        ("\\", {LITERAL}),
        ("OFF_ROAD", {LITERAL}),  # case-insensitive
        ("onerror=alert", {XSS_IMG}),
        ("secret", set()),  # the suppressed group's comment never matches
        ("' or 1=1 --", set()),
    ],
)
def test_comment_search_is_literal_and_parameterized(conn, search, expected):
    assert set(fb.comment_page(conn, JUNE, K, search=search).rows["comment"]) == expected


def test_comment_topic_filter_and_pagination(conn):
    by_topic = fb.comment_page(conn, JUNE, K, topic="safety")
    assert set(by_topic.rows["comment"]) == {XSS_IMG, XSS_LINK}
    assert fb.comment_topics(conn, JUNE, K) == ["respect", "safety", "traffic", "youth"]
    p2 = fb.comment_page(conn, JUNE, K, page=2, page_size=3)
    assert (p2.total, p2.pages, p2.page, len(p2.rows)) == (7, 3, 2, 3)
    last = fb.comment_page(conn, JUNE, K, page=99, page_size=3)
    assert last.page == 3 and len(last.rows) == 1


def test_viewers_may_not_read_comments(conn):
    viewer = Filters(start=JUNE.start, end=JUNE.end, role="viewer")
    with pytest.raises(PermissionError):
        fb.comment_page(conn, viewer, K)
    assert fb.comment_topics(conn, viewer, K) == []


def test_like_pattern_escapes_wildcards():
    assert fb.like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


# -- part 2: a plain pandas recomputation over the sample CSV --------------------------------------

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "feedback.csv"
SEPT = Filters(start=date(2026, 9, 1), end=date(2026, 9, 30))


@pytest.fixture(scope="module")
def sept_reportable() -> pd.DataFrame:
    """September's responses whose group (community, else division, else none) has ≥ 10, in pandas."""
    df = pd.read_csv(SAMPLE, dtype={"community_id": str, "division_code": str}, keep_default_na=False)
    df = df[(df["response_date"] >= "2026-09-01") & (df["response_date"] <= "2026-09-30")].copy()
    df["group"] = [
        f"c:{c}" if c else (f"d:{d}" if d else "none")
        for c, d in zip(df["community_id"], df["division_code"], strict=True)
    ]
    sizes = df["group"].value_counts()
    df = df[df["group"].map(sizes) >= 10].copy()
    df["trust_item"] = (df["respect"] + df["listen"]) / 2
    return df


# September (its cells), and periods of several whole months (the running totals, see
# rollups.feedback_score_sums): one ending past the data, one starting before it
LONG_PERIODS = [
    (date(2026, 5, 17), date(2026, 11, 20)),
    (date(2026, 8, 23), date(2027, 1, 31)),
    (date(2024, 5, 2), date(2025, 8, 9)),
]


@pytest.mark.parametrize("divisions", [(), ("EAST", "NORTH")])
@pytest.mark.parametrize("period", [(SEPT.start, SEPT.end), *LONG_PERIODS])
def test_sample_scope_matches_pandas_group_counts(sample_db, divisions, period):
    """The suppressed groups of a period (September, ...) and of the one before it, counted in pandas."""
    df = pd.read_csv(SAMPLE, dtype={"community_id": str, "division_code": str}, keep_default_na=False)
    if divisions:
        df = df[df["division_code"].isin(divisions)]
    df["group"] = [
        f"c:{c}" if c else (f"d:{d}" if d else "none")
        for c, d in zip(df["community_id"], df["division_code"], strict=True)
    ]
    f = Filters(*period, divisions=divisions)
    with sample_db.connect() as conn:
        sc = fb.scope(conn, f, 10)
    for index, within in ((fb.CURRENT, f), (fb.PRIOR, f.prior())):
        lo, hi = within.start.isoformat(), within.end.isoformat()
        sizes = df[(df["response_date"] >= lo) & (df["response_date"] <= hi)]["group"].value_counts()
        counts = sc.period(index)
        assert counts["groups_count"] == len(sizes) and counts["scoped_n"] == sizes.sum()
        assert counts["reportable_groups_count"] == int((sizes >= 10).sum())
        cells = sc.cells[sc.cells["period_index"] == index]
        assert cells.loc[cells["part"] == fb.SUPPRESSED_PART, "n"].sum() == sizes[sizes < 10].sum()
        assert cells.loc[cells["part"] == fb.ALL, "n"].sum() == sizes.sum()
        if index == fb.CURRENT:
            assert sc.hidden_keys == tuple(sorted(sizes[sizes < 10].index))
            assert len(sc.hidden_keys) > 0 or period != (SEPT.start, SEPT.end)  # September has some


@pytest.mark.parametrize(
    "f",
    [
        Filters(SEPT.start, SEPT.end),
        Filters(date(2026, 8, 23), date(2026, 11, 20), divisions=("EAST", "NORTH")),
        Filters(date(2024, 7, 1), date(2026, 11, 20)),
        Filters(date(2025, 1, 10), date(2026, 2, 20), communities=("C001", "C004", "C011")),
    ],
    ids=["september", "90 days, two divisions", "all time", "three communities"],
)
@pytest.mark.parametrize("weekly", [False, True])
def test_a_scope_without_channels_gives_every_score_of_one_with_them(sample_db, f, weekly):
    """The Overview's and the Briefing's scope sums the score cells (no channel, no comment count);
    every number they read from it must be the one the Feedback page's scope gives."""
    with sample_db.connect() as conn:
        full = fb.scope(conn, f, 10, weekly=weekly, topics=False)
        lean = fb.scope(conn, f, 10, weekly=weekly, topics=False, channels=False)
        assert lean.hidden_ids == full.hidden_ids and lean.periods.equals(full.periods)
        assert lean.cells["channel"].isna().all() and lean.cells["comments"].isna().all()
        for part in (fb.ALL, fb.SUPPRESSED_PART):  # the same sums, fewer cells
            a, b = (sc.cells[sc.cells["part"] == part] for sc in (full, lean))
            assert list(a[list(fb.SUMS)].sum()) == list(b[list(fb.SUMS)].sum())
        pd.testing.assert_frame_equal(
            fb.division_period_sums(conn, f, 10, lean), fb.division_period_sums(conn, f, 10, full)
        )
        pd.testing.assert_frame_equal(
            fb.comparison_by_division(conn, f, 10, scope=lean),
            fb.comparison_by_division(conn, f, 10, scope=full),
        )
        for grain in ("month", "week") if weekly else ("month",):
            for split in ("none", "division"):
                pd.testing.assert_frame_equal(
                    fb.score_series(conn, f, 10, grain=grain, split=split, scope=lean),
                    fb.score_series(conn, f, 10, grain=grain, split=split, scope=full),
                )
        a, b = (overview.overview_page(conn, f, 10, scope=sc) for sc in (lean, full))
        assert (a.kpis, a.counts) == (b.kpis, b.counts)
        pd.testing.assert_frame_equal(a.needs, b.needs)
    if f.start == SEPT.start:
        assert lean.hidden_ids  # September has small groups, so the suppressed part is compared too


def _pandas_score(values: pd.Series) -> tuple[int, float, float]:
    n = len(values)
    m = 10 * values.mean()
    return n, m, 1.96 * 10 * values.std(ddof=1) / math.sqrt(n)


def test_sample_september_matches_a_pandas_recomputation(sample_db, sept_reportable):
    with sample_db.connect() as conn:
        kpis = fb.score_kpis(conn, SEPT)
        divisions = fb.comparison_by_division(conn, SEPT).set_index("division_code")
        series = fb.score_series(conn, SEPT, grain="month")
    n, m, half = _pandas_score(sept_reportable["trust_item"])
    assert kpis["trust_score"].n == n
    assert kpis["trust_score"].value == pytest.approx(m)
    assert series["trust_ci_low"].iloc[0] == pytest.approx(m - half)
    assert series["trust_ci_high"].iloc[0] == pytest.approx(m + half)
    sn, sm, _ = _pandas_score(sept_reportable["safety"].astype(float))
    assert kpis["safety_score"].value == pytest.approx(sm) and sn == n
    for code, grp in sept_reportable[sept_reportable["division_code"] != ""].groupby("division_code"):
        dn, dm, dh = _pandas_score(grp["trust_item"])
        assert divisions.loc[code, "n"] == dn, code
        assert divisions.loc[code, "trust_score"] == pytest.approx(dm), code
        assert divisions.loc[code, "trust_ci_high"] == pytest.approx(dm + dh), code


def test_sample_east_trust_dips_after_the_incident(sample_db):
    """The generator's incident (15 Aug 2026) pulls East's trust down: a significant drop vs before."""
    f = Filters(start=date(2026, 8, 15), end=date(2026, 10, 31))
    with sample_db.connect() as conn:
        d = fb.comparison_by_division(conn, f).set_index("division_code")
    assert d.loc["EAST", "trust_change"] == "significant drop"
    assert d.loc["EAST", "trust_score"] < d["trust_score"].drop(["EAST"]).min()


@pytest.mark.parametrize(
    "period",
    [
        (date(2026, 8, 23), date(2026, 11, 20)),
        (date(2026, 8, 15), date(2026, 10, 31)),
        (date(2026, 7, 1), date(2026, 9, 30)),
        (date(2025, 1, 1), date(2025, 3, 31)),
    ],
)
def test_division_drop_flags_agree_with_the_overview(sample_db, period):
    """The Overview's needs-attention list (overview.score_drops) and this page flag the same division
    drops (the Overview has no row for responses without a division)."""
    f = Filters(start=period[0], end=period[1])
    with sample_db.connect() as conn:
        theirs = overview.score_drops(conn, f)
        mine = fb.comparison_by_division(conn, f)
    theirs_set = {(r.division_code, r.metric, stats.change_label(r.z)) for r in theirs.itertuples()}
    mine_set = {
        (r.division_code, f"{m}_score", getattr(r, f"{m}_change"))
        for r in mine.itertuples()
        for m in ("trust", "safety")
        if "drop" in getattr(r, f"{m}_change") and r.division_code != fb.NO_DIVISION
    }
    assert mine_set == theirs_set


def test_scores_from_sums_equal_statistics_over_the_responses():
    """The 0-10 means and sample sds the tiles and the division comparison take from integer sums,
    against Python's statistics module over the responses themselves."""
    responses = [(9, 8, 7), (4, 5, 6), (10, 10, 2), (0, 3, 9), (7, 7, 7)]  # respect, listen, safety
    trust = [(r + li) / 2 for r, li, _ in responses]
    safety = [s for _, _, s in responses]
    got = fb.scores_from_sums(
        n=len(responses),
        trust_sum=sum(r + li for r, li, _ in responses),
        trust_sq=sum((r + li) ** 2 for r, li, _ in responses),
        safety_sum=sum(safety),
        safety_sq=sum(s * s for s in safety),
    )
    assert got["n"] == 5
    assert got["trust_mean"] == pytest.approx(statistics.mean(trust), rel=1e-15)
    assert got["trust_sd"] == pytest.approx(statistics.stdev(trust), rel=1e-12)
    assert got["safety_mean"] == pytest.approx(statistics.mean(safety), rel=1e-15)
    assert got["safety_sd"] == pytest.approx(statistics.stdev(safety), rel=1e-12)
    one = fb.scores_from_sums(n=1, trust_sum=14, trust_sq=196, safety_sum=3, safety_sq=9)
    assert (one["trust_mean"], one["trust_sd"], one["safety_sd"]) == (7.0, None, None)
    assert fb.scores_from_sums(0, 0, 0, 0, 0)["trust_mean"] is None
