"""Every page's query set and server-side rerun, measured in this process.

How a page is measured (one page × one filter):
1. The page runs through Streamlit's AppTest (the real app.py frame + page script, in-process;
   no browser, no websocket). `ui.cache.query`/`ui.cache.lookup` are wrapped so every query
   function the page calls is recorded with its exact Filters and arguments; lookups made by the
   shared sidebar (ui/filters.py) are marked as the frame's, everything else as the page's.
2. Rerun: the query-result cache is cleared (`ui.cache.clear_filtered`) and the page is rerun;
   the wall time of `AppTest.run()` is a whole server-side rerun at a cache miss: sidebar, every
   query, every Plotly figure and table, and Streamlit's serialisation of the elements. The
   lookups stay cached, and the scripts compiled, as they are on a server between reruns. A warm
   rerun (everything cached) is timed too. Each timed rerun also includes the full garbage
   collection the server's script runner makes after every run (`runner.postScriptGC`; AppTest's
   runner skips it), over a heap frozen once as serve.py freezes the server's after start-up
   (`ui.warmup.settle`).
3. Query set: the recorded page calls are replayed straight on one read-only SQLAlchemy
   connection (no Streamlit cache) and timed as a set; `read_frame`/`read_rows`/`read_value` are wrapped
   to count the rows each SQL statement returns to Python.
"""

from __future__ import annotations

import ast
import atexit
import gc
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.data import ROOT


@dataclass
class Call:
    kind: str  # "query" (filtered) or "lookup"
    origin: str  # "page" or "frame" (the shared sidebar)
    fn: Callable[..., Any]
    filters: Any
    kwargs: dict[str, Any]

    @property
    def name(self) -> str:
        if self.fn is not replay_together:
            return _short(self.fn)
        fns = [c.fn for c in self.kwargs["calls"]]
        modules = {fn.__module__ for fn in fns}
        if len(modules) == 1:  # e.g. meetings.together(meeting_kpis, meetings_by_day)
            return (
                _short(fns[0]).rsplit(".", 1)[0]
                + ".together("
                + ", ".join(fn.__qualname__ for fn in fns)
                + ")"
            )
        return "together(" + ", ".join(_short(fn) for fn in fns) + ")"

    def key(self) -> tuple:
        return (self.kind, self.fn, self.filters, tuple(sorted(self.kwargs.items(), key=lambda kv: kv[0])))


def _short(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__.removeprefix('data_access.')}.{fn.__qualname__}"


def replay_together(conn: Any, filters: Any, calls: tuple[Any, ...]) -> list[Any]:
    """A page's `ui.cache.together` group as the page runs it on a cache miss: one statement."""
    from data_access.db import read_together

    return read_together(conn, *(c.reads(conn, filters) for c in calls))


@dataclass
class Statement:
    function: str  # the query function that ran it
    rows: int
    seconds: float
    sql: str


@dataclass
class PageResult:
    page: str
    filter_name: str
    calls: list[Call] = field(default_factory=list)
    query_set_s: list[float] = field(default_factory=list)
    rerun_cold_s: list[float] = field(default_factory=list)
    rerun_warm_s: list[float] = field(default_factory=list)
    queries_in_rerun_s: list[float] = field(default_factory=list)
    per_function_s: dict[str, float] = field(default_factory=dict)
    statements: list[Statement] = field(default_factory=list)
    unrouted_statements: int = 0  # SQL run without read_frame/read_rows/read_value (rows not counted)
    errors: list[str] = field(default_factory=list)

    @property
    def max_rows(self) -> int:
        return max((s.rows for s in self.statements), default=0)

    @property
    def page_calls(self) -> list[Call]:
        """The page's own calls, less those the shared sidebar made with the same arguments in the
        same run (the sidebar runs first, so in the app the page's call is a cache hit: the
        Briefing's snapshot stamp asks for the latest data date the sidebar has just read)."""
        framed = {_key(c) for c in self.calls if c.origin == "frame"}
        return [c for c in self.calls if c.origin == "page" and _key(c) not in framed]


