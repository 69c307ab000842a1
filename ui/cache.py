"""The one place that caches: the database handle, and query results keyed on Filters.

Every cached result is keyed on the query function, the Filters (which carry the
role), the extra arguments and the live database version, so an import makes new
keys at once; `clear()` also drops the old entries.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from data_access.db import Database, database_url, read_together
from data_access.filters import Filters
from data_access.importer import ensure_database

T = TypeVar("T")
TTL_S = 600
# Queries started ahead (`ahead`) run on these threads beside the script's own. DuckDB releases the
# GIL while it executes, so on a 2-core machine two more threads overlap a page's statements; more
# only queue behind each other (bench: the Feedback page's 13 statements at S, 149 ms one after
# another, 92 ms on two threads, 74 ms on three).
AHEAD_WORKERS = 2
_ahead_pool = ThreadPoolExecutor(max_workers=AHEAD_WORKERS, thread_name_prefix="ced-ahead")


@st.cache_resource(show_spinner="Preparing the database…")
def _database(url: str) -> Database:
    ensure_database(url)
    return Database(url)


def database() -> Database:
    """The process-wide read-only handle for the configured URL (keyed on it, so tests can switch)."""
    return once_per_run("database", lambda: _database(database_url()))


_RUN_MEMO = "_ced_once_per_run"  # attribute of the ScriptRunContext: (that run's cursors, {name: value})


def once_per_run(name: str, compute: Callable[[], T]) -> T:
    """compute() once per script run, on the script's thread; anywhere else (a worker, bare mode)
    at every call. For values a run asks for many times that cannot change within it: who is
    asking (ui.auth.current_user, 9 times a Feedback rerun) and the database handle (26 times),
    each 0.2-1 ms a call, 10-15 ms of every rerun together.

    Streamlit starts every run (and fragment run) with a new `cursors` dict on the script's
    context (ScriptRunContext.reset); holding that dict tells one run from the next, so a value
    never outlives its run: a new sign-in or a new URL is seen by the next run, as before."""
    ctx = get_script_run_ctx(suppress_warning=True)
    run = getattr(ctx, "cursors", None)
    if run is None:
        return compute()
    memo = getattr(ctx, _RUN_MEMO, None)
    if memo is None or memo[0] is not run:
        memo = (run, {})
        setattr(ctx, _RUN_MEMO, memo)
    if name not in memo[1]:
        memo[1][name] = compute()
    return memo[1][name]


def forget_in_run(name: str) -> None:
    """Drop `name`'s once_per_run value, so that the rest of this run computes it again."""
    memo = getattr(get_script_run_ctx(suppress_warning=True), _RUN_MEMO, None)
    if memo is not None:
        memo[1].pop(name, None)


def _resolve(path: str) -> Callable[..., Any]:
    module, name = path.split(":")
    if not module.startswith("data_access."):
        raise ValueError(f"not a query function: {path}")
    return getattr(importlib.import_module(module), name)


# Streamlit hashes only `key`: the repr of everything the result depends on (the query function,
# the database version, the Filters with their role, the extra arguments). Those are frozen
# dataclasses, tuples, dates, strings and numbers, whose repr is exact and unambiguous. Letting
# Streamlit hash the Filters field by field was most of a cache hit (1.5-2 ms a query, 13-23
# queries a page); the underscore arguments are not hashed.


# When this process last computed each filtered result (key -> time.monotonic()): `ahead` leaves a
# result computed within the TTL to the cache instead of starting a worker on it. A worker's cache
# hit unpickles a copy nobody uses, while holding the GIL the script needs (on the Feedback page's
# cached rerun at S, the worker hits took 10-25 ms of the script's time). Only a hint: a result
# the cache has dropped since (max_entries) is computed by `result()`, as without `ahead`.
_computed: dict[str, float] = {}
_computed_lock = threading.Lock()
_COMPUTED_MAX = 4000


# `together` asks the cache for each of its results without computing one (`_mode.probe`: a miss
# raises _Missing), then hands the ones it computed in one statement to the cache to keep
# (`_mode.value`: `_filtered` returns it instead of computing), through `_filtered` itself.
_mode = threading.local()
_NOT_HANDED = object()


class _Missing(Exception):  # noqa: N818  (control flow, never shown)
    """Raised by `_filtered` in probe mode instead of computing: Streamlit keeps no result."""


@st.cache_data(ttl=TTL_S, max_entries=1000, show_spinner=False)
def _filtered(key: str, _path: str, _filters: Filters, _kwargs: tuple[tuple[str, Any], ...]) -> Any:
    handed = getattr(_mode, "value", _NOT_HANDED)
    if handed is not _NOT_HANDED:
        value = handed
    elif getattr(_mode, "probe", False):
        raise _Missing(key)
    else:
        with database().connect() as conn:
            value = _resolve(_path)(conn, _filters, **dict(_kwargs))
    now = time.monotonic()
    with _computed_lock:
        if len(_computed) >= _COMPUTED_MAX:  # the expired go; were that not enough, all (a hint)
            for old in [k for k, at in _computed.items() if now - at >= TTL_S] or list(_computed):
                del _computed[old]
        _computed[key] = now
    return value


