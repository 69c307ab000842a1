"""Data: is this file fit to import, what have we imported, and how current is the data?

Admins only. A CSV is checked in full (a dry run through the real importer) and every
row-level error is listed with its line and column before anything is committed; the
commit is all-or-nothing and viewers keep seeing the old data until it is done.

The helpers above `main()` render nothing, so tests import them directly (AppTest
cannot upload files). Streamlit runs this file as `__main__`, which calls `main()`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from datetime import date

import pandas as pd
import streamlit as st

from data_access.filters import format_date
from data_access.freshness import (
    HISTORY_PAGE_SIZE,
    STALE_DAYS,
    import_count,
    import_history,
    table_freshness,
    unit_freshness,
)
from data_access.importer import ImportError_, ImportResult, infer_table
from data_access.tables import BY_NAME, IMPORTABLE, TableSpec
from ui import cache
from ui.audit import import_files
from ui.auth import require
from ui.text import plain_md
from ui.widgets import table as data_table

# The server refuses bigger uploads too (.streamlit/config.toml maxUploadSize); this check names the limit.
MAX_UPLOAD_MB = 50
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
PREVIEW_ROWS = 10
FROM_FILE_NAME = "(from the file name)"
OUTCOME_LABELS = {"committed": "✓ committed", "rejected": "✗ rejected", "restored": "↺ restored"}
KIND_LABELS = {
    "text": "text",
    "int": "whole number",
    "float": "number",
    "date": "date YYYY-MM-DD",
    "month": "month YYYY-MM",
    "time": "time HH:MM",
    "bool": "yes / no",
    "tags": "list, ; separated",
}


# ---------------------------------------------------------------- helpers (no rendering)


def check_upload(file_name: str, data: bytes) -> str | None:
    """Why a file is refused before the importer reads it (size, not a CSV), or None.

    Encoding, header and row problems are the importer's: it names the line."""
    if len(data) > MAX_UPLOAD_BYTES:
        return (
            f"This file is {file_size(len(data))}; the limit is {MAX_UPLOAD_MB} MB. "
            "Split it (for example by month) and import the parts one after another."
        )
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        return (
            "This is an Excel workbook, not a CSV file. In Excel choose File › Save As › "
            "'CSV UTF-8 (Comma delimited)' and upload that file."
        )
    if not file_name.lower().endswith(".csv"):
        return "Only .csv files can be imported. Save the data as 'CSV UTF-8' and upload that file."
    if not data.strip():
        return "The file is empty."
    return None


def file_size(n_bytes: int) -> str:
    """'333 bytes', '12.4 KB', '3.1 MB'."""
    if n_bytes < 1024:
        return f"{n_bytes:,} bytes"
    if n_bytes < 1024 * 1024:
        return f"{n_bytes / 1024:,.1f} KB"
    return f"{n_bytes / 1024 / 1024:,.1f} MB"


def resolve_table(choice: str, file_name: str) -> str | None:
    """The table picked in the form, or the one the file name names (meetings_2026-11.csv → meetings)."""
    return infer_table(file_name) if choice == FROM_FILE_NAME else choice


def preview_frame(data: bytes, rows: int = PREVIEW_ROWS) -> pd.DataFrame:
    """The header and the first `rows` records as text, exactly as written (short rows padded, extra
    fields shown under 'extra N'); undecodable bytes appear as �, the importer says where."""
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    records = []
    for record in reader:
        if not record:
            continue
        records.append(record)
        if len(records) >= rows:
            break
    width = max([len(header), *(len(r) for r in records)]) if header else 0
    columns = [h.strip() or f"column {i + 1}" for i, h in enumerate(header)]
    columns += [f"extra {i + 1}" for i in range(width - len(columns))]
    columns = [c if columns.count(c) == 1 else f"{c} ({i + 1})" for i, c in enumerate(columns)]
    body = [r + [""] * (width - len(r)) for r in records]
    return pd.DataFrame(body, columns=columns, dtype="string")


def issues_frame(result: ImportResult) -> pd.DataFrame:
    """Every reported error and warning: line (None for the whole file), column, rule, value, severity."""
    rows = [
        {
            "line": issue.line,
            "column": issue.column or "",
            "rule": issue.message,
            "value": issue.value if issue.value is not None else "",
            "severity": issue.severity,
        }
        for issue in [*result.errors, *result.warnings]
    ]
    df = pd.DataFrame(rows, columns=["line", "column", "rule", "value", "severity"])
    df["line"] = df["line"].astype("Int64")
    return df


