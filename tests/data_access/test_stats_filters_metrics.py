"""Statistics, Filters and the metric registry, checked against hand-computed values."""

from __future__ import annotations

import math
from datetime import date

import pytest

from data_access import stats
from data_access.filters import Filters, resolve_period
from data_access.metrics import REGISTRY, format_value


def test_poisson_z_is_twice_the_difference_of_square_roots():
    assert stats.poisson_z(100, 64) == pytest.approx(2 * (10 - 8))
    assert stats.poisson_z(0, 9) == pytest.approx(-6)


def test_mean_z_combines_standard_errors():
    assert stats.mean_z(70, 3, 66, 4) == pytest.approx(4 / 5)
    assert stats.mean_z(1, 0, 1, 0) is None


@pytest.mark.parametrize(
    ("z", "label"),
    [
        (0.0, "within normal variation"),
        (1.99, "within normal variation"),
        (2.0, "notable rise"),
        (-2.5, "notable drop"),
        (3.0, "significant rise"),
        (-7, "significant drop"),
        (None, "no comparison"),
    ],
)
def test_change_labels_follow_the_thresholds(z, label):
    assert stats.change_label(z) == label


def test_score_scales_to_100_and_ci_uses_sample_sd():
    s = stats.make_score(25, 7.2, 1.5, k=10)
    assert s.mean == pytest.approx(72.0)
    lo, hi = s.ci
    assert hi - 72.0 == pytest.approx(1.96 * 15 / 5)
    assert s.small_sample and not s.suppressed


def test_small_n_rule_hides_value_and_count():
    s = stats.make_score(9, 8.0, 1.0, k=10)
    assert s.suppressed and s.mean is None and s.n_shown is None and s.ci is None
    assert not stats.make_score(30, 8.0, 1.0, k=10).small_sample


def test_filters_are_hashable_and_order_insensitive():
    a = Filters(date(2026, 1, 1), date(2026, 1, 31), communities=("B", "A", "A"))
    b = Filters(date(2026, 1, 1), date(2026, 1, 31), communities=("A", "B"))
    assert a == b and hash(a) == hash(b) and a.communities == ("A", "B")
    assert a.params()["communities"] == ["A", "B"]


def test_filters_reject_a_period_that_ends_before_it_starts():
    with pytest.raises(ValueError):
        Filters(date(2026, 2, 1), date(2026, 1, 1))


def test_caption_names_period_and_selections():
    f = Filters(date(2026, 7, 1), date(2026, 9, 30), communities=("C1", "C2"), divisions=("EAST",))
    names = {"communities": {"C1": "Muslim", "C2": "LGBTQ+"}, "divisions": {"EAST": "East"}}
    assert f.caption(names) == "1 Jul – 30 Sep 2026 · Muslim, LGBTQ+ · East · all units"


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("last_30", (date(2026, 10, 22), date(2026, 11, 20))),
        ("last_90", (date(2026, 8, 23), date(2026, 11, 20))),
        ("this_quarter", (date(2026, 10, 1), date(2026, 11, 20))),
        ("ytd", (date(2026, 1, 1), date(2026, 11, 20))),
    ],
)
def test_period_presets_end_on_the_anchor(preset, expected):
    assert resolve_period(preset, date(2026, 11, 20)) == expected


def test_custom_period_swaps_reversed_dates():
    assert resolve_period("custom", date(2026, 11, 20), date(2026, 3, 1), date(2026, 2, 1)) == (
        date(2026, 2, 1),
        date(2026, 3, 1),
    )


def test_every_metric_has_a_label_and_a_description():
    for m in REGISTRY.values():
        assert m.label.strip() and len(m.description.strip()) > 20, m.name


def test_format_value_by_metric_format():
    assert format_value("coverage_rate", 0.675) == "68%"
    assert format_value("meetings_held", 1234) == "1,234"
    assert format_value("trust_score", None) == "—"
    assert math.isclose(float(format_value("trust_score", 66.84)), 66.8)