def _cached_recently(key: str) -> bool:
    with _computed_lock:
        at = _computed.get(key)
        if at is not None and time.monotonic() - at >= TTL_S:
            del _computed[key]
            at = None
        return at is not None


@st.cache_data(ttl=TTL_S, max_entries=200, show_spinner=False)
def _unfiltered(key: str, _path: str, _kwargs: tuple[tuple[str, Any], ...]) -> Any:
    with database().connect() as conn:
        return _resolve(_path)(conn, **dict(_kwargs))


def _version() -> str:
    """The live database version, read once per script run: it names the database file (unique per
    import and per database), so every cache key carries it. A rerun asks 25 times; each read is a
    readlink and a stat, and on the script's thread every system call hands the GIL to the workers
    running the page's other queries, which can keep it for a switch interval (5 ms). A version
    published during a run is keyed from the next run on, as a new URL or sign-in is."""
    return once_per_run("version", lambda: database().version)


def _filtered_call(fn: Callable[..., Any], filters: Filters, kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """The arguments of `_filtered` for `fn(conn, filters, **kwargs)`."""
    path = f"{fn.__module__}:{fn.__qualname__}"
    args = tuple(sorted(kwargs.items()))
    return repr((path, _version(), filters, args)), path, filters, args


def query(fn: Callable[..., T], filters: Filters, **kwargs: Any) -> T:
    """Run `fn(conn, filters, **kwargs)` through the cache."""
    return _filtered(*_filtered_call(fn, filters, kwargs))


@dataclass(frozen=True)
class Pending(Generic[T]):
    """A query started by `ahead`; `result()` is `query(fn, filters, **kwargs)`."""

    fn: Callable[..., T]
    filters: Filters
    kwargs: dict[str, Any] = field(default_factory=dict)

    def result(self) -> T:
        return query(self.fn, self.filters, **self.kwargs)


def ahead(fn: Callable[..., T], filters: Filters, **kwargs: Any) -> Pending[T]:
    """Start `query(fn, filters, **kwargs)` on a worker thread now, and return its handle.

    A page starts the queries it will need before drawing anything, so they run side by side
    instead of one after another. `result()` then goes through the same cache: a hit when the
    worker has finished; while it is still computing, Streamlit's per-key compute lock makes the
    caller wait for that value instead of computing it twice; when no worker got to it yet, the
    caller computes it and the worker later finds it cached. A query that failed on the worker is
    run again by `result()`, so its error is raised in the page, where it would have been. A
    result this process computed within the TTL is not started again (see `_computed`)."""
    call = _filtered_call(fn, filters, kwargs)
    if not _cached_recently(call[0]):
        _ahead_pool.submit(_filtered, *call)
    return Pending(fn, filters, dict(kwargs))


@dataclass(frozen=True)
class Together:
    """One result for `together`: `fn(conn, filters, **kwargs)`, where `fn` is a query function
    made with `data_access.db.reads`."""

    fn: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)

    def reads(self, conn: Any, filters: Filters) -> Any:
        """Its statements as db.read_together drives them."""
        return self.fn.reads(conn, filters, **self.kwargs)


def call(fn: Callable[..., Any], **kwargs: Any) -> Together:
    if not hasattr(fn, "reads"):
        raise TypeError(f"{fn.__qualname__} is not made with data_access.db.reads")
    return Together(fn, kwargs)


def together(filters: Filters, *calls: Together) -> list[Any]:
    """[query(c.fn, filters, **c.kwargs) for c in calls], the results the cache does not hold
    computed together: their statements sent as one (db.read_together), each result then kept
    under its own key, as `query` would keep it. So a filter change costs one statement for the
    whole group, and a widget that changes one call's arguments recomputes that call alone."""
    keys = [_filtered_call(c.fn, filters, c.kwargs) for c in calls]
    values: list[Any] = [None] * len(calls)
    missing = []
    _mode.probe = True
    try:
        for i, key in enumerate(keys):
            try:
                values[i] = _filtered(*key)
            except _Missing:
                missing.append(i)
    finally:
        _mode.probe = False
    if not missing:
        return values
    with database().connect() as conn:
        computed = read_together(conn, *(calls[i].reads(conn, filters) for i in missing))
    for i, value in zip(missing, computed, strict=True):
        _mode.value = value
        try:
            values[i] = _filtered(*keys[i])
        finally:
            del _mode.value
    return values


def lookup(fn: Callable[..., T], role: str = "admin", **kwargs: Any) -> T:
    """Run `fn(conn, **kwargs)` (no filters: names, options, dates) through the cache."""
    path = f"{fn.__module__}:{fn.__qualname__}"
    args = tuple(sorted(kwargs.items()))
    return _unfiltered(repr((path, _version(), role, args)), path, args)


def clear() -> None:
    """After an import: forget every cached result (the connection follows the new version itself),
    and the version this run read, so that the rest of the run keys on the new one."""
    clear_filtered()
    _unfiltered.clear()
    forget_in_run("version")


def clear_filtered() -> None:
    """Forget the filtered results alone (the bench's cache-miss rerun: a filter change, with the
    sidebar's lookups still cached)."""
    _filtered.clear()
    with _computed_lock:
        _computed.clear()
