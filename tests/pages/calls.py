"""Which query functions a page runs, and with what: a recorder the page tests share."""

from __future__ import annotations

import functools
from types import ModuleType

import pytest


def record_calls(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str, *keys: str) -> list[tuple]:
    """Replace the query function `module.name` by one that records the keyword arguments `keys` of
    every call it computes (a tuple each, in order), then runs the real one. It keeps the real
    one's module and name, so ui.cache keys and resolves it as before: a cache hit records nothing.
    Clear ui.cache first when earlier tests may have cached the same calls."""
    real = getattr(module, name)
    asked: list[tuple] = []

    @functools.wraps(real)
    def recorded(*args, **kwargs):
        asked.append(tuple(kwargs.get(k) for k in keys))
        return real(*args, **kwargs)

    if hasattr(real, "reads"):  # made with db.reads: ui.cache.together runs its statements itself

        def recorded_reads(*args, **kwargs):
            asked.append(tuple(kwargs.get(k) for k in keys))
            return real.reads(*args, **kwargs)

        recorded.reads = recorded_reads
    monkeypatch.setattr(module, name, recorded)
    return asked


def record_ahead(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict]]:
    """Record every query a page asks for before drawing its sections, through ui.cache.ahead or
    in a ui.cache.together group: (function name, its keyword arguments) each, in order; the
    queries still run."""
    from ui import cache

    real, real_together = cache.ahead, cache.together
    started: list[tuple[str, dict]] = []

    def recorded(fn, filters, **kwargs):
        started.append((fn.__name__, dict(kwargs)))
        return real(fn, filters, **kwargs)

    def recorded_together(filters, *calls):
        started.extend((c.fn.__name__, dict(c.kwargs)) for c in calls)
        return real_together(filters, *calls)

    monkeypatch.setattr(cache, "ahead", recorded)
    monkeypatch.setattr(cache, "together", recorded_together)
    return started
