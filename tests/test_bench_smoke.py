"""`make bench` runs end to end (smoke only: never asserts a timing), and times what the server does.

The committed sample scale, 1 timed run, no browser and no pandas baseline; the harness must
record every registered page at every filter, replay its query set, time its rerun, run the raw
DuckDB baseline and write a table with a row per page × filter.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.pages import registered_views, timed_run

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.bench
def test_bench_runs_and_reports_every_page(tmp_path):
    out, raw = tmp_path / "latest.md", tmp_path / "run.json"
    cmd = [
        sys.executable,
        "-m",
        "bench.run",
        "--scales",
        "sample",
        "--repeat",
        "1",
        "--skip-server",
        "--skip-pandas",
        "--out",
        str(out),
        "--json",
        str(raw),
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    run = json.loads(raw.read_text())
    rows = run["scales"][0]["rows"]
    titles = [title for _path, title, _params in registered_views()]
    assert titles, "no pages registered"
    for title in titles:
        for f in ("typical", "widest", "selection"):
            assert f"| {title} | {f} |" in text, (title, f)
            row = next(r for r in rows if r["page"] == title and r["filter"] == f)
            assert row["query_set"] is not None and row["rerun_cold"] is not None, row
            assert row["raw"] is not None, row
            assert not row["errors"], row["errors"]
    assert {r["page"] for r in rows} == set(titles)
    assert "## Budgets" in text


def test_a_timed_rerun_includes_the_collection_the_server_makes_after_each_run(monkeypatch):
    """AppTest's script runner skips the full collection Streamlit's server runs after every
    script run (runner.postScriptGC); the bench adds it, inside the timing."""
    from streamlit import config

    done: list[object] = []

    class Run:
        def run(self) -> None:
            done.append("run")

    monkeypatch.setattr(gc, "collect", lambda *generation: done.append(("collect", *generation)))
    assert config.get_option("runner.postScriptGC") is True  # Streamlit's default, not overridden
    assert timed_run(Run()) >= 0
    assert done == ["run", ("collect", 2)]


def test_a_together_group_is_replayed_once_and_its_members_not_again():
    """A page reads a together group's results from the cache after asking for the group: the
    query set runs the group (one statement) and skips those reads, but not a different call."""
    from datetime import date

    from bench.pages import Call, _unique, replay_together
    from data_access import meetings
    from data_access.filters import Filters
    from ui import cache

    f = Filters(start=date(2026, 8, 1), end=date(2026, 10, 31))
    group = (cache.call(meetings.meeting_kpis), cache.call(meetings.meetings_by_community, top_n=15))
    calls = [
        Call("query", "page", replay_together, f, {"calls": group}),
        Call("query", "page", meetings.meeting_kpis, f, {}),
        Call("query", "page", meetings.meetings_by_community, f, {"top_n": 15}),
        Call("query", "page", meetings.meetings_by_community, f, {"top_n": 10}),
    ]
    kept = _unique(calls)
    assert kept == [calls[0], calls[3]]
    assert kept[0].name == "meetings.together(meeting_kpis, meetings_by_community)"
