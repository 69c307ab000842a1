"""serve.py's start-up, run as the server runs it (its lifespan), on the sample database."""

from __future__ import annotations

import asyncio
import gc
from concurrent.futures import ThreadPoolExecutor

import serve


async def _start_and_stop(seen: dict[str, object], before: list[object]) -> None:
    async with serve._startup(None):
        seen["frozen"] = gc.get_freeze_count()
        seen["walked"] = any(o is before for o in gc.get_objects())
        made_later = [object()]
        seen["later walked"] = any(o is made_later for o in gc.get_objects())
    seen["frozen after stop"] = gc.get_freeze_count()


def test_start_up_freezes_what_it_left_alive_and_stopping_thaws_it(sample_db_url, monkeypatch):
    """Streamlit collects every generation after each script run: what start-up left alive must
    be out of that walk (ui.warmup.settle), what the runs make after it must not be."""
    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    before = [object()]  # a tracked container alive before the server starts
    seen: dict[str, object] = {}
    try:  # on a thread of its own: other tests' browsers leave an event loop running on this one
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _start_and_stop(seen, before)).result()
    finally:
        gc.unfreeze()
    assert seen["frozen"] > 10_000  # the imported modules' objects, at least
    assert seen["walked"] is False
    assert seen["later walked"] is True
    assert seen["frozen after stop"] == 0
