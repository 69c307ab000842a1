"""The briefing deck and its HTML export, on a hand-made division whose numbers are worked out by hand.

Fixture, period 1 Jun – 31 Oct 2026 (153 days, so the feedback trend is monthly):
- communities: C1 named `<script>alert(1)</script>` last met 5 Jun (148 days, target 30: overdue);
  C2 met 20 Oct (on track); C3 never met; C4 met 25 Sep (36 days, target 30: due). Coverage 1 of 4 = 25%.
- staffing Oct 2026: LIA 7 of 10 filled (70%, below 85%), CIO 5 of 5, CHAP (named `<img …>`) 2 of 2.
  Totals 17 authorized, 14 filled, 12 available; vacancy 3/17 = 18%.
- feedback, all for C2 (one group of 43 ≥ k): Jun 12 responses trust 70.0, Jul 12 trust 90.0,
  Aug 12 trust 60.0, Sep 3 and Oct 4 responses (trust 35.0, safety 10.0; both suppressed, so no
  complementary suppression is needed). C3 has 4 responses (all zeros): a group under k, left out of
  every number, so the Overview slide's n is 43 (not 47) like the Feedback slide's.
"""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from data_access.filters import Filters
from data_access.reference import last_import_time, latest_data_date, reference_names
from tests.fixtures import DIVISIONS, STAFF, UNITS, build, community, meeting, response
from ui.briefing import (
    SLIDE_KEYS,
    WEEKS_MAX_DAYS,
    _each_kind_first,
    build_deck,
    build_slide,
    plain_md,
    slide_needs_scope,
    slide_queries,
    slide_scope,
)
from ui.briefing_html import SUPPRESSED_MARK, ChartBlock, TableBlock, deck_html

K = 10
EVIL_COMMUNITY = "<script>alert(1)</script>"
EVIL_UNIT = "<img src=x onerror=alert(1)>"
PERIOD = Filters(date(2026, 6, 1), date(2026, 10, 31))