def check_summary(result: ImportResult) -> tuple[str, str]:
    """(level, sentence) for a dry run: level is error / info / success."""
    if not result.ok:
        shown = len(result.errors)
        more = f" (the first {shown:,} are listed)" if result.error_count > shown else ""
        return (
            "error",
            f"{result.error_count:,} problem{'s' if result.error_count != 1 else ''} found{more}. "
            "Nothing can be imported from this file until they are fixed: correct the rows below "
            "and upload the file again.",
        )
    changes = f"{result.added:,} new, {result.updated:,} changed, {result.unchanged:,} unchanged"
    warned = f"; {len(result.warnings):,} warnings (rows kept)" if result.warnings else ""
    if not result.added and not result.updated:
        return (
            "info",
            f"All {result.rows_in_file:,} rows are valid and already in the database ({changes}): nothing to import.",
        )
    return (
        "success",
        f"All {result.rows_in_file:,} rows are valid: {changes}{warned}. Nothing is saved until you commit.",
    )


def template_csv(table: str) -> bytes:
    """A CSV template: the header row and one example row (UTF-8 with BOM, so Excel keeps accents)."""
    spec = BY_NAME[table]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(spec.column_names)
    writer.writerow([c.example for c in spec.columns])
    return buf.getvalue().encode("utf-8-sig")


def column_guide(table: str) -> pd.DataFrame:
    """One row per column of the table's CSV: type, required, the rule a value must meet, example, notes."""
    spec: TableSpec = BY_NAME[table]
    rows = []
    for c in spec.columns:
        rules = []
        if c.choices:
            rules.append("one of: " + ", ".join(c.choices))
        if c.min is not None and c.max is not None:
            rules.append(f"{c.min:g} to {c.max:g}")
        elif c.min is not None:
            rules.append(f"at least {c.min:g}")
        elif c.max is not None:
            rules.append(f"at most {c.max:g}")
        if c.ref:
            rules.append(f"must exist in {c.ref[0]}.{c.ref[1]}")
        if c.kind == "text":
            rules.append(f"up to {c.max_len:,} characters")
        rows.append(
            {
                "column": c.name,
                "type": KIND_LABELS.get(c.kind, c.kind),
                "required": "required" if c.required else "optional",
                "rule": "; ".join(rules),
                "example": c.example,
                "notes": ("key; " if c.name in spec.key else "") + c.help,
            }
        )
    return pd.DataFrame(rows)


def result_metrics(result: ImportResult) -> dict[str, int]:
    """The four numbers shown after a commit."""
    return {
        "Added": result.added,
        "Updated": result.updated,
        "Unchanged": result.unchanged,
        "Warnings": len(result.warnings),
    }


def history_pages(total: int, page_size: int = HISTORY_PAGE_SIZE) -> int:
    return max(1, math.ceil(total / page_size))


# ---------------------------------------------------------------- rendering


def _table_label(name: str) -> str:
    return name if name == FROM_FILE_NAME else f"{BY_NAME[name].label} ({name})"


def _show_issues(result: ImportResult, key: str) -> None:
    issues = issues_frame(result)
    if issues.empty:
        return
    data_table(
        issues,
        file_name=f"{result.table}_import_problems.csv",
        key=key,
        column_config={
            "line": st.column_config.NumberColumn("Line", help="Line in the file; the header is line 1"),
            "column": st.column_config.TextColumn("Column"),
            "rule": st.column_config.TextColumn("Problem", width="large"),
            "value": st.column_config.TextColumn("Value as written"),
            "severity": st.column_config.TextColumn("Severity"),
        },
    )


def _show_committed(results: list[ImportResult]) -> None:
    for r in results:
        st.success(
            f"Imported **{plain_md(r.file_name)}** into {BY_NAME[r.table].label}: "
            f"{r.rows_in_file:,} rows. Every page now shows the new data.",
            icon=":material/check_circle:",
        )
        for col, (label, value) in zip(st.columns(4), result_metrics(r).items(), strict=True):
            col.metric(label, f"{value:,}", border=True)
        if r.warnings:
            st.caption("Warnings (the rows were imported):")
            _show_issues(r, key=f"dl_commit_warnings_{r.table}")


