"""Where the database lives and how it is opened.

Design (SPEC §5): DuckDB allows one writer process, and a read-write connection
locks every other process out. So nothing ever writes the live file. The
configured path (``data/engagement.duckdb`` by default) is a symlink to an
immutable version file under ``data/versions/``. An import copies the current
version to a new file, writes there, closes it, and atomically repoints the
symlink (``os.replace``). Viewers hold read-only connections; each checkout
resolves the symlink and, when it moved, opens the new version. So a viewer sees
the old data until the commit and the new data after, never a half-written state;
a crash before the swap leaves the old version live (the half-built file has a
``.building`` suffix, is never listed as a version and is removed by the next
import); the previous versions are kept as backups (``importer.restore`` makes
one live again, as a new version, with an audit row).

Connecting by the resolved version path matters: DuckDB caches one database
instance per path within a process, so reconnecting through the unchanged link
name would keep serving the old file.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import tomllib
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import duckdb
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url

from data_access.filters import after_whole_months, first_whole_month
from data_access.settings import duckdb_memory_limit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "engagement.duckdb"
URL_ENV_VAR = "CED_DATABASE_URL"
BACKUPS_KEPT = 5


def database_url() -> str:
    """The SQLAlchemy URL: env var, else `.streamlit/secrets.toml` [database] url, else the default file."""
    url = os.environ.get(URL_ENV_VAR)
    if url:
        return url
    secrets = PROJECT_ROOT / ".streamlit" / "secrets.toml"
    if secrets.exists():
        with secrets.open("rb") as fh:
            conf = tomllib.load(fh)
        url = conf.get("database", {}).get("url")
        if url:
            return url
    return f"duckdb:///{DEFAULT_DB_PATH}"


def database_path(url: str | None = None) -> Path:
    parsed = make_url(url or database_url())
    if parsed.get_backend_name() != "duckdb":
        raise ValueError(f"Only duckdb:/// URLs are supported, got {parsed.get_backend_name()!r}")
    if not parsed.database or parsed.database == ":memory:":
        raise ValueError("The database URL must name a file, e.g. duckdb:///data/engagement.duckdb")
    path = Path(parsed.database)
    return path if path.is_absolute() else (PROJECT_ROOT / path)


def versions_dir(link: Path) -> Path:
    return link.parent / "versions"


def current_version(link: Path) -> Path | None:
    """The version file the link points at, or None when no database exists yet."""
    if not link.exists():
        return None
    return link.resolve()


def publish_version(link: Path, version_file: Path) -> None:
    """Atomically make `version_file` the live database."""
    tmp_link = link.with_name(f".{link.name}.{os.getpid()}.link")
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(os.path.relpath(version_file, link.parent), tmp_link)
    os.replace(tmp_link, link)
    _fsync_dir(link.parent)


NO_CHANGE_MARK = "-nochange"


def is_no_change_version(path: Path) -> bool:
    """A version written only to record a rejected import: the same data as the version it was copied from."""
    return path.name.endswith(f"{NO_CHANGE_MARK}.duckdb")


def finish_version(building: Path, version_file: Path) -> None:
    """Give a closed, complete build its version name (durably), so it can be listed and published."""
    os.replace(building, version_file)
    _fsync_dir(version_file.parent)


def list_versions(link: Path) -> list[Path]:
    """Complete version files, oldest first (half-built files of a running or killed import are not listed)."""
    folder = versions_dir(link)
    if not folder.exists():
        return []
    return sorted(folder.glob(f"{link.stem}.*.duckdb"))


def prune_versions(link: Path, keep: int = BACKUPS_KEPT) -> None:
    """Keep the live version and the `keep` newest others as backups.

    The newest non-live version is always kept (a viewer may be opening it at this moment). Other
    no-change versions are dropped first: their data is their predecessor's and their audit row is
    carried into every later version, so they would only push real backups out.
    """
    live = current_version(link)
    versions = [p for p in list_versions(link) if p != live]
    newest = versions[-1] if versions else None
    others = [p for p in versions if p == newest or not is_no_change_version(p)]
    doomed = [p for p in versions if p not in others] + (others[:-keep] if keep else others)
    for old in doomed:
        if old == newest:
            continue
        old.unlink(missing_ok=True)
        Path(f"{old}.wal").unlink(missing_ok=True)


def restore_version(link: Path, version_file: Path) -> None:
    """Point the link straight back at a backup (no audit row; `importer.restore` is the audited way)."""
    if not version_file.exists():
        raise FileNotFoundError(version_file)
    if version_file.resolve() not in {p.resolve() for p in list_versions(link)}:
        raise ValueError(f"{version_file} is not a version of {link}; see `--versions`")
    publish_version(link, version_file)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Database:
    """Read-only access to the live version, one engine per version, reused across calls in a process."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or database_url()
        self.link = database_path(self.url)
        self._lock = threading.Lock()
        self._engine: sa.Engine | None = None
        self._engine_target: Path | None = None
        self._seen_link: tuple[str, Path] | None = None  # the link's text and its target, last read

    @property
    def version(self) -> str:
        target = self._live()
        return target.name if target else "none"

    def _live(self) -> Path | None:
        """current_version(self.link), resolved again only when the link's text changed: the link
        is replaced, never edited, when a version goes live (publish_version, a new file name each
        time). Reading it and checking its file is there is 6 µs, resolving it 60 µs (0.2 ms with
        the page's worker threads running), 25 times a rerun (every cache key names the version)."""
        try:
            text = os.readlink(self.link)
        except OSError:  # not a link (a plain database file) or nothing there yet
            return current_version(self.link)
        seen = self._seen_link
        if seen is not None and seen[0] == text and seen[1].exists():
            return seen[1]
        target = current_version(self.link)
        self._seen_link = (text, target) if target is not None else None
        return target

    def _engine_for_current(self) -> sa.Engine:
        target = self._live()
        if target is None:
            raise FileNotFoundError(f"No database at {self.link}; run `make run` or the importer first")
        with self._lock:
            if self._engine is None or self._engine_target != target:
                old = self._engine
                self._engine = sa.create_engine(
                    f"duckdb:///{target}",
                    connect_args={
                        "read_only": True,
                        "config": {"threads": 2, "memory_limit": duckdb_memory_limit()},
                    },
                    pool_pre_ping=False,
                )
                self._engine_target = target
                if old is not None:
                    old.dispose()
            return self._engine

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._engine_for_current().connect() as conn:
            yield conn

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine = None
            self._engine_target = None


