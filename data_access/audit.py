"""Append-only audit trail: who signed in, opened a sensitive page, exported or imported what.

One JSON object per line in a plain file (default ``audit.jsonl`` next to the
database, e.g. ``data/audit.jsonl``; env ``CED_AUDIT_LOG`` names another path).
Each line has exactly the fields in ``FIELDS``: time (UTC, ISO 8601), user, role,
event, detail, outcome.

Why a file and not a table: the database is replaced by every import (db.py's
build-and-swap), and a restore would roll the trail back with the data. The file
outlives both.

Writes are safe across threads and processes (several Streamlit servers, the CLI):
the file is opened with O_APPEND and each line goes out in one ``write`` while an
exclusive ``flock`` is held, so lines never interleave or tear. Text is JSON-escaped
with ``ensure_ascii``, so a user value with a newline, a control character or a
right-to-left override cannot forge a second line or disguise one in a terminal.

Nothing in the app edits or deletes the file: this module only appends and reads.
Rotate it by renaming (each write reopens the path) and archive the old file.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from data_access import db

AUDIT_ENV_VAR = "CED_AUDIT_LOG"
FIELDS = ("time", "user", "role", "event", "detail", "outcome")
EVENTS = ("sign_in", "page_view", "export", "import")
OUTCOMES = ("ok", "denied", "failed", "dry_run")
MAX_DETAIL = 2000
FILE_MODE = 0o640


@dataclass(frozen=True)
class AuditEvent:
    time: str
    user: str
    role: str
    event: str
    detail: str
    outcome: str


def audit_path(url: str | None = None) -> Path:
    """Env CED_AUDIT_LOG, else ``audit.jsonl`` in the folder of the configured database."""
    configured = os.environ.get(AUDIT_ENV_VAR)
    if configured:
        return Path(configured)
    return db.database_path(url).parent / "audit.jsonl"


def _clip(text: object, limit: int) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def record(
    event: str,
    *,
    user: str,
    role: str,
    detail: str = "",
    outcome: str = "ok",
    path: Path | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Append one event as one line; returns what was written."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds")
    entry = AuditEvent(
        time=stamp.replace("+00:00", "Z"),
        user=_clip(user, 200),
        role=_clip(role, 20),
        event=event,
        detail=_clip(detail, MAX_DETAIL),
        outcome=outcome,
    )
    line = (json.dumps(asdict(entry), ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")
    target = path or audit_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            view = memoryview(line)
            while view:  # a regular file takes it in one write; loop only for a short write
                view = view[os.write(fd, view) :]
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    return entry


def _lines(target: Path) -> Iterator[tuple[int, str]]:
    if not target.exists():
        return
    fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # never read a line a writer is half-way through
        with os.fdopen(os.dup(fd), "r", encoding="ascii", errors="replace") as fh:
            yield from enumerate(fh, start=1)
    finally:
        os.close(fd)


def read_events(
    path: Path | None = None, *, event: str | None = None, user: str | None = None, last: int | None = None
) -> list[AuditEvent]:
    """The recorded events, oldest first, optionally one event kind or user, or only the last n.

    A line that is not a valid event (hand-edited, disk trouble) raises ValueError naming the
    line: an audit reader should not skip evidence silently.
    """
    out: list[AuditEvent] = []
    for number, text in _lines(path or audit_path()):
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict) or set(raw) != set(FIELDS):
                raise ValueError("fields differ")
            item = AuditEvent(**{k: str(raw[k]) for k in FIELDS})
        except ValueError as exc:
            raise ValueError(f"audit log line {number} is not a valid event: {exc}") from exc
        if (event is None or item.event == event) and (user is None or item.user == user):
            out.append(item)
    return out[-last:] if last else out
