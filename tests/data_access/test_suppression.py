"""Try to work out a suppressed group from what the Feedback page shows; every attempt must fail.

The hand-made division of test_feedback (k = 3): community Sigma has two responses in June
(trust items 1.5 and 1.5, so a trust score of 15.0; n = 2), under k. The attacks: subtract
the shown parts of a breakdown from its shown total (chart data, comparison tables, channel
and topic breakdowns), read tooltips, read the CSV exports, and subtract one filter's total
from another's (all communities minus all but Sigma). Each test first shows that the attack
would work on raw numbers, so it can fail.
"""

from __future__ import annotations

import io
import random
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from data_access import feedback as fb
from data_access.db import read_frame
from data_access.export import safe_csv
from data_access.filters import Filters
from tests.data_access.test_feedback import JUNE, K, db, trust_items  # noqa: F401  (db is a fixture)

SIGMA_N = 2
SIGMA_TRUST_SUM = 10 * sum(trust_items(["R8", "R9"]))  # 30.0 (score 15.0 × n 2)
WEEK3_N, WEEK3_TRUST_SUM = 2, 10 * sum(trust_items(["R6", "R7"]))  # R6, R7: 160.0


@pytest.fixture
def conn(db):  # noqa: F811
    with db.connect() as c:
        yield c


def _sum(df: pd.DataFrame, metric: str = "trust") -> tuple[int, float]:
    """n and score total (score × n) over the rows that show a number."""
    shown = (
        df[df["n"].notna() & df[f"{metric}_score"].notna()]
        if f"{metric}_score" in df
        else df[df["n"].notna()]
    )
    n = int(shown["n"].sum())
    total = float((shown["n"] * shown[f"{metric}_score"]).sum()) if f"{metric}_score" in df else 0.0
    return n, total


def _raw_trust(conn, f: Filters) -> tuple[int, float]:
    """What a page without the small-n rule would show: every response in scope."""
    sql = """select count(*) as n, coalesce(sum((respect + listen) / 2.0), 0) * 10 as s from feedback
             where response_date between :start and :end
               and (len(cast(:communities as varchar[])) = 0
                    or list_contains(cast(:communities as varchar[]), community_id))"""
    row = read_frame(conn, sql, f.params()).iloc[0]
    return int(row.n), float(row.s)


# -- complementary suppression, as a rule ---------------------------------------------------------


def test_one_suppressed_cell_takes_the_smallest_other_with_it():
    df = pd.DataFrame({"cell": list("abcd"), "n": [40, 5, 12, 30]})
    assert list(fb.protect(df, k=10, order=["cell"])) == ["shown", "suppressed", "complementary", "shown"]


def test_two_suppressed_cells_need_no_more():
    df = pd.DataFrame({"cell": list("abcd"), "n": [40, 5, 7, 30]})
    assert list(fb.protect(df, k=10)) == ["shown", "suppressed", "suppressed", "shown"]


def test_a_zero_cell_is_hidden_when_nothing_else_can_protect():
    df = pd.DataFrame({"week": [1, 1, 2, 2], "channel": ["a", "b", "a", "b"], "n": [5, 40, 30, 0]})
    status = fb.protect(df, k=10, margins=[("week",), ("channel",)], order=["week", "channel"])
    # 5 suppressed → 40 (week 1) and 30 (channel a) hidden; week 2 then has only the 30 hidden and a 0
    # beside it, so the 0 is hidden too: otherwise week 2's total would give the 30 away, and then the 5.
    assert list(status) == ["suppressed", "complementary", "complementary", "complementary"]


def test_zero_cells_are_empty_and_do_not_count_as_protection():
    df = pd.DataFrame({"cell": list("abc"), "n": [0, 5, 30]})
    # a zero discloses nobody, but it cannot hide the 5 either: the 30 goes too
    assert list(fb.protect(df, k=10)) == ["empty", "suppressed", "complementary"]
    groups = pd.DataFrame({"cell": list("ab"), "n": [0, 30]})
    assert list(fb.protect(groups, k=10, margins=[], zero_is_empty=False)) == ["suppressed", "shown"]


def _single_hidden_margins(df: pd.DataFrame, status: pd.Series, margins) -> list:
    """Margins of two or more cells with exactly one hidden cell. (A one-cell margin is the cell
    itself: it is protected in the view that shows it, e.g. the division table.)"""
    bad = []
    for keys in margins:
        parts = [df.index] if not keys else df.groupby(list(keys)).groups.values()
        for idx in parts:
            if len(idx) > 1 and status.loc[idx].isin(fb.HIDDEN).sum() == 1:
                bad.append((keys, list(idx)))
    return bad