# scope.in_list's test, "(the list is empty or holds the column's value)", as it appears in SQL
_LIST_TEST = re.compile(
    r"\(len\(cast\(:(?P<param>\w+) as varchar\[\]\)\) = 0 "
    r"or (?P<contains>list_contains\(cast\(:(?P=param) as varchar\[\]\), [\w.]+\))\)"
)


def specialise(sql: str, params: dict[str, Any]) -> str:
    """Resolve each filter-list test whose list is bound here: `true` for an empty list (no
    filter), the bare list_contains otherwise. Same rows either way; DuckDB does not fold bound
    parameters, so without this it evaluates the test on every row and cannot skip anything
    (the Feedback cells' small-n groups at M: about 1.5-2x faster unfiltered). Only the text
    scope.in_list wrote is touched; values stay bound parameters."""

    def resolve(m: re.Match[str]) -> str:
        value = params.get(m["param"])
        if not isinstance(value, list | tuple):
            return m[0]
        return "true" if not value else m["contains"]

    return _LIST_TEST.sub(resolve, sql)


# Dates derived from a bound date parameter X, written :X__<name> in SQL (rollups' period cells):
# computed here once instead of as CASE expressions of :X that DuckDB parses and rewrites in
# every statement (at S, 1.5-2 ms of a 4-6 ms Feedback statement).
DERIVED_DATES: dict[str, Callable[[date], date]] = {
    "whole_from": first_whole_month,
    "whole_to": after_whole_months,
    "day_after": lambda d: d + timedelta(days=1),
}
_DERIVED = re.compile(r"(?<![:\w]):(?P<param>\w+?)__(?P<name>" + "|".join(DERIVED_DATES) + r")\b")


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def bind(sql: str, params: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The statement as it is run: `specialise`d, with every derived date it names bound."""
    params = dict(params or {})
    for m in _DERIVED.finditer(sql):
        key = f"{m['param']}__{m['name']}"
        if key not in params:
            if m["param"] not in params:
                raise KeyError(f"{key} needs the bound parameter :{m['param']}")
            params[key] = DERIVED_DATES[m["name"]](_as_date(params[m["param"]]))
    return specialise(sql, params), params


# Statement texts parsed once per connection. DuckDB parses every statement it is sent, and for
# our statements (3-6 KB of CTEs) that is 1.5-2 ms of a 5-15 ms query at any scale. So the first
# time a connection runs a text, the text becomes a temporary table macro on that connection,
# its :parameters the macro's parameters; from then on the connection sends
# `select * from <macro>(:a, :b, ...)` with the values bound as before. DuckDB keeps the macro
# parsed, and binds and plans it with each call's values (so date ranges still prune row groups).
# The rows keep the text's ORDER BY: a SELECT from a single table subquery preserves row order
# (DuckDB's documented order-preservation rules).
# Only the text is kept, never a result: every call reads the data. The macros are created
# outside any caller's transaction (a temporary object created in one would go with its rollback
# when the connection returns to the pool), which is safe because every connection here is read-only.
_BIND_NAME = re.compile(r"(?<![:\w]):(\w+)")
_MACROS = "ced_statement_macros"  # key in a DBAPI connection's .info: text -> (macro, its parameters) or None
MACRO_DDL = "create or replace temp macro"
MAX_MACROS_PER_CONNECTION = 512  # the texts are the code's (a few hundred); values never enter them


# The statements themselves go to the DB-API connection under the SQLAlchemy one (duckdb's, through
# duckdb-engine's wrapper): the same connection, the same values, but without SQLAlchemy's
# per-execution work (compiling the text to positional parameters, an execution context, result
# metadata), about 0.5 ms a statement, 4-5 ms of a nine-statement page at scale S (bench/). Every
# connection here is read-only and each statement commits on its own (DuckDB's auto-commit), so
# there is no transaction for SQLAlchemy to track. DuckDB's errors are raised as SQLAlchemy's
# (DBAPIError.instance picks the class: a missing table is a ProgrammingError, as before).
_DRIVER_TEXTS: dict[str, tuple[str, tuple[str, ...]]] = {}  # text -> (its :name as $name, the names)
MAX_DRIVER_TEXTS = 4096


def _driver_text(sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` with DuckDB's $name for each :name, and the names (once per text)."""
    found = _DRIVER_TEXTS.get(sql)
    if found is None:
        if len(_DRIVER_TEXTS) >= MAX_DRIVER_TEXTS:  # values never enter a text, but never grow unbounded
            _DRIVER_TEXTS.clear()
        names = tuple(dict.fromkeys(_BIND_NAME.findall(sql)))
        found = _DRIVER_TEXTS[sql] = (_BIND_NAME.sub(r"$\1", sql), names)
    return found


def _execute(conn: Connection, sql: str, params: dict[str, Any]) -> Any:
    """Run `sql` (:name parameters, values from `params`) on the DB-API connection under `conn`;
    the DuckDB connection, its result ready to fetch."""
    text, names = _driver_text(sql)
    try:
        return conn.connection.driver_connection.execute(
            text, {n: params[n] for n in names} if names else None
        )
    except duckdb.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, params, exc, duckdb.Error) from exc


