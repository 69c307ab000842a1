"""The sidebar's lookups (data_access.reference) on a tiny hand-made community table.

Names sort by code point in DuckDB ('5' '0' '%' < '5' '0' '0', 'HA' < 'Ha'), so the expected
orders below are written out by hand from that rule.
"""

from __future__ import annotations

import pytest

from data_access.reference import (
    CommunityMatches,
    community_matches,
    community_names,
    filter_options,
    reference_names,
)
from tests.fixtures import DIVISIONS, UNITS, build, community

COMMUNITIES = [
    community("C1", "50%_off Club"),
    community("C2", "500 Offices"),  # matches the pattern 50%_off if % and _ were wildcards
    community("C3", "Harbor Club"),
    community("C4", "Old Harbor Club", active=False),
    community("C5", "O'Reilly Court"),
    community("C6", "Club ' OR '1'='1 Hall"),
    community("C7", "HARBOR Watch"),
    community("C8", "Back\\slash Society"),
]
ACTIVE_BY_NAME = ["C1", "C2", "C8", "C6", "C7", "C3", "C5"]  # C4 is inactive
NAME = {c["community_id"]: c["name"] for c in COMMUNITIES}


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    db = build(tmp_path_factory.mktemp("reference"), communities=COMMUNITIES)
    with db.connect() as c:
        yield c


def _expect(ids: list[str], total: int) -> CommunityMatches:
    return CommunityMatches([(i, NAME[i]) for i in ids], total)


def test_an_empty_search_lists_every_active_community_by_name(conn):
    assert community_matches(conn, "", limit=100) == _expect(ACTIVE_BY_NAME, 7)


def test_the_limit_caps_the_rows_but_not_the_count(conn):
    assert community_matches(conn, "", limit=2) == _expect(["C1", "C2"], 7)
    assert community_matches(conn, "club", limit=1) == _expect(["C1"], 3)  # C1, C6, C3 (C4 inactive)


def test_search_is_case_insensitive_and_skips_inactive_communities(conn):
    assert community_matches(conn, "harbor") == _expect(["C7", "C3"], 2)
    assert community_matches(conn, "  HARBOR  ") == _expect(["C7", "C3"], 2)  # trimmed


def test_percent_and_underscore_are_matched_literally(conn):
    assert community_matches(conn, "50%_off") == _expect(["C1"], 1)
    assert community_matches(conn, "0_o") == _expect([], 0)  # '_' would match '0 O' in '500 Offices'
    assert community_matches(conn, "%") == _expect(["C1"], 1)
    assert community_matches(conn, "k\\s") == _expect(["C8"], 1)


def test_quotes_in_a_search_are_text_not_sql(conn):
    assert community_matches(conn, "' OR '1'='1") == _expect(["C6"], 1)
    assert community_matches(conn, "o'r") == _expect(["C5"], 1)
    assert community_matches(conn, "'; drop table communities; --") == _expect([], 0)
    assert community_matches(conn, "").total == 7  # the table is still there


def test_community_names_reads_only_the_ids_asked_for(conn):
    assert community_names(conn, ["C4", "C3", "NOPE", "C3"]) == {"C3": "Harbor Club", "C4": "Old Harbor Club"}
    assert community_names(conn, ["C4", "C3", "NOPE"], active_only=True) == {"C3": "Harbor Club"}
    assert community_names(conn, ["' OR '1'='1"]) == {}
    assert community_names(conn, []) == {}


def test_reference_names_has_every_division_and_unit_but_only_the_asked_communities(conn):
    divisions = {d["division_code"]: d["name"] for d in DIVISIONS}
    units = {u["unit_code"]: u["name"] for u in UNITS}
    assert reference_names(conn) == {"communities": {}, "divisions": divisions, "units": units}
    assert reference_names(conn, ("C6", "C4")) == {
        "communities": {"C6": "Club ' OR '1'='1 Hall", "C4": "Old Harbor Club"},
        "divisions": divisions,
        "units": units,
    }


def test_filter_options_are_divisions_by_name_and_units_by_code(conn):
    options = filter_options(conn)
    assert set(options) == {"divisions", "units"}  # communities come from community_matches
    assert options["divisions"] == sorted(
        ((d["division_code"], d["name"]) for d in DIVISIONS), key=lambda p: p[1]
    )
    assert options["units"] == sorted((u["unit_code"], u["name"]) for u in UNITS)
