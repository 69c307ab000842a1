"""The Staffing page through Streamlit's AppTest on the sample database: it renders without an
exception, its controls rerun cleanly, and a period with no staffing shows empty states, not errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def open_staffing(monkeypatch, sample_db_url, **query) -> AppTest:
    """The app on the Staffing page, with URL query parameters (the global filters) set first."""
    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    app = AppTest.from_file("../../app.py", default_timeout=60)
    for name, value in query.items():
        app.query_params[name] = value
    app.run()
    app.switch_page("pages/staffing.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


@pytest.fixture
def at(monkeypatch, sample_db_url):
    return open_staffing(monkeypatch, sample_db_url)


def _figures(app) -> dict[str, dict]:
    out = {}
    for chart in app.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        title = (spec["layout"].get("title") or {}).get("text", "")
        out[title] = spec
    return out


def _values(v) -> list:
    """A trace's data array: a list, or Plotly's typed-array encoding {dtype, bdata}."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def test_staffing_page_renders_every_section(at):
    assert [h.value for h in at.subheader] == [
        "Staffed against authorized",
        "Month by month",
        "CIT-trained share of sworn staff",
        "Workload",
        "Communities per liaison",
        "Roster",
    ]
    tiles = {m.label: m.value for m in at.metric}
    assert set(tiles) == {
        "Authorized FTE",
        "Filled FTE",
        "Available FTE",
        "Vacancy rate",
        "Availability",
        "CIT-trained share",
    }
    figs = _figures(at)
    assert any(t.startswith("By unit · Nov 2026") for t in figs), list(figs)
    assert "Vacancy rate" in figs
    # the short teams in the sample are listed: CIT in North and LIA in East
    teams = next(
        df.value for df in at.dataframe if "Patrol division" in df.value and "Vacant FTE" in df.value
    )
    pairs = set(zip(teams["Unit"], teams["Patrol division"], strict=True))
    assert {("Crisis Intervention Team", "North"), ("Liaison Officers", "East")} <= pairs

    # the roster: a page of 50, with counts over every page (checked against the sample CSV)
    staff = pd.read_csv(ROOT / "sample_data" / "staff.csv", parse_dates=["start_date", "end_date"])
    end = pd.Timestamp(2026, 11, 20)
    started = staff[staff.start_date <= end]
    serving = int((started.end_date.isna() | (started.end_date >= end)).sum())
    former = len(started) - serving
    roster_before = at.dataframe[-1].value
    assert set(roster_before["Status"]) == {"serving"} and len(roster_before) == min(serving, 50)
    assert any(c.value.startswith(f"{serving:,} staff serving on 20 Nov 2026 ·") for c in at.caption)
    at.checkbox(key="staffing_include_former").check().run()
    assert any(
        c.value.startswith(f"{serving:,} staff serving on 20 Nov 2026, {former:,} former") for c in at.caption
    )
    assert former > 0
    seen = set(at.dataframe[-1].value["Status"])
    at.number_input(key="staffing_roster_page").set_value(2).run()
    seen |= set(at.dataframe[-1].value["Status"])
    assert seen == {"serving", "left"}
    assert not at.exception


def test_unit_filter_and_page_controls_rerun_without_exception(monkeypatch, sample_db_url):
    at = open_staffing(monkeypatch, sample_db_url, unit="CIT")
    by_div = _figures(at)
    title = next(t for t in by_div if t.startswith("By patrol division"))
    north_label = [x for x in by_div[title]["data"][0]["x"] if x.startswith("North")]
    assert north_label == ["North ▼<br>50% filled"]  # CIT in North is 1.5 of 3 filled

    at.radio(key="staffing_window").set_value("12").run()
    at.radio(key="staffing_split").set_value("division").run()
    assert not at.exception, [e.message for e in at.exception]
    vac = _figures(at)["Vacancy rate"]
    north = next(tr for tr in vac["data"] if tr.get("name") == "North")
    ys = _values(north["y"])
    assert len(ys) == 12 and ys[-1] == pytest.approx(0.5)

    assert not at.exception


def test_a_period_without_staffing_shows_empty_states(monkeypatch, sample_db_url):
    app = open_staffing(
        monkeypatch, sample_db_url, period="custom", **{"from": "2019-01-01", "to": "2019-03-31"}
    )
    messages = [i.value for i in app.info]
    assert any(m.startswith("No staffing rows on or before") for m in messages), messages
    assert any("No staffing rows in these months" in m for m in messages), messages
    assert not app.get("plotly_chart") or all(
        "By unit" not in json.dumps(c.proto.spec) for c in app.get("plotly_chart")
    )
