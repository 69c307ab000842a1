"""Deployment settings read from the environment (no Streamlit here)."""

from __future__ import annotations

import os

from data_access.stats import DEFAULT_K


def small_n_k() -> int:
    """The small-n threshold k (SPEC §3): env CED_SMALL_N_K, default 10, never below 2."""
    try:
        return max(2, int(os.environ.get("CED_SMALL_N_K", DEFAULT_K)))
    except ValueError:
        return DEFAULT_K


DEFAULT_DUCKDB_MEMORY_LIMIT = "384MB"


def duckdb_memory_limit() -> str:
    """DuckDB's memory_limit for the app's read-only connections (env CED_DUCKDB_MEMORY_LIMIT).

    DuckDB's own default is 80% of the machine's RAM, and it keeps every block it has read
    until then: an app process at scale M grew to 556 MB after 21 page loads. A cap keeps the
    server within SPEC §6's 500 MB; queries still run above it (they evict cached blocks and
    re-read them from the OS page cache), just slower when one needs more (docs/benchmark.md).
    """
    value = os.environ.get("CED_DUCKDB_MEMORY_LIMIT", "").strip()
    return value or DEFAULT_DUCKDB_MEMORY_LIMIT
