"""`make bench`: measure every page at the S, M and L scales and write bench/results/latest.md.

    python -m bench.run                                  # S, M, L; everything
    python -m bench.run --scales S,M --repeat 7
    python -m bench.run --scales sample --quick --skip-server --skip-pandas --out /tmp/b.md  # smoke

Data is generated and imported once and cached under bench/.cache/ (see bench/data.py). Run it
when the machine is quiet: the load average is printed with the numbers because other work on
the two cores inflates every timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import baselines, data, report
from bench.data import ROOT

RESULTS = ROOT / "bench" / "results" / "latest.md"
BARE_APP = "bench/bare_app.py"  # the first-page floor: Streamlit alone, timed like the Overview
SELECTED_DIVISIONS = ["EAST", "NORTH"]
SELECTED_COMMUNITIES = 5


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def _facts(path: Path) -> dict[str, Any]:
    """Row counts, the data's date range and the selection used for the multi-select filter."""
    import duckdb

    with duckdb.connect(str(path.resolve()), read_only=True, config={"threads": 2}) as con:
        counts = {
            t: con.execute(f"select count(*) from {t}").fetchone()[0]
            for t in ("meetings", "feedback", "communities", "staff", "follow_ups")
        }
        first, last = con.execute(
            "select least((select min(meeting_date) from meetings), (select min(response_date) from feedback)), "
            "greatest((select max(meeting_date) from meetings), (select max(response_date) from feedback))"
        ).fetchone()
        chosen = [
            r[0]
            for r in con.execute(
                """select m.community_id from meetings m join communities c using (community_id)
                   where c.is_active and (c.division_code is null or list_contains(?, c.division_code))
                   group by 1 order by count(*) desc, 1 limit ?""",
                [SELECTED_DIVISIONS, SELECTED_COMMUNITIES],
            ).fetchall()
        ]
    return {"counts": counts, "first": first, "last": last, "communities": chosen}