def _import_section() -> None:
    st.session_state.setdefault("data_upload_n", 0)
    committed = st.session_state.pop("data_committed", None)
    if committed:
        _show_committed(committed)

    left, right = st.columns([2, 1])
    choice = right.selectbox(
        "Table",
        [FROM_FILE_NAME, *(s.name for s in IMPORTABLE)],
        format_func=_table_label,
        key="data_table",
        help="Leave on 'from the file name' when the file is named after its table, e.g. meetings_2026-11.csv",
    )
    upload = left.file_uploader(
        "CSV file",
        type=["csv"],
        key=f"data_upload_{st.session_state['data_upload_n']}",
        help=f"UTF-8 CSV with the template's header row, up to {MAX_UPLOAD_MB} MB.",
    )
    if upload is None:
        st.info(
            "Upload a CSV file to check it. Every row is validated and every problem listed with its line "
            "and column before anything is saved. Templates are in the Templates tab.",
            icon=":material/info:",
        )
        return
    data = upload.getvalue()
    refused = check_upload(upload.name, data)
    if refused:
        st.error(refused, icon=":material/block:")
        return
    table = resolve_table(choice, upload.name)
    if table is None:
        st.warning(
            "Cannot tell which table this file is for from its name. Pick the table above "
            "(or name the file after the table, e.g. feedback_2026-11.csv).",
            icon=":material/help:",
        )
        return
    st.markdown(
        f"**{plain_md(upload.name)}** → {BY_NAME[table].label} · {file_size(len(data))}",
    )
    st.caption(f"Preview: the header and the first {PREVIEW_ROWS} rows as written in the file.")
    st.dataframe(preview_frame(data), hide_index=True, width="stretch")

    check_key = (hashlib.sha256(data).hexdigest(), table)
    stored = st.session_state.get("data_check")
    if stored and stored[0] == check_key:
        result = stored[1]
    else:
        with st.spinner("Checking every row…"):
            try:
                result = import_files([(table, upload.name, data)], dry_run=True)[0]
            except ImportError_ as exc:
                st.error(f"The file could not be checked: {exc}", icon=":material/error:")
                return
        st.session_state["data_check"] = (check_key, result)

    level, sentence = check_summary(result)
    getattr(st, level)(sentence)
    _show_issues(result, key="dl_check_problems")
    can_commit = result.ok and bool(result.added or result.updated)
    if not st.button(
        "Commit import",
        type="primary",
        disabled=not can_commit,
        key="data_commit",
        icon=":material/upload:",
        help="Saves the whole file or nothing. Viewers keep seeing the old data until it is done.",
    ):
        if can_commit:
            st.caption(
                "Keep this page open while the import runs: leaving it or clicking elsewhere before it "
                "finishes cancels the import, and then nothing is saved."
            )
        return
    bar = st.progress(0.0, text="Starting the import…")

    def show_progress(fraction: float, message: str) -> None:
        # Each st call is a point where Streamlit may stop this run (the user clicked elsewhere); the
        # importer then discards its copy. After the swap (fraction 1.0) nothing may interrupt it.
        if fraction < 1.0:
            bar.progress(max(fraction, 0.0), text=message)

    try:
        results = import_files([(table, upload.name, data)], progress=show_progress)
    except ImportError_ as exc:
        bar.empty()
        st.error(f"The import failed: {exc}", icon=":material/error:")
        return
    cache.clear()  # every page recomputes from the new version (cache keys also carry the version)
    st.session_state.pop("data_check", None)
    done = results[0]
    if not done.committed:  # the data changed since the check (another import): show the new problems
        bar.empty()
        st.error(check_summary(done)[1])
        _show_issues(done, key="dl_commit_problems")
        return
    st.session_state["data_committed"] = results
    st.session_state["data_upload_n"] += 1  # a fresh, empty uploader
    st.rerun()


def _freshness_section() -> None:
    today = date.today()
    st.subheader("Per unit")
    units = cache.lookup(unit_freshness, as_of=today)
    stale = units[units["is_stale"].astype(bool)]
    if stale.empty:
        st.success(f"Every unit logged a meeting in the last {STALE_DAYS} days.", icon=":material/check:")
    for note in stale["note"]:
        st.warning(f"▲ {note}.", icon=":material/schedule:")
    shown = units.assign(status=["▲ stale" if s else "✓ current" for s in units["is_stale"]])
    data_table(
        shown[
            [
                "status",
                "unit_code",
                "unit_name",
                "last_meeting_date",
                "days_since_last_meeting",
                "recent_meetings_count",
                "last_staffing_month",
            ]
        ],
        file_name="unit_freshness.csv",
        key="dl_unit_freshness",
        column_config={
            "status": st.column_config.TextColumn("Status"),
            "unit_code": st.column_config.TextColumn("Unit"),
            "unit_name": st.column_config.TextColumn("Name"),
            "last_meeting_date": st.column_config.DateColumn("Latest meeting", format="D MMM YYYY"),
            "days_since_last_meeting": st.column_config.NumberColumn("Days since"),
            "recent_meetings_count": st.column_config.NumberColumn(f"Meetings, last {STALE_DAYS} days"),
            "last_staffing_month": st.column_config.DateColumn("Latest staffing month", format="MMM YYYY"),
        },
    )
    st.caption(
        f"As of today, {format_date(today)}. A unit is stale after {STALE_DAYS} days without a meeting."
    )

    st.subheader("Per table")
    tables = cache.lookup(table_freshness)
    data_table(
        tables,
        file_name="table_freshness.csv",
        key="dl_table_freshness",
        column_config={
            "table_name": None,
            "table_label": st.column_config.TextColumn("Table"),
            "row_count": st.column_config.NumberColumn("Rows", format="localized"),
            "latest_date": st.column_config.DateColumn("Latest data", format="D MMM YYYY"),
            "last_import_at": st.column_config.DatetimeColumn(
                "Last import (UTC)", format="D MMM YYYY, HH:mm"
            ),
            "last_import_by": st.column_config.TextColumn("By"),
            "last_import_file": st.column_config.TextColumn("File"),
        },
    )
    st.caption("Reference tables (divisions, units, staff, communities, organizations) have no data date.")


