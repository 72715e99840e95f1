"""Power laws fitted on log-log axes: the measured exponent of memory in L, N or D, with its R².

The paper states memory as O(LND) for a residual GNN and O(ND) for a reversible one; the measured counterpart is the
slope of log(memory) against log(L) (or N, or D) over a sweep. A slope near 1 is linear growth, near 0 flat.
R² says how well one power law describes the points; for a flat series (no variance to explain) it is undefined.

A measured memory is rarely a pure power law: a reversible stack also holds the adjacency and its input, which do
not depend on D, so its log-log slope in D sits below 1 even where the part that grows is exactly linear.
:func:`fit_offset_power_law` fits ``y ≈ offset + scale · x ** exponent`` and gives the exponent of the growing part
alone (:func:`fit_exponential` fits ``y ≈ a · base^x`` for growth exponential in x, GraphSAGE's R^L in L). It is a
one-parameter search (for each exponent, offset and scale are a linear least-squares problem),
written here because numpy has no such fit and scipy's ``curve_fit`` needs a starting point and can wander.
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
    xs, ys = _checked_points(x, y, 2, "a power law")
    log_x, log_y = np.log(xs), np.log(ys)
    exponent, intercept = np.polyfit(log_x, log_y, 1)
    residual = log_y - (exponent * log_x + intercept)
    total = float(np.sum((log_y - log_y.mean()) ** 2))
    # relative spread below 1e-12 in log space is rounding: the series is flat, R² is undefined
    r_squared = None if total <= 1e-12 * max(1.0, float(np.sum(log_y**2))) else 1.0 - float(np.sum(residual**2)) / total
    return PowerLawFit(exponent=float(exponent), prefactor=float(math.exp(intercept)), r_squared=r_squared,
                       points=int(xs.size), x_min=float(xs.min()), x_max=float(xs.max()))


@dataclass(frozen=True)
class OffsetPowerLawFit:
    """``y ≈ offset + scale · x ** exponent`` (offset, scale >= 0): ``exponent`` is that of the part that grows."""

    exponent: float
    offset: float
    scale: float
    r_squared: Optional[float]  # None when the points are flat
    points: int

    def predict(self, x: float) -> float:
        return self.offset + self.scale * x**self.exponent

    def describe(self) -> str:
        if self.r_squared is None:
            return f"flat ({self.points} points)"
        return (f"{self.exponent:.2f} above a constant {self.offset:.4g} (R² {self.r_squared:.4f}, "
                f"{self.points} points)")


#: exponents searched by :func:`fit_offset_power_law`: a coarse grid, then a fine one around its best point
OFFSET_SEARCH = (0.01, 3.0, 300)
OFFSET_REFINE = (0.01, 201)
#: an offset fit has three parameters: it needs a fourth point to be tested at all
MIN_OFFSET_POINTS = 4


def fit_offset_power_law(x: Sequence[float], y: Sequence[float]) -> OffsetPowerLawFit:
    """Least-squares fit of ``y = offset + scale · x ** exponent`` with offset, scale >= 0, in relative error.

    Needs at least :data:`MIN_OFFSET_POINTS` distinct positive x and positive y (ValueError otherwise). A flat
    series has exponent 0 and no R².
    """
    xs, ys = _checked_points(x, y, MIN_OFFSET_POINTS, "an offset power law")
    if float(np.ptp(ys)) <= 1e-12 * float(ys.max()):
        return OffsetPowerLawFit(0.0, float(ys.mean()), 0.0, None, int(xs.size))
    low, high, count = OFFSET_SEARCH
    best = min((_offset_fit_at(xs, ys, k) for k in np.linspace(low, high, count)), key=lambda fit: fit[0])
    width, count = OFFSET_REFINE
    best = min((_offset_fit_at(xs, ys, k) for k in np.linspace(max(best[1] - width, 1e-3), best[1] + width, count)),
               key=lambda fit: fit[0])
    _, exponent, offset, scale = best
    predicted = offset + scale * xs**exponent
    total = float(np.sum((ys - ys.mean()) ** 2))
    r_squared = 1.0 - float(np.sum((ys - predicted) ** 2)) / total
    return OffsetPowerLawFit(float(exponent), float(offset), float(scale), r_squared, int(xs.size))


def _checked_points(x: Sequence[float], y: Sequence[float], distinct: int, law: str) -> tuple[np.ndarray, np.ndarray]:
    """x and y as float arrays of one length, all positive, with at least ``distinct`` x values (else ValueError)."""
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.shape != ys.shape:
        raise ValueError(f"x and y differ in length ({xs.size} and {ys.size})")
    if np.any(xs <= 0) or np.any(ys <= 0):
        raise ValueError("a power law needs positive x and y")
    if np.unique(xs).size < distinct:
        words = {2: "two"}.get(distinct, str(distinct))
        raise ValueError(f"{law} needs at least {words} distinct x values")
    return xs, ys


def _offset_fit_at(xs: np.ndarray, ys: np.ndarray, exponent: float) -> tuple[float, float, float, float]:
    """(relative squared error, exponent, offset, scale) of the best non-negative offset and scale at ``exponent``."""
    grows = xs**exponent
    design = np.stack([np.ones_like(xs), grows], axis=1) / ys[:, None]  # rows weighted by 1/y: relative error
    (offset, scale), *_ = np.linalg.lstsq(design, np.ones_like(ys), rcond=None)
    if offset < 0:  # the constant cannot be negative: memory that nothing holds
        offset, scale = 0.0, float(np.sum(grows / ys) / np.sum((grows / ys) ** 2))
    if scale < 0:
        offset, scale = float(len(ys) / np.sum(1 / ys)), 0.0
    error = float(np.sum((1 - (offset + scale * grows) / ys) ** 2))
    return error, float(exponent), float(offset), float(scale)


@dataclass(frozen=True)
class ExponentialFit:
    """``y ≈ prefactor · base ** x``, fitted by least squares of ``log y`` against ``x`` (growth like R^L in L)."""

    base: float
    prefactor: float
    r_squared: Optional[float]  # None when the points are flat
    points: int
    x_min: float
    x_max: float

    def describe(self) -> str:
        r2 = "n/a (flat)" if self.r_squared is None else f"{self.r_squared:.3f}"
        return f"base {self.base:.2f} (R² {r2}, {self.points} points, x {self.x_min:g}–{self.x_max:g})"


def fit_exponential(x: Sequence[float], y: Sequence[float]) -> ExponentialFit:
    """Least-squares fit of ``log y = x · log base + log prefactor`` (positive x and y, two distinct x)."""
    xs, ys = _checked_points(x, y, 2, "an exponential")
    log_y = np.log(ys)
    slope, intercept = np.polyfit(xs, log_y, 1)
    residual = log_y - (slope * xs + intercept)
    total = float(np.sum((log_y - log_y.mean()) ** 2))
    r_squared = None if total <= 1e-12 * max(1.0, float(np.sum(log_y**2))) else 1.0 - float(np.sum(residual**2)) / total
    return ExponentialFit(base=float(math.exp(slope)), prefactor=float(math.exp(intercept)), r_squared=r_squared,
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
