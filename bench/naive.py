"""The baselines, each in its own process (so the pandas memory is measured alone, and the raw
DuckDB connection does not share a database instance with the app's SQLAlchemy engine):

    python -m bench.naive pandas DB_FILE FILTERS_JSON REPEAT   → one JSON line on stdout
    python -m bench.naive raw DB_FILE FILTERS_JSON REPEAT

pandas: loads every table into pandas (what a "load once, filter in pandas" dashboard keeps in
memory), then times each page's aggregates (bench.baselines) at each filter; reports the load
time, the resident memory after loading and the peak.
raw: the same aggregates as hand-written SQL on a plain read-only duckdb connection (2 threads,
as the app's engine).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import date

from bench import baselines
from bench.server import vm_status


def _params(f: dict) -> dict:
    return baselines.params_for(
        date.fromisoformat(f["start"]),
        date.fromisoformat(f["end"]),
        f["communities"],
        f["divisions"],
        f["units"],
    )


def main() -> None:
    import duckdb

    mode, db_file, filters_json, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    filters = {name: _params(f) for name, f in json.loads(filters_json).items()}
    con = duckdb.connect(db_file, read_only=True, config={"threads": 2})
    if mode == "raw":
        out_raw: dict = {"pages": {}}
        for page, make in baselines.PAGE_AGGREGATES.items():
            for fname, p in filters.items():
                seconds, rows = baselines.time_sql(con, make(), p, repeat)
                out_raw["pages"][f"{page}|{fname}"] = {"seconds": seconds, "rows": rows}
        print(json.dumps(out_raw))
        return
    t0 = time.perf_counter()
    tables = baselines.load_tables(con)
    load_s = time.perf_counter() - t0
    con.close()
    after_load = vm_status(os.getpid())
    out: dict = {"load_s": load_s, "rss_after_load_mb": after_load.get("VmRSS"), "pages": {}}
    for page, make in baselines.PAGE_AGGREGATES.items():
        aggs = make()
        for fname, p in filters.items():
            try:
                out["pages"][f"{page}|{fname}"] = baselines.time_pandas(tables, aggs, p, repeat)
            except Exception as exc:  # noqa: BLE001 - a broken baseline is reported, not fatal
                out["pages"][f"{page}|{fname}"] = f"error: {type(exc).__name__}: {exc}"[:300]
    out["hwm_mb"] = vm_status(os.getpid()).get("VmHWM")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