def _history_section() -> None:
    total = cache.lookup(import_count)
    pages = history_pages(total)
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    page = int(
        left.number_input("Page", min_value=1, max_value=pages, value=1, step=1, key="data_history_page")
    )
    first = (page - 1) * HISTORY_PAGE_SIZE + 1 if total else 0
    last = min(page * HISTORY_PAGE_SIZE, total)
    right.caption(f"Imports {first:,}–{last:,} of {total:,}, newest first · page {page} of {pages}")
    history = cache.lookup(import_history, page=page)
    history = history.assign(
        outcome=[OUTCOME_LABELS.get(o, o) for o in history["outcome"]],
        message=history["message"].fillna(""),
    )
    data_table(
        history,
        file_name=f"import_history_page_{page}.csv",
        key="dl_import_history",
        empty_message="No imports yet.",
        column_config={
            "imported_at": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY, HH:mm:ss"),
            "user_name": st.column_config.TextColumn("Who"),
            "file_name": st.column_config.TextColumn("File"),
            "table_name": st.column_config.TextColumn("Table"),
            "outcome": st.column_config.TextColumn("Outcome"),
            "rows_in_file": st.column_config.NumberColumn("Rows", format="localized"),
            "rows_added": st.column_config.NumberColumn("Added", format="localized"),
            "rows_updated": st.column_config.NumberColumn("Updated", format="localized"),
            "rows_unchanged": st.column_config.NumberColumn("Unchanged", format="localized"),
            "rows_rejected": st.column_config.NumberColumn("Rejected", format="localized"),
            "warnings_count": st.column_config.NumberColumn("Warnings", format="localized"),
            "message": st.column_config.TextColumn("First problem / note", width="large"),
        },
    )


def _templates_section() -> None:
    name = st.selectbox(
        "Template for",
        [s.name for s in IMPORTABLE],
        format_func=_table_label,
        key="data_template_table",
    )
    spec = BY_NAME[name]
    st.download_button(
        f"Download {name}.csv template",
        template_csv(name),
        file_name=f"{name}.csv",
        mime="text/csv",
        key="dl_template",
        icon=":material/download:",
    )
    st.caption(
        f"Rows are matched on {' + '.join(spec.key)}: a row whose key is already in the database "
        "replaces it, a new key adds a row, nothing is ever deleted. Import reference tables first "
        "(divisions, units, staff, communities, organizations) so that later files can refer to them."
    )
    st.dataframe(
        column_guide(name),
        hide_index=True,
        width="stretch",
        column_config={
            "column": st.column_config.TextColumn("Column"),
            "type": st.column_config.TextColumn("Type"),
            "required": st.column_config.TextColumn("Required"),
            "rule": st.column_config.TextColumn("Rule", width="large"),
            "example": st.column_config.TextColumn("Example"),
            "notes": st.column_config.TextColumn("Notes", width="medium"),
        },
    )


def main() -> None:
    require("import")  # nothing below runs for roles that may not import
    st.title("Data")
    st.caption(
        "Import CSV files, download templates, review past imports and see how current the data is. "
        "This page covers the whole database: the sidebar filters do not apply here."
    )
    # state tracked, so a check or a page change keeps the reader on the tab they are in; every tab
    # still runs, so an uploaded file waits on the Import tab while they look at History
    tab_import, tab_fresh, tab_history, tab_templates = st.tabs(
        ["Import", "Freshness", "History", "Templates"], key="data_tab", on_change="rerun"
    )
    with tab_import:
        _import_section()
    with tab_fresh:
        _freshness_section()
    with tab_history:
        _history_section()
    with tab_templates:
        _templates_section()


if __name__ == "__main__":
    main()
