"""The data model: every importable table, its columns, natural key and row rules.

One declaration serves three uses: the DuckDB DDL (schema.py), the importer's
validation (importer.py) and the CSV templates offered on the Data page.
Column names here are the CSV headers a user writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MEETING_TYPES = (
    "liaison_meeting",
    "neighborhood_watch",
    "business_association",
    "faith_leaders",
    "listening_session",
    "education_crime_prevention",
    "problem_solving_follow_up",
    "community_event",
)
COMMUNITY_KINDS = (
    "identity",
    "faith",
    "neighborhood",
    "business",
    "campus",
    "rental_property",
    "service_partner",
)
FEEDBACK_CHANNELS = ("community_survey", "post_meeting_card", "online_form")
SCORE_METRICS = ("trust", "safety", "respect", "listen")
FOLLOW_UP_STATUSES = ("open", "closed")

# kind -> DuckDB type
SQL_TYPES = {
    "text": "VARCHAR",
    "int": "INTEGER",
    "float": "DOUBLE",
    "date": "DATE",
    "month": "DATE",
    "time": "TIME",
    "bool": "BOOLEAN",
    "tags": "VARCHAR[]",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # a key of SQL_TYPES
    required: bool = True
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    ref: tuple[str, str] | None = None  # (table, key column) the value must exist in
    max_len: int = 200
    help: str = ""
    example: str = ""

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]


@dataclass(frozen=True)
class RowRule:
    """A rule across columns: `violation` is a SQL predicate over the typed row (alias `r`)."""

    column: str
    violation: str
    message: str
    severity: str = "error"  # "error" blocks the file; "warning" is reported and the row kept


@dataclass(frozen=True)
class TableSpec:
    name: str
    label: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    rules: tuple[RowRule, ...] = field(default_factory=tuple)
    # Columns the importer derives after loading (not in the CSV), with their SQL types.
    derived: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


C = Column

PATROL_DIVISIONS = TableSpec(
    "patrol_divisions",
    "Patrol divisions",
    (
        C("division_code", "text", max_len=20, example="EAST", help="Short code, e.g. EAST"),
        C("name", "text", example="East"),
    ),
    key=("division_code",),
)

UNITS = TableSpec(
    "units",
    "Units",
    (
        C("unit_code", "text", max_len=10, example="CIT", help="SW, CIO, CIT, CFMH, CHAP or LIA"),
        C("name", "text", example="Crisis Intervention Team"),
        C("is_sworn", "bool", example="true", help="true for sworn officers, false for civilian"),
    ),
    key=("unit_code",),
)

STAFF = TableSpec(
    "staff",
    "Staff",
    (
        C("staff_id", "text", max_len=20, example="S0001"),
        C("display_name", "text", example="Ofc. R. Alvarez"),
        C("title", "text", required=False, example="LGBTQ+ Liaison"),
        C("unit_code", "text", ref=("units", "unit_code"), example="LIA"),
        C("division_code", "text", ref=("patrol_divisions", "division_code"), example="EAST"),
        C("start_date", "date", example="2023-01-09"),
        C("end_date", "date", required=False, example="", help="Empty while still serving"),
        C("is_cit_trained", "bool", example="false"),
    ),
    key=("staff_id",),
    rules=(RowRule("end_date", "r.end_date < r.start_date", "end_date is before start_date"),),
)

COMMUNITIES = TableSpec(
    "communities",
    "Communities",
    (
        C("community_id", "text", max_len=20, example="C-MUS"),
        C("name", "text", example="Muslim community"),
        C("kind", "text", choices=COMMUNITY_KINDS, example="identity"),
        C(
            "division_code",
            "text",
            required=False,
            ref=("patrol_divisions", "division_code"),
            example="",
            help="Empty for a citywide community",
        ),
        C("target_cadence_days", "int", min=1, max=366, example="30"),
        C("responsible_staff_id", "text", required=False, ref=("staff", "staff_id"), example="S0007"),
        C("is_active", "bool", example="true"),
    ),
    key=("community_id",),
)

ORGANIZATIONS = TableSpec(
    "organizations",
    "Organizations",
    (
        C("org_id", "text", max_len=20, example="O-0001"),
        C("name", "text", example="Islamic Center of East Side"),
        C("community_id", "text", ref=("communities", "community_id"), example="C-MUS"),
    ),
    key=("org_id",),
)

MEETINGS = TableSpec(
    "meetings",
    "Meetings",
    (
        C("meeting_id", "text", max_len=30, example="M-000001"),
        C("meeting_date", "date", example="2026-03-14"),
        C("start_time", "time", required=False, example="18:30"),
        C("duration_min", "int", min=0, max=1440, example="90"),
        C("community_id", "text", ref=("communities", "community_id"), example="C-MUS"),
        C("org_id", "text", required=False, ref=("organizations", "org_id"), example="O-0001"),
        C("division_code", "text", ref=("patrol_divisions", "division_code"), example="EAST"),
        C("meeting_type", "text", choices=MEETING_TYPES, example="liaison_meeting"),
        C("residents_count", "int", min=0, max=100000, example="24"),
        C("officers_count", "int", min=0, max=1000, example="2"),
        C("lead_staff_id", "text", ref=("staff", "staff_id"), example="S0007"),
        C(
            "other_staff_ids",
            "tags",
            required=False,
            ref=("staff", "staff_id"),
            example="S0012;S0031",
            help="Staff ids separated by ;",
        ),
        C("concern_tags", "tags", required=False, example="traffic;youth", help="Tags separated by ;"),
        C("notes", "text", required=False, max_len=4000, example=""),
    ),
    key=("meeting_id",),
    derived=(("unit_code", "VARCHAR"),),
)

FOLLOW_UPS = TableSpec(
    "follow_ups",
    "Follow-ups",
    (
        C("follow_up_id", "text", max_len=30, example="F-000001"),
        C("meeting_id", "text", ref=("meetings", "meeting_id"), example="M-000001"),
        C("concern_tag", "text", example="traffic"),
        C("opened_date", "date", example="2026-03-14"),
        C("owner_staff_id", "text", ref=("staff", "staff_id"), example="S0007"),
        C("status", "text", choices=FOLLOW_UP_STATUSES, example="open"),
        C("closed_date", "date", required=False, example=""),
    ),
    key=("follow_up_id",),
    rules=(
        RowRule(
            "closed_date",
            "r.status = 'closed' AND r.closed_date IS NULL",
            "status is closed but closed_date is empty",
        ),
        RowRule(
            "closed_date",
            "r.status = 'open' AND r.closed_date IS NOT NULL",
            "status is open but closed_date is set",
        ),
        RowRule("closed_date", "r.closed_date < r.opened_date", "closed_date is before opened_date"),
    ),
)

# Staffing rules (FTE, fractions allowed):
# - authorized, filled or available below 0 is an error (min=0 on each column);
# - available above filled is an error: available is filled minus leave and light duty;
# - a month after the current month is an error: nobody can report next month's staffing yet;
# - filled above authorized is allowed (over-hire and trainees happen) but warned about when it
#   exceeds authorized by more than STAFFING_OVERFILL_TOLERANCE (10%); the row is kept.
#   A hair of slack (1e-9 FTE) keeps exactly +10% (e.g. 9.944 of 9.04) from warning through float rounding.
STAFFING_OVERFILL_TOLERANCE = 0.10
STAFFING = TableSpec(
    "staffing",
    "Monthly staffing",
    (
        C("month", "month", example="2026-10", help="YYYY-MM"),
        C("unit_code", "text", ref=("units", "unit_code"), example="CIT"),
        C("division_code", "text", ref=("patrol_divisions", "division_code"), example="EAST"),
        C("authorized", "float", min=0, max=10000, example="6", help="FTE, fractions allowed"),
        C("filled", "float", min=0, max=10000, example="5.5", help="FTE on the books, fractions allowed"),
        C("available", "float", min=0, max=10000, example="4.5", help="filled minus leave / light duty"),
    ),
    key=("month", "unit_code", "division_code"),
    rules=(
        RowRule("available", "r.available > r.filled", "available is greater than filled"),
        RowRule("month", "r.month > date_trunc('month', current_date)", "month is in the future"),
        RowRule(
            "filled",
            f"r.filled > r.authorized * {1 + STAFFING_OVERFILL_TOLERANCE} + 1e-9",
            f"filled exceeds authorized by more than {STAFFING_OVERFILL_TOLERANCE:.0%}",
            severity="warning",
        ),
    ),
)

FEEDBACK = TableSpec(
    "feedback",
    "Community feedback",
    (
        C("response_id", "text", max_len=30, example="R-0000001"),
        C("response_date", "date", example="2026-05-02"),
        C("channel", "text", choices=FEEDBACK_CHANNELS, example="community_survey"),
        C("community_id", "text", required=False, ref=("communities", "community_id"), example="C-MUS"),
        C("division_code", "text", required=False, ref=("patrol_divisions", "division_code"), example="EAST"),
        C("safety", "int", min=0, max=10, example="7"),
        C("respect", "int", min=0, max=10, example="8"),
        C("listen", "int", min=0, max=10, example="6"),
        C("would_contact", "bool", required=False, example="yes"),
        C("comment", "text", required=False, max_len=4000, example=""),
        C("topic_tags", "tags", required=False, example="traffic;response_time"),
    ),
    key=("response_id",),
    rules=(RowRule("response_date", "r.response_date > current_date", "response_date is in the future"),),
)

EXTERNAL_SCORES = TableSpec(
    "external_scores",
    "External scores",
    (
        C("period_month", "month", example="2026-09"),
        C("area", "text", example="East", help="Area as the publisher names it"),
        C("group_name", "text", example="All residents"),
        C("metric", "text", choices=SCORE_METRICS, example="trust"),
        C("score", "float", min=0, max=100, example="61.5"),
        C("n", "int", required=False, min=0, example="412"),
        C("source", "text", example="City resident survey (open data)"),
    ),
    key=("period_month", "area", "group_name", "metric", "source"),
)

# Import order matters: a table's references must already be loaded.
IMPORTABLE: tuple[TableSpec, ...] = (
    PATROL_DIVISIONS,
    UNITS,
    STAFF,
    COMMUNITIES,
    ORGANIZATIONS,
    MEETINGS,
    FOLLOW_UPS,
    STAFFING,
    FEEDBACK,
    EXTERNAL_SCORES,
)
BY_NAME: dict[str, TableSpec] = {t.name: t for t in IMPORTABLE}