def registered_pages() -> list[tuple[str, str]]:
    """(path, title) of every page in app.py's PAGES whose file exists, in nav order."""
    tree = ast.parse((ROOT / "app.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "PAGES":
            out = []
            for elt in node.value.elts:
                path, title = elt.elts[0].value, elt.elts[1].value
                if (ROOT / path).exists():
                    out.append((path, title))
            return out
    raise RuntimeError("PAGES not found in app.py")


# Screens measured on their own beside each page as opened (title, extra URL parameters): the
# Briefing builds only the slide on screen, so each slide (`slide=N` in its URL) has its own query
# set; the Feedback page builds its community comparison only on that tab (`fb_where_tab`).
EXTRA_VIEWS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "Feedback": [("Feedback · By community", {"fb_where_tab": "By community"})],
    "Briefing": [(f"Briefing · slide {n}", {"slide": str(n)}) for n in (2, 3, 4)],
}


def registered_views() -> list[tuple[str, str, dict[str, str]]]:
    """(path, title, extra URL parameters) of every page as opened, then its EXTRA_VIEWS."""
    out: list[tuple[str, str, dict[str, str]]] = []
    for path, title in registered_pages():
        out.append((path, title, {}))
        out.extend((path, view, params) for view, params in EXTRA_VIEWS.get(title, []))
    return out


# ------------------------------------------------------------------ recording the page's calls


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.query_seconds = 0.0
        self.active = False
        self.installed = False

    def install(self) -> None:
        if self.installed:
            return
        from streamlit.runtime import pages_manager

        from ui import cache

        # Run every rerun through app.py as the server does (as tests/conftest.py and serve.py do):
        # AppTest resets Streamlit's legacy-multipage flag before each run, and with a folder named
        # pages/ a rerun after switch_page would run the page file alone, without the sidebar.
        original_init = pages_manager.PagesManager.__init__

        def init(pm, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            original_init(pm, *args, **kwargs)
            pages_manager.PagesManager.uses_pages_directory = False

        pages_manager.PagesManager.__init__ = init

        # Compile each script once, as a server does (its Runtime keeps one ScriptCache for all
        # sessions, emptied when a file changes). AppTest makes a new one for every run, so each
        # rerun would compile app.py and the page again (the Feedback page: 45 KB, ~8 ms).
        from streamlit.runtime.scriptrunner.script_cache import ScriptCache
        from streamlit.testing.v1 import app_test, local_script_runner

        shared = ScriptCache()
        app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared

        orig_query, orig_lookup = cache.query, cache.lookup

        def query(fn, filters, **kwargs):  # noqa: ANN001, ANN202
            t0 = time.perf_counter()
            try:
                return orig_query(fn, filters, **kwargs)
            finally:
                self._add("query", fn, filters, kwargs, time.perf_counter() - t0)

        def lookup(fn, role="admin", **kwargs):  # noqa: ANN001, ANN202
            t0 = time.perf_counter()
            try:
                return orig_lookup(fn, role, **kwargs)
            finally:
                self._add("lookup", fn, None, {"role": role, **kwargs}, time.perf_counter() - t0)

        orig_together = cache.together

        def together(filters, *calls):  # noqa: ANN001, ANN002, ANN202
            t0 = time.perf_counter()
            try:
                return orig_together(filters, *calls)
            finally:
                self._add("query", replay_together, filters, {"calls": calls}, time.perf_counter() - t0)

        cache.query, cache.lookup, cache.together = query, lookup, together
        self.installed = True

    def _add(self, kind: str, fn: Callable, filters: Any, kwargs: dict, seconds: float) -> None:
        if not self.active:
            return
        caller = sys._getframe(2).f_code.co_filename.replace("\\", "/")
        origin = "frame" if caller.endswith("ui/filters.py") else "page"
        self.calls.append(Call(kind, origin, fn, filters, dict(kwargs)))
        if kind == "query":
            self.query_seconds += seconds

    @contextmanager
    def recording(self) -> Iterator[None]:
        self.calls, self.query_seconds, self.active = [], 0.0, True
        try:
            yield
        finally:
            self.active = False


RECORDER = _Recorder()


# ------------------------------------------------------------------ counting rows per statement


class _RowCounter:
    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self.current = "?"
        self.executed = 0
        self.routed = 0

    @contextmanager
    def counting(self) -> Iterator[None]:
        import sqlalchemy as sa

        from data_access import db

        orig_frame, orig_value, orig_rows = db.read_frame, db.read_value, db.read_rows
        orig_frames = db.read_frames

        def read_frames(conn, statements):  # noqa: ANN001, ANN202
            t0 = time.perf_counter()
            frames = orig_frames(conn, statements)
            if len(statements) > 1:  # (one statement goes through read_frame, counted there)
                self.routed += 1
                rows = sum(len(f) for f in frames)
                sql = "\n-- together --\n".join(sql for sql, _ in statements)
                self.statements.append(Statement(self.current, rows, time.perf_counter() - t0, sql))
            return frames

        def read_frame(conn, sql, params=None):  # noqa: ANN001, ANN202
            t0 = time.perf_counter()
            df = orig_frame(conn, sql, params)
            self.routed += 1
            self.statements.append(Statement(self.current, len(df), time.perf_counter() - t0, sql))
            return df

        def read_rows(conn, sql, params=None):  # noqa: ANN001, ANN202
            t0 = time.perf_counter()
            columns, rows = orig_rows(conn, sql, params)
            self.routed += 1
            self.statements.append(Statement(self.current, len(rows), time.perf_counter() - t0, sql))
            return columns, rows

        def read_value(conn, sql, params=None):  # noqa: ANN001, ANN202
            t0 = time.perf_counter()
            v = orig_value(conn, sql, params)
            self.routed += 1
            self.statements.append(Statement(self.current, 1, time.perf_counter() - t0, sql))
            return v

        def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any, **_kw: Any) -> None:
            if not statement.startswith(db.MACRO_DDL):  # a statement text made a macro (db._run)
                self.executed += 1

        orig_execute = db._execute

        def execute(conn, sql, params):  # noqa: ANN001, ANN202
            self.executed += 1  # read_rows and read_value send their statements past SQLAlchemy
            return orig_execute(conn, sql, params)

        patched = []
        for name, mod in list(sys.modules.items()):
            if not (name == "data_access" or name.startswith("data_access.") or name.startswith("ui.")):
                continue
            for attr, orig, repl in (
                ("read_frames", orig_frames, read_frames),
                ("read_frame", orig_frame, read_frame),
                ("read_value", orig_value, read_value),
                ("read_rows", orig_rows, read_rows),
            ):
                # (db's own read_rows stays: its read_frame runs through it, counted once there)
                if getattr(mod, attr, None) is orig and not (
                    name == "data_access.db" and attr == "read_rows"
                ):
                    setattr(mod, attr, repl)
                    patched.append((mod, attr, orig))
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", on_execute)
        db._execute = execute
        self.statements, self.executed, self.routed = [], 0, 0
        try:
            yield
        finally:
            db._execute = orig_execute
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", on_execute)
            for mod, attr, orig in patched:
                setattr(mod, attr, orig)


# ------------------------------------------------------------------ the measurements


def _replay(conn: Any, calls: list[Call], counter: _RowCounter | None = None) -> dict[str, float]:
    """Run the calls once, in order, on `conn`; seconds per call name (summed)."""
    per: dict[str, float] = {}
    for c in calls:
        if counter is not None:
            counter.current = c.name
        t0 = time.perf_counter()
        if c.kind == "query":
            c.fn(conn, c.filters, **c.kwargs)
        else:
            kw = {k: v for k, v in c.kwargs.items() if k != "role"}
            c.fn(conn, **kw)
        per[c.name] = per.get(c.name, 0.0) + time.perf_counter() - t0
    return per


def _key(c: Call) -> object:
    """A call's cache identity (its id when an argument cannot be hashed)."""
    try:
        k = c.key()
        hash(k)
    except TypeError:
        return id(c)
    return k


def _unique(calls: list[Call]) -> list[Call]:
    """A page asks for the same result more than once in a run (e.g. a KPI and a chart share one);
    the cache answers the repeats, so the set runs each distinct call once."""
    seen, out = set(), []
    for c in calls:
        k = _key(c)
        if k in seen:
            continue
        seen.add(k)
        out.append(c)
        if c.fn is replay_together:  # the group's results, which the page then reads from the cache
            seen.update(
                _key(Call(c.kind, c.origin, t.fn, c.filters, dict(t.kwargs))) for t in c.kwargs["calls"]
            )
    return out


_SETTLED: list[int] = []  # the objects ui.warmup.settle froze, once per process


def timed_run(at: Any) -> float:
    """Seconds for one AppTest run plus the collection the server's script runner makes after it."""
    from streamlit import config

    t0 = time.perf_counter()
    at.run()
    if config.get_option("runner.postScriptGC"):
        gc.collect(2)
    return time.perf_counter() - t0


def measure_page(
    url: str, page: str, filter_name: str, query_params: dict[str, Any], repeat: int
) -> PageResult:
    from streamlit.testing.v1 import AppTest

    from data_access.db import Database
    from ui import cache, warmup

    RECORDER.install()
    res = PageResult(page, filter_name)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    for k, v in query_params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page)
    with RECORDER.recording():
        at.run()  # first run of the page: recorded (lookups may be cache misses here)
    res.calls = RECORDER.calls
    if at.exception:
        res.errors = [e.message for e in at.exception]
    if not _SETTLED:
        _SETTLED.append(warmup.settle())
        atexit.register(gc.unfreeze)  # as serve.py does when the server stops
    for _ in range(repeat):
        cache.clear_filtered()
        with RECORDER.recording():
            res.rerun_cold_s.append(timed_run(at))
        res.queries_in_rerun_s.append(RECORDER.query_seconds)
    for _ in range(repeat):
        res.rerun_warm_s.append(timed_run(at))
    if at.exception and not res.errors:
        res.errors = [e.message for e in at.exception]

    calls = _unique(res.page_calls)
    database = Database(url)
    with database.connect() as conn:
        counter = _RowCounter()
        with counter.counting():
            _replay(conn, calls, counter)  # warm-up, and the rows of every statement
        res.statements = counter.statements
        res.unrouted_statements = max(counter.executed - counter.routed, 0)
        per_runs: list[dict[str, float]] = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            per_runs.append(_replay(conn, calls))
            res.query_set_s.append(time.perf_counter() - t0)
    res.per_function_s = {
        name: statistics.median(run.get(name, 0.0) for run in per_runs) for name in per_runs[0]
    }
    return res


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None
