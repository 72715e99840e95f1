"""How far the fake-tensor estimate can be trusted: every cell measured both by the exact meter and by the estimate.

The paper-scale estimates in the other tables and figures cannot be checked against a measurement on this machine
(they are too big to run); the small twins of suite ``estimate-validation`` can, the same cell once per measurement,
each in its own process. A row is one such cell: the meter's peak (``peak_allocated_bytes``), the estimate's
(``estimated_peak_bytes``), their ratio, and whether they agree to the byte. Where a kernel allocates a buffer inside
one call (scatter reductions, the CSR product) the estimate cannot see it, and the two peaks differ by a few percent,
either way; the summary gives the range of the ratio over every cell, which is what bounds the paper-scale numbers.

On a GPU the meter is ``torch.cuda.max_memory_allocated``, whose baseline also holds what the CUDA libraries allocate
through torch's caching allocator at their first call, chiefly the cuBLAS and cuBLASLt workspaces (64-66 MiB on an
H200 with torch 2.11). A fake-tensor step never calls those libraries, so its baseline lacks them: the
table therefore also compares the step's own peak (peak minus baseline) and gives the baseline gap, and the summary
is given per device, since a CPU cell and a GPU cell answer different questions.
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
METER_BASELINE = "baseline_bytes"
ESTIMATE_BASELINE = "estimated_baseline_bytes"
RUN = "`python -m harness run suites/estimate-validation.toml --profile smoke` (and its -gen, -proteins files)"
MIB = 1024**2
#: A gap this small (a 0-dim temporary inside one kernel) still counts as agreeing: "within 8 B".
SCALAR_BYTES = 8


def validated(item: SourcedRecord) -> bool:
    return item.ok and item.metric(METER) is not None and item.metric(ESTIMATE) is not None


def ratio(item: SourcedRecord) -> float:
    return item.metric(ESTIMATE) / item.metric(METER)


def device_of(item: SourcedRecord) -> str:
    """"cpu", or the GPU's name as the record's environment gives it ("cuda: NVIDIA H200")."""
    if str(item.get("device") or "cpu").startswith("cuda"):
        return f"cuda: {item.record.environment.device}" if item.record.environment else "cuda"
    return "cpu"


def step_peaks(item: SourcedRecord) -> Optional[tuple[int, int]]:
    """(meter, estimate) of the step's own peak, peak minus baseline; None where a record lacks a baseline."""
    meter_base, estimate_base = item.metric(METER_BASELINE), item.metric(ESTIMATE_BASELINE)
    if meter_base is None or estimate_base is None:
        return None
    return item.metric(METER) - meter_base, item.metric(ESTIMATE) - estimate_base


def baseline_gap(item: SourcedRecord) -> Optional[int]:
    """Bytes live before the step that the meter saw and the estimate did not (on CUDA: library workspaces)."""
    meter_base, estimate_base = item.metric(METER_BASELINE), item.metric(ESTIMATE_BASELINE)
    return None if meter_base is None or estimate_base is None else meter_base - estimate_base


def step_ratio(item: SourcedRecord) -> Optional[float]:
    peaks = step_peaks(item)
    return None if peaks is None or peaks[0] <= 0 else peaks[1] / peaks[0]


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
    """One line per device: the range of estimate/meter, how many cells agree to the byte (or within a scalar),
    and on a GPU the range of the step-peak ratio and of the baseline gap."""
    if not len(records):
        return None
    lines = []
    for device in sorted({device_of(item) for item in records}):
        cells = [item for item in records if device_of(item) == device]
        ordered = sorted(cells, key=ratio)
        low, high = ordered[0], ordered[-1]
        exact = sum(agreement(item) == "exact" for item in cells)
        scalar = sum(agreement(item).startswith("within") for item in cells)
        line = (f"{device}, {len(cells)} cells: estimate/meter from {ratio(low):.4f} ({label(low)}) to "
                f"{ratio(high):.4f} ({label(high)}); {exact} exact to the byte, {scalar} within {SCALAR_BYTES} B, "
                f"{len(cells) - exact - scalar} not exact.")
        steps = sorted(r for r in map(step_ratio, cells) if r is not None)
        gaps = sorted(g for g in map(baseline_gap, cells) if g is not None)
        if device != "cpu" and steps and gaps:
            line += (f" The step's own peak (peak − baseline): estimate/meter from {steps[0]:.4f} to "
                     f"{steps[-1]:.4f}; the baseline gap (library workspaces the estimate does not allocate) from "
                     f"{gaps[0] / MIB:.2f} to {gaps[-1] / MIB:.2f} MiB.")
        lines.append(line)
    return " ".join(lines)


def _step_cells(item: SourcedRecord) -> list[Cell | str]:
    peaks, gap = step_peaks(item), baseline_gap(item)
    if peaks is None or gap is None:
        return ["—", "—", "—"]
    step = step_ratio(item)
    return [Cell(f"{peaks[0] / MIB:.2f} / {peaks[1] / MIB:.2f}", source=item),
            Cell("—" if step is None else f"{step:.4f}", source=item), Cell(f"{gap / MIB:.2f}", source=item)]


def _order(item: SourcedRecord) -> tuple[str, ...]:
    return (device_of(item), item.record.suite, item.record.profile, operator_of(item), str(item.get("connection")), impl_of(item),
            _graph(item), str(item.get("mode")))


@register(NAME, "table", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    records = ctx.records.where(validated)
    if not len(records):
        return [Artifact.skip(NAME, TITLE, "table", f"no record has both the meter's and the estimate's peak; "
                                                    f"run {RUN}")]
    table = Table(["device", "operator", "connection", "impl", "graph", "mode", "L×D", "profile", "meter peak MiB",
                   "estimated peak MiB", "estimate/meter", "agrees", "step peak MiB (meter / estimate)",
                   "step estimate/meter", "baseline gap MiB"])
    for item in sorted(records, key=_order):
        table.add(device_of(item), operator_of(item), str(item.get("connection")), impl_of(item), _graph(item),
                  MODE_NAMES.get(item.get("mode"), str(item.get("mode"))),
                  f"{item.get('layers')}×{item.get('channels')}", item.record.profile,
                  Cell(f"{item.metric(METER) / MIB:.2f}", source=item),
                  Cell(f"{item.metric(ESTIMATE) / MIB:.2f}", source=item), Cell(f"{ratio(item):.4f}", source=item),
                  agreement(item), *_step_cells(item))
    line = summary(records)
    table.footnotes.append(f"Summary: {line}")
    table.footnotes.append(
        "agrees: exact = the same peak to the byte; within N B = one 0-dim temporary inside a kernel apart; no = "
        "the peaks differ, where a kernel allocates a buffer inside one call (scatter reductions, the CSR product) "
        "that fake tensors cannot see, so the peak falls at another moment of the step. Meter: the profiler replay "
        "of one training step after a warm-up step (on a GPU: torch.cuda.max_memory_allocated); estimate: the same "
        "step on fake tensors, in a separate process. step peak = peak − the bytes live before the step; baseline "
        "gap = meter baseline − estimate baseline: on a GPU the CUDA libraries' workspaces (cuBLAS and cuBLASLt, "
        "allocated through torch's caching allocator at the first matrix product; 64-66 MiB on an H200 with "
        "torch 2.11), which a fake-tensor step never allocates.")
    caption = (f"{TITLE}. {line} Each number links to the record holding both measurements; "
               f"records: {', '.join(sorted({o.label for o in records.origins()}))}.")
    return [table_artifact(ctx, NAME, TITLE, caption, table)]
