"""The sidebar's Communities control through AppTest on the sample database, in both modes.

Up to `community_list_max()` active communities it is one multiselect of all of them (the
sample has 41); above it a "Find a community" search feeds the multiselect. The search mode is
exercised here by lowering the threshold to 10 through CED_COMMUNITY_LIST_MAX. Expected lists
are computed with pandas straight from sample_data/communities.csv.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
CSV = pd.read_csv(ROOT / "sample_data" / "communities.csv", dtype=str, keep_default_na=False)
ACTIVE = CSV[CSV["is_active"] == "true"]
NAMES = dict(zip(CSV["community_id"], CSV["name"], strict=True))
# DuckDB orders names by code point, as Python's sorted() does on str
ACTIVE_NAMES = sorted(ACTIVE["name"])


def matching(text: str) -> list[str]:
    """Active community names containing `text` (case-insensitive, literal), by name."""
    hit = ACTIVE["name"].str.casefold().str.contains(text.casefold(), regex=False)
    return sorted(ACTIVE.loc[hit, "name"])


@pytest.fixture
def at(sample_db_url, monkeypatch):
    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    return AppTest.from_file(str(APP), default_timeout=60)


@pytest.fixture
def search_at(at, monkeypatch):
    monkeypatch.setenv("CED_COMMUNITY_LIST_MAX", "10")
    return at


def _caption(at: AppTest, starts: str) -> str:
    (text,) = [c.value for c in at.sidebar.caption if c.value.startswith(starts)]
    return text


def _showing(at: AppTest) -> str:
    (text,) = [c.value for c in at.main.caption if "**Showing:**" in c.value]
    return text


def test_few_communities_are_one_full_list_without_a_search_box(at):
    at.run()
    assert not at.exception
    assert len(ACTIVE) == 41 and len(CSV) == 42  # the sample: one inactive community
    assert at.multiselect(key="f_communities").options == ACTIVE_NAMES
    assert [t for t in at.sidebar.text_input if t.label == "Find a community"] == []


def test_above_the_threshold_the_first_names_are_listed_with_the_count(search_at):
    at = search_at
    at.run()
    assert not at.exception
    assert at.text_input(key="f_community_search").label == "Find a community"
    assert at.multiselect(key="f_communities").options == ACTIVE_NAMES[:10]
    assert _caption(at, "41 active") == (
        "41 active communities; the first 10 by name are listed. Type part of a name to find others."
    )


def test_a_search_lists_its_matches_and_the_count(search_at):
    at = search_at
    at.run()
    at.text_input(key="f_community_search").input("muslim").run()
    assert not at.exception
    assert matching("muslim") == ["Muslim Students Association", "Muslim community"]
    assert at.multiselect(key="f_communities").options == matching("muslim")
    assert _caption(at, "2 ") == "2 communities match “muslim”."


def test_chosen_communities_stay_in_the_options_when_the_search_changes(search_at):
    at = search_at
    at.run()
    at.text_input(key="f_community_search").input("muslim").run()
    at.multiselect(key="f_communities").select("C004").run()
    assert at.multiselect(key="f_communities").value == ["C004"]
    assert "Muslim community" in _showing(at)  # the page caption names the chosen community

    at.text_input(key="f_community_search").input("east").run()
    assert not at.exception
    ms = at.multiselect(key="f_communities")
    assert ms.value == ["C004"]
    assert ms.options == ["Muslim community", *matching("east")]
    assert len(matching("east")) == 5
    assert at.session_state["filters"].communities == ("C004",)
    assert at.query_params["community"] == "C004"  # written back to the URL


def test_many_matches_are_capped_and_the_caption_says_so(search_at, monkeypatch):
    import ui.filters

    monkeypatch.setattr(ui.filters, "COMMUNITY_SEARCH_LIMIT", 3)
    at = search_at
    at.run()
    at.text_input(key="f_community_search").input("Community").run()
    assert not at.exception
    every = matching("community")
    assert len(every) > 3
    assert at.multiselect(key="f_communities").options == every[:3]
    assert _caption(at, f"{len(every)} ") == (
        f"{len(every)} communities match “Community”; the first 3 by name are listed. Type more to narrow."
    )


@pytest.mark.parametrize("text", ["50%_off", "' OR '1'='1", "_", "%"])
def test_wildcards_and_quotes_find_nothing_in_the_sample(search_at, text):
    at = search_at
    at.run()
    at.text_input(key="f_community_search").input(text).run()
    assert not at.exception
    assert matching(text) == []
    assert at.multiselect(key="f_communities").options == []
    assert _caption(at, "No active").startswith("No active community name contains")


def test_reset_clears_the_search_and_the_choice(search_at):
    at = search_at
    at.run()
    at.text_input(key="f_community_search").input("sikh").run()
    at.multiselect(key="f_communities").select("C007").run()
    at.button(key="f_reset").click().run()
    assert not at.exception
    assert at.text_input(key="f_community_search").value == ""
    assert at.multiselect(key="f_communities").value == []
    assert at.multiselect(key="f_communities").options == ACTIVE_NAMES[:10]


@pytest.mark.parametrize("mode", ["full", "search"])
def test_a_deep_link_keeps_known_active_communities_and_drops_the_rest(at, monkeypatch, mode):
    if mode == "search":
        monkeypatch.setenv("CED_COMMUNITY_LIST_MAX", "10")
    inactive = CSV.loc[CSV["is_active"] == "false", "community_id"].item()
    # C038 sorts after the first 10 names, so in search mode it is listed only because it is chosen
    assert NAMES["C038"] not in ACTIVE_NAMES[:10]
    at.query_params["community"] = ["C038", "NOPE", inactive]
    at.run()
    assert not at.exception
    ms = at.multiselect(key="f_communities")
    assert ms.value == ["C038"]
    assert NAMES["C038"] in ms.options
    (notice,) = [w.value for w in at.sidebar.warning if "Ignored unknown link values" in w.value]
    assert "community=NOPE" in notice and f"community={inactive}" in notice and "C038" not in notice
    assert NAMES["C038"] in _showing(at)
    assert at.query_params["community"] == "C038"  # the URL keeps only the valid id


def test_search_mode_never_reads_more_rows_than_its_limits(search_at, monkeypatch):
    """The sidebar's lookups read at most the threshold (10) or the search limit (5) of rows."""
    import data_access.reference as reference
    import ui.filters
    from ui import cache

    monkeypatch.setattr(ui.filters, "COMMUNITY_SEARCH_LIMIT", 5)
    rows: list[int] = []
    original = reference.read_frame

    def counting(*args, **kwargs):
        df = original(*args, **kwargs)
        rows.append(len(df))
        return df

    monkeypatch.setattr(reference, "read_frame", counting)
    cache.clear()
    at = search_at
    at.query_params["community"] = "C004"
    at.run()
    at.text_input(key="f_community_search").input("e").run()
    assert not at.exception
    assert len(matching("e")) > 10
    assert rows and max(rows) <= 10
    cache.clear()


