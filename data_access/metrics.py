"""The metric registry: every number the product shows, defined once (SPEC §3).

Tiles, tooltips, help text and exports read label and description from here.
A test fails if a metric lacks a description.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    description: str
    fmt: str  # int | pct | score | days | float | fte
    higher_is_better: bool | None = None
    change_test: str | None = None  # poisson | mean | None


_METRICS = [
    Metric(
        "meetings_held", "Meetings held", "Count of meetings dated within the period.", "int", True, "poisson"
    ),
    Metric(
        "residents_reached",
        "Residents reached",
        "Sum of residents attending the period's meetings.",
        "int",
        True,
        "poisson",
    ),
    Metric(
        "mean_attendance", "Mean attendance", "Residents reached divided by meetings held.", "float", True
    ),
    Metric(
        "days_since_contact",
        "Days since last contact",
        "End of period minus the date of the latest meeting with the community on or before it; "
        "'never' when there is none.",
        "days",
        False,
    ),
    Metric(
        "cadence_status",
        "Cadence status",
        "At end of period: on track (days since ≤ target), due (≤ 1.5 × target), overdue (> 1.5 × target), "
        "or never met.",
        "text",
    ),
    Metric(
        "coverage_rate",
        "Coverage rate",
        "Share of active communities in the filter that are on track at the end of the period. "
        "Change is tested on the count of on-track communities (Poisson z).",
        "pct",
        True,
        "poisson",
    ),
    Metric(
        "open_follow_ups",
        "Open follow-ups",
        "Follow-ups opened on or before the end of the period and not closed by then.",
        "int",
        False,
        "poisson",
    ),
    Metric(
        "follow_up_median_age",
        "Median age of open follow-ups",
        "Median days from opening to end of period, over open follow-ups.",
        "days",
        False,
    ),
    Metric(
        "closed_within_30",
        "Closed within 30 days",
        "Of follow-ups opened in the period at least 30 days before its end, the share closed within 30 days of opening.",
        "pct",
        True,
    ),
    Metric(
        "authorized",
        "Authorized FTE",
        "Authorized positions in the period's last month (fractional FTE).",
        "fte",
    ),
    Metric("filled", "Filled FTE", "Filled positions in the period's last month.", "fte", True),
    Metric(
        "available",
        "Available FTE",
        "Filled minus leave and light duty, in the period's last month.",
        "fte",
        True,
    ),
    Metric(
        "vacancy_rate",
        "Vacancy rate",
        "(Authorized − filled) ÷ authorized, in the period's last month. "
        "Change is tested on the vacant FTE count (Poisson z).",
        "pct",
        False,
        "poisson",
    ),
    Metric(
        "availability", "Availability", "Available ÷ authorized, in the period's last month.", "pct", True
    ),
    Metric(
        "workload",
        "Workload",
        "Meetings per filled FTE per month: meetings in the period led by the unit's staff ÷ the unit's "
        "average filled FTE ÷ the period's length in months (days ÷ 30.44). Average filled FTE is the mean "
        "of the unit's monthly filled FTE (divisions in the filter summed) over the calendar months the period "
        "touches that have staffing rows. E.g. 30 meetings in 1 Jan – 31 Mar (2.96 months) with 4 filled FTE "
        "→ 2.5.",
        "float",
    ),
    Metric(
        "communities_per_liaison",
        "Communities per liaison",
        "Active communities in the filter whose responsible staff member still serves at the end of the "
        "period ÷ distinct such staff, by the staff member's unit. Communities whose liaison has left are "
        "counted apart: they need reassigning.",
        "float",
    ),
    Metric(
        "cit_trained_share",
        "CIT-trained share",
        "Share of sworn staff (units marked sworn; civilians excluded) serving at the end of the period — "
        "started on or before it, not ended before it — who are CIT-trained.",
        "pct",
        True,
    ),
    Metric(
        "trust_score",
        "Trust score",
        "10 × mean over responses of (respect + listen) / 2, on 0-100. 95% CI = score ± 1.96 × 10 × sd / √n. "
        "Groups with fewer than k responses are suppressed.",
        "score",
        True,
        "mean",
    ),
    Metric(
        "safety_score",
        "Safety score",
        "10 × mean of the safety item (0-10), on 0-100, with the same CI and small-n rule as trust.",
        "score",
        True,
        "mean",
    ),
    Metric(
        "responses",
        "Responses",
        "Feedback responses in the period (not shown below k).",
        "int",
        None,
        "poisson",
    ),
]

REGISTRY: dict[str, Metric] = {m.name: m for m in _METRICS}


def metric(name: str) -> Metric:
    return REGISTRY[name]


def format_value(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    fmt = REGISTRY[name].fmt
    if fmt == "int":
        return f"{value:,.0f}"
    if fmt == "pct":
        return f"{100 * value:.0f}%"
    if fmt == "score":
        return f"{value:.1f}"
    if fmt == "days":
        return f"{value:,.0f} d"
    if fmt == "fte":
        return f"{value:,.1f}"
    return f"{value:,.1f}"
