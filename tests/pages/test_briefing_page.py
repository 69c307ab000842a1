"""The Briefing page through Streamlit's AppTest: slide navigation, the slide in the URL, the stamp, export.

The briefing hides its sidebar, so state is read from the main area and session_state.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui.auth

ROOT = Path(__file__).resolve().parents[2]
PAGE = "pages/briefing.py"
TITLES = ["Overview", "Coverage", "Staffing", "Feedback"]


@pytest.fixture
def at(sample_db_url, monkeypatch):
    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def _open(at: AppTest) -> AppTest:
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _param(at: AppTest, name: str) -> str | list[str]:
    """A URL parameter as AppTest reads it back: one value as a str, several as a list."""
    value = at.query_params[name]
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _slide(at: AppTest) -> tuple[str, str]:
    """(title on screen, slide number in the URL)."""
    return at.title[0].value, _param(at, "slide")


def _stamp(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Snapshot"))


def test_next_and_previous_move_the_deck_and_the_url(at):
    _open(at)
    assert _slide(at) == ("Overview", "1")
    seen = []
    for _ in range(3):
        at.button(key="briefing_next").click().run()
        seen.append(_slide(at))
    assert seen == [("Coverage", "2"), ("Staffing", "3"), ("Feedback", "4")]
    at.button(key="briefing_next").click().run()  # past the end wraps to the first slide
    assert _slide(at) == ("Overview", "1")
    at.button(key="briefing_prev").click().run()  # and back wraps to the last
    assert _slide(at) == ("Feedback", "4")
    at.button(key="briefing_prev").click().run()
    assert _slide(at) == ("Staffing", "3")
    assert at.session_state["briefing_slide"] == 2
    assert not at.exception


def test_buttons_carry_the_arrow_key_shortcuts(at):
    _open(at)
    assert at.button(key="briefing_next").proto.shortcut.lower() == "right"
    assert at.button(key="briefing_prev").proto.shortcut.lower() == "left"


def test_a_copied_link_opens_the_same_slide_with_the_same_filters(at):
    at.query_params["slide"] = "3"
    at.query_params["division"] = "EAST"
    at.query_params["period"] = "ytd"
    _open(at)
    assert _slide(at) == ("Staffing", "3")
    assert at.session_state["filters"].divisions == ("EAST",)
    stamp = _stamp(at)
    assert "1 Jan – 20 Nov 2026" in stamp and "East" in stamp and "slide 3 of 4" in stamp
    assert _param(at, "division") == "EAST"


@pytest.mark.parametrize(("given", "expected"), [("abc", ("Overview", "1")), ("99", ("Feedback", "4"))])
def test_a_bad_slide_number_in_the_url_falls_back(at, given, expected):
    at.query_params["slide"] = given
    _open(at)
    assert _slide(at) == expected


def test_every_slide_shows_the_dated_snapshot_stamp(at):
    _open(at)
    for i, title in enumerate(TITLES, start=1):
        stamp = _stamp(at)
        assert stamp.startswith(
            "Snapshot · 23 Aug – 20 Nov 2026 · all communities · all patrol divisions · all units"
        )
        assert "data through 20 Nov 2026" in stamp
        assert "last import " in stamp and "last import never" not in stamp
        assert stamp.endswith(f"slide {i} of 4"), stamp
        assert at.title[0].value == title
        at.button(key="briefing_next").click().run()


def test_auto_advance_is_off_by_default_and_export_is_offered(at):
    _open(at)
    assert at.toggle(key="briefing_auto").value is False
    assert at.selectbox(key="briefing_interval").disabled
    assert at.get("download_button")  # the deck export and the slide's CSV
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Export deck (HTML)" in labels and "Download data (CSV)" in labels


def test_switching_auto_advance_on_does_not_jump(at):
    # the timer itself runs in the browser (st.fragment(run_every)); the journey test sees it advance
    _open(at)
    at.toggle(key="briefing_auto").set_value(True).run()
    assert not at.selectbox(key="briefing_interval").disabled
    assert _slide(at) == ("Overview", "1")
    assert not at.exception


def test_viewers_get_no_downloads(at, monkeypatch):
    viewer = ui.auth.User(name="viewer test", role="viewer", source="test")
    monkeypatch.setattr(ui.auth, "current_user", lambda: viewer)
    _open(at)
    assert [b.proto.label for b in at.get("download_button")] == []
    assert at.title[0].value == "Overview"