def _filters(facts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """name -> {query: URL parameters for the app, start/end/communities/divisions/units for the baselines}."""
    first, last = facts["first"], facts["last"]
    wide = {"period": "custom", "from": first.isoformat(), "to": last.isoformat()}
    return {
        "typical": {
            "query": {},  # the app's default: last 90 days, everything
            "start": last - timedelta(days=89),
            "end": last,
            "communities": [],
            "divisions": [],
            "units": [],
            "text": "last 90 days, all communities/divisions/units (the default view)",
        },
        "widest": {
            "query": wide,
            "start": first,
            "end": last,
            "communities": [],
            "divisions": [],
            "units": [],
            "text": f"all time ({first} – {last}), everything",
        },
        "selection": {
            "query": {**wide, "community": facts["communities"], "division": SELECTED_DIVISIONS},
            "start": first,
            "end": last,
            "communities": facts["communities"],
            "divisions": SELECTED_DIVISIONS,
            "units": [],
            "text": f"all time, {len(facts['communities'])} communities (the most met in "
            f"{' and '.join(SELECTED_DIVISIONS)} or citywide) × divisions {', '.join(SELECTED_DIVISIONS)}",
        },
    }


def _fmt_s(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f} s"


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def _child(mode: str, path: Path, filters: dict[str, dict[str, Any]], repeat: int) -> dict[str, Any]:
    spec = {
        name: {
            "start": f["start"].isoformat(),
            "end": f["end"].isoformat(),
            "communities": f["communities"],
            "divisions": f["divisions"],
            "units": f["units"],
        }
        for name, f in filters.items()
    }
    cmd = [sys.executable, "-m", "bench.naive", mode, str(path.resolve()), json.dumps(spec), str(repeat)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {
            "error": done.stderr.strip().splitlines()[-1]
            if done.stderr.strip()
            else f"exit {done.returncode}"
        }
    return json.loads(done.stdout.strip().splitlines()[-1])


def _frame_lookups(url: str, calls: list) -> str:
    """The shared sidebar's lookups (cached per database version on a server): time and rows, once."""
    from bench import pages as page_bench
    from data_access.db import Database

    if not calls:
        return ""
    counter = page_bench._RowCounter()
    with Database(url).connect() as conn, counter.counting():
        per = page_bench._replay(conn, calls, counter)
    rows: dict[str, int] = {}
    for st in counter.statements:
        rows[st.function] = max(rows.get(st.function, 0), st.rows)
    return "; ".join(f"{name} {per[name] * 1000:,.0f} ms, {rows.get(name, 0):,} rows" for name in per)


def run_scale(scale: str, args: argparse.Namespace) -> dict[str, Any]:
    from bench import pages as page_bench
    from bench import server as server_bench

    stamp = data.prepare(scale, reuse=args.reuse_db)
    path = data.db_path(scale)
    url = data.db_url(scale)
    os.environ["CED_DATABASE_URL"] = url
    facts = _facts(path)
    filters = _filters(facts)
    wanted_pages = [
        v
        for v in page_bench.registered_views()
        if not args.pages or v[1] in args.pages or v[1].split(" · ")[0] in args.pages
    ]
    out: dict[str, Any] = {
        "scale": scale,
        "counts": facts["counts"],
        "import": stamp,
        "load_before": _load(),
        "filter_text": {k: f["text"] for k, f in filters.items()},
        "rows": [],
    }
    _log(f"scale {scale}: {facts['counts']} · load {out['load_before']}")

    per_function: dict[str, list[tuple[float, str]]] = {}
    frame_calls: list = []
    for page_path, title, view_params in wanted_pages:
        for fname, f in filters.items():
            _log(f"  {title} · {fname}")
            res = page_bench.measure_page(url, page_path, fname, {**f["query"], **view_params}, args.repeat)
            worst = max(res.statements, key=lambda st: st.rows, default=None)
            out["rows"].append(
                {
                    "page": title,
                    "filter": fname,
                    "query_set": _median(res.query_set_s),
                    "raw": None,
                    "pandas": None,
                    "rerun_cold": _median(res.rerun_cold_s),
                    "rerun_queries": _median(res.queries_in_rerun_s),
                    "rerun_warm": _median(res.rerun_warm_s),
                    "max_rows": res.max_rows,
                    "max_rows_where": worst.function if worst else "",
                    "statements": len(res.statements),
                    "unrouted": res.unrouted_statements,
                    "functions": sorted({c.name for c in res.page_calls}),
                    "errors": res.errors,
                }
            )
            if not frame_calls:
                frame_calls = page_bench._unique([c for c in res.calls if c.origin == "frame"])
            for name, sec in res.per_function_s.items():
                per_function.setdefault(name, []).append((sec, f"{title} · {fname}"))
    out["frame_lookups"] = _frame_lookups(url, frame_calls)
    _log("  raw DuckDB baseline (child process)")
    raw = _child("raw", path, filters, args.repeat)
    for r in out["rows"]:
        v = raw.get("pages", {}).get(f"{r['page']}|{r['filter']}")
        r["raw"] = v["seconds"] if v else None
    if "error" in raw:
        out["raw_info"] = f"raw baseline failed: {raw['error']}"
    out["slowest"] = sorted(
        ((name, max(v)[0], max(v)[1]) for name, v in per_function.items()), key=lambda x: -x[1]
    )[:8]

    if args.skip_pandas or (scale == "L" and not args.pandas_at_l):
        reason = (
            "skipped (--skip-pandas)"
            if args.skip_pandas
            else (
                "skipped at L: every table in pandas would need roughly 5× the M footprint (measured below at M), "
                "more than this shared machine can spare; run with --pandas-at-l to force it"
            )
        )
        for r in out["rows"]:
            r["pandas"] = "skipped"
        out["pandas_info"] = reason
    else:
        _log("  naive pandas (child process)")
        nv = _child("pandas", path, filters, args.repeat)
        if "error" in nv:
            out["pandas_info"] = f"failed: {nv['error']}"
        else:
            for r in out["rows"]:
                v = nv["pages"].get(f"{r['page']}|{r['filter']}")
                r["pandas"] = v if isinstance(v, float) else (v or "–")
            out["pandas_info"] = (
                f"median of {baselines.PANDAS_REPEAT} runs per page; "
                f"loading every table took {nv['load_s']:.1f} s and left the process at "
                f"{nv['rss_after_load_mb']:,.0f} MB resident (peak {nv['hwm_mb']:,.0f} MB during the run)"
            )

    if not args.skip_server:
        page_paths = list(dict.fromkeys(p for p, _t, _q in wanted_pages))
        _log("  server: peak RSS after every page at every filter")
        try:
            mem = server_bench.peak_memory(
                "serve.py", url, page_paths, {k: f["query"] for k, f in filters.items()}
            )
            out["rss_mb"] = mem.vm_hwm_mb
            out["server"] = (
                f"`streamlit run serve.py` peak RSS (VmHWM) {mem.vm_hwm_mb:,.0f} MB, {mem.vm_rss_mb:,.0f} MB resident "
                f"after {mem.pages_loaded} page loads ({len(page_paths)} pages × {len(filters)} filters, one browser "
                "session per filter)" + (f"; errors: {mem.errors}" if mem.errors else "")
            )
        except Exception as exc:  # noqa: BLE001 - reported in the results
            out["server"] = f"failed: {exc}"[:400]
        out["first_page"] = []
        best = None
        for entry in ("app.py", "serve.py", BARE_APP):
            if not (ROOT / entry).exists():
                continue
            _log(f"  first page after a server start: {entry}")
            try:
                fp = server_bench.first_page(entry, url, args.starts)
            except Exception as exc:  # noqa: BLE001
                out["first_page"].append(f"`{entry}` failed: {exc}"[:400])
                continue
            med = _median(fp.first_page_s)
            runs = ", ".join(f"{x:.2f}" for x in fp.first_page_s)
            if entry == BARE_APP:  # the floor, not a candidate for the budget
                out["first_page_bare"] = med
            out["first_page"].append(
                ("the floor, " if entry == BARE_APP else "")
                + f"`streamlit run {entry}`: goto → first KPI visible median "
                + (f"{med:.2f} s" if med is not None else "–")
                + f" (runs: {runs}; frontend connected after {_fmt_s(_median(fp.connected_s))}; a second "
                f"visit on the warm server {_fmt_s(_median(fp.second_visit_s))}; server start → healthy "
                f"{_fmt_s(_median(fp.healthy_s))})" + (f"; errors: {fp.errors}" if fp.errors else "")
            )
            if entry != BARE_APP and med is not None and (best is None or med < best[1]):
                best = (entry, med)
        out["first_page_best"] = best
    out["load_after"] = _load()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", default="S,M,L", help="comma-separated: sample, S, M, L")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per median")
    ap.add_argument("--starts", type=int, default=3, help="server starts per first-page median")
    ap.add_argument("--pages", default="", help="comma-separated page titles (default: every page)")
    ap.add_argument("--quick", action="store_true", help="2 timed runs, 1 server start (a smoke run)")
    ap.add_argument("--skip-server", action="store_true", help="no browser: no RSS and first-page numbers")
    ap.add_argument("--skip-pandas", action="store_true", help="no naive pandas baseline")
    ap.add_argument("--pandas-at-l", action="store_true", help="run the pandas baseline at L too")
    ap.add_argument(
        "--reuse-db", action="store_true", help="keep cached databases even if the import code changed"
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--json", type=Path, help="also write the raw numbers as JSON")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat, args.starts = 2, 1
    args.pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    bad = [s for s in scales if s not in data.SCALES]
    if bad:
        ap.error(f"unknown scale(s) {bad}; use {data.SCALES}")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "data_access", "ui", "pages", "app.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    run: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M"),
        "commit": commit + (" (+ uncommitted changes)" if dirty else ""),
        "machine": f"{os.cpu_count()} cores, {_mem_gb():.0f} GB RAM, Python {platform.python_version()}",
        "repeat": args.repeat,
        "scales": [],
        "notes": [],
    }
    for scale in scales:
        run["scales"].append(run_scale(scale, args))
    run["finished"] = time.strftime("%H:%M")
    text = report.render(run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(run, indent=1, default=str))
    print(text)
    _log(f"wrote {args.out}")
    return 0


def _mem_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


if __name__ == "__main__":
    raise SystemExit(main())
