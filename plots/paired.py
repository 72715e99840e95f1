"""The paired timing's records (suite ``overhead-paired``) as rows: one per (graph, operator, depth, pair), with the
ratio's median and interval, its ideal, measured/ideal, and the verdict against the pair's target.

Shared by ``table-overhead-paired`` and Fig. 6. A verdict is taken from an interval, never from a median alone
(:func:`harness.ratios.decide`): "met" when the whole interval is at or below the target, "missed" when all of it is
above, "not decided" when it straddles the target. The targets:

- rev / res: measured/ideal ≤ 1.05, the ideal being (F0 + F + B + U)/(F + B + U) of the same rounds;
- rev / rev-pyg and rev / rev-dgl: the ratio ≤ 0.85, with the interval's upper end below 1.0;
- every ratio's interval within ±5 % of its median.

The peak memory of each pair comes from the ``overhead`` suite's records of the same cells (the exact meter, a
process per cell), matched by every cell field but the connection.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from harness.ratios import Interval, decide
from harness.records import PairedRatio

from .records import RecordSet, SourcedRecord, profile_rank

SUITE = "overhead-paired"
MEMORY_SUITE = "overhead"
RUN = "`tox -e overhead`"
WIDTH_TARGET = 0.05
OVER_IDEAL_TARGET = 1.05
WRAPPER_TARGET = 0.85
OPERATOR_NAMES = {"gcn": "GCN", "sage": "SAGE", "gen": "GEN", "gat": "GAT"}
#: Cell fields that do not tell two compared cells apart (the connection is what differs).
NOT_MATCHED = ("connection",)


@dataclass(frozen=True)
class PairTarget:
    """What a pair must show: ``quantity`` ("measured/ideal" or "ratio") at most ``bound``."""

    quantity: str
    bound: float
    strictly_below_one: bool = False

    @property
    def label(self) -> str:
        extra = ", interval < 1.0" if self.strictly_below_one else ""
        return f"{self.quantity} ≤ {self.bound:g}{extra}"


def target_of(numerator: str, denominator: str) -> Optional[PairTarget]:
    if numerator == "rev" and denominator == "res":
        return PairTarget("measured/ideal", OVER_IDEAL_TARGET)
    if numerator == "rev" and denominator in ("rev-pyg", "rev-dgl"):
        return PairTarget("ratio", WRAPPER_TARGET, strictly_below_one=True)
    return None


@dataclass(frozen=True)
class PairedRow:
    record: SourcedRecord
    pair: PairedRatio
    rounds: int

    @property
    def operator(self) -> str:
        return self.record.get("operator")

    @property
    def operator_name(self) -> str:
        return OPERATOR_NAMES.get(self.operator, self.operator)

    @property
    def layers(self) -> int:
        return self.record.get("layers")

    @property
    def graph(self) -> str:
        return graph_label(self.record)

    @property
    def label(self) -> str:
        return f"{self.pair.numerator}/{self.pair.denominator}"

    @property
    def ratio(self) -> Interval:
        return Interval(self.pair.median, self.pair.low, self.pair.high)

    @property
    def over_ideal(self) -> Optional[Interval]:
        p = self.pair
        if p.over_ideal_median is None or p.over_ideal_low is None or p.over_ideal_high is None:
            return None
        return Interval(p.over_ideal_median, p.over_ideal_low, p.over_ideal_high)

    @property
    def target(self) -> Optional[PairTarget]:
        return target_of(self.pair.numerator, self.pair.denominator)

    def verdict(self) -> Optional[str]:
        """met / missed / not decided against the pair's target; None for a pair without one."""
        target = self.target
        if target is None:
            return None
        interval = self.over_ideal if target.quantity == "measured/ideal" else self.ratio
        if interval is None:
            return None
        verdict = decide(interval, target.bound)
        if verdict == "met" and target.strictly_below_one and not interval.high < 1.0:
            return "not decided"
        return verdict

    def width_verdict(self) -> str:
        return "met" if self.ratio.half_width() <= WIDTH_TARGET else "missed"


def graph_label(item: SourcedRecord) -> str:
    """"synthetic-arxiv ×0.1181", or the name alone at scale 1."""
    scale = item.get("scale")
    return f"{item.get('dataset')}" + ("" if scale == 1 else f" ×{scale:g}")


def paired_groups(records: RecordSet) -> dict[tuple[str, str, str], RecordSet]:
    """The paired suite's ok records by (profile, device, backend), the most faithful profile first."""
    chosen = records.where(lambda item: item.ok and item.record.metrics.paired_time is not None, suites=(SUITE,))
    groups = chosen.groups("profile", "device", "backend")
    return dict(sorted(groups.items(), key=lambda kv: (profile_rank(kv[0][0]), kv[0][1], kv[0][2] != "pyg",
                                                       str(kv[0][2]))))


def paired_rows(group: RecordSet) -> list[PairedRow]:
    """Every pair of every record, by graph (smallest first), the paper's operator order, depth."""
    rows = [PairedRow(item, pair, item.record.metrics.paired_time.rounds)
            for item in group for pair in item.record.metrics.paired_time.ratios]
    order = list(OPERATOR_NAMES)
    return sorted(rows, key=lambda row: (row.record.get("dataset") != "synthetic-arxiv", row.record.get("scale"),
                                         order.index(row.operator) if row.operator in order else len(order),
                                         row.layers))


def failed_cells(records: RecordSet, profile: str, device: str, backend: str) -> list[SourcedRecord]:
    """The paired suite's cells of a group that did not end ok (they have no ratios to draw; the table lists
    them)."""
    return list(records.where(lambda item: not item.ok and item.record.profile == profile, suites=(SUITE,),
                              device=device, backend=backend))


def memory_record(records: RecordSet, row: PairedRow, connection: str) -> Optional[SourcedRecord]:
    """The ``overhead`` suite's record of the row's cell with ``connection``, on the same device."""
    wanted = {key: value for key, value in row.record.cell.items() if key not in NOT_MATCHED}
    matches = [item for item in records.where(suites=(MEMORY_SUITE,), connection=connection)
               if {key: item.cell.get(key) for key in wanted} == wanted and item.ok
               and item.metric("peak_allocated_bytes") is not None]
    return sorted(matches, key=lambda item: profile_rank(item.record.profile))[0] if matches else None


def memory_ratio(records: RecordSet, row: PairedRow) -> Optional[tuple[float, SourcedRecord]]:
    top = memory_record(records, row, row.pair.numerator)
    bottom = memory_record(records, row, row.pair.denominator)
    if top is None or bottom is None:
        return None
    return top.metric("peak_allocated_bytes") / bottom.metric("peak_allocated_bytes"), top


def describe(row: PairedRow) -> str:
    """"rev/res 1.46 [1.42, 1.50], ideal 1.39, ×1.05 ideal: met", for captions."""
    ratio = row.ratio
    text = f"{row.label} {ratio.median:.2f} [{ratio.low:.2f}, {ratio.high:.2f}]"
    if row.pair.ideal is not None:
        text += f", ideal {row.pair.ideal:.2f}"
    over = row.over_ideal
    if over is not None:
        text += f", {over.median:.2f}× ideal"
    verdict = row.verdict()
    if verdict is not None:
        text += f" ({row.target.label}: {verdict})"
    return text
