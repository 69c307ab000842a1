"""Imports never disturb viewers, and faults never leave a half-imported database.

Readers (threads sharing one Database, as Streamlit's sessions do, and separate
processes) query in a loop while a 50,000-row feedback file is imported; each must see
only the old complete data or the new complete data, in that order, and never raise.
CLI imports run as real subprocesses; kill -9 hits a real importer mid-way and after
its commit; a full disk is simulated by monkeypatching (always) and made real with a
small tmpfs (when this process may mount one).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from data_access import db, importer
from data_access.db import Database, read_frame
from data_access.importer import ImportError_, import_files
from tests.fixtures import build, community, csv_bytes, response

ROOT = Path(__file__).resolve().parents[2]
BASE_ROWS = 100
FILE_ROWS = 50_000
COUNT_SQL = "select count(*) as n, coalesce(sum(safety), 0) as s from feedback"

# A reader process: reconnects through Database on every query (like a Streamlit session),
# prints "ready" after its first read, then a JSON report once the stop file appears.
READER = r"""
import json, sys, time
from pathlib import Path
from data_access.db import Database, read_frame
url, stop = sys.argv[1], Path(sys.argv[2])
database = Database(url)
changes, reads, errors = [], 0, []
while True:
    try:
        with database.connect() as conn:
            row = read_frame(conn, "select count(*) as n, coalesce(sum(safety), 0) as s from feedback").iloc[0]
        seen = [int(row["n"]), int(row["s"])]
        reads += 1
        if not changes or changes[-1] != seen:
            changes.append(seen)
    except Exception as exc:
        errors.append(repr(exc))
    time.sleep(0.005)  # a viewer, not a busy loop: leave the CPU to the importer
    if reads == 1 and not errors:
        print("ready", flush=True)
    if stop.exists():
        break
print(json.dumps({"changes": changes, "reads": reads, "errors": errors[:5]}), flush=True)
"""

# A process that opens one read-only connection and holds it across a whole CLI import.
HOLDER = r"""
import json, sys, time
from pathlib import Path
import duckdb
from data_access.db import Database, read_frame
link, url, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3])
held = duckdb.connect(link, read_only=True)
counts, errors = set(), []
print("ready", flush=True)
while not stop.exists():
    try:
        counts.add(held.execute("select count(*) from feedback").fetchone()[0])
    except Exception as exc:
        errors.append(repr(exc))
    time.sleep(0.005)
with Database(url).connect() as conn:
    fresh = int(read_frame(conn, "select count(*) as n from feedback").iloc[0, 0])
print(json.dumps({"held": sorted(counts), "fresh": fresh, "errors": errors[:5]}), flush=True)
"""


def feedback_file(n: int, start: int = 0, prefix: str = "N") -> bytes:
    """n valid feedback rows (safety = i % 11), written with the fixtures' own CSV writer."""
    first = csv_bytes(
        "feedback",
        [
            response(
                f"{prefix}{start:07d}", "2026-03-01", safety=start % 11, respect=5, listen=6, community="C1"
            )
        ],
    )
    header, row = first.decode().splitlines()
    template = row.replace(f"{prefix}{start:07d}", "{id}").replace(f",{start % 11},5,6,", ",{safety},5,6,")
    body = "\n".join(template.format(id=f"{prefix}{i:07d}", safety=i % 11) for i in range(start, start + n))
    return f"{header}\n{body}\n".encode()


def expected_pair(rows_safety: list[int]) -> tuple[int, int]:
    return len(rows_safety), sum(rows_safety)


def test_the_fast_file_writer_matches_the_fixture_writer():
    slow = csv_bytes(
        "feedback",
        [
            response(f"Q{i:07d}", "2026-03-01", safety=i % 11, respect=5, listen=6, community="C1")
            for i in range(3, 30)
        ],
    )
    assert feedback_file(27, start=3, prefix="Q") == slow


@pytest.fixture
def database(tmp_path) -> Database:
    base = [
        response(f"B{i:04d}", "2026-01-05", safety=i % 7, respect=5, listen=5, community="C1")
        for i in range(BASE_ROWS)
    ]
    return build(tmp_path, communities=[community("C1", "Alpha")], feedback=base)


def counts(database: Database) -> tuple[int, int]:
    with database.connect() as conn:
        row = read_frame(conn, COUNT_SQL).iloc[0]
    return int(row["n"]), int(row["s"])


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "data_access.importer", *args]


def start_reader(script: str, *args: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args], cwd=ROOT, env=env(), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


