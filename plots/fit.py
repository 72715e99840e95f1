"""Power laws fitted on log-log axes: the measured exponent of memory in L, N or D, with its R².

The paper states memory as O(LND) for a residual GNN and O(ND) for a reversible one; the measured counterpart is the
slope of log(memory) against log(L) (or N, or D) over a sweep. A slope near 1 is linear growth, near 0 flat.
R² says how well one power law describes the points; for a flat series (no variance to explain) it is undefined.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np


@dataclass(frozen=True)
class PowerLawFit:
    """``y ≈ prefactor · x ** exponent``, fitted by least squares on log-log axes."""

    exponent: float
    prefactor: float
    r_squared: Optional[float]  # None when the points are flat (nothing to explain)
    points: int
    x_min: float
    x_max: float

    def predict(self, x: float) -> float:
        return self.prefactor * x**self.exponent

    def describe(self) -> str:
        r2 = "n/a (flat)" if self.r_squared is None else f"{self.r_squared:.3f}"
        return f"{self.exponent:.2f} (R² {r2}, {self.points} points, x {self.x_min:g}–{self.x_max:g})"


def fit_power_law(x: Sequence[float], y: Sequence[float]) -> PowerLawFit:
    """Least-squares fit of ``log y = exponent · log x + log prefactor``.

    Needs at least two distinct positive x values and positive y values (ValueError otherwise).
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.shape != ys.shape:
        raise ValueError(f"x and y differ in length ({xs.size} and {ys.size})")
    if np.any(xs <= 0) or np.any(ys <= 0):
        raise ValueError("a power law needs positive x and y")
    if np.unique(xs).size < 2:
        raise ValueError("a power law needs at least two distinct x values")
    log_x, log_y = np.log(xs), np.log(ys)
    exponent, intercept = np.polyfit(log_x, log_y, 1)
    residual = log_y - (exponent * log_x + intercept)
    total = float(np.sum((log_y - log_y.mean()) ** 2))
    # relative spread below 1e-12 in log space is rounding: the series is flat, R² is undefined
    r_squared = None if total <= 1e-12 * max(1.0, float(np.sum(log_y**2))) else 1.0 - float(np.sum(residual**2)) / total
    return PowerLawFit(exponent=float(exponent), prefactor=float(math.exp(intercept)), r_squared=r_squared,
                       points=int(xs.size), x_min=float(xs.min()), x_max=float(xs.max()))


_BIG_O = re.compile(r"^O\((.*)\)$")
_FACTOR = re.compile(r"([A-Z][a-z0-9]*)(?:\^(\d+|[A-Z]))?")


def expected_exponents(big_o: str) -> dict[str, Optional[float]]:
    """The exponents of L, N, B, D, R in a paper expression: ``O(LND)`` → {L: 1, N: 1, D: 1};
    ``O(R^L B D)`` → {L: None (exponential), B: 1, D: 1, R: None}. A symbol that is absent has exponent 0."""
    match = _BIG_O.match(big_o.replace(" ", ""))
    if not match:
        raise ValueError(f"not a big-O expression: {big_o!r}")
    exponents: dict[str, Optional[float]] = {}
    for symbol, power in _FACTOR.findall(match.group(1)):
        if power and not power.isdigit():  # R^L: exponential in L
            exponents[symbol] = None
            exponents[power] = None
        else:
            exponents[symbol] = float(power) if power else 1.0
    return exponents
