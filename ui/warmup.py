"""Fill the query cache for the view most visitors open first, before the first one arrives.

serve.py calls `warm()` at server start (and after nothing else): the shared sidebar lookups and
the Overview at the default filters, for every role (the role is part of every cache key). The
values go through `ui.cache`, the same cache a session reads, so the first visitor's page is a
cached rerun instead of a cold one (SPEC §6: first page ≤ 2 s). An import changes the database
version, which is in every key, so nothing stale can be served from here.

`settle()` is start-up's last step: it takes what start-up left alive out of the garbage
collector's view, so that the full collection Streamlit runs after every script run stays short.
"""

from __future__ import annotations

import gc
import time

from data_access.feedback import scope as feedback_scope
from data_access.filters import ROLES, Filters, resolve_period
from data_access.overview import OVERVIEW_SCOPE, overview_page
from data_access.reference import latest_data_date
from data_access.settings import small_n_k
from ui import cache, filters
from ui.filters import DEFAULT_PERIOD


def default_filters(anchor: object, role: str) -> Filters:
    start, end = resolve_period(DEFAULT_PERIOD, anchor)  # type: ignore[arg-type]
    return Filters(start=start, end=end, role=role, preset=DEFAULT_PERIOD)


def warm() -> dict[str, float]:
    """Run the first page's queries through the cache; returns seconds per step (for the log)."""
    took: dict[str, float] = {}
    t0 = time.perf_counter()
    anchor = cache.lookup(latest_data_date)
    filters.warm_lookups()
    took["lookups"] = time.perf_counter() - t0
    if anchor is None:
        return took
    k = small_n_k()
    for role in ROLES:
        t0 = time.perf_counter()
        f = default_filters(anchor, role)
        cache.query(overview_page, f, k=k, scope=cache.query(feedback_scope, f, k=k, **OVERVIEW_SCOPE))
        took[f"overview {role}"] = time.perf_counter() - t0
    return took


def settle() -> int:
    """Collect once, then move every object alive now into the permanent generation (gc.freeze);
    returns how many objects that is.

    Streamlit runs a full collection after every script run (`runner.postScriptGC`), on the
    script's thread and holding the GIL, so the server can send the run's last messages only
    after it. A full collection walks every tracked object, and after start-up there are ~170k
    (modules, functions, classes of Streamlit, pandas, Plotly, SQLAlchemy): 80-110 ms a run on the
    2-core machines, at times 280 ms. Frozen, they are no longer walked (1-2 ms a run); what later
    runs make is collected as before. The frozen objects are start-up's (imported code, the warm-up's
    cached results), alive for the whole server's life anyway; one of them dropped later is still
    freed by reference counting, unless it is part of a reference cycle, which stays until the
    server stops (serve.py thaws them then). A replaced database engine is disposed explicitly
    (`Database`), so its DuckDB connections close either way."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
