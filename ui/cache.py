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


@st.cache_data(ttl=TTL_S, max_entries=1000, show_spinner=False)
def _filtered(path: str, filters: Filters, version: str, kwargs: tuple[tuple[str, Any], ...]) -> Any:
    # `version` names the database file (unique per import and per database), so it keys the cache too
    with database().connect() as conn:
        return _resolve(path)(conn, filters, **dict(kwargs))


@st.cache_data(ttl=TTL_S, max_entries=200, show_spinner=False)
def _unfiltered(path: str, version: str, role: str, kwargs: tuple[tuple[str, Any], ...]) -> Any:
    with database().connect() as conn:
        return _resolve(path)(conn, **dict(kwargs))


def query(fn: Callable[..., T], filters: Filters, **kwargs: Any) -> T:
    """Run `fn(conn, filters, **kwargs)` through the cache."""
    path = f"{fn.__module__}:{fn.__qualname__}"
    return _filtered(path, filters, database().version, tuple(sorted(kwargs.items())))


def lookup(fn: Callable[..., T], role: str = "admin", **kwargs: Any) -> T:
    """Run `fn(conn, **kwargs)` (no filters: names, options, dates) through the cache."""
    path = f"{fn.__module__}:{fn.__qualname__}"
    return _unfiltered(path, database().version, role, tuple(sorted(kwargs.items())))


def clear() -> None:
    """After an import: forget every cached result (the connection follows the new version itself)."""
    _filtered.clear()
    _unfiltered.clear()