def _run(conn: Connection, sql: str, params: dict[str, Any]) -> Any:
    """_execute(conn, sql, params), through the connection's macro of `sql` (made on first use)."""
    macros: dict[str, tuple[str, list[str]] | None] = conn.connection.info.setdefault(_MACROS, {})
    if sql not in macros:
        macros[sql] = (
            _make_macro(conn, sql, f"ced_q{len(macros)}") if len(macros) < MAX_MACROS_PER_CONNECTION else None
        )
    macro = macros[sql]
    if macro is None:
        return _execute(conn, sql, params)
    name, names = macro
    call = f"select * from {name}({', '.join(f':{n}' for n in names)})"
    try:
        return _execute(conn, call, params)
    except sa.exc.DBAPIError:
        # from now on the text runs as sent, so that any real error is raised from it
        macros[sql] = None
        return _execute(conn, sql, params)


def _make_macro(conn: Connection, sql: str, name: str) -> tuple[str, list[str]] | None:
    """Make `sql` the temporary table macro `name` on this connection, committed at once: its name
    and parameter names, or None when DuckDB binds the text differently as a macro (a parameter in
    a grouped select list is taken for a column there), so that it runs as sent."""
    names = list(_driver_text(sql)[1])  # the text's parameters, in order of first use
    body = _BIND_NAME.sub(lambda m: f"ced_p_{m[1]}", sql)
    args = ", ".join(f"ced_p_{n}" for n in names)
    if conn.in_transaction():
        conn.commit()
    try:
        conn.exec_driver_sql(f"{MACRO_DDL} {name}({args}) as table {body}")
    except sa.exc.DBAPIError:
        conn.rollback()
        return None
    conn.commit()
    return name, names


