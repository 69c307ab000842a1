"""A headline number with its prior-period value and change test, as every KPI tile shows it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from data_access import stats

if TYPE_CHECKING:
    from data_access.filters import Filters


@dataclass(frozen=True)
class Kpi:
    metric: str
    value: float | None
    prior: float | None
    z: float | None
    n: int | None = None  # responses behind a score; None when not applicable or suppressed
    suppressed: bool = False
    small_sample: bool = False

    @property
    def change(self) -> str:
        return stats.change_label(self.z)


def prior_unrecorded(f: Filters, records_begin: date | None) -> bool:
    """Whether the period before `f` ends before the records begin (or nothing is recorded at all):
    it then holds no data, not a count of zero, so a tile compares with nothing rather than
    calling every meeting a significant rise (the whole history's prior period, for one)."""
    return records_begin is None or f.prior().end < records_begin


def without_prior(kpi: Kpi) -> Kpi:
    """`kpi` with no prior value and no change ("no prior period to compare")."""
    return replace(kpi, prior=None, z=None)
