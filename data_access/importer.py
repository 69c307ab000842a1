"""CSV import: validate every row, then commit all-or-nothing per file into a new database version.

Used by the first run (sample_data/), the Data page and the command line:

    python -m data_access.importer meetings.csv feedback.csv [--table T] [--user NAME] [--dry-run]
    python -m data_access.importer --sample            # (re)import sample_data/
    python -m data_access.importer --versions          # list live version and backups
    python -m data_access.importer --restore FILE      # make a backup's data live again (audited)

Rows are parsed with pyarrow (fast, strict), staged in DuckDB as text, and every
rule runs as SQL over the whole file, so a 10M-row file validates in seconds and
every error names its line and column. Values are never formatted into SQL: only
identifiers from tables.py are. See db.py for why writes go to a new version file.
"""

from __future__ import annotations

import argparse
import csv
import errno
import fcntl
import io
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from data_access import db
from data_access.rollups import refresh_derived
from data_access.schema import create_schema
from data_access.tables import BY_NAME, IMPORTABLE, Column, TableSpec

SAMPLE_DIR = db.PROJECT_ROOT / "sample_data"
MAX_REPORTED_ISSUES = 1000
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Issue:
    line: int | None  # 1-based line in the file (the header is line 1); None for file-level problems
    column: str | None
    message: str
    value: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        col = f", column {self.column}" if self.column else ""
        val = f" (value: {self.value!r})" if self.value not in (None, "") else ""
        return f"{where}{col}: {self.message}{val}"


@dataclass
class ImportResult:
    table: str
    file_name: str
    rows_in_file: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    error_count: int = 0  # may exceed len(errors), which is capped
    committed: bool = False
    message: str = ""

    @property
    def ok(self) -> bool:
        return not self.error_count

    @property
    def rejected(self) -> int:
        return self.rows_in_file if self.error_count else 0

    def summary(self) -> str:
        if self.committed:
            return (
                f"{self.file_name} → {self.table}: {self.rows_in_file} rows, {self.added} added, "
                f"{self.updated} updated, {self.unchanged} unchanged, {len(self.warnings)} warnings"
            )
        if self.ok:
            return (
                f"{self.file_name} → {self.table}: {self.rows_in_file} rows valid, would add {self.added}, "
                f"update {self.updated}, leave {self.unchanged} unchanged (dry run: nothing saved)"
            )
        errors = f"{self.error_count} error{'s' if self.error_count != 1 else ''}"
        return f"{self.file_name} → {self.table}: rejected, {errors}; database unchanged"


class ImportError_(Exception):
    """A whole import could not run (lock, disk, database); the live data is unchanged."""


# ---------------------------------------------------------------- parsing


def _decode_check(data: bytes) -> Issue | None:
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return Issue(line, None, "the file is not UTF-8 text; save it as 'CSV UTF-8' and try again")


def _header(data: bytes) -> list[str]:
    first = io.StringIO(data.decode("utf-8", errors="replace"))
    return next(csv.reader(first), [])


def _locate_parse_error(data: bytes, width: int) -> Issue:
    """pyarrow says what is wrong but not always where; re-read with csv to name the line."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), strict=True)
    try:
        for record in reader:
            if record and len(record) != width:
                return Issue(
                    reader.line_num,
                    None,
                    f"expected {width} fields, found {len(record)} (check quoting and commas)",
                )
    except csv.Error as exc:
        return Issue(reader.line_num, None, f"malformed CSV: {exc}")
    return Issue(None, None, "malformed CSV")


def parse_csv(data: bytes, spec: TableSpec) -> tuple[pa.Table | None, list[Issue]]:
    """Read CSV bytes as text columns; file-level problems come back as issues."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        return None, [Issue(None, None, "the file is empty")]
    bad = _decode_check(data)
    if bad:
        return None, [bad]
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        return None, [
            Issue(line, None, "the file contains NUL bytes, so it is not CSV text; save it as 'CSV UTF-8'")
        ]
    header = [h.strip() for h in _header(data)]
    expected = spec.column_names
    problems: list[Issue] = []
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        problems.append(Issue(1, ", ".join(dupes), "column appears more than once in the header"))
    unknown = [h for h in header if h not in expected]
    if unknown:
        problems.append(
            Issue(1, ", ".join(unknown), f"unknown column; {spec.name} expects: {', '.join(expected)}")
        )
    missing = [c.name for c in spec.columns if c.required and c.name not in header]
    if missing:
        problems.append(Issue(1, ", ".join(missing), "required column is missing from the header"))
    if problems:
        return None, problems
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None, [_locate_parse_error(data, len(header))]
    if table.num_rows == 0:
        return None, [Issue(None, None, "the file has a header but no data rows")]
    for col in spec.columns:  # optional columns left out of the file are empty
        if col.name not in header:
            table = table.append_column(col.name, pa.array([""] * table.num_rows, pa.string()))
    lines = _record_lines(data, table.num_rows)
    return table.select(list(expected)).append_column("_line", lines), []


