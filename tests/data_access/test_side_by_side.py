"""db.side_by_side: a query function's independent statements overlap, each on its own connection."""

from __future__ import annotations

import threading

import pytest

from data_access.db import Database, read_value, side_by_side
from tests.fixtures import build, community

WAIT_S = 20  # far longer than any statement here: reaching it means the calls did not overlap


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Database:
    return build(tmp_path_factory.mktemp("side"), communities=[community("C1", "Alpha")])


def _in_another_thread(fn, timeout: float = 60) -> object:
    """fn() on a thread of its own; fails (instead of hanging the suite) if it does not return."""
    out: dict[str, object] = {}
    t = threading.Thread(target=lambda: out.update(value=fn()), daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "side_by_side did not return: its calls wait on each other"
    return out["value"]


def test_results_come_in_call_order_the_first_on_the_given_connection(database):
    seen: list[tuple[int, object, str]] = []

    def call(i: int):
        def run(conn):
            seen.append((i, conn, threading.current_thread().name))
            return read_value(conn, "select count(*) + :i from communities", {"i": i})

        return run

    with database.connect() as conn:
        assert side_by_side(conn, call(10), call(20), call(30)) == [11, 21, 31]
        here = threading.current_thread().name
        (first,) = [s for s in seen if s[0] == 10]
        assert first[1] is conn and first[2] == here
        for i, other, thread in (s for s in seen if s[0] != 10):
            assert other is not conn and thread.startswith("ced-side"), i


def test_the_calls_overlap(database):
    """The first call waits for the second to start: run one after the other, it would time out."""
    started = threading.Event()

    def first(conn):
        assert started.wait(WAIT_S), "the second call never started while the first ran"
        return read_value(conn, "select 1")

    def second(conn):
        started.set()
        return read_value(conn, "select 2")

    with database.connect() as conn:
        assert _in_another_thread(lambda: side_by_side(conn, first, second)) == [1, 2]


def test_an_error_is_raised_after_every_call_has_finished(database):
    finished = threading.Event()
    release = threading.Event()

    def failing(conn):
        release.set()
        raise ValueError("bad statement")

    def slow(conn):
        assert release.wait(WAIT_S)
        value = read_value(conn, "select 2")
        finished.set()
        return value

    with database.connect() as conn, pytest.raises(ValueError, match="bad statement"):
        side_by_side(conn, failing, slow)
    assert finished.is_set()


def test_a_call_on_the_worker_that_goes_side_by_side_runs_its_own_calls_in_a_row(database):
    """The one worker cannot wait on itself: a nested side_by_side runs in its thread."""

    def nested(conn):
        threads = side_by_side(
            conn, lambda c: threading.current_thread().name, lambda c: threading.current_thread().name
        )
        return threads, read_value(conn, "select 3")

    with database.connect() as conn:
        out = _in_another_thread(lambda: side_by_side(conn, lambda c: read_value(c, "select 1"), nested))
    one, (threads, three) = out
    assert one == 1 and three == 3
    assert len(set(threads)) == 1 and threads[0].startswith("ced-side")
