"""DuckDB DDL, generated from the table declarations in tables.py.

Natural keys are PRIMARY KEYs so a re-import can upsert by key. References are
checked by the importer (with row and column in the message) rather than by
FOREIGN KEY constraints, which in DuckDB would forbid updating a referenced row.
"""

from __future__ import annotations

import duckdb

from data_access.tables import IMPORTABLE, TableSpec

SCHEMA_VERSION = 1

IMPORTS_DDL = """
create table if not exists imports (
    import_id      varchar primary key,
    imported_at    timestamp not null,
    user_name      varchar not null,
    file_name      varchar not null,
    table_name     varchar not null,
    rows_in_file   integer not null,
    rows_added     integer not null,
    rows_updated   integer not null,
    rows_unchanged integer not null,
    rows_rejected  integer not null,
    warnings_count integer not null,
    outcome        varchar not null,   -- committed | rejected
    message        varchar
)
"""

META_DDL = """
create table if not exists schema_meta (
    key   varchar primary key,
    value varchar not null
)
"""


def table_ddl(spec: TableSpec) -> str:
    cols = [f"    {c.name} {c.sql_type}{' not null' if c.required else ''}" for c in spec.columns]
    cols += [f"    {name} {sql_type}" for name, sql_type in spec.derived]
    cols.append(f"    primary key ({', '.join(spec.key)})")
    return f"create table if not exists {spec.name} (\n" + ",\n".join(cols) + "\n)"


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    for spec in IMPORTABLE:
        con.execute(table_ddl(spec))
    con.execute(IMPORTS_DDL)
    con.execute(META_DDL)
    con.execute("insert or replace into schema_meta values ('schema_version', ?)", [str(SCHEMA_VERSION)])
