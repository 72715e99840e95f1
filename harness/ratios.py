"""Paired time ratios: the median over rounds of one model's step over another's, with a bootstrap interval.

Two models timed in the same round met the same machine load, so the per-round ratio ``t_a[i] / t_b[i]`` cancels
what a neighbour's job did to both; the median over rounds resists a round that one model alone was unlucky in.
Its 95 % interval is ``scipy.stats.bootstrap``'s (BCa, resampling rounds; the percentile interval where BCa is
undefined, e.g. when every resample has the same median). Beside each ratio stands its **ideal**, the ratio of the
two models' step costs (:class:`models.connections.StepCost`) evaluated on the reference model's own F0, F and B of
the same round, and measured/ideal with its interval: how far the implementation is from what its arithmetic allows.

A ratio is judged against a target only when its interval says so: ``decide`` answers "met", "missed" or
"not decided" (the interval straddles the target).
"""
from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass
from typing import Literal, Optional, Sequence

import numpy as np

CONFIDENCE_LEVEL = 0.95
RESAMPLES = 9999

Verdict = Literal["met", "missed", "not decided"]


@dataclass(frozen=True)
class Interval:
    """A median and its bootstrap interval."""

    median: float
    low: float
    high: float

    def half_width(self) -> float:
        """Half the interval's width relative to the median (0.05: ±5 %)."""
        return (self.high - self.low) / (2 * self.median) if self.median else float("inf")


def median_interval(samples: Sequence[float], confidence_level: float = CONFIDENCE_LEVEL,
                    seed: int = 0) -> Interval:
    """The median of ``samples`` and its bootstrap interval (one sample: a zero-width interval)."""
    values = np.asarray(samples, dtype=float)
    if values.size == 0:
        raise ValueError("a median interval needs at least one sample")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"samples must be finite, got {values.tolist()}")
    median = float(np.median(values))
    if values.size == 1 or np.all(values == values[0]):
        return Interval(median, median, median)
    from scipy.stats import bootstrap

    for method in ("BCa", "percentile"):
        with np.errstate(all="ignore"):
            result = bootstrap((values,), np.median, confidence_level=confidence_level, n_resamples=RESAMPLES,
                               method=method, random_state=np.random.default_rng(seed))
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        if np.isfinite(low) and np.isfinite(high):
            return Interval(median, min(low, median), max(high, median))
    return Interval(median, float(values.min()), float(values.max()))


def per_round_ratios(numerator: Sequence[float], denominator: Sequence[float]) -> list[float]:
    """``numerator[i] / denominator[i]``: samples of the same rounds, paired."""
    if len(numerator) != len(denominator):
        raise ValueError(f"paired samples need one value per round each, got {len(numerator)} and "
                         f"{len(denominator)}")
    if any(value <= 0 for value in denominator):
        raise ValueError("a denominator sample is not positive")
    return [a / b for a, b in zip(numerator, denominator)]


@dataclass(frozen=True)
class PairedRatioSummary:
    """What a record keeps of one pair (``harness.records.PairedRatio``)."""

    numerator: str
    denominator: str
    ratio: Interval
    ideal: Optional[float] = None
    ideal_formula: Optional[str] = None
    over_ideal: Optional[Interval] = None

    def as_record(self) -> dict[str, object]:
        over = self.over_ideal
        return {"numerator": self.numerator, "denominator": self.denominator, "median": self.ratio.median,
                "low": self.ratio.low, "high": self.ratio.high, "ideal": self.ideal,
                "ideal_formula": self.ideal_formula, "over_ideal_median": over and over.median,
                "over_ideal_low": over and over.low, "over_ideal_high": over and over.high}


def summarize_pair(numerator: str, denominator: str, numerator_seconds: Sequence[float],
                   denominator_seconds: Sequence[float], ideal_ratios: Optional[Sequence[float]] = None,
                   ideal_formula: Optional[str] = None, confidence_level: float = CONFIDENCE_LEVEL,
                   seed: int = 0) -> PairedRatioSummary:
    """The pair's per-round ratio, its ideal per round and the ratio of the two, each as a median with an interval
    (no ideal where ``ideal_ratios`` is None: a connection without a declared step cost)."""
    ratios = per_round_ratios(numerator_seconds, denominator_seconds)
    summary = PairedRatioSummary(numerator, denominator, median_interval(ratios, confidence_level, seed))
    if ideal_ratios is None:
        return summary
    over_ideal = per_round_ratios(ratios, ideal_ratios)
    return dataclasses.replace(summary, ideal=float(statistics.median(ideal_ratios)), ideal_formula=ideal_formula,
                               over_ideal=median_interval(over_ideal, confidence_level, seed))


def decide(interval: Interval, target: float) -> Verdict:
    """"met" when the whole interval is at or below ``target``, "missed" when all of it is above, else undecided."""
    if interval.high <= target:
        return "met"
    if interval.low > target:
        return "missed"
    return "not decided"
