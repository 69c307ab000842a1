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
