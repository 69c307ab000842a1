"""The Feedback page through Streamlit's AppTest.

On the sample database: it runs, the four small communities carry a badge and no number, the
views switch. On a tiny database with script-injection comments and one small group: comments
come back literally and only in a table (never through markdown), the small group's score and n
appear nowhere in what the page sends (charts, tables, text), and a viewer sees no comment text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import ui.auth
from tests.fixtures import build, community, response
from tests.pages.calls import record_ahead, record_calls

PAGE = "pages/feedback.py"
APP = str(Path(__file__).resolve().parents[2] / "app.py")
SMALL = [
    "Deaf and Hard of Hearing community",
    "Sikh community",
    "Refugee resettlement network",
    "Somali Cultural Association",
]
XSS = ["<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "<script>window.__xss=1</script>"]


def _open(at: AppTest) -> AppTest:
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _frame(at: AppTest, first_column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if list(d.value.columns)[:1] == [first_column])


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _everything(at: AppTest) -> str:
    """All the page sends to a browser, as text: every element's message, chart JSON and table cell."""
    parts: list[str] = []

    def walk(node) -> None:
        if getattr(node, "type", None) == "arrow_data_frame":
            parts.append(node.value.to_csv())
        elif getattr(node, "type", None) == "plotly_chart":
            parts.append(node.proto.spec)
        elif getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


# -- sample data -----------------------------------------------------------------------------------