def test_random_grids_leave_no_margin_with_a_single_hidden_cell():
    """Rows and columns both shown as totals: after protection no total has exactly one hidden
    cell (which would equal the total minus the shown ones), and every 0 < n < k cell is hidden."""
    rng = random.Random(7)
    for _ in range(300):
        rows, cols = rng.randint(1, 6), rng.randint(1, 5)
        df = pd.DataFrame(
            [(r, c, rng.choice([0, 1, 3, 8, 9, 10, 12, 25, 60])) for r in range(rows) for c in range(cols)],
            columns=["r", "c", "n"],
        )
        margins = [(), ("r",), ("c",)]
        status = fb.protect(df, k=10, margins=margins, order=["r", "c"])
        assert status[(df["n"] > 0) & (df["n"] < 10)].eq("suppressed").all()
        assert status[df["n"] == 0].isin(["empty", "complementary"]).all()
        assert _single_hidden_margins(df, status, margins) == [], df.assign(s=status)


# -- attacks on the page's numbers ----------------------------------------------------------------


def test_comparison_table_total_minus_the_others_reveals_nothing(conn):
    raw_all, raw_sum = _raw_trust(conn, JUNE)
    raw_others = _raw_trust(conn, Filters(start=JUNE.start, end=JUNE.end, communities=("C1", "C2")))
    raw_no_comm = 3, 10 * sum(trust_items(["R10", "R11", "R12"]))
    # the attack works on raw numbers: all − Alpha/Beta − no-community = Sigma
    assert raw_all - raw_others[0] - raw_no_comm[0] == SIGMA_N
    assert raw_sum - raw_others[1] - raw_no_comm[1] == pytest.approx(SIGMA_TRUST_SUM)

    kpi = fb.score_kpis(conn, JUNE, K)["trust_score"]
    rows = fb.comparison_by_community(conn, JUNE, K).rows
    n_rows, sum_rows = _sum(rows)
    assert kpi.n - n_rows == 0
    assert kpi.value * kpi.n - sum_rows == pytest.approx(0.0, abs=1e-9)
    sigma = rows.set_index("community_name").loc["Sigma"]
    assert sigma["status"] == "suppressed" and pd.isna(sigma["n"]) and pd.isna(sigma["trust_score"])


def test_division_table_total_minus_the_others_reveals_nothing(conn):
    kpi = fb.score_kpis(conn, JUNE, K)["trust_score"]
    n_rows, sum_rows = _sum(fb.comparison_by_division(conn, JUNE, K))
    assert (kpi.n - n_rows, kpi.value * kpi.n - sum_rows) == (0, pytest.approx(0.0, abs=1e-9))


def test_chart_data_total_minus_shown_points_reveals_no_single_point(conn):
    series = fb.score_series(conn, JUNE, K, grain="week")
    kpi = fb.score_kpis(conn, JUNE, K)["trust_score"]
    n_shown, sum_shown = _sum(series)
    hidden = series[series["status"].isin(fb.HIDDEN)]
    assert len(hidden) >= 2
    left_n, left_sum = kpi.n - n_shown, kpi.value * kpi.n - sum_shown
    # without the complementary cell the remainder would be exactly week 3 (n = 2, sum 160)
    assert (left_n, round(left_sum, 6)) != (WEEK3_N, WEEK3_TRUST_SUM)
    assert left_n > WEEK3_N


def test_channel_breakdown_total_minus_others_reveals_no_channel(conn):
    channels = fb.channel_totals(conn, JUNE, K)
    total = fb.score_kpis(conn, JUNE, K)["responses"].value
    hidden = channels[channels["status"].isin(fb.HIDDEN)]
    assert len(hidden) >= 2  # online form (1) and its complement
    assert total - int(channels["n"].sum()) != 1  # would be the online form's single response
    volume = fb.channel_volume(conn, JUNE, K, grain="week")
    series = fb.score_series(conn, JUNE, K, grain="week")
    for bucket, grp in volume.groupby("bucket_start"):
        point = series[series["bucket_start"] == bucket].iloc[0]
        if point["status"] == fb.SHOWN:  # a bucket's total is shown in the trend: guard its parts
            assert grp["status"].isin(fb.HIDDEN).sum() != 1, bucket


def test_tooltips_carry_only_badges_for_hidden_points(conn):
    frames = [
        (fb.score_series(conn, JUNE, K, grain="week"), ["trust_hover", "safety_hover"]),
        (fb.score_series(conn, JUNE, K, grain="month", split="division"), ["trust_hover", "safety_hover"]),
        (fb.channel_volume(conn, JUNE, K, grain="week"), ["hover"]),
        (fb.topic_trend(conn, JUNE, K), ["hover"]),
    ]
    for df, cols in frames:
        for _, row in df[df["status"].isin(fb.HIDDEN)].iterrows():
            for col in cols:
                text = row[col]
                assert text.endswith(row["status_label"]), text
                head = text[: -len(row["status_label"])].replace(row["bucket_label"], "")
                assert not any(ch.isdigit() for ch in head), text  # no n, no score, only the badge
    every = " ".join(" ".join(df[c].astype(str)) for df, cols in frames for c in cols)
    assert "Sigma" not in every and "15.0" not in every


