"""Benchmark data: each scale's CSVs (the sample generator) imported through the real importer.

Both steps are cached under bench/.cache/<scale>/ (git-ignored, never committed): `csv/` holds
the generated files, `db/` the imported database. A stamp file records a hash of the code that
made each: a change to the generator rebuilds the CSVs, a change to the schema or table
declarations re-imports, and a change to data_access/rollups.py only rebuilds the roll-ups (in a
new database version, as `python -m data_access.rollups` does). A change to the importer's
validation alone does not re-import (it does not change what is stored). Heavy work runs in a
child process at the lowest CPU priority (`nice -n 19`): other people share the machine.

Scale `sample` is the committed sample_data/ itself (no generation): the fast smoke scale.

    python -m bench.data --scale M           # prepare one scale (what bench.run does first)
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
SCALES = ("sample", "S", "M", "L")
GENERATOR_CODE = ("sample_data/generate.py",)
IMPORT_CODE = ("data_access/schema.py", "data_access/tables.py")  # what shapes the imported tables
ROLLUP_CODE = ("data_access/rollups.py",)
# Big files are fed to the importer in parts of this many rows (each part a file of the same
# table, all in one import) so that one part's text, not the whole 50M-row file, is in memory.
PART_ROWS = 10_000_000


def _hash(paths: tuple[str, ...]) -> str:
    """Of the code's syntax tree: reformatting or a comment does not invalidate hours of cache."""
    h = hashlib.sha256()
    for p in paths:
        h.update(ast.dump(ast.parse((ROOT / p).read_text())).encode())
    return h.hexdigest()[:16]


def csv_dir(scale: str) -> Path:
    return ROOT / "sample_data" if scale == "sample" else CACHE / scale / "csv"


def db_path(scale: str) -> Path:
    return CACHE / scale / "db" / "engagement.duckdb"


def db_url(scale: str) -> str:
    return f"duckdb:///{db_path(scale)}"


