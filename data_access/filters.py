"""The global filters every page obeys, as one frozen value.

Sorted tuples make equal selections hash equal, so cache keys are stable.
`params()` yields the bind parameters every query uses; `caption()` the English
sentence each page prints under its title.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

PERIOD_PRESETS: dict[str, str] = {
    "last_30": "Last 30 days",
    "last_90": "Last 90 days",
    "this_quarter": "This quarter",
    "ytd": "Year to date",
    "custom": "Custom",
}
ROLES = ("viewer", "analyst", "admin")


def first_whole_month(start: date) -> date:
    """The 1st of the first calendar month that lies wholly on or after `start`."""
    return start if start.day == 1 else (start.replace(day=1) + timedelta(days=32)).replace(day=1)


def after_whole_months(end: date) -> date:
    """The day after the last calendar month that ends on or before `end` (a 1st)."""
    after = end + timedelta(days=1)
    return after if after.day == 1 else end.replace(day=1)


def resolve_period(
    preset: str, anchor: date, start: date | None = None, end: date | None = None
) -> tuple[date, date]:
    """Start and end (inclusive) of a preset period ending on `anchor`, the latest data date."""
    match preset:
        case "last_30":
            return anchor - timedelta(days=29), anchor
        case "last_90":
            return anchor - timedelta(days=89), anchor
        case "this_quarter":
            return date(anchor.year, 3 * ((anchor.month - 1) // 3) + 1, 1), anchor
        case "ytd":
            return date(anchor.year, 1, 1), anchor
        case "custom":
            s, e = start or anchor - timedelta(days=89), end or anchor
            return (s, e) if s <= e else (e, s)
    raise ValueError(f"unknown period preset {preset!r}")


def _sorted(values: Any) -> tuple[str, ...]:
    return tuple(sorted({str(v) for v in values or ()}))


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    communities: tuple[str, ...] = ()
    divisions: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    role: str = "admin"
    preset: str = field(default="custom", compare=True)

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError("period start is after its end")
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")
        for name in ("communities", "divisions", "units"):
            object.__setattr__(self, name, _sorted(getattr(self, name)))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def prior(self) -> Filters:
        """The period of the same length immediately before this one, same selections."""
        return replace(
            self,
            start=self.start - timedelta(days=self.days),
            end=self.start - timedelta(days=1),
            preset="custom",
        )

    def params(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "communities": list(self.communities),
            "divisions": list(self.divisions),
            "units": list(self.units),
        }

    def caption(self, names: dict[str, dict[str, str]] | None = None) -> str:
        """'1 Jul – 30 Sep 2026 · Muslim, LGBTQ+ · East · all units'."""
        names = names or {}

        def label(kind: str, values: tuple[str, ...], everything: str) -> str:
            if not values:
                return everything
            lookup = names.get(kind, {})
            shown = [lookup.get(v, v) for v in values]
            return ", ".join(shown[:4]) + (f" +{len(shown) - 4} more" if len(shown) > 4 else "")

        return " · ".join(
            [
                format_period(self.start, self.end),
                label("communities", self.communities, "all communities"),
                label("divisions", self.divisions, "all patrol divisions"),
                label("units", self.units, "all units"),
            ]
        )


def format_period(start: date, end: date) -> str:
    if start.year == end.year:
        return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"
    return f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"


@lru_cache(maxsize=8192)  # lists of thousands of rows repeat the same few hundred dates
def format_date(d: date | None) -> str:
    return "never" if d is None else f"{d.day} {d:%b %Y}"
