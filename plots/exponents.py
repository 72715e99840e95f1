"""Measured exponents of memory in L, N and D: find the sweeps among the records and fit a power law to each.

A sweep is a set of ok records that differ only in one swept variable: ``layers`` (L), ``scale`` (N: the synthetic
twins scale the node count, and the edge count with it, linearly; in mini-batch mode a part holds N/parts nodes, so
the exponent in N is also the exponent in B), ``channels`` (D), or the sampled modes' ``train.fanout`` (R) and
``train.batch_size`` (B). Everything else — operator, connection, mode,
dataset, the other two variables, suite and profile — must be equal. With several sweeps for one connection and
mode, the longest (most points, then widest range) is reported. Each sweep carries two fits: the plain log-log
slope, and (from four points on) the exponent of the part that grows above a constant (:mod:`.fit`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from harness.config import TrainOptions

from .fit import (MIN_OFFSET_POINTS, ExponentialFit, OffsetPowerLawFit, PowerLawFit, fit_exponential,
                  fit_offset_power_law, fit_power_law)
from .records import RecordSet, SourcedRecord, profile_rank

#: symbol → the cell field swept for it (R and B: the sampled modes' fanout and seed batch, training options)
SWEPT = {"L": "layers", "N": "scale", "D": "channels", "R": "train.fanout", "B": "train.batch_size"}
#: sweeps need this many distinct x values to be fitted
MIN_POINTS = 3
#: cell fields that never define a sweep's identity (they are the same for every point or irrelevant to memory)
IGNORED = frozenset({"seed", "epochs", "lr", "train", "device"})


@dataclass(frozen=True)
class Sweep:
    symbol: str
    metric: str
    fit: PowerLawFit
    records: tuple[SourcedRecord, ...]
    offset_fit: Optional[OffsetPowerLawFit] = None  # None below MIN_OFFSET_POINTS points
    exponential_fit: Optional[ExponentialFit] = None  # y ≈ a · base^x, for growth exponential in x (R^L in L)

    @property
    def operator(self) -> str:
        return str(self.records[0].get("operator"))


def swept_value(item: SourcedRecord, swept: str) -> Any:
    """The swept field's value; a training option the cell leaves at its default (so does not write) has its default."""
    value = item.get(swept)
    table, _, option = swept.partition(".")
    if value is None and table == "train" and option in TrainOptions.model_fields:
        return TrainOptions.model_fields[option].default
    return value


def _identity(item: SourcedRecord, swept: str) -> tuple:
    table, _, option = swept.partition(".")
    config = {key: value for key, value in item.cell.items() if key not in IGNORED and key != swept}
    if option and isinstance(config.get(table), dict):  # an option swept: its table without it
        config[table] = {key: value for key, value in config[table].items() if key != option}
    return (item.record.suite, item.record.profile, repr(sorted(config.items())))


def find_sweeps(records: RecordSet, symbol: str, metric: str) -> list[Sweep]:
    """Every fittable sweep of ``symbol`` (L, N or D) in ``records`` for ``metric``."""
    swept = SWEPT[symbol]
    groups: dict[tuple, list[SourcedRecord]] = {}
    for item in records:
        value = item.metric(metric)
        if item.ok and isinstance(value, (int, float)) and value > 0:
            groups.setdefault(_identity(item, swept), []).append(item)
    sweeps = []
    for items in groups.values():
        by_x = {float(swept_value(item, swept)): item for item in items}
        if len(by_x) < MIN_POINTS:
            continue
        xs = sorted(by_x)
        ys = [by_x[x].metric(metric) for x in xs]
        offset_fit = fit_offset_power_law(xs, ys) if len(xs) >= MIN_OFFSET_POINTS else None
        sweeps.append(Sweep(symbol, metric, fit_power_law(xs, ys), tuple(by_x[x] for x in xs), offset_fit,
                            fit_exponential(xs, ys)))
    return sweeps


def best_sweep(sweeps: Sequence[Sweep]) -> Optional[Sweep]:
    """The longest sweep (then the widest, then the complexity suite's, then the most faithful profile)."""
    if not sweeps:
        return None
    return max(sweeps, key=lambda s: (s.fit.points, s.fit.x_max / s.fit.x_min,
                                      s.records[0].record.suite == "complexity",
                                      -profile_rank(s.records[0].record.profile)[0]))
