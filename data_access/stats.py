"""Statistics behind the change flags and score intervals (SPEC §3), in plain Python."""

from __future__ import annotations

import math
from dataclasses import dataclass

NOTABLE_Z = 2.0
SIGNIFICANT_Z = 3.0
DEFAULT_K = 10  # small-n threshold: fewer responses than this are suppressed
SMALL_SAMPLE_N = 30


def poisson_z(current: float, prior: float) -> float:
    """Change in a count, variance-stabilised: z = 2(√current − √prior)."""
    return 2.0 * (math.sqrt(max(current, 0.0)) - math.sqrt(max(prior, 0.0)))


def mean_z(m1: float, se1: float, m0: float, se0: float) -> float | None:
    """Change in a mean: z = (m₁ − m₀) / √(se₁² + se₀²); None when both errors are zero."""
    denom = math.sqrt(se1**2 + se0**2)
    if denom == 0:
        return None
    return (m1 - m0) / denom


def change_label(z: float | None) -> str:
    if z is None:
        return "no comparison"
    if abs(z) >= SIGNIFICANT_Z:
        return "significant " + ("rise" if z > 0 else "drop")
    if abs(z) >= NOTABLE_Z:
        return "notable " + ("rise" if z > 0 else "drop")
    return "within normal variation"


@dataclass(frozen=True)
class Score:
    """A 0-100 score from n responses, or a suppression when n < k."""

    n: int
    mean: float | None  # 0-100; None when suppressed or n == 0
    sd: float | None  # of the 0-100 per-response values
    suppressed: bool

    @property
    def se(self) -> float | None:
        if self.mean is None or self.sd is None or self.n < 2:
            return None
        return self.sd / math.sqrt(self.n)

    @property
    def ci(self) -> tuple[float, float] | None:
        se = self.se
        if se is None or self.mean is None:
            return None
        return self.mean - 1.96 * se, self.mean + 1.96 * se

    @property
    def small_sample(self) -> bool:
        return not self.suppressed and self.n < SMALL_SAMPLE_N

    @property
    def n_shown(self) -> int | None:
        """The n a viewer may see: none for a suppressed group (SPEC: no count below k)."""
        return None if self.suppressed else self.n


def make_score(n: int, mean_0_10: float | None, sd_0_10: float | None, k: int = DEFAULT_K) -> Score:
    """Scale a 0-10 item mean to 0-100 and apply the small-n rule."""
    n = int(n or 0)
    if n < k or n == 0 or mean_0_10 is None:
        return Score(n=n, mean=None, sd=None, suppressed=n < k)
    return Score(n=n, mean=10.0 * mean_0_10, sd=None if sd_0_10 is None else 10.0 * sd_0_10, suppressed=False)


def score_change_z(current: Score, prior: Score) -> float | None:
    if current.mean is None or prior.mean is None or current.se is None or prior.se is None:
        return None
    return mean_z(current.mean, current.se, prior.mean, prior.se)