def read_rows(
    conn: Connection, sql: str, params: dict[str, Any] | None = None
) -> tuple[list[str], list[tuple]]:
    """Run one parameterized query: its column names and its (few) rows as plain tuples, for a
    caller that splits one statement's rows into several frames."""
    sql, params = bind(sql, params)
    result = _run(conn, sql, params)
    # plain tuples (pandas builds a frame from them ~5x faster than from SQLAlchemy's Row objects:
    # 6,800 rows, 76 against 16 ms)
    return [d[0] for d in result.description], result.fetchall()


def read_frame(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run one parameterized query and return its (small, aggregated) result as a DataFrame."""
    columns, rows = read_rows(conn, sql, params)
    return pd.DataFrame(rows, columns=columns)


def read_value(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> Any:
    sql, params = bind(sql, params)
    row = _run(conn, sql, params).fetchone()
    return None if row is None else row[0]


# Several independent statements sent as one (`read_frames`): each becomes an arm of a
# UNION ALL BY NAME, its columns prefixed with its arm ("p0_...", "p1_...") and its parameters
# likewise, so no arm's names meet another's. DuckDB plans them together and runs the arms'
# pipelines on both its threads; alone, each small statement leaves a thread idle while its
# few pipelines hand over (bench: the Meetings page's seven statements at M, 48.7 -> 33.4 ms
# with a community selection). Row order is kept: UNION ALL and a SELECT from one table
# subquery preserve it (DuckDB's order-preservation rules), and the rows are split by arm.
_ARM = "ced_arm"


def read_frames(
    conn: Connection, statements: Sequence[tuple[str, dict[str, Any] | None]]
) -> list[pd.DataFrame]:
    """[read_frame(conn, sql, params) for sql, params in statements], run as one statement: the
    same frames (columns, types, rows and their order)."""
    if len(statements) < 2:
        return [read_frame(conn, sql, params) for sql, params in statements]
    arms, values = [], {}
    for i, (sql, params) in enumerate(statements):
        sql, params = bind(sql, params)
        for name in _driver_text(sql)[1]:
            values[f"p{i}_{name}"] = params[name]
        own = _BIND_NAME.sub(lambda m, i=i: f":p{i}_{m[1]}", sql)
        arms.append(f'select {i} as {_ARM}, columns(*) as "p{i}_\\0" from ({own}\n)')
    result = _run(conn, "\nunion all by name\n".join(arms), values)
    names = [d[0] for d in result.description]
    rows: list[list[tuple]] = [[] for _ in statements]
    for row in result.fetchall():
        rows[row[0]].append(row)
    frames = []
    for i, arm_rows in enumerate(rows):
        prefix = f"p{i}_"
        at = [j for j, name in enumerate(names) if name.startswith(prefix)]
        frames.append(
            pd.DataFrame(
                [tuple(r[j] for j in at) for r in arm_rows], columns=[names[j][len(prefix) :] for j in at]
            )
        )
    return frames


# A query function's statements, written once for both ways of running them: a generator that
# yields each statement as (sql, params), is sent back its frame, and returns the function's
# result. `@reads` makes it a plain query function (`run_reads`: one statement at a time);
# `read_together` runs several such functions' statements as one statement per round.
T = TypeVar("T")
P = ParamSpec("P")
Reads = Generator[tuple[str, dict[str, Any]], pd.DataFrame, T]


def read_together(conn: Connection, *reads: Reads[Any]) -> list[Any]:
    """The results of `reads`, driven together: every round, the statements they are waiting on
    run as one (`read_frames`). Same results as run_reads on each."""
    results: list[Any] = [None] * len(reads)
    waiting: dict[int, tuple[str, dict[str, Any]]] = {}

    def advance(i: int, frame: pd.DataFrame | None) -> None:
        try:
            waiting[i] = reads[i].send(frame)  # type: ignore[arg-type]
        except StopIteration as done:
            waiting.pop(i, None)
            results[i] = done.value

    for i in range(len(reads)):
        advance(i, None)
    while waiting:
        order = list(waiting)
        for i, frame in zip(order, read_frames(conn, [waiting[i] for i in order]), strict=True):
            advance(i, frame)
    return results


def run_reads(conn: Connection, reads: Reads[T]) -> T:
    """Drive `reads` alone: each statement it yields runs by itself (read_frames of one is read_frame)."""
    return read_together(conn, reads)[0]


def reads(fn: Callable[Concatenate[Connection, P], Reads[T]]) -> Callable[Concatenate[Connection, P], T]:
    """A query function from the generator function `fn` (its statements run one at a time);
    `.reads` is `fn`, for read_together."""

    @functools.wraps(fn)
    def query(conn: Connection, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return run_reads(conn, fn(conn, *args, **kwargs))

    query.reads = fn  # type: ignore[attr-defined]
    return query


# Statements a query function may run side by side (`side_by_side`). DuckDB releases the GIL while
# it executes, and most of a small statement's time is single-threaded parsing and planning, so on
# a 2-core machine two overlap; a third would only queue.
SIDE_BY_SIDE = 2
_side_pool = ThreadPoolExecutor(max_workers=SIDE_BY_SIDE - 1, thread_name_prefix="ced-side")
_on_side_thread = threading.local()


def side_by_side(conn: Connection, *calls: Callable[[Connection], Any]) -> list[Any]:
    """[call(conn) for call in calls], the independent statements overlapping: the first call runs
    here on `conn`, the others on a worker thread, each on its own connection from the same engine
    (the same read-only database file, so the same data). Results in order; an error is raised
    after every call has finished, so no connection is left running. Called from a call already
    on the worker, it runs its calls one after another (the worker would otherwise wait on itself)."""
    if len(calls) < 2 or getattr(_on_side_thread, "active", False):
        return [call(conn) for call in calls]
    engine = conn.engine

    def on_own_connection(call: Callable[[Connection], Any]) -> Any:
        _on_side_thread.active = True
        try:
            with engine.connect() as own:
                return call(own)
        finally:
            _on_side_thread.active = False

    later = [_side_pool.submit(on_own_connection, call) for call in calls[1:]]
    try:
        first = calls[0](conn)
    finally:
        wait(later)
    return [first, *(f.result() for f in later)]