def _record_lines(data: bytes, n_rows: int) -> pa.Array:
    """The line each data record starts on (header = line 1), so errors point at the right line even
    when a quoted value spans lines or blank lines are skipped."""
    body = data.rstrip(b"\r\n")
    if body.count(b"\n") + 1 == n_rows + 1 and body.count(b"\r") == body.count(b"\r\n"):
        return pa.array(range(2, n_rows + 2), pa.int64())  # one record per line: the common, fast case
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    next(reader, None)
    starts, last_end = [], reader.line_num
    for record in reader:
        if record:
            starts.append(last_end + 1)
        last_end = reader.line_num
    if len(starts) != n_rows:  # the csv module and pyarrow disagree on records: fall back to row order
        return pa.array(range(2, n_rows + 2), pa.int64())
    return pa.array(starts, pa.int64())


# ---------------------------------------------------------------- typed view of the staged text

_TRUE = "('true','yes','y','1','t')"
_FALSE = "('false','no','n','0','f')"


def _raw(col: Column) -> str:
    return f"nullif(trim(s.{col.name}), '')"


def _typed(col: Column) -> str:
    v = _raw(col)
    match col.kind:
        case "text":
            return v
        case "int":
            return f"case when regexp_full_match({v}, '[+-]?[0-9]{{1,9}}') then cast({v} as integer) end"
        case "float":
            return f"case when isfinite(try_cast({v} as double)) then try_cast({v} as double) end"
        case "date":
            return (
                f"case when regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
                f"then cast(try_strptime({v}, '%Y-%m-%d') as date) end"
            )
        case "month":
            return (
                f"case when regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}(-01)?') "
                f"then cast(try_strptime(left({v}, 7) || '-01', '%Y-%m-%d') as date) end"
            )
        case "time":
            return (
                f"coalesce(cast(try_strptime({v}, '%H:%M') as time), "
                f"cast(try_strptime({v}, '%H:%M:%S') as time))"
            )
        case "bool":
            return f"case when lower({v}) in {_TRUE} then true when lower({v}) in {_FALSE} then false end"
        case "tags":
            return f"list_filter(list_transform(string_split(coalesce({v}, ''), ';'), lambda x: trim(x)), lambda x: x <> '')"
    raise ValueError(col.kind)


_EXPECTED = {
    "int": "a whole number",
    "float": "a number",
    "date": "a date as YYYY-MM-DD",
    "month": "a month as YYYY-MM",
    "time": "a time as HH:MM",
    "bool": "yes/no or true/false",
}


