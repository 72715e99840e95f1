"""How far the fake-tensor estimate can be trusted: every cell measured both by the exact meter and by the estimate.

The paper-scale estimates in the other tables and figures cannot be checked against a measurement on this machine
(they are too big to run); the small twins of suite ``estimate-validation`` can, the same cell once per measurement,
each in its own process. A row is one such cell: the meter's peak (``peak_allocated_bytes``), the estimate's
(``estimated_peak_bytes``), their ratio, and whether they agree to the byte. Where a kernel allocates a buffer inside
one call (scatter reductions, the CSR product) the estimate cannot see it, and the two peaks differ by a few percent,
either way; the summary gives the range of the ratio over every cell, which is what bounds the paper-scale numbers.
"""
from __future__ import annotations

from typing import Optional

from ..artifact import Artifact, BuildContext
from ..estimated import ESTIMATE
from ..records import RecordSet, SourcedRecord
from ..registry import register
from ..style import MODE_NAMES
from ..table import Cell, Table, table_artifact

NAME = "table-estimate-validation"
TITLE = "The fake-tensor estimate against the exact meter, cell by cell"
METER = "peak_allocated_bytes"
RUN = "`python -m harness run suites/estimate-validation.toml --profile smoke` (and its -gen, -proteins files)"
MIB = 1024**2
#: A gap this small (a 0-dim temporary inside one kernel) still counts as agreeing: "within 8 B".
SCALAR_BYTES = 8


def validated(item: SourcedRecord) -> bool:
    return item.ok and item.metric(METER) is not None and item.metric(ESTIMATE) is not None


def ratio(item: SourcedRecord) -> float:
    return item.metric(ESTIMATE) / item.metric(METER)


def agreement(item: SourcedRecord) -> str:
    """"exact", "within 4 B" (estimate under by a scalar), or "no: -2.31 %"."""
    gap = item.metric(ESTIMATE) - item.metric(METER)
    if gap == 0:
        return "exact"
    if abs(gap) <= SCALAR_BYTES:
        return f"within {abs(gap)} B"
    return f"no: {(ratio(item) - 1) * 100:+.2f} %"


def impl_of(item: SourcedRecord) -> str:
    """The cell's implementation; a cell without one ran the operator's default (PyG's GENConv for GEN)."""
    impl = item.get("model.impl")
    if impl:
        return str(impl)
    return "pyg (GENConv, default)" if item.get("operator") == "gen" else "ours (default)"


def operator_of(item: SourcedRecord) -> str:
    aggr = item.get("model.aggr")
    return f"{item.get('operator')}" + (f" ({aggr})" if aggr else "")


def label(item: SourcedRecord) -> str:
    """For the summary: "gen (max)/rev/ours on synthetic-proteins ×0.02"."""
    return f"{operator_of(item)}/{item.get('connection')}/{impl_of(item)} on {_graph(item)}"


def _graph(item: SourcedRecord) -> str:
    scale = item.get("scale")
    return f"{item.get('dataset')}" + ("" if scale in (None, 1) else f" ×{scale:g}")


def summary(records: RecordSet) -> Optional[str]:
    """One line: the range of estimate/meter and how many cells agree to the byte (or within a scalar)."""
    if not len(records):
        return None
    ordered = sorted(records, key=ratio)
    low, high = ordered[0], ordered[-1]
    exact = sum(agreement(item) == "exact" for item in records)
    scalar = sum(agreement(item).startswith("within") for item in records)
    return (f"{len(records)} cells: estimate/meter from {ratio(low):.4f} ({label(low)}) to {ratio(high):.4f} "
            f"({label(high)}); {exact} exact to the byte, {scalar} within {SCALAR_BYTES} B, "
            f"{len(records) - exact - scalar} not exact.")


def _order(item: SourcedRecord) -> tuple[str, ...]:
    return (item.record.suite, item.record.profile, operator_of(item), str(item.get("connection")), impl_of(item),
            _graph(item), str(item.get("mode")))


@register(NAME, "table", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    records = ctx.records.where(validated)
    if not len(records):
        return [Artifact.skip(NAME, TITLE, "table", f"no record has both the meter's and the estimate's peak; "
                                                    f"run {RUN}")]
    table = Table(["operator", "connection", "impl", "graph", "mode", "L×D", "profile", "meter peak MiB",
                   "estimated peak MiB", "estimate/meter", "agrees"])
    for item in sorted(records, key=_order):
        table.add(operator_of(item), str(item.get("connection")), impl_of(item), _graph(item),
                  MODE_NAMES.get(item.get("mode"), str(item.get("mode"))),
                  f"{item.get('layers')}×{item.get('channels')}", item.record.profile,
                  Cell(f"{item.metric(METER) / MIB:.2f}", source=item),
                  Cell(f"{item.metric(ESTIMATE) / MIB:.2f}", source=item), Cell(f"{ratio(item):.4f}", source=item),
                  agreement(item))
    line = summary(records)
    table.footnotes.append(f"Summary: {line}")
    table.footnotes.append(
        "agrees: exact = the same peak to the byte; within N B = one 0-dim temporary inside a kernel apart; no = "
        "the peaks differ, where a kernel allocates a buffer inside one call (scatter reductions, the CSR product) "
        "that fake tensors cannot see, so the peak falls at another moment of the step. Meter: the profiler replay "
        "of one training step after a warm-up step; estimate: the same step on fake tensors, in a separate process.")
    caption = (f"{TITLE}. {line} Each number links to the record holding both measurements; "
               f"records: {', '.join(sorted({o.label for o in records.origins()}))}.")
    return [table_artifact(ctx, NAME, TITLE, caption, table)]
