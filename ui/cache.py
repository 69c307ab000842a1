"""The one place that caches: the database handle, and query results keyed on Filters.

Every cached result is keyed on the query function, the Filters (which carry the
role), the extra arguments and the live database version, so an import makes new
keys at once; `clear()` also drops the old entries.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from data_access.db import Database, database_url
from data_access.filters import Filters
from data_access.importer import ensure_database

T = TypeVar("T")
TTL_S = 600


@st.cache_resource(show_spinner="Preparing the database…")
def _database(url: str) -> Database:
    ensure_database(url)
    return Database(url)


def database() -> Database:
    """The process-wide read-only handle for the configured URL (keyed on it, so tests can switch)."""
    return _database(database_url())


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


@st.cache_data(ttl=TTL_S, max_entries=1000, show_spinner=False)
def _filtered(key: str, _path: str, _filters: Filters, _kwargs: tuple[tuple[str, Any], ...]) -> Any:
    with database().connect() as conn:
        return _resolve(_path)(conn, _filters, **dict(_kwargs))


@st.cache_data(ttl=TTL_S, max_entries=200, show_spinner=False)
def _unfiltered(key: str, _path: str, _kwargs: tuple[tuple[str, Any], ...]) -> Any:
    with database().connect() as conn:
        return _resolve(_path)(conn, **dict(_kwargs))


def query(fn: Callable[..., T], filters: Filters, **kwargs: Any) -> T:
    """Run `fn(conn, filters, **kwargs)` through the cache."""
    path = f"{fn.__module__}:{fn.__qualname__}"
    args = tuple(sorted(kwargs.items()))
    # the version names the database file (unique per import and per database), so it keys too
    return _filtered(repr((path, database().version, filters, args)), path, filters, args)


def lookup(fn: Callable[..., T], role: str = "admin", **kwargs: Any) -> T:
    """Run `fn(conn, **kwargs)` (no filters: names, options, dates) through the cache."""
    path = f"{fn.__module__}:{fn.__qualname__}"
    args = tuple(sorted(kwargs.items()))
    return _unfiltered(repr((path, database().version, role, args)), path, args)


def clear() -> None:
    """After an import: forget every cached result (the connection follows the new version itself)."""
    _filtered.clear()
    _unfiltered.clear()