OLD = expected_pair([i % 7 for i in range(BASE_ROWS)])
NEW = (OLD[0] + FILE_ROWS, OLD[1] + sum(i % 11 for i in range(FILE_ROWS)))


def test_readers_see_the_old_then_the_new_complete_data_during_an_import(database, tmp_path):
    assert counts(database) == OLD
    data = feedback_file(FILE_ROWS)
    stop_file = tmp_path / "stop"
    stop = threading.Event()
    thread_reports: list[dict] = []

    def reader_thread(ready: threading.Event) -> None:
        changes, reads, errors = [], 0, []
        while not stop.is_set():
            try:
                seen = counts(database)  # the shared Database, like every Streamlit session
                reads += 1
                if not changes or changes[-1] != seen:
                    changes.append(seen)
            except Exception as exc:  # any exception is the failure being tested
                errors.append(repr(exc))
            ready.set()
            time.sleep(0.005)
        thread_reports.append({"changes": changes, "reads": reads, "errors": errors})

    processes = [start_reader(READER, database.url, str(stop_file)) for _ in range(2)]  # each has read once
    ready = [threading.Event() for _ in range(3)]
    threads = [threading.Thread(target=reader_thread, args=(r,)) for r in ready]
    for t in threads:
        t.start()
    assert all(r.wait(30) for r in ready)  # every thread has read the old data
    t0 = time.monotonic()
    result = import_files([("feedback", "feedback.csv", data)], url=database.url, user="page")[0]
    import_s = time.monotonic() - t0
    time.sleep(0.5)  # every reader reads the new data a few times
    stop.set()
    stop_file.touch()
    for t in threads:
        t.join(30)
    process_reports = [json.loads(p.communicate(timeout=60)[0].strip().splitlines()[-1]) for p in processes]

    assert result.committed and result.added == FILE_ROWS
    reports = thread_reports + process_reports
    assert len(reports) == 5
    for report in reports:
        assert report["errors"] == []
        assert [tuple(c) for c in report["changes"]] == [OLD, NEW], report
    print(
        f"\nimport of {FILE_ROWS:,} rows under 5 readers: {import_s:.2f} s; "
        f"reads per reader: {[r['reads'] for r in reports]}"
    )


def test_the_live_version_follows_every_swap_of_the_link(tmp_path):
    link = tmp_path / "engagement.duckdb"
    versions = db.versions_dir(link)
    versions.mkdir()
    first, second = versions / "one.duckdb", versions / "two.duckdb"
    first.touch()
    second.touch()
    live = Database(f"duckdb:///{link}")
    assert live.version == "none"  # nothing published yet
    db.publish_version(link, first)
    assert live.version == "one.duckdb"
    db.publish_version(link, second)
    assert live.version == "two.duckdb"
    db.publish_version(link, first)  # back to a link text seen before
    assert live.version == "one.duckdb"
    first.unlink()  # the link dangles: no database, as before
    assert live.version == "none"
    link.unlink()
    assert live.version == "none"
    plain = tmp_path / "plain.duckdb"  # a URL naming a database file itself, no link
    plain.touch()
    assert Database(f"duckdb:///{plain}").version == "plain.duckdb"


def test_cli_import_while_another_process_holds_a_read_only_connection(database, tmp_path):
    path = tmp_path / "feedback_batch.csv"
    path.write_bytes(feedback_file(FILE_ROWS))
    stop_file = tmp_path / "stop"
    holder = start_reader(HOLDER, str(database.link), database.url, str(stop_file))
    t0 = time.monotonic()
    done = subprocess.run(
        cli(str(path), "--db", database.url, "--quiet"), cwd=ROOT, env=env(), capture_output=True, text=True
    )
    cli_s = time.monotonic() - t0
    stop_file.touch()
    report = json.loads(holder.communicate(timeout=60)[0].strip().splitlines()[-1])
    assert done.returncode == 0, done.stderr
    assert f"{FILE_ROWS} added" in done.stdout
    # the held connection stays on the version it opened: old data, no lock error; a new one sees the import
    assert report == {"held": [OLD[0]], "fresh": NEW[0], "errors": []}
    assert counts(database) == NEW
    print(f"\nCLI import of {FILE_ROWS:,} rows beside a held read-only connection: {cli_s:.2f} s")