def _column_checks(col: Column) -> Iterator[tuple[str, str]]:
    """(violation predicate over stage alias s / typed alias r, message) for one column."""
    raw, typed = _raw(col), f"r.{col.name}"
    if col.required:
        yield f"{raw} is null", "required value is missing"
    if col.kind in _EXPECTED:
        yield f"{raw} is not null and {typed} is null", f"not {_EXPECTED[col.kind]}"
    if col.kind in ("date", "month"):
        yield (
            f"{typed} is not null and ({typed} < date '2000-01-01' or {typed} > date '2100-01-01')",
            "date is outside 2000–2100",
        )
    if col.kind == "text":
        yield f"length({raw}) > {col.max_len}", f"longer than {col.max_len} characters"
    if col.min is not None:
        yield f"{typed} < {col.min}", f"below the minimum of {col.min:g}"
    if col.max is not None:
        yield f"{typed} > {col.max}", f"above the maximum of {col.max:g}"
    if col.choices:
        allowed = ", ".join(col.choices)
        quoted = ", ".join(f"'{c}'" for c in col.choices)
        yield f"{typed} is not null and {typed} not in ({quoted})", f"not one of: {allowed}"
    if col.ref:
        ref_table, ref_col = col.ref
        if col.kind == "tags":
            # the lines with an id not in the reference table, found once by a join over the unnested
            # ids (list_has_all against the whole id list per row is O(rows × ids): hours at scale L)
            yield (
                f"r._line in (select t._line from (select _line, unnest({col.name}) as x from typed) t "
                f"where t.x not in (select {ref_col} from {ref_table}))",
                f"contains an id not found in {ref_table}",
            )
        else:
            yield (
                f"{typed} is not null and {typed} not in (select {ref_col} from {ref_table})",
                f"unknown {ref_col}: not found in {ref_table}",
            )


def _typed_select(spec: TableSpec) -> str:
    cols = ",\n    ".join(f"{_typed(c)} as {c.name}" for c in spec.columns)
    return f"select\n    s._line,\n    {cols}\nfrom stage s"


def _issues_query(spec: TableSpec) -> str:
    parts = []
    for col in spec.columns:
        for predicate, message in _column_checks(col):
            parts.append(
                f"select s._line, '{col.name}' as col, '{_sql_str(message)}' as msg, s.{col.name} as val, "
                f"'error' as sev from stage s join typed r using (_line) where {predicate}"
            )
    for rule in spec.rules:
        parts.append(
            f"select s._line, '{rule.column}', '{_sql_str(rule.message)}', s.{rule.column}, '{rule.severity}' "
            f"from stage s join typed r using (_line) where {rule.violation}"
        )
    key = ", ".join(f"r.{k}" for k in spec.key)
    parts.append(
        f"""select _line, '{", ".join(spec.key)}', 'duplicate key: the same ' || '{"/".join(spec.key)}'
               || ' is also on line ' || other_line, key_text, 'error'
            from (
                select r._line, concat_ws(' / ', {key}) as key_text,
                       min(r._line) over (partition by {key}) as other_line
                from typed r
            ) where _line <> other_line"""
    )
    return "\nunion all\n".join(parts)


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


# ---------------------------------------------------------------- applying one file


def _apply_file(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, rows: pa.Table, result: ImportResult, commit: bool
) -> None:
    con.register("stage_arrow", rows)
    con.execute("create or replace temp table stage as select * from stage_arrow")
    con.unregister("stage_arrow")
    con.execute(f"create or replace temp table typed as {_typed_select(spec)}")
    found = con.execute(
        f"select _line, col, msg, val, sev from ({_issues_query(spec)}) order by _line, col"
    ).fetchall()
    for line, col, msg, val, sev in found:
        issue = Issue(line, col, msg, val, sev)
        if sev == "error":
            result.error_count += 1
            if len(result.errors) < MAX_REPORTED_ISSUES:
                result.errors.append(issue)
        elif len(result.warnings) < MAX_REPORTED_ISSUES:
            result.warnings.append(issue)
    if result.error_count:
        return
    key_match = " and ".join(f"t.{k} = r.{k}" for k in spec.key)
    same_row = " and ".join(f"t.{c} is not distinct from r.{c}" for c in spec.column_names)
    con.execute(
        f"""create or replace temp table diff as
            select r.*, case
                when not exists (select 1 from {spec.name} t where {key_match}) then 'added'
                when exists (select 1 from {spec.name} t where {key_match} and {same_row}) then 'unchanged'
                else 'updated' end as change
            from typed r"""
    )
    counts = dict(con.execute("select change, count(*) from diff group by change").fetchall())
    result.added = counts.get("added", 0)
    result.updated = counts.get("updated", 0)
    result.unchanged = counts.get("unchanged", 0)
    if not commit:
        return
    cols = ", ".join(spec.column_names)
    con.execute(f"delete from {spec.name} t using diff r where r.change = 'updated' and {key_match}")
    con.execute(
        f"insert into {spec.name} ({cols}) select {cols} from diff where change in ('added', 'updated')"
    )
    refresh_derived(con, spec.name)


