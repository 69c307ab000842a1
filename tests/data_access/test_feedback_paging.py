"""The community comparison a page at a time: order, counts, search and suppression, by hand.

k = 3; period June 2026. Every expected value below is worked out from the literal items:

    Papa    (EAST)  3 responses, respect/listen 9/9, safety 2  -> trust 90, safety 20
    Quebec  (EAST)  3 responses, respect/listen 3/3, safety 9  -> trust 30, safety 90
    Mike    (NORTH) 3 responses, respect/listen 5/5, safety 5  -> trust 50, safety 50
    Aardvark (EAST) 1 response                                 -> suppressed
    Kilo    (EAST)  2 responses                                -> suppressed
    Zulu    (EAST)  no responses (active, so listed)           -> suppressed
    no community, NORTH: 3 responses, respect/listen 6/6, safety 6 -> "No community recorded · North"

Trust order: Quebec, Mike, Papa, then the suppressed by name (Aardvark, Kilo, Zulu: by n it would
be Zulu 0, Aardvark 1, Kilo 2 or the reverse), then the no-community row. Six rows.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data_access import feedback as fb
from data_access.filters import Filters
from tests.fixtures import build, community, response

K = 3
JUNE = Filters(start=date(2026, 6, 1), end=date(2026, 6, 30))
TRUST_ORDER = ["Quebec", "Mike", "Papa", "Aardvark", "Kilo", "Zulu", "No community recorded · North"]
SAFETY_ORDER = ["Papa", "Mike", "Quebec", "Aardvark", "Kilo", "Zulu", "No community recorded · North"]
TOTAL = len(TRUST_ORDER)


def _responses(prefix: str, n: int, item: int, safety: int, **where: str) -> list[dict]:
    return [
        response(f"{prefix}{i}", f"2026-06-{i + 2:02d}", safety=safety, respect=item, listen=item, **where)
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    communities = [
        community("P", "Papa"),
        community("Q", "Quebec"),
        community("M", "Mike", division="NORTH"),
        community("A", "Aardvark"),
        community("KI", "Kilo"),
        community("Z", "Zulu"),
    ]
    feedback = [
        *_responses("P", 3, 9, 2, community="P"),
        *_responses("Q", 3, 3, 9, community="Q"),
        *_responses("M", 3, 5, 5, community="M", division="NORTH"),
        *_responses("A", 1, 1, 1, community="A"),
        *_responses("K", 2, 1, 1, community="KI"),
        *_responses("X", 3, 6, 6, division="NORTH"),
    ]
    return build(tmp_path_factory.mktemp("feedback_paging"), communities=communities, feedback=feedback)


@pytest.fixture
def conn(db):
    with db.connect() as c:
        yield c


def _names(page: fb.CommunityPage) -> list[str]:
    return list(page.rows["community_name"])


def test_a_limit_of_three_returns_three_rows_and_the_true_total(conn):
    page = fb.comparison_by_community(conn, JUNE, K, page_size=3)
    assert _names(page) == ["Quebec", "Mike", "Papa"]
    assert (page.total, page.page, page.pages) == (TOTAL, 1, 3)
    assert list(page.rows["trust_score"]) == pytest.approx([30.0, 50.0, 90.0])
    assert list(page.rows["n"]) == [3, 3, 3]


@pytest.mark.parametrize(
    ("page_no", "size", "want_page"),
    [(1, 50, 1), (2, 3, 2), (3, 3, 3), (8, 3, 3), (0, 2, 1), (4, 2, 4), (2, 4, 2)],
)
def test_pages_follow_the_hand_order(conn, page_no, size, want_page):
    page = fb.comparison_by_community(conn, JUNE, K, page=page_no, page_size=size)
    assert _names(page) == TRUST_ORDER[(want_page - 1) * size : want_page * size]
    assert (page.total, page.page, page.pages) == (TOTAL, want_page, -(-TOTAL // size))


def test_safety_order_for_the_chart(conn):
    page = fb.comparison_by_community(conn, JUNE, K, order="safety", page_size=50)
    assert _names(page) == SAFETY_ORDER
    assert list(page.rows["safety_score"].iloc[:3]) == pytest.approx([20.0, 50.0, 90.0])
    with pytest.raises(ValueError):
        fb.comparison_by_community(conn, JUNE, K, order="n")


def test_reportable_only_counts_the_communities_with_a_score(conn):
    lowest = fb.comparison_by_community(conn, JUNE, K, reportable_only=True, page_size=2)
    assert _names(lowest) == ["Quebec", "Mike"]
    assert lowest.total == 3  # Papa, Quebec, Mike; not the suppressed, not the no-community row
    by_safety = fb.comparison_by_community(conn, JUNE, K, order="safety", reportable_only=True, page_size=2)
    assert _names(by_safety) == ["Papa", "Mike"] and by_safety.total == 3
    # at k = 4 nobody is reportable
    assert fb.comparison_by_community(conn, JUNE, 4, reportable_only=True).total == 0


def test_suppressed_rows_show_no_number_on_any_page_and_their_order_ignores_n(conn):
    seen = []
    for page_no in (1, 2, 3):
        page = fb.comparison_by_community(conn, JUNE, K, page=page_no, page_size=3)
        seen.append(page.rows)
    rows = pd.concat(seen, ignore_index=True)
    assert list(rows["community_name"]) == TRUST_ORDER
    hidden = rows[rows["community_name"].isin(["Aardvark", "Kilo", "Zulu"])]
    assert (hidden["status"] == fb.SUPPRESSED).all()
    assert (
        hidden["n"].isna().all()
        and hidden["trust_score"].isna().all()
        and hidden["safety_ci_low"].isna().all()
    )
    assert set(hidden["status_label"]) == {"suppressed (n < 3)"}
    # shown n over every page adds up to the headline n: nothing left to subtract
    kpi = fb.score_kpis(conn, JUNE, K)["trust_score"]
    assert int(rows["n"].sum()) == kpi.n == 12


def test_name_search_keeps_the_order_and_counts_the_matches(conn):
    # "u" (any case): Quebec, Zulu and "No community recorded · North" (commUnity)
    page = fb.comparison_by_community(conn, JUNE, K, search="U", page_size=2)
    assert _names(page) == ["Quebec", "Zulu"] and (page.total, page.pages) == (3, 2)
    assert _names(fb.comparison_by_community(conn, JUNE, K, search="u", page=2, page_size=2)) == [
        "No community recorded · North"
    ]
    for text in ("%", "_", "\\", "Papa'--"):
        empty = fb.comparison_by_community(conn, JUNE, K, search=text)
        assert empty.rows.empty and (empty.total, empty.page, empty.pages) == (0, 1, 1), text


def test_no_responses_in_scope_is_an_empty_page(conn):
    page = fb.comparison_by_community(conn, Filters(start=date(2020, 1, 1), end=date(2020, 1, 31)), K, page=2)
    assert page.rows.empty and (page.total, page.page, page.pages) == (0, 1, 1)
    assert list(page.rows.columns) == fb.COMMUNITY_COLUMNS


def test_page_size_is_bounded(conn):
    for size in (0, 1_001):
        with pytest.raises(ValueError):
            fb.comparison_by_community(conn, JUNE, K, page_size=size)


def test_export_is_every_row_in_order_up_to_the_cap(conn):
    everything = fb.comparison_by_community_export(conn, JUNE, K)
    assert list(everything["community_name"]) == TRUST_ORDER
    assert list(everything.columns) == fb.COMMUNITY_COLUMNS
    assert everything[everything["community_name"] == "Kilo"]["n"].isna().all()
    assert list(fb.comparison_by_community_export(conn, JUNE, K, cap=3)["community_name"]) == TRUST_ORDER[:3]
    with pytest.raises(ValueError):
        fb.comparison_by_community_export(conn, JUNE, K, cap=0)


@pytest.mark.parametrize(
    "search, page_no, size, order",
    [("", 1, 50, "trust"), ("", 2, 3, "safety"), ("o", 1, 2, "trust"), ("zzz", 1, 5, "safety")],
)
def test_both_listings_from_one_statement_equal_the_separate_ones(conn, search, page_no, size, order):
    """community_pages (the table's page and the chart's lowest reportable communities, in one
    statement) gives exactly the two pages comparison_by_community gives one at a time."""
    table, chart = fb.community_pages(
        conn, JUNE, K, search=search, page=page_no, page_size=size, chart_order=order, chart_size=2
    )
    want_table = fb.comparison_by_community(conn, JUNE, K, search=search, page=page_no, page_size=size)
    want_chart = fb.comparison_by_community(conn, JUNE, K, order=order, reportable_only=True, page_size=2)
    for got, want in ((table, want_table), (chart, want_chart)):
        assert (got.total, got.page, got.pages) == (want.total, want.page, want.pages)
        pd.testing.assert_frame_equal(got.rows, want.rows)
    assert list(chart.rows["community_name"]) == (
        ["Quebec", "Mike"] if order == "trust" else ["Papa", "Mike"]
    )
