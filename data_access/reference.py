"""Small lookups every page shares: display names, the sidebar's choices, the data's latest date, last import."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.engine import Connection

from data_access.db import read_frame
from data_access.meetings import MAX_SEARCH_LEN, escape_like


def reference_names(conn: Connection, communities: Sequence[str] = ()) -> dict[str, dict[str, str]]:
    """Code → display name: every division and unit (small tables), and the communities asked for.

    Communities are looked up by id only (tens of thousands at scale; a caption or a table shows a
    few), so `communities=()` gives an empty community lookup."""
    out: dict[str, dict[str, str]] = {"communities": community_names(conn, communities)}
    for kind, sql in (
        ("divisions", "select division_code, name from patrol_divisions order by name"),
        ("units", "select unit_code, name from units order by unit_code"),
    ):
        df = read_frame(conn, sql)
        out[kind] = dict(zip(df.iloc[:, 0], df.iloc[:, 1], strict=True))
    return out


def community_names(conn: Connection, ids: Sequence[str], active_only: bool = False) -> dict[str, str]:
    """Id → name of the given communities that exist (only the active ones with `active_only`), by name."""
    if not ids:
        return {}
    df = read_frame(
        conn,
        """
        -- one row per wanted community that exists
        select community_id, name
        from communities
        where list_contains(cast(:ids as varchar[]), community_id)
          and (is_active or not :active_only)
        order by name, community_id
        """,
        {"ids": list(dict.fromkeys(ids)), "active_only": active_only},
    )
    return dict(zip(df["community_id"], df["name"], strict=True))


@dataclass(frozen=True)
class CommunityMatches:
    """Active communities whose name contains a search text: the first `limit` by name, and how many in all."""

    options: list[tuple[str, str]]  # (community_id, name), ordered by name
    total: int  # every active community that matches, not only those listed


def community_matches(conn: Connection, search: str = "", limit: int = 200) -> CommunityMatches:
    """Active communities whose name contains `search` (case-insensitive, taken literally; empty
    matches every one): at most `limit` of them, ordered by name, and the number that match."""
    pattern = f"%{escape_like(search.strip()[:MAX_SEARCH_LEN])}%"
    df = read_frame(
        conn,
        r"""
        -- one row per matching active community, the first :limit by name; total counts them all
        select community_id, name, count(*) over () as total
        from communities
        where is_active and name ilike :pattern escape '\'
        order by name, community_id
        limit :limit
        """,
        {"pattern": pattern, "limit": max(int(limit), 1)},
    )
    total = 0 if df.empty else int(df["total"].iat[0])  # counted before the limit, on every row
    return CommunityMatches(list(zip(df["community_id"], df["name"], strict=True)), total)


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
    """(code, name) choices for the sidebar's divisions and units (small tables). Communities are
    too many at scale for one list: see `community_matches`."""
    out = {}
    for kind, sql in (
        ("divisions", "select division_code, name from patrol_divisions order by name"),
        ("units", "select unit_code, name from units order by unit_code"),
    ):
        df = read_frame(conn, sql)
        out[kind] = list(zip(df.iloc[:, 0], df.iloc[:, 1], strict=True))
    return out
