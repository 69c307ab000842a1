"""A headline number with its prior-period value and change test, as every KPI tile shows it."""

from __future__ import annotations

from dataclasses import dataclass

from data_access import stats


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
