"""SQL fragments that apply the global filters, shared by every query module.

Only column identifiers from this file are spliced into SQL; user values always
travel as bind parameters (:communities, :divisions, :units, :start, :end, :as_of).
An empty selection means "everything".

How each filter applies:
- meetings: date in period, community, meeting's patrol division, meeting's unit (the lead's unit);
- communities (coverage): active, selected, home division in the filter (citywide ones always
  included), responsible staff member's unit in the filter; contact counts meetings held in the
  filtered divisions by any unit;
- feedback: date, community (responses with no community drop out when communities are
  chosen), division; units do not apply;
- staffing and roster: unit and division; communities do not apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from data_access.filters import Filters


def in_list(param: str, column: str) -> str:
    """True when the list parameter is empty or contains the column's value."""
    return f"(len(cast(:{param} as varchar[])) = 0 or list_contains(cast(:{param} as varchar[]), {column}))"


def meeting_scope(alias: str = "m", f: Filters | None = None) -> str:
    """Community, division and unit filters on a meetings row (not the date). Given the filters,
    a community selection is a semi-join on the chosen ids: DuckDB then filters the scan by them
    and reads the other columns for the matching rows alone (list_contains is planned as a mark
    join over every row of the row groups read; the divisions and units are a handful of values,
    which it folds into the scan's own filter)."""
    if f is not None and f.communities:
        communities = f"{alias}.community_id in (select unnest(cast(:communities as varchar[])))"
    else:
        communities = in_list("communities", f"{alias}.community_id")
    return " and ".join(
        [
            communities,
            in_list("divisions", f"{alias}.division_code"),
            in_list("units", f"{alias}.unit_code"),
        ]
    )


def feedback_scope(alias: str = "f") -> str:
    return " and ".join(
        [in_list("communities", f"{alias}.community_id"), in_list("divisions", f"{alias}.division_code")]
    )


def staffing_scope(alias: str = "s") -> str:
    return " and ".join(
        [in_list("units", f"{alias}.unit_code"), in_list("divisions", f"{alias}.division_code")]
    )


# -- the CTEs behind COMMUNITY_STATUS_CTE; rollups.community_status_cte swaps in its own last_contact
# each community with its responsible staff member (also the community_roster roll-up's SELECT)
COMMUNITY_ROSTER_SELECT = """
        select c.*, s.display_name as responsible_name, s.unit_code as responsible_unit,
               s.start_date as responsible_start_date, s.end_date as responsible_end_date
        from communities c
        left join staff s on s.staff_id = c.responsible_staff_id
        """


def scoped_communities_cte(roster: str) -> str:
    """CTE scoped_communities: the active communities in scope, with their responsible staff
    member, from `roster` (a FROM item with COMMUNITY_ROSTER_SELECT's columns)."""
    return f"""
scoped_communities as (
    select c.*
    from {roster} c
    where c.is_active
      and {in_list("communities", "c.community_id")}
      and (c.division_code is null or {in_list("divisions", "c.division_code")})
      and {in_list("units", "c.responsible_unit")}
)"""


SCOPED_COMMUNITIES_CTE = scoped_communities_cte(f"({COMMUNITY_ROSTER_SELECT})")

# A community's cadence status from its last contact on or before :{as_of} (None: never met) and
# its target cadence in days: the one definition (SPEC §3), formatted with the columns at hand.
CADENCE_STATUS = """case
            when {last} is null then 'never met'
            when date_diff('day', {last}, cast(:{as_of} as date)) <= {target} then 'on track'
            when date_diff('day', {last}, cast(:{as_of} as date)) <= 1.5 * {target} then 'due'
            else 'overdue'
        end"""


def community_status_select(last: str, join: str = "", where: str = "true") -> str:
    """A SELECT of community_status's columns: each community of `scoped_communities` (alias c)
    that `where` keeps, with its cadence status at :as_of, its last contact on or before :as_of
    being the SQL `last` (null: never met) over `scoped_communities` and the optional `join`."""
    return f"""
    select
        c.community_id,
        c.name,
        c.kind,
        c.division_code,
        c.target_cadence_days,
        c.responsible_staff_id,
        c.responsible_name,
        c.responsible_unit,
        c.responsible_end_date,
        {last} as last_contact_date,
        date_diff('day', {last}, cast(:as_of as date)) as days_since_contact,
        {CADENCE_STATUS.format(last=last, as_of="as_of", target="c.target_cadence_days")}
            as cadence_status
    from scoped_communities c
    {join}
    where {where}"""


# needs `scoped_communities` and a `last_contact` CTE (community_id, last_contact_date on or before :as_of)
COMMUNITY_STATUS_FROM_LAST_CONTACT = f"""
community_status as ({community_status_select("lc.last_contact_date", "left join last_contact lc using (community_id)")}
)
"""

# -- one row per active community in scope, with its last contact on or before :as_of
COMMUNITY_STATUS_CTE = f"""{SCOPED_COMMUNITIES_CTE},
last_contact as (
    select m.community_id, max(m.meeting_date) as last_contact_date
    from meetings m
    where m.meeting_date <= :as_of
      and {in_list("divisions", "m.division_code")}
      and m.community_id in (select community_id from scoped_communities)
    group by m.community_id
),{COMMUNITY_STATUS_FROM_LAST_CONTACT}"""


# Paging: the row number just before the requested page, over a query that numbers its rows and
# counts them all as `total_count`; a page past the end becomes the last page (binds :offset, :limit).
PAGE_START = "least(:offset, (greatest(total_count, 1) - 1) // :limit * :limit)"


def page_of(source: str, order: str, counts: str, *, where: str = "true", suffix: str = "") -> str:
    """A SELECT of rows :offset + 1, ... (at most :limit) of `source` (a FROM item, aliased x) whose
    rows meet `where`, in `order`, with the columns of `counts` (a one-row FROM item holding their
    `total_count`) and `row_no` on each row; a page past the end is the last page. Binds what
    page_params gives (each name with `suffix`).

    The first :offset + :limit rows come from ORDER BY ... LIMIT (DuckDB's top-N, a small heap; a
    window numbering every row sorted them all: at L, 33k communities), then the page's rows of
    them. A page moved back from past the end is among them too: the offset is then at least the
    number of rows."""
    start = PAGE_START.replace(":offset", f":offset{suffix}").replace(":limit", f":limit{suffix}")
    return f"""
        select * from (
            select x.*, c.*, row_number() over (order by {order}) as row_no
            from (select * from {source} x where {where} order by {order} limit :top{suffix}) x
            cross join {counts} c
        )
        where row_no > {start} and row_no <= {start} + :limit{suffix}"""


def page_params(limit: int, offset: int, suffix: str = "") -> dict[str, int]:
    """The parameters of page_of: the page's size and offset, and how many rows to take in order."""
    limit, offset = int(limit), max(0, int(offset))
    return {f"limit{suffix}": limit, f"offset{suffix}": offset, f"top{suffix}": offset + limit}