def _audit(con: duckdb.DuckDBPyConnection, result: ImportResult, user: str) -> None:
    con.execute(
        "insert into imports values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            str(uuid.uuid4()),
            datetime.now(UTC).replace(tzinfo=None),
            user,
            result.file_name,
            result.table,
            result.rows_in_file,
            result.added,
            result.updated,
            result.unchanged,
            result.rejected,
            len(result.warnings),
            "committed" if result.committed else "rejected",
            result.message or (str(result.errors[0]) if result.errors else None),
        ],
    )


# ---------------------------------------------------------------- the whole import


@contextmanager
def _writer_lock(link: Path, wait_s: float = 120.0) -> Iterator[None]:
    """One importer at a time across processes; viewers never take this lock."""
    link.parent.mkdir(parents=True, exist_ok=True)
    with open(link.with_name(f".{link.name}.import.lock"), "w") as fh:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ImportError_("another import is still running; try again in a minute") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def infer_table(file_name: str) -> str | None:
    stem = Path(file_name).stem.lower()
    for spec in sorted(IMPORTABLE, key=lambda s: -len(s.name)):
        if stem == spec.name or stem.startswith(spec.name + "_") or stem.startswith(spec.name + "-"):
            return spec.name
    return None


BUILDING_SUFFIX = ".building"


def _version_name(link: Path, changed: bool) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    mark = "" if changed else db.NO_CHANGE_MARK
    return db.versions_dir(link) / f"{link.stem}.{stamp}-{os.getpid()}{mark}.duckdb"


def _remove_orphans(link: Path) -> None:
    """Half-built files left by a killed import. Only called under the writer lock, so none is in use."""
    for leftover in db.versions_dir(link).glob(f"{link.stem}.*{BUILDING_SUFFIX}*"):
        leftover.unlink(missing_ok=True)


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)


