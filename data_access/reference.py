"""Small lookups every page shares: display names, the data's latest date, last import."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.engine import Connection

from data_access.db import read_frame


def reference_names(conn: Connection) -> dict[str, dict[str, str]]:
    """Code → display name for communities, divisions and units (small lookup tables)."""
    out: dict[str, dict[str, str]] = {}
    for kind, sql in (
        ("communities", "select community_id, name from communities order by name"),
        ("divisions", "select division_code, name from patrol_divisions order by name"),
        ("units", "select unit_code, name from units order by unit_code"),
    ):
        df = read_frame(conn, sql)
        out[kind] = dict(zip(df.iloc[:, 0], df.iloc[:, 1], strict=True))
    return out


def latest_data_date(conn: Connection) -> date | None:
    """The anchor for period presets: the latest meeting or response date in the database."""
    return read_frame(
        conn,
        "select greatest((select max(meeting_date) from meetings), (select max(response_date) from feedback)) as d",
    ).iat[0, 0]


def last_import_time(conn: Connection) -> datetime | None:
    """When data was last committed (the briefing stamp and freshness notes use it)."""
    return read_frame(conn, "select max(imported_at) from imports where outcome = 'committed'").iat[0, 0]


def filter_options(conn: Connection) -> dict[str, list[tuple[str, str]]]:
    """(code, name) choices for the sidebar: active communities, divisions, units."""
    out = {}
    for kind, sql in (
        ("communities", "select community_id, name from communities where is_active order by name"),
        ("divisions", "select division_code, name from patrol_divisions order by name"),
        ("units", "select unit_code, name from units order by unit_code"),
    ):
        df = read_frame(conn, sql)
        out[kind] = list(zip(df.iloc[:, 0], df.iloc[:, 1], strict=True))
    return out
