"""The results as a table a person can read (markdown), with every budget of SPEC §6 checked."""

from __future__ import annotations

from typing import Any

BUDGET_QUERY_SET_MS = 50
BUDGET_RERUN_MS = 300
BUDGET_ROWS = 10_000
BUDGET_RSS_MB = 500
BUDGET_FIRST_PAGE_S = 2.0


def _ms(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x * 1000:,.0f}" if x >= 0.0995 else f"{x * 1000:.1f}"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return f"{r:.1f}×" if r < 100 else f"{r:,.0f}×"


def _ok(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "**missed**")


def scale_section(s: dict[str, Any]) -> list[str]:
    out = [f"## Scale {s['scale']}", ""]
    counts = s.get("counts", {})
    imp = s.get("import", {})
    facts = [
        f"{counts.get('meetings', 0):,} meetings, {counts.get('feedback', 0):,} feedback responses, "
        f"{counts.get('communities', 0):,} communities, {counts.get('staff', 0):,} staff",
    ]
    if imp.get("seconds") is not None:
        facts.append(
            f"import through data_access.importer {imp['seconds']:,.0f} s (built {imp.get('built_at', '?')}, "
            f"peak RSS {imp.get('peak_rss_mb', '?')} MB, database {imp.get('db_mb', '?')} MB"
            + (", **stale: import code changed since**" if imp.get("stale") else "")
            + ")"
        )
    if imp.get("generated_seconds"):
        facts.append(f"generation {imp['generated_seconds']:,.0f} s")
    facts.append(f"load average {s.get('load_before', '?')} at start, {s.get('load_after', '?')} at end")
    out += [f"- {f}" for f in facts]
    out += ["", "Filters: " + "; ".join(f"**{k}** = {v}" for k, v in s.get("filter_text", {}).items()), ""]
    out += [
        "| Page | Filter | Query set ms | Raw DuckDB ms | ours / raw | Pandas ms | pandas / ours "
        "| Rerun ms (cache miss) | of it queries | Rerun ms (cached) | Max rows / query | Queries |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in s["rows"]:
        out.append(
            f"| {r['page']} | {r['filter']} | {_ms(r['query_set'])} | {_ms(r['raw'])} | {_ratio(r['query_set'], r['raw'])} "
            f"| {_ms(r['pandas']) if isinstance(r['pandas'], float) else (r['pandas'] or '–')} "
            f"| {_ratio(r['pandas'], r['query_set']) if isinstance(r['pandas'], float) else '–'} "
            f"| {_ms(r['rerun_cold'])} | {_ms(r['rerun_queries'])} | {_ms(r['rerun_warm'])} "
            f"| {r['max_rows']:,} | {r['statements']} |"
        )
    out.append("")
    slow = s.get("slowest", [])
    if slow:
        out += ["Slowest query functions (median ms over the run, page · filter):", ""]
        out += [f"- {name}: {_ms(sec)} ({where})" for name, sec, where in slow]
        out.append("")
    big = [r for r in s["rows"] if r["max_rows"] > BUDGET_ROWS]
    for r in big:
        out.append(
            f"- Rows over budget: {r['page']} · {r['filter']}: {r['max_rows_where']} returned {r['max_rows']:,} rows."
        )
    errors = [(r["page"], r["filter"], e) for r in s["rows"] for e in r.get("errors", [])]
    for page, f, e in errors:
        out.append(f"- Error on {page} · {f}: {e}")
    if s.get("frame_lookups"):
        out.append(
            f"- Shared sidebar lookups (once per database version, cached on a server): {s['frame_lookups']}"
        )
    pandas = s.get("pandas_info")
    if pandas:
        out.append(f"- Naive pandas: {pandas}")
    srv = s.get("server")
    if srv:
        out.append(f"- App server: {srv}")
    for fp in s.get("first_page", []):
        out.append(f"- First page: {fp}")
    out.append("")
    return out


def budgets(s: dict[str, Any]) -> dict[str, tuple[bool | None, str]]:
    rows = s["rows"]
    qs = [r["query_set"] for r in rows if r["query_set"] is not None]
    rr = [r["rerun_cold"] for r in rows if r["rerun_cold"] is not None]
    worst_q = max(rows, key=lambda r: r["query_set"] or 0, default=None)
    worst_r = max(rows, key=lambda r: r["rerun_cold"] or 0, default=None)
    worst_rows = max(rows, key=lambda r: r["max_rows"], default=None)
    out: dict[str, tuple[bool | None, str]] = {
        "query set ≤ 50 ms": (
            max(qs) * 1000 <= BUDGET_QUERY_SET_MS if qs else None,
            f"worst {_ms(worst_q['query_set'])} ms ({worst_q['page']} · {worst_q['filter']})"
            if worst_q
            else "",
        ),
        "rerun ≤ 300 ms": (
            max(rr) * 1000 <= BUDGET_RERUN_MS if rr else None,
            f"worst {_ms(worst_r['rerun_cold'])} ms ({worst_r['page']} · {worst_r['filter']})"
            if worst_r
            else "",
        ),
        "≤ 10k rows / query": (
            worst_rows["max_rows"] <= BUDGET_ROWS if worst_rows else None,
            f"most {worst_rows['max_rows']:,} ({worst_rows['max_rows_where']})" if worst_rows else "",
        ),
    }
    rss = s.get("rss_mb")
    out["RSS ≤ 500 MB (at M)"] = (
        (rss <= BUDGET_RSS_MB) if (rss is not None and s["scale"] == "M") else None,
        f"peak {rss:,.0f} MB" if rss is not None else "not measured",
    )
    fp = s.get("first_page_best")
    bare = s.get("first_page_bare")
    out["first page ≤ 2 s"] = (
        (fp[1] <= BUDGET_FIRST_PAGE_S) if fp else None,
        (f"{fp[1]:.2f} s with {fp[0]}" if fp else "not measured")
        + (f" (a bare Streamlit app: {bare:.2f} s; ours / bare {fp[1] / bare:.1f}×)" if fp and bare else ""),
    )
    return out


def render(run: dict[str, Any]) -> str:
    lines = [
        "# Benchmark results (`make bench`)",
        "",
        f"Run {run['started']} – {run['finished']} · commit {run['commit']} · {run['machine']} · "
        f"{run['repeat']} timed runs per median",
        "",
        "What each column is (details in docs/benchmark.md):",
        "",
        "- **Query set**: the page's query functions (recorded from a real run of the page, see bench/pages.py) "
        "replayed on one read-only SQLAlchemy connection, no cache; median of the runs.",
        "- **Raw DuckDB**: the same aggregates as hand-written SQL on the raw tables, straight on a duckdb connection "
        "(bench/baselines.py). **Pandas**: the same aggregates computed the naive way on every table loaded into pandas.",
        "- **Rerun**: the whole server-side rerun of the page through Streamlit's AppTest (sidebar, queries, Plotly "
        "figures, tables, element serialisation, and the garbage collection the server runs after every run): "
        "*cache miss* = query cache cleared first (what a filter change costs), *of it queries* = time inside the "
        "page's cache.query calls, *cached* = everything cached.",
        "- **Max rows / query**: the most rows any single SQL statement of the page returned to Python.",
        "",
    ]
    lines += [
        "## Budgets (SPEC §6)",
        "",
        "| Budget | " + " | ".join(s["scale"] for s in run["scales"]) + " |",
    ]
    lines.append("|---|" + "---|" * len(run["scales"]))
    all_budgets = [budgets(s) for s in run["scales"]]
    if all_budgets:
        for name in all_budgets[0]:
            cells = [f"{_ok(b[name][0])}: {b[name][1]}" for b in all_budgets]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for s in run["scales"]:
        lines += scale_section(s)
    for note in run.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines).rstrip() + "\n"