def _responses(prefix: str, day: str, count: int, *, safety: int, respect: int, listen: int) -> list[dict]:
    return [
        response(f"{prefix}{i}", day, safety=safety, respect=respect, listen=listen, community="C2")
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    units = [dict(u, name=EVIL_UNIT) if u["unit_code"] == "CHAP" else u for u in UNITS]
    staffing = [
        {
            "month": "2026-10",
            "unit_code": "LIA",
            "division_code": "EAST",
            "authorized": 10,
            "filled": 7,
            "available": 6,
        },
        {
            "month": "2026-10",
            "unit_code": "CIO",
            "division_code": "NORTH",
            "authorized": 5,
            "filled": 5,
            "available": 4,
        },
        {
            "month": "2026-10",
            "unit_code": "CHAP",
            "division_code": "EAST",
            "authorized": 2,
            "filled": 2,
            "available": 2,
        },
    ]
    return build(
        tmp_path_factory.mktemp("briefing"),
        patrol_divisions=DIVISIONS,
        units=units,
        staff=STAFF,
        communities=[
            community("C1", EVIL_COMMUNITY, cadence=30),
            community("C2", "Quiet Park Watch", cadence=30),
            community("C3", "Small Chapel", cadence=60),
            community("C4", "Due Street", cadence=30),
        ],
        meetings=[
            meeting("M1", "2026-06-05", "C1"),
            meeting("M2", "2026-10-20", "C2"),
            meeting("M3", "2026-09-25", "C4"),
            meeting("M4", "2026-07-10", "C2"),
        ],
        staffing=staffing,
        feedback=[
            *_responses("J", "2026-06-10", 12, safety=7, respect=8, listen=6),
            *_responses("L", "2026-07-10", 12, safety=8, respect=9, listen=9),
            *_responses("A", "2026-08-10", 12, safety=6, respect=5, listen=7),
            *_responses("S", "2026-09-10", 3, safety=1, respect=3, listen=4),
            *_responses("O", "2026-10-10", 4, safety=1, respect=3, listen=4),
            # a second group, C3, with 4 responses: under k, so left out of every number on the deck
            *[
                response(f"X{i}", "2026-07-20", safety=0, respect=0, listen=0, community="C3")
                for i in range(4)
            ],
        ],
    )


def _deck(db, f: Filters = PERIOD):
    with db.connect() as conn:
        return build_deck(
            lambda fn, filters, **kw: fn(conn, filters, **kw),
            f,
            k=K,
            names=reference_names(conn),
            data_through=latest_data_date(conn),
            imported_at=last_import_time(conn),
        )


@pytest.fixture(scope="module")
def deck(db):
    return _deck(db)


@pytest.fixture(scope="module")
def page(deck) -> str:
    return deck_html(deck)


def _slide(deck, key: str):
    return next(s for s in deck.slides if s.key == key)


def _without_bundle(page: str) -> str:
    bundle = get_plotlyjs()
    assert page.count(bundle) == 1, "plotly.js must be embedded exactly once"
    return page.replace(bundle, "")


def _values(v: object) -> list:
    """A trace array as a list: plotly may ship numbers as base64 typed arrays ({dtype, bdata})."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).tolist()
    return list(v or [])


def _figures(page: str) -> list[list[dict]]:
    """The traces handed to Plotly.newPlot, one list per chart in page order."""
    found = re.findall(r'Plotly\.newPlot\(\s*"[^"]+",\s*(\[.*?\]),\s*\{', page, re.S)
    return [[{**t, "x": _values(t.get("x")), "y": _values(t.get("y"))} for t in json.loads(m)] for m in found]


def test_deck_has_the_four_slides_in_order(deck):
    assert [s.title for s in deck.slides] == ["Overview", "Coverage", "Staffing", "Feedback"]


def test_export_is_self_contained(page):
    rest = _without_bundle(page)
    assert "<script src" not in rest.lower()
    assert "<link" not in rest.lower()
    assert not re.search(r"<[^>]*\b(src|href)\s*=", rest, re.I)  # no tag loads or links anything
    assert not re.search(r"https?://", rest), re.findall(r"https?://\S{0,40}", rest)[:5]
    assert rest.count("Plotly.newPlot(") == 2  # staffing bars and the feedback trend


def test_every_slide_carries_the_dated_stamp(page):
    footers = re.findall(r"<footer>(.*?)</footer>", page, re.S)
    assert len(footers) == 4
    for i, footer in enumerate(footers, start=1):
        assert "1 Jun – 31 Oct 2026 · all communities · all patrol divisions · all units" in footer
        assert "data through 31 Oct 2026" not in footer  # latest data is 20 Oct (meeting M2)
        assert "data through 20 Oct 2026" in footer
        assert re.search(r"last import \d{1,2} \w{3} \d{4} \d\d:\d\d", footer)
        assert f"Slide {i} of 4" in footer


def test_imported_names_are_escaped_never_markup(page):
    rest = _without_bundle(page)
    assert EVIL_COMMUNITY not in page
    assert "<img" not in rest
    assert html.escape(EVIL_COMMUNITY) in rest  # shown as text in the worklist and needs-attention
    assert html.escape(EVIL_UNIT) in rest  # shown as text in the staffing table
    # in the chart the label is escaped for Plotly's own mini-markup, then JSON-encoded
    labels = [
        y for traces in _figures(page) for t in traces if t.get("type") == "bar" for y in t.get("y") or []
    ]
    assert any(isinstance(y, str) and "&lt;img src=x onerror=alert(1)&gt;" in y for y in labels), labels


def test_coverage_worklist_is_most_overdue_first_with_hand_counts(deck):
    slide = _slide(deck, "coverage")
    table = next(b for b in slide.blocks if isinstance(b, TableBlock))
    assert list(table.frame["Community"]) == ["Small Chapel", EVIL_COMMUNITY, "Due Street"]
    assert list(table.frame["Status"]) == ["○ never met", "▲ overdue", "◐ due"]
    assert list(table.frame["Days since contact"]) == ["never", "148 d (target 30)", "36 d (target 30)"]
    tiles = {t.label: t for t in slide.tiles}
    assert tiles["Coverage rate"].value == "25%"
    assert tiles["Coverage rate"].delta == "1 of 4 communities on track"
    assert tiles["▲ overdue"].value == "1"
    assert tiles["○ never met"].value == "1"
    assert tiles["◐ due"].value == "1"


def test_overview_counts_meetings_and_lists_what_needs_attention(deck):
    slide = _slide(deck, "overview")
    tiles = {t.label.split(" · ")[0]: t for t in slide.tiles}
    assert tiles["Meetings held"].value == "4"
    assert tiles["Coverage rate"].value == "25%"
    # trust over the 43 reportable responses: (12·70 + 12·90 + 12·60 + 7·35) / 43
    assert tiles["Trust score"].value == f"{(12 * 70 + 12 * 90 + 12 * 60 + 7 * 35) / 43:.1f}"
    assert tiles["Trust score"].label == "Trust score · n = 43"  # C3's 4 responses are not counted
    feedback = {t.label: t.value for t in _slide(deck, "feedback").tiles}
    assert feedback["Responses"] == "43" and feedback["Trust score · n = 43"] == tiles["Trust score"].value
    table = slide.blocks[0]
    assert EVIL_COMMUNITY in set(table.frame["Who"])
    assert "Liaison Officers" in set(table.frame["Who"])  # 7 of 10 filled


def test_staffing_flags_the_unit_below_85_percent(deck):
    slide = _slide(deck, "staffing")
    tiles = {t.label: t.value for t in slide.tiles}
    assert tiles == {
        "Authorized FTE": "17.0",
        "Filled FTE": "14.0",
        "Available FTE": "12.0",
        "Vacancy rate": f"{3 / 17:.0%}",
        "Availability": f"{12 / 17:.0%}",
    }
    table = next(b for b in slide.blocks if isinstance(b, TableBlock))
    assert table.title == "1 unit below 85% filled"
    first = table.frame.iloc[0]
    assert (first["Unit"], first["Filled"], first["Filled %"]) == ("Liaison Officers", "7 of 10", "◆ 70%")
    assert list(table.frame["Filled %"][1:]) == ["100%", "100%"]


def test_suppressed_months_show_the_badge_not_a_number(deck, page):
    slide = _slide(deck, "feedback")
    table = next(b for b in slide.blocks if isinstance(b, TableBlock))
    rows = {r["Month"]: r for r in table.frame.to_dict("records")}
    assert rows["Jun 2026"]["Trust (95% CI)"].startswith("70.0")
    assert rows["Jul 2026"]["Trust (95% CI)"].startswith("90.0")
    assert rows["Aug 2026"]["Safety (95% CI)"].startswith("60.0")
    assert rows["Jun 2026"]["n"] == "12"
    for month in ("Sep 2026", "Oct 2026"):
        assert rows[month]["Trust (95% CI)"] == f"{SUPPRESSED_MARK} suppressed (n < {K})"
        assert rows[month]["Safety (95% CI)"] == rows[month]["n"] == SUPPRESSED_MARK
    # the export draws the badge, not the Sep / Oct values (trust 35.0, safety 10.0, n = 3 and 4)
    assert page.count(f'<span class="badge">{SUPPRESSED_MARK} suppressed (n &lt; {K})</span>') == 2
    assert page.count(f'<span class="badge">{SUPPRESSED_MARK}</span>') == 4  # their safety and n cells
    trend = next(b for b in slide.blocks if isinstance(b, ChartBlock))
    assert "35.0" not in trend.data.to_csv() and not re.search(r"n = [34]\b", page)
    traces = _figures(page)[1]
    trust = next(t for t in traces if t.get("name") == "Trust score")
    assert trust["y"][:3] == pytest.approx([70.0, 90.0, 60.0])
    assert all(v is None or np.isnan(v) for v in trust["y"][3:])  # a gap, not a point
    bars = next(t for t in traces if t.get("type") == "bar")
    assert bars["y"][:3] == [12, 12, 12] and all(v is None or np.isnan(v) for v in bars["y"][3:])


def test_a_scope_without_responses_shows_the_empty_state(db):
    deck = _deck(db, Filters(PERIOD.start, PERIOD.end, communities=("C4",)))
    tiles = {t.label: t for t in _slide(deck, "feedback").tiles}
    assert tiles["Trust score"].value == "—" and not tiles["Trust score"].suppressed
    assert "No feedback responses for these filters in this period." in deck_html(deck)


def test_a_scope_under_k_shows_badges_on_the_tiles(db):
    # C2 in September alone: 3 responses, a group under k, so no score and no count reach the deck
    deck = _deck(db, Filters(date(2026, 9, 1), date(2026, 9, 30), communities=("C2",)))
    tiles = {t.label: t for t in _slide(deck, "feedback").tiles}
    assert tiles["Trust score"].suppressed
    assert tiles["Trust score"].value == f"{SUPPRESSED_MARK} suppressed (n < {K})"
    page = _without_bundle(deck_html(deck))
    badge = f'<div class="value"><span class="badge">{SUPPRESSED_MARK} suppressed (n &lt; {K})</span></div>'
    assert page.count(badge) >= 2  # trust and safety (and on the overview slide too)
    assert "35.0" not in page and "n = 3" not in page


def test_plain_md_makes_markdown_and_directives_inert():
    assert plain_md("[x](http://e.vil) ![i](http://e.vil/p.png)") == (
        r"\[x\]\(http\://e\.vil\) \!\[i\]\(http\://e\.vil/p\.png\)"
    )
    assert plain_md(":red[alarm] :material/home: $x$ **b** <b>") == (
        r"\:red\[alarm\] \:material/home\: \$x\$ \*\*b\*\* \<b\>"
    )
    assert plain_md("Plain name") == "Plain name"


def test_the_overview_keeps_one_item_of_every_kind_on_the_slide():
    items = pd.DataFrame(
        {"kind": ["Overdue community"] * 8 + ["Unit below 85% filled", "Significant drop in trust"]}
    )
    shown = _each_kind_first(items, 7)
    assert list(shown.index) == [0, 1, 2, 3, 4, 8, 9]  # list order kept, every kind present
    assert list(_each_kind_first(items.head(5), 7).index) == [0, 1, 2, 3, 4]


def test_the_overview_slide_reads_the_overview_pages_scope(db):
    """The same cached scope as the Overview page (pages/overview.py: topics=False, no weeks), not
    the feedback slide's weekly one: a presenter coming from the Overview finds it counted."""
    made: list = []

    def run(fn, filters, **kw):
        made.append(kw)
        return fn(db_conn, filters, **kw)

    with db.connect() as db_conn:
        slide_scope(run, PERIOD, K, SLIDE_KEYS.index("overview"))
        slide_scope(run, PERIOD, K, SLIDE_KEYS.index("feedback"))
    assert made == [
        {"k": K, "topics": False, "channels": False},
        {"k": K, "weekly": PERIOD.days <= WEEKS_MAX_DAYS, "topics": False, "channels": False},
    ]


@pytest.mark.parametrize(
    "period", [PERIOD, Filters(date(2026, 8, 3), date(2026, 10, 31))], ids=["153 days", "90 days"]
)
def test_each_slide_runs_only_its_own_queries_and_those_started_early(db, period):
    """pages/briefing.py builds only the slide on screen, after starting slide_queries() on worker
    threads; a call there that build_slide does not make with the same arguments would run for
    nothing, and a slide must not run another slide's queries. Over 90 days the feedback slide's
    scope has weeks and the overview slide's has not."""
    seen: dict[str, set[str]] = {}
    with db.connect() as conn:
        for index, key in enumerate(SLIDE_KEYS):
            made: list = []

            def run(fn, filters, made=made, **kw):
                made.append((fn, filters, kw))
                return fn(conn, filters, **kw)

            build_slide(run, period, index, k=K)
            scope = next((kw["scope"] for fn, _, kw in made if "scope" in kw), None)
            assert (scope is not None) == slide_needs_scope(index), key
            # the scope the page counts first (slide_scope) is the one the slide reads (its repr:
            # filters, k, weekly, topics, what the cache keys it by)
            plain = lambda fn, filters, **kw: fn(conn, filters, **kw)  # noqa: E731 (records nothing)
            assert repr(scope) == repr(slide_scope(plain, period, K, index)), key
            early = [(fn, period, kw) for fn, kw in slide_queries(index, K, scope)]
            assert early, f"no query of the {key} slide is started early"
            for call in early:
                assert call in made, (
                    f"{call[0].__name__}{call[2]} is started early but the {key} slide never runs it"
                )
            seen[key] = {call[0].__name__ for call in made}
            # only the scope and the feedback trend (its grain depends on the response count) run inline
            late = [call[0].__name__ for call in made if call not in early]
            assert late == {"overview": ["scope"], "feedback": ["scope", "score_series"]}.get(key, []), (
                key,
                late,
            )
    assert seen == {
        "overview": {"scope", "overview_page"},  # the Overview page's own scope: no weeks, no topics
        "coverage": {"status_counts", "cadence_worklist"},
        "staffing": {"staffing_month"},
        "feedback": {"scope", "score_kpis", "score_series"},
    }