def _stamp(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ensure_csv(scale: str) -> float | None:
    """Generate the scale's CSVs unless cached; the seconds it took, or None when cached."""
    if scale == "sample":
        return None
    out = csv_dir(scale)
    stamp_file = out / ".stamp.json"
    want = _hash(GENERATOR_CODE)
    if _stamp(stamp_file).get("generator") == want:
        return None
    _log(f"generating scale {scale} into {out} (nice -n 19)")
    out.mkdir(parents=True, exist_ok=True)
    stamp_file.unlink(missing_ok=True)
    t0 = time.perf_counter()
    cmd = [
        "nice",
        "-n",
        "19",
        sys.executable,
        "-m",
        "sample_data.generate",
        "--scale",
        scale,
        "--out",
        str(out),
    ]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    took = time.perf_counter() - t0
    stamp_file.write_text(json.dumps({"generator": want, "seconds": round(took, 1)}))
    return took


def ensure_db(scale: str, reuse: bool = False) -> dict:
    """Import the scale's CSVs unless the cached database matches the code; returns the import stamp
    (seconds per file, when it was built). `reuse` keeps any cached database whatever the code."""
    path = db_path(scale)
    stamp_file = path.parent / ".stamp.json"
    want = {"generator": _hash(GENERATOR_CODE), "importer": _hash(IMPORT_CODE)}
    have = _stamp(stamp_file)
    if path.exists() and (reuse or all(have.get(k) == v for k, v in want.items())):
        if have.get("rollups") != _hash(ROLLUP_CODE):
            _log(f"rebuilding the roll-ups of scale {scale} (nice -n 19)")
            cmd = ["nice", "-n", "19", sys.executable, "-m", "bench.data", "--scale", scale, "--rollups-only"]
            subprocess.run(cmd, cwd=ROOT, check=True)
            have = _stamp(stamp_file)
        return {**have, "stale": any(have.get(k) != v for k, v in want.items())}
    _log(f"importing scale {scale} through data_access.importer (nice -n 19)")
    cmd = ["nice", "-n", "19", sys.executable, "-m", "bench.data", "--scale", scale, "--import-only"]
    subprocess.run(cmd, cwd=ROOT, check=True)
    return {**_stamp(stamp_file), "stale": False}


def _rebuild_rollups(scale: str) -> None:
    """Child process: the roll-ups rebuilt in a new version of the cached database (data unchanged)."""
    from data_access.rollups import publish_with_rollups

    stamp_file = db_path(scale).parent / ".stamp.json"
    # the code this process loaded: an edit made during a long rebuild leaves the stamp stale
    built_from = _hash(ROLLUP_CODE)
    t0 = time.perf_counter()
    publish_with_rollups(db_url(scale))
    stamp = _stamp(stamp_file)
    stamp["rollups"] = built_from
    stamp["rollups_seconds"] = round(time.perf_counter() - t0, 1)
    stamp["db_mb"] = round(db_path(scale).resolve().stat().st_size / 1e6)
    stamp_file.write_text(json.dumps(stamp, indent=1))
    _log(f"roll-ups of scale {scale} rebuilt in {stamp['rollups_seconds']:.0f}s")


class _LazyFile:
    """A (table, file_name, bytes) triple whose bytes are read only when the importer unpacks it,
    so one part of a big file is in memory at a time, not all of them."""

    def __init__(self, table: str, name: str, path: Path, span: tuple[int, int] | None = None) -> None:
        self.table, self.name, self.path, self.span = table, name, path, span

    def __getitem__(self, i: int) -> object:
        return (self.table, self.name)[i] if i < 2 else self.data()

    def __len__(self) -> int:
        return 3

    def __iter__(self) -> Iterator[object]:
        yield self.table
        yield self.name
        yield self.data()

    def data(self) -> bytes:
        if self.span is None:
            return self.path.read_bytes()
        start, end = self.span  # byte range of whole lines after the header
        with self.path.open("rb") as fh:
            header = fh.readline()
            fh.seek(start)
            return header + fh.read(end - start)


def _part_spans(path: Path, rows: int) -> list[tuple[int, int]]:
    """Byte ranges of consecutive runs of `rows` data lines (the header excluded)."""
    spans: list[tuple[int, int]] = []
    with path.open("rb") as fh:
        pos = start = len(fh.readline())
        lines = 0
        while block := fh.read(1 << 24):
            at = 0
            while True:
                count = block.count(b"\n", at)
                if lines + count < rows:
                    lines += count
                    break
                for _ in range(rows - lines):  # the boundary is in this block: walk to it
                    at = block.index(b"\n", at) + 1
                spans.append((start, pos + at))
                start, lines = pos + at, 0
            pos += len(block)
    if pos > start:
        spans.append((start, pos))
    return spans


def import_files_for(scale: str) -> list[_LazyFile]:
    """Every table's CSV; big ones split into parts of PART_ROWS lines. The generator writes one
    record per line (no quoted newlines), so splitting on lines keeps every record whole."""
    from data_access.tables import IMPORTABLE

    files = []
    for spec in IMPORTABLE:
        path = csv_dir(scale) / f"{spec.name}.csv"
        if not path.exists():
            continue
        spans = _part_spans(path, PART_ROWS) if path.stat().st_size > 500_000_000 else []
        if len(spans) <= 1:
            files.append(_LazyFile(spec.name, path.name, path))
            continue
        for k, span in enumerate(spans, start=1):
            files.append(_LazyFile(spec.name, f"{spec.name}_part{k:02d}.csv", path, span))
    return files


def _import(scale: str) -> None:
    """Child process: a fresh database from the scale's CSVs through import_files, timed per file."""
    from data_access.importer import import_files

    path = db_path(scale)
    stamp_file = path.parent / ".stamp.json"
    stamp_file.unlink(missing_ok=True)
    if path.parent.exists():
        for old in sorted(path.parent.rglob("*"), reverse=True):
            if old.is_file() or old.is_symlink():
                old.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    files = import_files_for(scale)
    if not files:  # an empty database would pass for a cached one: refuse instead
        raise SystemExit(f"no CSVs in {csv_dir(scale)}: generate them first (bench.data.prepare)")
    marks: list[tuple[float, str]] = []
    t0 = time.perf_counter()

    def progress(_fraction: float, message: str) -> None:
        marks.append((time.perf_counter() - t0, message))
        _log(f"  {marks[-1][0]:7.1f}s {message}")

    results = import_files(files, user="bench", url=f"duckdb:///{path}", progress=progress)
    total = time.perf_counter() - t0
    failed = [r for r in results if not r.committed]
    if failed:
        raise SystemExit("import failed: " + "; ".join(r.summary() for r in failed))
    per_file = {}
    for (t_a, msg), (t_b, _next) in zip(marks, marks[1:], strict=False):
        if msg.startswith("Checking "):
            per_file[msg.removeprefix("Checking ")] = round(t_b - t_a, 1)
    rows = {r.file_name: r.rows_in_file for r in results}
    peak_kb = _vm_hwm_kb(os.getpid())
    stamp = {
        "generator": _hash(GENERATOR_CODE),
        "importer": _hash(IMPORT_CODE),
        "rollups": _hash(ROLLUP_CODE),
        "seconds": round(total, 1),
        "seconds_per_file": per_file,
        "rows_per_file": rows,
        "peak_rss_mb": round(peak_kb / 1024) if peak_kb else None,
        "built_at": time.strftime("%Y-%m-%d %H:%M"),
        "db_mb": round(Path(path).resolve().stat().st_size / 1e6),
    }
    stamp_file.write_text(json.dumps(stamp, indent=1))
    _log(f"imported scale {scale} in {total:.0f}s")


def _vm_hwm_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def prepare(scale: str, reuse: bool = False) -> dict:
    """CSV + database for one scale, from the cache when possible; the import stamp."""
    gen_s = ensure_csv(scale)
    stamp = ensure_db(scale, reuse=reuse)
    if gen_s is not None:
        stamp["generated_seconds"] = round(gen_s, 1)
    gen = _stamp(csv_dir(scale) / ".stamp.json") if scale != "sample" else {}
    stamp.setdefault("generated_seconds", gen.get("seconds"))
    return stamp


def main() -> None:
    ap = argparse.ArgumentParser(description="prepare one benchmark scale")
    ap.add_argument("--scale", choices=SCALES, required=True)
    ap.add_argument("--import-only", action="store_true", help="(child) import the cached CSVs")
    ap.add_argument("--rollups-only", action="store_true", help="(child) rebuild the roll-ups only")
    ap.add_argument("--reuse", action="store_true", help="keep a cached database even if the code changed")
    args = ap.parse_args()
    if args.import_only:
        _import(args.scale)
    elif args.rollups_only:
        _rebuild_rollups(args.scale)
    else:
        print(json.dumps(prepare(args.scale, reuse=args.reuse), indent=1))


if __name__ == "__main__":
    main()