def test_csv_exports_hold_no_suppressed_number(conn):
    comm = fb.comparison_by_community_export(conn, JUNE, K)  # the CSV the page builds on request
    csv = safe_csv(comm).decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(csv))
    sigma = back[back["community_name"] == "Sigma"].iloc[0]
    assert pd.isna(sigma["n"]) and pd.isna(sigma["trust_score"]) and pd.isna(sigma["trust_ci_low"])
    assert sigma["status_label"] == "suppressed (n < 3)"
    sigma_line = next(line for line in csv.splitlines() if "Sigma" in line)
    assert "15" not in sigma_line and ",2," not in sigma_line
    # and the subtraction attack on the exported numbers gives nothing
    kpi = fb.score_kpis(conn, JUNE, K)["trust_score"]
    shown = back[back["n"].notna()]
    assert kpi.n - int(shown["n"].sum()) == 0
    weekly = pd.read_csv(
        io.StringIO(safe_csv(fb.score_series(conn, JUNE, K, grain="week")).decode("utf-8-sig"))
    )
    assert weekly["n"].isna().sum() == 2 and weekly.loc[weekly["n"].isna(), "trust_score"].isna().all()


def test_filter_subtraction_all_communities_minus_all_but_one_reveals_nothing(conn):
    with_sigma = Filters(start=JUNE.start, end=JUNE.end, communities=("C1", "C2", "C3"))
    without = Filters(start=JUNE.start, end=JUNE.end, communities=("C1", "C2"))
    raw_a, raw_b = _raw_trust(conn, with_sigma), _raw_trust(conn, without)
    assert raw_a[0] - raw_b[0] == SIGMA_N  # the attack works on raw numbers
    a, b = fb.score_kpis(conn, with_sigma, K), fb.score_kpis(conn, without, K)
    for name in ("trust_score", "safety_score", "responses"):
        assert (a[name].value, a[name].n) == (b[name].value, b[name].n), name
    for fn in (fb.comparison_by_division, fb.channel_totals, fb.topic_counts):
        pd.testing.assert_frame_equal(fn(conn, with_sigma, K), fn(conn, without, K))
    pd.testing.assert_frame_equal(
        fb.score_series(conn, with_sigma, K, grain="week"), fb.score_series(conn, without, K, grain="week")
    )


def test_filter_subtraction_on_the_sample_data(sample_db):
    """In the sample, one of the four small communities has a few responses in the last 90 days:
    listing every community, then every community but that one, must not tell it apart."""
    f = Filters(start=date(2026, 8, 23), end=date(2026, 11, 20))
    csv = pd.read_csv(
        Path(__file__).resolve().parents[2] / "sample_data" / "feedback.csv", dtype=str, keep_default_na=False
    )
    period = csv[(csv["response_date"] >= "2026-08-23") & (csv["response_date"] <= "2026-11-20")]
    counts = period[period["community_id"] != ""]["community_id"].value_counts()
    small = [c for c in ("C006", "C007", "C008", "C900") if 0 < counts.get(c, 0) < 10]
    assert small, "the sample should have a small community with a few responses in this period"
    everyone = tuple(counts.index)
    with sample_db.connect() as conn:
        for target in small:
            without = Filters(start=f.start, end=f.end, communities=tuple(c for c in everyone if c != target))
            full = Filters(start=f.start, end=f.end, communities=everyone)
            assert _raw_trust(conn, full)[0] - _raw_trust(conn, without)[0] == counts[target]
            a, b = fb.score_kpis(conn, full), fb.score_kpis(conn, without)
            assert (a["trust_score"].value, a["trust_score"].n) == (
                b["trust_score"].value,
                b["trust_score"].n,
            )
            pd.testing.assert_frame_equal(
                fb.comparison_by_division(conn, full), fb.comparison_by_division(conn, without)
            )
        table = fb.comparison_by_community(conn, f, page_size=1000).rows.set_index("community_id")
    for cid in ("C006", "C007", "C008", "C900"):  # Deaf, Sikh, refugee resettlement, Somali
        assert table.loc[cid, "status"] == "suppressed", cid
        assert pd.isna(table.loc[cid, "n"]) and pd.isna(table.loc[cid, "trust_score"])