def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back if a transaction is open; after a fatal error DuckDB has none, and the original error matters."""
    try:
        con.execute("rollback")
    except duckdb.Error:
        pass


def _close_quietly(con: duckdb.DuckDBPyConnection | None) -> None:
    if con is None:
        return
    try:
        con.close()
    except duckdb.Error:
        pass


def _failure(exc: BaseException, folder: Path) -> ImportError_:
    """A clear, user-facing reason for an import that could not be written."""
    text = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
    no_space = (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or any(
        s in text for s in ("No space left", "Disk quota exceeded", "ENOSPC")
    )
    if no_space:
        return ImportError_(
            f"the disk holding the database ({folder}) is full; free some space and import again. "
            "Nothing was imported: the data is unchanged."
        )
    return ImportError_(f"the import could not be written ({text.splitlines()[0]}); the data is unchanged")


@contextmanager
def _new_version(link: Path, source: Path | None) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    """A read-write copy of `source` under a `.building` name; removed unless the caller renames it.

    Must run under the writer lock. Disk and database errors become ImportError_.
    """
    folder = db.versions_dir(link)
    folder.mkdir(parents=True, exist_ok=True)
    _remove_orphans(link)
    building = folder / f"{link.stem}.{uuid.uuid4().hex}{BUILDING_SUFFIX}"
    con = None
    try:
        if source is not None:
            shutil.copyfile(source, building)
        con = duckdb.connect(str(building))
        create_schema(con)
        yield con, building
    except (OSError, duckdb.Error) as exc:
        raise _failure(exc, folder) from exc
    finally:
        _close_quietly(con)
        _discard(building)


def _publish(con: duckdb.DuckDBPyConnection, building: Path, link: Path, changed: bool) -> None:
    """Close the build, name it as a version and make it live. Until the link moves, nothing is visible."""
    con.execute("checkpoint")
    con.close()
    final = _version_name(link, changed)
    db.finish_version(building, final)
    try:
        db.publish_version(link, final)
    except BaseException:
        _discard(final)
        raise


def _prune_quietly(link: Path) -> None:
    """Drop old backups; the import is already live, so a failure here must not report it as failed."""
    try:
        db.prune_versions(link)
    except OSError as exc:
        print(f"warning: could not prune old versions: {exc}", file=sys.stderr)


def import_files(
    files: Iterable[tuple[str, str, bytes]],
    *,
    user: str = "cli",
    url: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> list[ImportResult]:
    """Import (table, file_name, bytes) triples; each file commits whole or not at all.

    The files are applied in dependency order to a copy of the live database, which
    becomes live only after it is closed. With dry_run the copy is thrown away, so
    a later file is checked against the earlier files of the same batch, exactly as
    the real import would. Raises ImportError_ (data unchanged) when the import
    cannot run or be written: another import holds the lock, the disk is full.
    """
    link = db.database_path(url)
    order = [s.name for s in IMPORTABLE]
    ordered = sorted(files, key=lambda f: order.index(f[0]))
    results: list[ImportResult] = []
    report = progress or (lambda _f, _m: None)
    with _writer_lock(link):
        report(0.02, "Copying the current database")
        with _new_version(link, db.current_version(link)) as (con, building):
            for i, (table, file_name, data) in enumerate(ordered):
                spec = BY_NAME[table]
                report(0.05 + 0.85 * i / max(len(ordered), 1), f"Checking {file_name}")
                result = ImportResult(table, file_name)
                rows, problems = parse_csv(data, spec)
                if problems:
                    result.errors, result.error_count = problems, len(problems)
                else:
                    assert rows is not None
                    result.rows_in_file = rows.num_rows
                    con.execute("begin")
                    try:
                        _apply_file(con, spec, rows, result, commit=True)
                        if result.ok:
                            result.committed = not dry_run
                            if not dry_run:
                                _audit(con, result, user)
                            con.execute("commit")
                        else:
                            con.execute("rollback")
                    except BaseException:
                        _rollback_quietly(con)
                        raise
                if not result.ok and not dry_run:
                    _audit(con, result, user)
                results.append(result)
            if not dry_run:
                report(0.92, "Writing the new version")
                _publish(con, building, link, changed=any(r.committed for r in results))
        if not dry_run:
            _prune_quietly(link)
    report(1.0, "Done")
    return results


def _find_version(link: Path, version: str | Path) -> Path:
    """A complete backup version, given by file name or path."""
    wanted = Path(version)
    candidates = db.list_versions(link)
    for v in candidates:
        if v.name == wanted.name and (not wanted.parent.parts or wanted.resolve() == v.resolve()):
            return v
    raise ImportError_(f"{version} is not a version of this database; list them with --versions")


def restore(version: str | Path, *, user: str = "cli", url: str | None = None) -> Path:
    """Make a backup's data live again, as a new version (the backup itself stays untouched).

    The import history of the replaced version is carried over and the restore is audited, so the
    history shows what was undone. Returns the backup that was restored.
    """
    link = db.database_path(url)
    with _writer_lock(link):
        source = _find_version(link, version)
        live = db.current_version(link)
        with _new_version(link, source) as (con, building):
            if live is not None and live != source:
                con.execute("attach ? as previous (read_only)", [str(live)])
                con.execute(
                    "insert into imports select * from previous.imports "
                    "where import_id not in (select import_id from imports)"
                )
                con.execute("detach previous")
            con.execute(
                "insert into imports values (?, ?, ?, ?, '*', 0, 0, 0, 0, 0, 0, 'restored', ?)",
                [
                    str(uuid.uuid4()),
                    datetime.now(UTC).replace(tzinfo=None),
                    user,
                    source.name,
                    f"restored the data of backup {source.name}",
                ],
            )
            _publish(con, building, link, changed=True)
        _prune_quietly(link)
    return source


def sample_files() -> list[tuple[str, str, bytes]]:
    files = []
    for spec in IMPORTABLE:
        path = SAMPLE_DIR / f"{spec.name}.csv"
        if path.exists():
            files.append((spec.name, path.name, path.read_bytes()))
    return files


def ensure_database(url: str | None = None) -> bool:
    """First run: build the database from sample_data/ through the normal import path. True if built."""
    link = db.database_path(url)
    if db.current_version(link) is not None:
        return False
    with _writer_lock(link):
        if db.current_version(link) is not None:  # another process built it while we waited
            return False
    results = import_files(sample_files(), user="first-run", url=url)
    failed = [r for r in results if not r.committed]
    if failed:
        raise ImportError_(
            "sample data did not import: " + "; ".join(str(e) for r in failed for e in r.errors[:3])
        )
    return True


def _progress(fraction: float, message: str) -> None:
    print(f"{fraction:4.0%} {message}", file=sys.stderr, flush=True)


def _print_versions(link: Path) -> None:
    """The versions, oldest first; `*` marks the live one. Any of the others can be passed to --restore."""
    live = db.current_version(link)
    for v in db.list_versions(link):
        when = datetime.fromtimestamp(v.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
        notes = ["live" if v == live else "backup"]
        if db.is_no_change_version(v):
            notes.append("no data change: a rejected import's audit row")
        mark = "*" if v == live else " "
        print(f"{mark} {v.name}  {when}  {v.stat().st_size / 1e6:,.1f} MB  ({'; '.join(notes)})")
    print(f"folder: {db.versions_dir(link)}")


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m data_access.importer", description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--table", choices=sorted(BY_NAME), help="table for every file (default: from file name)")
    ap.add_argument("--user", default=os.environ.get("USER", "cli"))
    ap.add_argument("--db", help="SQLAlchemy URL (default: env CED_DATABASE_URL or data/engagement.duckdb)")
    ap.add_argument("--dry-run", action="store_true", help="validate only; change nothing")
    ap.add_argument("--sample", action="store_true", help="import every CSV in sample_data/")
    ap.add_argument("--versions", action="store_true", help="list the live version and backups")
    ap.add_argument(
        "--restore", metavar="FILE", help="make this backup (name or path from --versions) live again"
    )
    ap.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args(argv)
    link = db.database_path(args.db)
    if args.versions:
        _print_versions(link)
        return 0
    if args.restore:
        try:
            source = restore(args.restore, user=args.user, url=args.db)
        except ImportError_ as exc:
            print(f"restore failed: {exc}", file=sys.stderr)
            return 2
        print(f"restored {source.name}; it is live now (as {db.current_version(link).name})")
        return 0
    files: list[tuple[str, str, bytes]] = sample_files() if args.sample else []
    for path in args.files:
        table = args.table or infer_table(path.name)
        if table is None:
            ap.error(f"cannot tell the table of {path.name}; name it after the table or pass --table")
        try:
            files.append((table, path.name, path.read_bytes()))
        except OSError as exc:
            print(f"{path}: cannot read ({exc.strerror})", file=sys.stderr)
            return 2
    if not files:
        ap.error("no files to import")
    try:
        results = import_files(
            files,
            user=args.user,
            url=args.db,
            dry_run=args.dry_run,
            progress=None if args.quiet else _progress,
        )
    except ImportError_ as exc:
        print(f"import failed: {exc}", file=sys.stderr)
        return 2
    status = 0
    for r in results:
        print(r.summary())
        for issue in r.errors[:50]:
            print(f"  error   {r.file_name} {issue}")
        if r.error_count > 50:
            print(f"  … {r.error_count - 50} more errors")
        for issue in r.warnings[:20]:
            print(f"  warning {r.file_name} {issue}")
        status = status or (0 if r.ok else 1)
    return status


if __name__ == "__main__":
    raise SystemExit(_main())
