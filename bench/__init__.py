"""`make bench`: how fast the dashboard is at the S, M and L data scales (SPEC §6).

    python -m bench.run                      # S, M and L; every measurement
    python -m bench.run --scales S,M         # a subset
    python -m bench.run --scales sample --quick   # the committed sample, a fast smoke run

Modules:
- data     — generates each scale's CSVs with the sample generator and imports them through the
             real importer; both are cached under bench/.cache/ (git-ignored) and rebuilt when the
             generator or the import code changes;
- pages    — records every page's query set by running the page through Streamlit's AppTest,
             then times the set (replayed on one connection), the whole server-side rerun
             (AppTest, query cache cleared) and the rows each query returns to Python;
- raw      — the same aggregates as hand-written SQL on the raw tables, straight on DuckDB;
- naive    — the same aggregates the naive way: load the tables into pandas, filter and group;
- server   — a real `streamlit run` server: peak RSS after loading every page, and the time from a
             browser's goto until the Overview's first KPI is visible after a server start;
- report   — the human-readable table written to bench/results/latest.md.
"""