@pytest.fixture
def at(sample_db_url, monkeypatch, tmp_path):
    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    monkeypatch.setenv("CED_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    return AppTest.from_file(APP, default_timeout=60)


def test_feedback_page_runs_on_the_sample(at):
    _open(at)
    assert at.title[0].value == "Feedback"
    assert [m.label for m in at.metric][:3] == ["Trust score", "Safety score", "Responses"]
    assert "n = " in at.metric[0].value
    trend = _specs(at)[0]
    ours = next(t for t in trend["data"] if t.get("name", "").startswith("Our feedback"))
    assert all(t.startswith("n=") for t in ours["text"] if t)  # n printed on every shown point
    at.query_params["fb_where_tab"] = "By community"
    at.run()
    communities = _frame(at, "Community")
    rows = communities.set_index("Community")
    for name in SMALL:
        assert rows.loc[name, "Note"] == "⊘ suppressed (n < 10)", name
        assert pd.isna(rows.loc[name, "Responses (n)"]) and pd.isna(rows.loc[name, "Trust"]), name


def test_views_switch_by_division_and_month(at):
    _open(at)
    at.radio(key="fb_split").set_value("division").run()
    at.radio(key="fb_grain").set_value("month").run()
    assert not at.exception, [e.message for e in at.exception]
    facets = _specs(at)[0]
    titles = [a["text"] for a in facets["layout"]["annotations"]]
    assert {"Central", "East", "Metro", "North", "Shoal Creek", "South"} <= set(titles)
    published = [t for t in facets["data"] if t.get("line", {}).get("dash") == "dash"]
    assert published and all(
        t["name"] == "City resident survey (open data)" for t in published if t.get("showlegend")
    )
    at.radio(key="fb_metric").set_value("safety").run()
    assert not at.exception


def _has_table(at: AppTest, first_column: str) -> bool:
    return any(list(d.value.columns)[:1] == [first_column] for d in at.dataframe)


def test_the_community_comparison_runs_only_on_its_tab_which_a_link_can_open(at, sample_db_url, monkeypatch):
    _open(at)  # the page as opened: the divisions' tab, and no community comparison built or sent
    assert _has_table(at, "Patrol division") and not _has_table(at, "Community")
    assert not any("communities have at least" in c.value for c in at.caption)
    linked = AppTest.from_file(APP, default_timeout=60)
    linked.query_params["fb_where_tab"] = "By community"  # a copied link to the tab
    _open(linked)
    assert _has_table(linked, "Community") and not _has_table(linked, "Patrol division")
    assert linked.query_params["fb_where_tab"] == "By community"  # still in the URL


def test_a_filter_on_one_small_community_shows_badges_and_no_numbers(at):
    at.query_params["community"] = "C007"  # Sikh community: a handful of responses a year
    at.query_params["period"] = "ytd"
    at.query_params["fb_where_tab"] = "By community"
    _open(at)
    assert all(m.value == "suppressed (n < 10)" for m in at.metric[:3]), [m.value for m in at.metric]
    assert any("fewer than 10 responses" in i.value for i in at.info)
    sikh = _frame(at, "Community").set_index("Community").loc["Sikh community"]
    assert sikh["Note"] == "⊘ suppressed (n < 10)" and pd.isna(sikh["Responses (n)"])


def _reference(sample_db, at: AppTest) -> pd.DataFrame:
    """The whole comparison by the raw-table version from before paging (tests/data_access)."""
    from data_access.settings import small_n_k
    from tests.data_access.raw_feedback_reference import comparison_by_community

    with sample_db.connect() as conn:
        return comparison_by_community(conn, at.session_state["filters"], small_n_k())


def test_community_table_pages_and_the_chart_shows_the_lowest_reportable(at, monkeypatch, sample_db):
    from data_access import feedback as fb

    monkeypatch.setattr(fb, "COMMUNITY_PAGE_SIZE", 10)  # the page reads it on every run
    at.query_params["fb_where_tab"] = "By community"
    _open(at)
    ref = _reference(sample_db, at)
    names = list(ref["community_name"])
    assert len(names) > 20
    assert _frame(at, "Community")["Community"].tolist() == names[:10]
    pages = -(-len(names) // 10)
    assert any(f"Page 1 of {pages} · rows 1–10 of {len(names)}" in c.value for c in at.caption)
    at.button(key="fb_comm_page__next").click().run()
    assert not at.exception
    assert _frame(at, "Community")["Community"].tolist() == names[10:20]
    at.number_input(key="fb_comm_page").set_value(pages).run()
    last = _frame(at, "Community")
    assert last["Community"].tolist() == names[(pages - 1) * 10 :]
    # the chart: the 20 reportable communities with the lowest trust, lowest at the top, n on each label
    reportable = ref[ref["is_community"] & (ref["status"] == "shown")]
    lowest = reportable.head(20)
    chart = next(s for s in _specs(at) if any(" · n = " in str(y) for y in s["data"][0].get("y", [])))
    want = [f"{n} · n = {int(c):,}" for n, c in zip(lowest["community_name"], lowest["n"], strict=True)]
    assert chart["data"][0]["y"] == want[::-1]
    assert not any(name in json.dumps(chart) for name in SMALL)  # suppressed ones are in the table only
    assert any(f"{len(reportable):,} communities have at least 10 responses" in c.value for c in at.caption)
    # search by name, back to page 1
    at.text_input(key="fb_comm_search").input("sikh").run()
    sikh = _frame(at, "Community")
    assert (
        sikh["Community"].tolist() == ["Sikh community"] and sikh["Note"].iloc[0] == "⊘ suppressed (n < 10)"
    )
    assert at.number_input(key="fb_comm_page").value == 1


# -- a tiny database with injection strings and one small group ------------------------------------

SECRET = "SECRET small-group comment"


@pytest.fixture(scope="module")
def xss_db_url(tmp_path_factory) -> str:
    comms = [community("C1", "Alpha", division="EAST"), community("C2", "Sigma", division="EAST")]
    rows = [
        response(
            f"A{i}",
            f"2026-06-{i + 1:02d}",
            safety=7,
            respect=6 + i % 3,
            listen=7,
            community="C1",
            comment=XSS[i % 3] if i < 6 else "",
            topics="safety" if i < 6 else "",
        )
        for i in range(12)
    ]
    # Sigma: two responses (trust 10 × (1+2)/2 = 15.0), under k = 10
    rows += [
        response(
            "S1", "2026-06-03", safety=1, respect=1, listen=2, community="C2", comment=SECRET, topics="safety"
        ),
        response("S2", "2026-06-04", safety=2, respect=2, listen=1, community="C2"),
    ]
    return build(tmp_path_factory.mktemp("xss_page"), communities=comms, feedback=rows).url


@pytest.fixture
def xss_at(xss_db_url, monkeypatch, tmp_path):
    monkeypatch.setenv("CED_DATABASE_URL", xss_db_url)
    monkeypatch.setenv("CED_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    return AppTest.from_file(APP, default_timeout=60)


def test_comments_show_literally_in_a_table_and_never_as_markdown(xss_at):
    at = _open(xss_at)
    comments = _frame(at, "Date")
    assert set(XSS) <= set(comments["Comment"])
    assert SECRET not in set(comments["Comment"])
    for kind in ("markdown", "caption", "text", "info", "warning", "error", "success"):
        for el in at.get(kind):
            body = str(getattr(el, "value", el.proto))
            assert "<img" not in body and "javascript:" not in body and "<script" not in body, (kind, body)
    # a search narrows the rows, still literal
    at.text_input(key="fb_search").set_value("onerror").run()
    assert list(_frame(at, "Date")["Comment"]) == [XSS[0], XSS[0]]


def test_the_comment_page_is_read_once_a_run_with_what_its_widgets_hold(xss_at, monkeypatch):
    import ui.cache
    from data_access import feedback as fb

    asked = record_calls(monkeypatch, fb, "comment_page", "search", "topic", "page")
    started = record_ahead(monkeypatch)
    ui.cache.clear()
    at = _open(xss_at)
    assert asked == [("", "", 1)]
    early = [(a["search"], a["topic"], a["page"]) for name, a in started if name == "comment_page"]
    assert early == asked  # started before the section was drawn, which then found it
    at.text_input(key="fb_search").set_value("  onerror ").run()
    assert asked[1:] == [("onerror", "", 1)]
    assert list(_frame(at, "Date")["Comment"]) == [XSS[0], XSS[0]]
    at.selectbox(key="fb_topic").set_value("safety").run()
    assert asked[2:] == [("onerror", "safety", 1)]
    at.run()
    assert len(asked) == 3  # nothing new: cached
    ui.cache.clear()


def test_the_small_group_shows_nowhere_but_its_badge(xss_at):
    at = _open(xss_at)
    sent = _everything(at)  # the page as opened (the divisions' tab) ...
    at.query_params["fb_where_tab"] = "By community"
    at.run()
    assert _has_table(at, "Community")
    sent += _everything(at)  # ... and with the community comparison open
    assert "Alpha" in sent and "n = 12" in sent and XSS[0] in sent  # the scan does see the page
    assert SECRET not in sent
    assert "15.0" not in sent and "n = 2" not in sent and "n=2" not in sent
    sigma = _frame(at, "Community").set_index("Community").loc["Sigma"]
    assert sigma["Note"] == "⊘ suppressed (n < 10)" and pd.isna(sigma["Responses (n)"])
    # the tile counts only Alpha's twelve: total minus Alpha's row is zero, not Sigma's two
    assert at.metric[2].value == "12"


def test_viewers_see_scores_but_no_comment_text(xss_at, monkeypatch):
    monkeypatch.setenv("CED_TRUSTED_USER_HEADER", "X-Forwarded-User")
    monkeypatch.setenv("CED_TRUSTED_ROLE_HEADER", "X-Forwarded-Role")
    monkeypatch.setattr(
        ui.auth,
        "_request_headers",
        lambda: [("X-Forwarded-User", "viewer@example.gov"), ("X-Forwarded-Role", "viewer")],
    )
    at = _open(xss_at)
    assert any("analysts and administrators only" in i.value for i in at.info)
    assert not [t for t in at.text_input if t.key == "fb_search"]
    sent = _everything(at)
    for text in XSS:
        assert text not in sent
    assert [m.label for m in at.metric][:1] == ["Trust score"]
