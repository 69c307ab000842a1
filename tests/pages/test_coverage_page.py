"""The Coverage page through Streamlit's AppTest, on the sample database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.calls import record_ahead, record_calls

PAGE = "pages/coverage.py"
APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture
def at(monkeypatch, sample_db_url):
    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    return AppTest.from_file(str(APP), default_timeout=60)


def _open(at: AppTest, **query: str | list[str]) -> AppTest:
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_page_renders_grid_worklist_rate_and_follow_ups(at):
    _open(at)
    assert at.title[0].value == "Coverage"
    specs = _charts(at)
    assert len(specs) == 3  # grid, coverage rate over time, follow-up ageing
    grid = specs[0]["data"][0]
    assert grid["type"] == "heatmap"
    assert grid["x"][0] == "All divisions" and len(grid["x"]) == 1 + 6
    assert len(grid["y"]) == 40  # the first page of the sample's 41 active communities
    assert any(t.endswith("▲") for row in grid["text"] for t in row)  # stale cells carry a symbol
    clicks = specs[0]["data"][1]  # invisible markers that make a cell clickable
    assert clicks["type"] == "scatter" and len(clicks["x"]) == 40 * 7
    worklist = at.dataframe[0].value
    assert list(worklist.columns)[:2] == ["Status", "Community"]
    assert len(worklist) == 41
    assert worklist["Status"].iloc[0] == "○ never met"  # Somali Cultural Association has no meetings
    assert at.selectbox(key="coverage_grid_page").value == 0
    labels = [m.label for m in at.metric]
    assert labels[:4] == ["Coverage rate", "◐ due", "▲ overdue", "○ never met"]


def test_choosing_a_community_narrows_the_global_filter(at):
    # app.py runs on every rerun (tests/conftest.py keeps st.navigation routing), so the sidebar
    # applies the page's request; the browser journey checks that the other pages follow.
    _open(at)
    at.selectbox(key="coverage_focus_pick").set_value("C004").run()
    at.button(key="coverage_focus_apply").click().run()
    assert not at.exception
    assert at.multiselect(key="f_communities").value == ["C004"]
    assert at.dataframe[0].value["Community"].tolist() == ["Muslim community"]


def test_a_single_community_filter_shows_one_row_and_a_way_back(at):
    _open(at, community="C004")
    worklist = at.dataframe[0].value
    assert worklist["Community"].tolist() == ["Muslim community"]
    assert worklist["Responsible liaison"].iloc[0].endswith("(left 10 Jul 2026)")
    at.button(key="coverage_unfocus").click().run()
    assert at.multiselect(key="f_communities").value == []


def test_community_never_met_shows_never_not_an_error(at):
    _open(at, community="C900")
    assert at.dataframe[0].value["Last contact"].tolist() == ["never"]
    grid = _charts(at)[0]["data"][0]
    assert grid["text"][0][0] == "never ○"


def test_no_communities_in_scope_is_a_clear_empty_state(at):
    _open(at, unit="SW")  # no community has a Social Worker as its responsible liaison
    assert any("No active communities match" in i.value for i in at.info)
    assert all("Status" not in d.value.columns for d in at.dataframe)  # no worklist
    assert len(_charts(at)) <= 1  # at most the follow-up ageing chart (SW-led meetings)


def test_period_with_no_data_is_all_never_met(at):
    _open(at, period="custom", **{"from": "2015-01-01", "to": "2015-03-31"})
    assert any("None of these communities had a meeting" in i.value for i in at.info)
    assert any("No follow-ups open" in i.value for i in at.info)
    assert any("coverage was 0%" in i.value for i in at.info)  # no chart of flat zeros
    assert len(_charts(at)) == 1  # only the grid, every cell "never"
    assert set(at.dataframe[0].value["Status"]) == {"○ never met"}


# -- the worklist a page at a time -----------------------------------------------------------------


def _worklist(at: AppTest):
    return next(d.value for d in at.dataframe if list(d.value.columns)[:2] == ["Status", "Community"])


def _reference_order(sample_db, at: AppTest) -> list[str]:
    """The whole worklist by the raw-table SQL from before paging (tests/data_access), not the page's."""
    from tests.data_access.raw_coverage_reference import cadence_worklist as raw_worklist

    with sample_db.connect() as conn:
        return list(raw_worklist(conn, at.session_state["filters"])["name"])


