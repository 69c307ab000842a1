"""How current is the data: per table (rows, latest date, last import), per unit, and the import history.

These views describe the whole database, not the sidebar's filter selection: a
data manager asks "what have we received?", not "what happened in East?".
Table and column names spliced into SQL come only from tables.py; every value is bound.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy.engine import Connection

from data_access.db import read_frame, read_value
from data_access.filters import format_date
from data_access.tables import BY_NAME, IMPORTABLE

# The column that says how recent a table's data is; reference tables have none.
DATE_COLUMNS: dict[str, str] = {
    "meetings": "meeting_date",
    "follow_ups": "opened_date",
    "staffing": "month",
    "feedback": "response_date",
    "external_scores": "period_month",
}
# A unit with no meeting in this many days is flagged (SPEC §4.1 "units that logged nothing").
STALE_DAYS = 30
HISTORY_PAGE_SIZE = 20
HISTORY_COLUMNS = (
    "imported_at",
    "user_name",
    "file_name",
    "table_name",
    "outcome",
    "rows_in_file",
    "rows_added",
    "rows_updated",
    "rows_unchanged",
    "rows_rejected",
    "warnings_count",
    "message",
)


def table_freshness(conn: Connection) -> pd.DataFrame:
    """One row per importable table, in import order: row count, latest data date (None for reference
    tables), and the last committed import of that table (when, by whom, which file)."""
    counts = "\nunion all\n".join(
        f"select {i} as table_order, '{spec.name}' as table_name, count(*) as row_count, "
        f"{f'max({DATE_COLUMNS[spec.name]})' if spec.name in DATE_COLUMNS else 'cast(null as date)'} "
        f"as latest_date from {spec.name}"
        for i, spec in enumerate(IMPORTABLE)
    )
    sql = f"""
        -- one row per table
        with counts as (
            {counts}
        ),
        last_import as (
            select
                table_name,
                max(imported_at) as last_import_at,
                arg_max(user_name, imported_at) as last_import_by,
                arg_max(file_name, imported_at) as last_import_file
            from imports
            where outcome = 'committed'
            group by table_name
        )
        select c.table_name, c.row_count, c.latest_date,
               l.last_import_at, l.last_import_by, l.last_import_file
        from counts c
        left join last_import l using (table_name)
        order by c.table_order
    """
    df = read_frame(conn, sql)
    df.insert(1, "table_label", [BY_NAME[t].label for t in df["table_name"]])
    return df


def unit_freshness(conn: Connection, as_of: date, stale_days: int = STALE_DAYS) -> pd.DataFrame:
    """One row per unit (stalest first): latest meeting on or before `as_of`, meetings in the
    `stale_days` days up to `as_of`, days since the latest one, the latest staffing month, and a note
    such as "CHAP has logged no meetings since 20 Sep 2026". Meetings dated after `as_of` are ignored."""
    df = read_frame(
        conn,
        """
        -- one row per unit
        with unit_meetings as (
            select
                unit_code,
                max(meeting_date) as last_meeting_date,
                count(*) filter (where meeting_date > cast(:as_of as date) - cast(:stale_days as integer))
                    as recent_meetings_count
            from meetings
            where meeting_date <= :as_of
            group by unit_code
        ),
        unit_staffing as (
            select unit_code, max(month) as last_staffing_month
            from staffing
            group by unit_code
        )
        select
            u.unit_code,
            u.name as unit_name,
            m.last_meeting_date,
            coalesce(m.recent_meetings_count, 0) as recent_meetings_count,
            date_diff('day', m.last_meeting_date, cast(:as_of as date)) as days_since_last_meeting,
            m.last_meeting_date is null
                or date_diff('day', m.last_meeting_date, cast(:as_of as date)) > :stale_days as is_stale,
            s.last_staffing_month
        from units u
        left join unit_meetings m using (unit_code)
        left join unit_staffing s using (unit_code)
        order by m.last_meeting_date nulls first, u.unit_code
        """,
        {"as_of": as_of, "stale_days": stale_days},
    )
    df["note"] = [_unit_note(r, stale_days) for r in df.itertuples()]
    return df


def _unit_note(row, stale_days: int) -> str:
    if pd.isna(row.last_meeting_date):
        return f"{row.unit_code} has never logged a meeting"
    days = int(row.days_since_last_meeting)
    when = format_date(row.last_meeting_date)
    if row.is_stale:
        return f"{row.unit_code} has logged no meetings since {when} ({days} days)"
    ago = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
    return f"{row.unit_code}: {row.recent_meetings_count:,} meetings in the last {stale_days} days, latest {when} ({ago})"


def stale_units(conn: Connection, as_of: date, stale_days: int = STALE_DAYS) -> list[str]:
    """The notes of units with no meeting in `stale_days` days up to `as_of` (never-logged units first)."""
    df = unit_freshness(conn, as_of, stale_days)
    return df.loc[df["is_stale"].astype(bool), "note"].tolist()


def import_count(conn: Connection) -> int:
    """How many imports (committed, rejected, restored) the audit table holds."""
    return int(read_value(conn, "select count(*) from imports"))


def import_history(conn: Connection, page: int = 1, page_size: int = HISTORY_PAGE_SIZE) -> pd.DataFrame:
    """One row per import attempt, newest first; page `page` (1-based) of `page_size` rows."""
    page_size = max(1, min(int(page_size), 500))
    offset = (max(1, int(page)) - 1) * page_size
    return read_frame(
        conn,
        f"""
        -- one row per import attempt, newest first
        select {", ".join(HISTORY_COLUMNS)}
        from imports
        order by imported_at desc, import_id
        limit :limit offset :offset
        """,
        {"limit": page_size, "offset": offset},
    )
