"""Streamlit glue for the audit trail (data_access.audit): page views, exports, imports.

- `page_view(title)` is called by app.py on every run; it writes one line when a
  session enters a sensitive page (Data, Feedback). Refusals are written by
  ui.auth.require (outcome "denied").
- `export_data(file_name, build)` is the data of every download button: the file is built, and
  the export recorded, when the browser asks for it.
- `import_files(...)` wraps the importer for the Data page: it refuses roles that may
  not import, passes the signed-in user's name, and writes one line per file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import streamlit as st

from data_access import importer
from data_access.importer import ImportResult, Progress
from ui.auth import SENSITIVE_PAGES, User, allowed, current_user, write_audit

__all__ = ["SENSITIVE_PAGES", "export_data", "import_files", "page_view", "record"]


def record(event: str, detail: str = "", outcome: str = "ok", user: User | None = None) -> None:
    user = user or current_user()
    write_audit(event, user=user.name, role=user.role, detail=detail, outcome=outcome)


def page_view(title: str) -> None:
    """Count page visits, and record entering a sensitive page (once per visit, not per rerun).

    A refused visit is recorded by ui.auth.require, which runs even when a page is served without
    this frame; here only the views that go ahead are recorded.
    """
    previous = st.session_state.get("_ced_page")
    if title == previous:
        return
    st.session_state["_ced_page"] = title
    st.session_state["_ced_visit"] = st.session_state.get("_ced_visit", 0) + 1
    if title not in SENSITIVE_PAGES:
        return
    action, whole_page = SENSITIVE_PAGES[title]
    user = current_user()
    ok = allowed(action, user)
    if whole_page:
        if ok:
            record("page_view", f"{title} page", "ok", user)
    else:
        record("page_view", f"{title} page ({'comments shown' if ok else 'comments hidden'})", "ok", user)


def export_data(
    file_name: str, build: Callable[[], tuple[bytes, int | None]], user: User | None = None
) -> Callable[[], bytes]:
    """The `data` of a download button: `build()` (the file's bytes and its data rows, or None) runs
    when the browser asks for the file, on Streamlit's download thread, and the export is recorded
    then with the rows that actually left (or as failed). The user is resolved now, in the run.

    Give the button on_click="ignore": a click that also reruns the page races the request for the
    file (the rerun replaces the button's callable, and a request that arrives after it finds
    nothing: the browser then gets no file; seen in CI). `user`: the one the caller resolved in this
    run, if it did (each resolution reads the session's headers, identity and secrets)."""
    user = user or current_user()

    def data() -> bytes:
        try:
            body, rows = build()
        except Exception:
            record("export", file_name, "failed", user)
            raise
        record("export", file_name if rows is None else f"{file_name} ({rows:,} rows)", "ok", user)
        return body

    return data


def import_files(
    files: Iterable[tuple[str, str, bytes]], *, dry_run: bool = False, progress: Progress | None = None
) -> list[ImportResult]:
    """data_access.importer.import_files as the signed-in user, refused below admin, audited per file.

    Raises PermissionError for a role that may not import (after recording the refusal);
    importer.ImportError_ when the whole import could not run (recorded as failed).
    """
    files = list(files)
    user = current_user()
    names = ", ".join(name for _, name, _ in files) or "(no files)"
    if not allowed("import", user):
        record("import", names, "denied", user)
        raise PermissionError(f"role {user.role} may not import data")
    try:
        results = importer.import_files(files, user=user.name, dry_run=dry_run, progress=progress)
    except importer.ImportError_ as exc:
        record("import", f"{names}: {exc}", "failed", user)
        raise
    for r in results:
        outcome = "dry_run" if dry_run else ("ok" if r.committed else "failed")
        record("import", r.summary(), outcome, user)
    return results