def test_filters_survive_a_page_switch_that_arrives_without_widget_states(at):
    """A page link clicked before the browser has mounted the sidebar's widgets sends a rerun with no
    widget states (seen in Chromium under load). Streamlit then drops every widget's state as stale.
    The filters must still be the session's, and the widgets must carry those values to the browser
    (set_value), else it shows each widget's first option ("Last 30 days") and sends that back."""
    from streamlit.proto.WidgetStates_pb2 import WidgetStates

    at.query_params["period"] = "ytd"
    at.query_params["division"] = "EAST"
    at.query_params["unit"] = ["LIA", "CIT"]
    at.run()
    at.run()  # an ordinary rerun first: the session's values now live only in widget state
    at.switch_page("pages/meetings.py")
    at._run(WidgetStates())  # what that browser sends: a page change and no widget values
    assert not at.exception, [e.message for e in at.exception]
    period, divisions = at.selectbox(key="f_period"), at.multiselect(key="f_divisions")
    assert (period.proto.set_value, period.proto.raw_value) == (True, "Year to date")
    assert (divisions.proto.set_value, list(divisions.proto.raw_values)) == (True, ["East"])
    assert at.multiselect(key="f_units").value == ["LIA", "CIT"]
    assert "1 Jan – 20 Nov 2026" in _showing(at)
    at.run()  # the browser's next rerun sends back what it was given
    assert at.selectbox(key="f_period").value == "ytd"
    assert at.multiselect(key="f_divisions").value == ["EAST"]
    assert "1 Jan – 20 Nov 2026" in _showing(at)


def _date_boxes(at: AppTest) -> list[tuple[str, object]]:
    return [(d.label, d.value) for d in at.sidebar.date_input]


def test_a_preset_shows_its_dates_as_text_and_custom_starts_from_them(at):
    """A preset's dates are a caption under the Period, not date boxes (which the browser loads
    and draws at ~0.2 s of the first page); Custom shows the boxes, starting from the dates that
    were showing. The sample's data ends on 20 Nov 2026."""
    from datetime import date

    at.run()
    assert _date_boxes(at) == []
    assert _caption(at, "23 Aug") == "23 Aug – 20 Nov 2026"  # the last 90 days, 20 Nov counted
    at.selectbox(key="f_period").set_value("ytd").run()
    assert _date_boxes(at) == []
    assert _caption(at, "1 Jan") == "1 Jan – 20 Nov 2026"
    at.selectbox(key="f_period").set_value("custom").run()
    assert _date_boxes(at) == [("From", date(2026, 1, 1)), ("To", date(2026, 11, 20))]
    assert not [c for c in at.sidebar.caption if c.value == "1 Jan – 20 Nov 2026"]
    at.date_input(key="f_start").set_value(date(2026, 3, 1)).run()
    assert "1 Mar – 20 Nov 2026" in _showing(at)
    assert (at.query_params["period"], at.query_params["from"]) == ("custom", "2026-03-01")
    at.selectbox(key="f_period").set_value("last_30").run()
    assert _date_boxes(at) == []
    assert _caption(at, "22 Oct") == "22 Oct – 20 Nov 2026"
    assert "22 Oct – 20 Nov 2026" in _showing(at)
    assert not at.exception, [e.message for e in at.exception]


def test_a_custom_link_opens_with_its_date_boxes(at):
    from datetime import date

    at.query_params.update({"period": "custom", "from": "2025-02-03", "to": "2025-04-05"})
    at.run()
    assert _date_boxes(at) == [("From", date(2025, 2, 3)), ("To", date(2025, 4, 5))]
    assert "3 Feb – 5 Apr 2025" in _showing(at)