def test_two_importers_at_once_are_serialised_and_neither_loses_the_others_rows(database):
    files = [feedback_file(2_000, prefix="X"), feedback_file(3_000, prefix="Y")]
    results: list = []
    threads = [
        threading.Thread(
            target=lambda d=d: results.extend(import_files([("feedback", "f.csv", d)], url=database.url))
        )
        for d in files
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(r.added for r in results) == [2_000, 3_000]
    assert counts(database)[0] == BASE_ROWS + 5_000


def _versions_dir_names(database: Database) -> list[str]:
    return sorted(p.name for p in db.versions_dir(database.link).iterdir())


def test_kill_9_before_the_commit_leaves_the_old_data(database, tmp_path):
    path = tmp_path / "feedback_big.csv"
    path.write_bytes(feedback_file(400_000))
    live_before = db.current_version(database.link)
    proc = subprocess.Popen(
        cli(str(path), "--db", database.url), cwd=ROOT, env=env(), stderr=subprocess.PIPE, text=True
    )
    for line in proc.stderr:  # progress lines; the file is being checked in the half-built copy
        if "Checking" in line:
            break
    building = [n for n in _versions_dir_names(database) if importer.BUILDING_SUFFIX in n]
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL
    assert building, "the importer was not mid-way when killed"
    assert db.current_version(database.link) == live_before
    assert counts(database) == OLD  # the database opens and answers with the old data
    assert all(importer.BUILDING_SUFFIX not in v.name for v in db.list_versions(database.link))
    listing = subprocess.run(
        cli("--versions", "--db", database.url), cwd=ROOT, env=env(), capture_output=True, text=True
    )
    assert listing.returncode == 0 and importer.BUILDING_SUFFIX not in listing.stdout
    # the next import removes the half-built leftover and works normally
    r = import_files([("feedback", "f.csv", feedback_file(10, prefix="Z"))], url=database.url)[0]
    assert r.committed and counts(database)[0] == BASE_ROWS + 10
    assert not [n for n in _versions_dir_names(database) if importer.BUILDING_SUFFIX in n]


def test_kill_9_right_after_the_commit_keeps_the_new_data(database, tmp_path):
    path = tmp_path / "feedback_batch.csv"
    path.write_bytes(feedback_file(FILE_ROWS))
    live_before = db.current_version(database.link)
    proc = subprocess.Popen(
        cli(str(path), "--db", database.url, "--quiet"), cwd=ROOT, env=env(), stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while db.current_version(database.link) == live_before and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert db.current_version(database.link) != live_before
    assert counts(Database(database.url)) == NEW  # a fresh handle opens the new version cleanly
    assert not Path(f"{db.current_version(database.link)}.wal").exists()  # nothing left to replay


def test_disk_full_while_copying_gives_a_clear_error_and_the_old_data(database, monkeypatch):
    live_before = db.current_version(database.link)

    def no_space(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(importer.shutil, "copyfile", no_space)
    with pytest.raises(ImportError_, match="is full; free some space"):
        import_files([("feedback", "f.csv", feedback_file(10))], url=database.url)
    assert db.current_version(database.link) == live_before and counts(database) == OLD
    assert [p.name for p in db.versions_dir(database.link).iterdir()] == [live_before.name]


def test_disk_full_while_publishing_gives_a_clear_error_and_no_stray_version(database, monkeypatch):
    live_before = db.current_version(database.link)

    def no_space(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(db.os, "symlink", no_space)
    with pytest.raises(ImportError_, match="is full"):
        import_files([("feedback", "f.csv", feedback_file(10))], url=database.url)
    monkeypatch.undo()
    assert db.current_version(database.link) == live_before and counts(database) == OLD
    assert [p.name for p in db.versions_dir(database.link).iterdir()] == [live_before.name]


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 64 MB tmpfs (needs root / CAP_SYS_ADMIN; skipped where mounting is not allowed)."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); the monkeypatch tests cover it"
        )
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_really_full_disk_mid_import_gives_a_clear_error_and_the_old_data(small_tmpfs):
    database = build(small_tmpfs, communities=[community("C1", "Alpha")])
    live_before = db.current_version(database.link)
    # leave room for the copy of the live file plus 1 MB: the import's own writes hit ENOSPC
    free = os.statvfs(small_tmpfs).f_bavail * os.statvfs(small_tmpfs).f_frsize
    ballast = free - live_before.stat().st_size - 1024 * 1024
    with open(small_tmpfs / "ballast", "wb") as fh:
        fh.truncate(0)
        fh.write(b"\0" * ballast)
    with pytest.raises(ImportError_, match="is full; free some space"):
        import_files([("feedback", "f.csv", feedback_file(FILE_ROWS))], url=database.url)
    assert db.current_version(database.link) == live_before
    with database.connect() as conn:
        assert int(read_frame(conn, "select count(*) from feedback").iloc[0, 0]) == 0
    assert [p.name for p in db.versions_dir(database.link).iterdir()] == [live_before.name]
    (small_tmpfs / "ballast").unlink()
    r = import_files([("feedback", "f.csv", feedback_file(FILE_ROWS))], url=database.url)[0]
    assert r.committed  # with space freed the same import succeeds


class Interrupted(BaseException):
    """Like Streamlit's RerunException, raised from a progress callback when the user clicks away."""


@pytest.mark.parametrize("at_message", ["Copying", "Checking", "Writing"])
def test_an_import_interrupted_from_its_progress_callback_changes_nothing(database, at_message):
    live_before = db.current_version(database.link)

    def progress(_fraction: float, message: str) -> None:
        if message.startswith(at_message):
            raise Interrupted

    with pytest.raises(Interrupted):
        import_files([("feedback", "f.csv", feedback_file(1_000))], url=database.url, progress=progress)
    assert db.current_version(database.link) == live_before and counts(database) == OLD
    assert [p.name for p in db.versions_dir(database.link).iterdir()] == [live_before.name]
    r = import_files([("feedback", "f.csv", feedback_file(1_000))], url=database.url)[0]  # lock released
    assert r.committed and counts(database)[0] == BASE_ROWS + 1_000


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_restore_a_backup_from_the_cli(database, tmp_path):
    """Import A, list versions, restore the backup taken before A: the data is as before, history kept."""
    before_a = db.current_version(database.link)
    backup_hash = _sha(before_a)
    r = import_files([("feedback", "a.csv", feedback_file(500, prefix="A"))], url=database.url, user="ana")[0]
    assert r.committed and counts(database)[0] == BASE_ROWS + 500

    listing = subprocess.run(
        cli("--versions", "--db", database.url), cwd=ROOT, env=env(), capture_output=True, text=True
    )
    lines = [ln for ln in listing.stdout.splitlines() if ln[:2] in ("* ", "  ")]
    assert [ln[0] for ln in lines] == [" ", "*"] and before_a.name in lines[0]

    done = subprocess.run(
        cli("--restore", before_a.name, "--db", database.url, "--user", "major"),
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert counts(Database(database.url)) == OLD
    assert _sha(before_a) == backup_hash  # the backup itself is untouched (restore makes a new version)
    assert history(database)[-2:] == [("ana", "a.csv", "committed"), ("major", before_a.name, "restored")]

    refused = subprocess.run(
        cli("--restore", str(tmp_path / "elsewhere.duckdb"), "--db", database.url),
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "not a version of this database" in refused.stderr


def history(database: Database) -> list[tuple]:
    with database.connect() as conn:
        df = read_frame(conn, "select user_name, file_name, outcome from imports order by imported_at")
    return list(df.itertuples(index=False, name=None))


def test_restore_in_the_app_process_while_a_viewer_holds_the_live_version(database):
    """The Data page's process: its shared Database has the live file open while a restore attaches it."""
    before_a = db.current_version(database.link)
    import_files([("feedback", "a.csv", feedback_file(50, prefix="A"))], url=database.url, user="ana")
    with database.connect() as held:  # a viewer mid-query on the live (post-A) version
        assert int(read_frame(held, "select count(*) from feedback").iloc[0, 0]) == BASE_ROWS + 50
        restored = importer.restore(before_a, url=database.url, user="major")
        assert int(read_frame(held, "select count(*) from feedback").iloc[0, 0]) == BASE_ROWS + 50
    assert restored == before_a
    assert counts(database) == OLD
    assert history(database)[-1] == ("major", before_a.name, "restored")
    assert "a.csv" in [h[1] for h in history(database)]  # the undone import stays in the history


def test_rejected_imports_do_not_push_real_backups_out(database):
    before_a = db.current_version(database.link)
    import_files([("feedback", "a.csv", feedback_file(5, prefix="A"))], url=database.url)
    for i in range(db.BACKUPS_KEPT + 2):
        r = import_files([("feedback", f"bad{i}.csv", b"response_id\nR1\n")], url=database.url)[0]
        assert not r.committed
    kept = db.list_versions(database.link)
    assert before_a in kept  # the state before import A can still be restored
    assert sum(db.is_no_change_version(v) for v in kept) <= 2  # the live one and the one before it
