"""The Meetings page through Streamlit's AppTest on the sample database: it renders every section without
an exception, its widgets (granularity, split, search, pager) rerun cleanly, and empty filters show
empty states instead of charts."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ui.text import shorten

APP = Path(__file__).resolve().parents[2] / "app.py"  # from_file resolves relative paths against this file


def _open(sample_db_url: str, monkeypatch: pytest.MonkeyPatch, **query: str) -> AppTest:
    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    st.cache_data.clear()
    st.cache_resource.clear()  # the Database handle must follow this test's URL
    app = AppTest.from_file(str(APP), default_timeout=60)
    for k, v in query.items():  # the global filters, as a copied link carries them
        app.query_params[k] = v
    app.run()
    app.switch_page("pages/meetings.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.fixture
def at(sample_db_url, monkeypatch):
    return _open(sample_db_url, monkeypatch)


def _captions(at) -> list[str]:
    return [c.value for c in at.caption]


def _charts(at) -> list[str]:
    return [c.proto.spec for c in at.get("plotly_chart")]


def test_page_renders_every_section(at):
    assert at.title[0].value == "Meetings"
    assert [m.label for m in at.metric] == ["Meetings held", "Residents reached", "Mean attendance"]
    assert [h.value for h in at.subheader] == [
        "How often",
        "With whom",
        "By whom",
        "Concerns raised",
        "Meeting log",
    ]
    assert len(_charts(at)) == 5  # frequency, day × week, community, organization, concerns
    assert len(at.dataframe) == 2  # staff, log
    assert any(c.startswith("Page 1 of ") and "meetings 1–50 of" in c for c in _captions(at))
    assert any(c.startswith("n = ") and "Partial weeks" in c for c in _captions(at))


def test_each_ranked_name_keeps_its_own_bar(at):
    """The community and organization rankings place bars by rank, labelled with the (shortened)
    names: two names that shorten alike still get a bar each (at scale L the generator's names
    share 34-character prefixes, and the bars used to pile up on one shared label)."""
    import json

    for spec in _charts(at)[2:4]:
        fig = json.loads(spec)
        bars = fig["data"][0]
        n = len(fig["layout"]["yaxis"]["ticktext"])  # one label per ranked row
        assert n >= 2 and sorted(bars["y"]) == list(range(n))
        assert (
            fig["layout"]["yaxis"]["tickvals"] == list(range(n))
            and len(fig["layout"]["yaxis"]["ticktext"]) == n
        )


def test_long_names_keep_their_distinguishing_last_word():
    a, b = "Riverside Behavioral Health Center (354)", "Riverside Behavioral Health Center (186)"
    assert shorten(a, 34) == "Riverside Behavioral Health… (354)"
    assert len(shorten(a, 34)) <= 34 and shorten(a, 34) != shorten(b, 34)
    assert shorten("Short name", 34) == "Short name"
    assert shorten("x" * 40, 34) == "x" * 33 + "…"


def test_granularity_and_split_rerun_cleanly(at):
    at.radio(key="mt_split").set_value("type").run()
    assert not at.exception
    assert "Liaison meeting" in _charts(at)[0]
    at.radio(key="mt_grain").set_value("month").run()
    assert not at.exception
    assert at.radio(key="mt_grain").value == "month"
    assert any("Partial months" in c for c in _captions(at))
    at.radio(key="mt_split").set_value("unit").run()
    assert not at.exception
    assert "Liaison Officers" in _charts(at)[0]


def test_search_sort_and_pager(at):
    at.button(key="mt_page__next").click().run()
    assert not at.exception
    assert any("meetings 51–100 of" in c for c in _captions(at))
    at.text_input(key="mt_search").input("contact cards").run()
    assert not at.exception
    pager = next(c for c in _captions(at) if c.startswith("Page "))
    assert pager.startswith("Page 1 of ")  # a new search starts at page 1
    at.selectbox(key="mt_sort").set_value("residents").run()
    at.selectbox(key="mt_order").set_value("asc").run()
    assert not at.exception
    at.text_input(key="mt_search").input("no meeting says this 50%_off").run()
    assert not at.exception
    assert any("No meetings match" in i.value for i in at.info)


def test_a_period_without_meetings_shows_empty_states(sample_db_url, monkeypatch):
    # the period comes in through the URL, as a copied link would bring it
    at = _open(sample_db_url, monkeypatch, period="custom", **{"from": "2020-01-01", "to": "2020-01-31"})
    assert "1 Jan – 31 Jan 2020" in at.caption[0].value
    assert _charts(at) == []
    assert len(at.info) >= 6  # every chart, the staff table and the log say why they are empty
    assert at.metric[0].value == "0"


def test_the_whole_history_has_no_prior_period_to_compare(sample_db_url, monkeypatch):
    """The sample's records begin on 1 Jul 2024: over all of them the 873 days before hold no
    records, so the tiles and the caption under them say so instead of a rise from zero; the
    default view (last 90 days) compares as usual."""
    at = _open(sample_db_url, monkeypatch, period="custom", **{"from": "2024-07-01", "to": "2026-11-20"})
    assert [m.delta for m in at.metric] == ["no prior period to compare"] * 3
    assert any(c.startswith("The 873 days before this period hold no records") for c in _captions(at))
    at = _open(sample_db_url, monkeypatch)
    assert all(
        "within normal variation" in m.delta or " rise" in m.delta or " drop" in m.delta for m in at.metric
    )
    assert any(c.startswith("Changes compare with the 90 days immediately before") for c in _captions(at))