def test_worklist_pages_reach_every_community_in_order(at, monkeypatch, sample_db):
    from data_access import coverage

    monkeypatch.setattr(coverage, "WORKLIST_PAGE_SIZE", 10)  # the page reads it on every run
    _open(at)
    order = _reference_order(sample_db, at)
    assert len(order) == 41
    assert _worklist(at)["Community"].tolist() == order[:10]
    assert any("Page 1 of 5 · communities 1–10 of 41" in c.value for c in at.caption)
    at.button(key="coverage_wl_page__next").click().run()
    assert not at.exception
    assert _worklist(at)["Community"].tolist() == order[10:20]
    at.number_input(key="coverage_wl_page").set_value(5).run()
    assert _worklist(at)["Community"].tolist() == order[40:]
    assert any("Page 5 of 5 · communities 41–41 of 41" in c.value for c in at.caption)
    # the focus picker offers this page's communities, so any community can be chosen
    last = at.selectbox(key="coverage_focus_pick")
    assert len(last.options) == 1
    last.set_value(_only_id(sample_db, at, order[40])).run()
    at.button(key="coverage_focus_apply").click().run()
    assert _worklist(at)["Community"].tolist() == [order[40]]


def _only_id(sample_db, at: AppTest, name: str) -> str:
    with sample_db.connect() as conn:
        return conn.exec_driver_sql("select community_id from communities where name = ?", (name,)).scalar()


def test_worklist_name_search_goes_back_to_page_one(at, monkeypatch, sample_db):
    from data_access import coverage

    monkeypatch.setattr(coverage, "WORKLIST_PAGE_SIZE", 10)
    _open(at)
    order = _reference_order(sample_db, at)
    at.number_input(key="coverage_wl_page").set_value(3).run()
    at.text_input(key="coverage_search").input("  E ").run()
    want = [n for n in order if "e" in n.lower()]
    assert len(want) > 10  # more than a page matches
    assert _worklist(at)["Community"].tolist() == want[:10]
    assert at.number_input(key="coverage_wl_page").value == 1
    at.text_input(key="coverage_search").input("no such community 100%").run()
    assert any("No community in scope has a name containing that text" in i.value for i in at.info)
    assert len(_charts(at)) == 3  # the grid and the other sections stay


def test_each_section_is_read_once_a_run_with_what_its_widgets_hold(at, monkeypatch):
    import ui.cache
    from data_access import coverage

    grids = record_calls(monkeypatch, coverage, "contact_grid", "offset")
    worklists = record_calls(monkeypatch, coverage, "cadence_worklist", "search", "page")
    rates = record_calls(monkeypatch, coverage, "coverage_rate_over_time", "grain")
    follow_ups = record_calls(monkeypatch, coverage, "open_follow_up_list", "offset")
    monkeypatch.setattr(coverage, "WORKLIST_PAGE_SIZE", 10)  # a few pages
    started = record_ahead(monkeypatch)
    ui.cache.clear()
    _open(at)
    assert (grids, worklists, rates, follow_ups) == ([(0,)], [("", 1)], [("week",)], [(0,)])
    early = {name for name, _ in started}  # each started before its section was drawn, which found it
    assert {"contact_grid", "cadence_worklist", "coverage_rate_over_time", "open_follow_up_list"} <= early
    at.number_input(key="coverage_wl_page").set_value(2).run()
    at.text_input(key="coverage_search").input("  E ").run()  # back to page 1
    assert worklists[1:] == [("", 2), ("E", 1)]
    at.segmented_control(key="coverage_grain").set_value("month").run()
    assert rates[1:] == [("month",)]
    assert len(grids) == len(follow_ups) == 1  # no other widget asked for them again
    ui.cache.clear()


# -- communities without a serving liaison, a page at a time -------------------------------------------


def _orphans(at: AppTest):
    return next(d.value for d in at.dataframe if list(d.value.columns)[:2] == ["Community", "Why"])


def test_communities_without_a_liaison_page_through_the_whole_list(at, monkeypatch, sample_db):
    from data_access import coverage
    from tests.data_access.raw_coverage_reference import communities_without_liaison as raw_orphans

    monkeypatch.setattr(coverage, "WITHOUT_LIAISON_PAGE_SIZE", 1)  # the page reads it on every run
    _open(at)
    with sample_db.connect() as conn:
        want = raw_orphans(conn, at.session_state["filters"])
    assert len(want) >= 2  # the sample has more than one page of them at size 1
    none = int((want["reason"] == "none assigned").sum())
    assert any(
        c.value.startswith(f"{len(want):,} active communities in scope have no serving responsible liaison")
        and f"{none:,} with nobody assigned" in c.value
        for c in at.caption
    )
    seen = [_orphans(at)["Community"].tolist()]
    for _ in range(len(want) - 1):
        at.button(key="coverage_nl_page__next").click().run()
        assert not at.exception
        seen.append(_orphans(at)["Community"].tolist())
    assert seen == [[n] for n in want["name"]]
    assert any(f"Page {len(want)} of {len(want)}" in c.value for c in at.caption)
