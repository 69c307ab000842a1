"""Columns and tables derived at import time, inside the import's transaction.

A meeting's unit is the unit of its lead staff member; it is stored on the meeting
so that unit filters and splits need no join. It is refreshed whenever meetings or
staff change, so a corrected staff file re-labels past meetings too.
"""

from __future__ import annotations

import duckdb


def refresh_derived(con: duckdb.DuckDBPyConnection, table: str) -> None:
    if table in ("meetings", "staff"):
        con.execute(
            """
            update meetings m
            set unit_code = s.unit_code
            from staff s
            where s.staff_id = m.lead_staff_id
              and m.unit_code is distinct from s.unit_code
            """
        )
