"""The cost of our reversible backward, its memory side: peak memory of res, rev and the libraries' wrappers.

Our ``rev`` backward evaluates each group's block once (F0 + F + B per step); PyG's ``GroupAddRev`` (``rev-pyg``)
and DGL's ``GroupRevRes`` (``rev-dgl``, measured in the DGL environment) invert without gradients and then run the
forward again with them (2F0 + F + B); a residual network (``res``) keeps its activations and pays F + B. The
memory target, per operator and depth: rev / rev-pyg and rev / rev-dgl peak memory ≤ 1.0.

Step times are the paired suite's (:mod:`.overhead_paired`, Fig. 6). Records of the ``overhead`` suite written
before the paired timing existed also carry a ``time`` run, each connection timed in its own process at its own
moment; they stay readable here, in columns and targets labelled "unpaired" (rev/rev-pyg ≤ 0.8, rev/res ≤ 1.2),
shown only where such records exist. Memory is the allocator peak of one training step (``peak_allocated_bytes``),
in its own process. Ratios are taken within one (profile, device, backend). :func:`comparisons` is shared with the
unpaired Fig. 6's caption.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ..artifact import Artifact, BuildContext
from ..measured import failed, not_run
from ..records import RecordSet, SourcedRecord, profile_rank
from ..registry import register
from ..style import GIB
from ..table import Cell, Table, measured_on, table_artifact

NAME = "table-overhead"
TITLE = "Reversible overhead: peak memory of res, rev and the libraries' wrappers, against the targets"
SUITE = "overhead"
RUN = "`tox -e overhead`"
CONNECTIONS = ("res", "rev", "rev-pyg", "rev-dgl")
#: Columns every group shows (a missing one says how to measure it); rev-dgl only where the DGL environment ran.
ALWAYS_SHOWN = ("res", "rev", "rev-pyg")
TIME = "step_seconds.median"
MEMORY = "peak_allocated_bytes"
OPERATOR_NAMES = {"gcn": "GCN", "sage": "SAGE", "gen": "GEN", "gat": "GAT"}


@dataclass(frozen=True)
class Target:
    """``numerator``'s ``metric`` over ``denominator``'s must be at most ``bound``."""

    numerator: str
    denominator: str
    metric: str
    bound: float

    @property
    def label(self) -> str:
        quantity = "time (unpaired)" if self.metric == TIME else "memory"
        return f"{self.numerator}/{self.denominator} {quantity}"

    def verdict(self, ratio: float) -> str:
        return "met" if ratio <= self.bound else "missed"

    def format(self, ratio: float) -> str:
        """Two decimals, more where two would round a missed ratio onto the bound (1.004 is not "1.00 missed")."""
        for digits in range(2, 7):
            text = f"{ratio:.{digits}f}"
            if float(text) != self.bound or ratio == self.bound:
                return text
        return text


TARGETS = (
    Target("rev", "rev-pyg", TIME, 0.8),
    Target("rev", "rev-pyg", MEMORY, 1.0),
    Target("rev", "rev-dgl", TIME, 0.8),
    Target("rev", "rev-dgl", MEMORY, 1.0),
    Target("rev", "res", TIME, 1.2),
)


@dataclass
class Comparison:
    """One operator at one depth and width: the record of each connection measured there."""

    operator: str
    layers: int
    channels: int
    graph: str  # "synthetic-arxiv ×0.02": ratios are only taken on one graph
    records: dict[str, SourcedRecord] = field(default_factory=dict)

    def ratio(self, target: Target) -> Optional[float]:
        """The measured ratio, or None unless both records are ok and carry the metric."""
        top, bottom = self.records.get(target.numerator), self.records.get(target.denominator)
        if top is None or bottom is None or not (top.ok and bottom.ok):
            return None
        top_value, bottom_value = top.metric(target.metric), bottom.metric(target.metric)
        if top_value is None or not bottom_value:
            return None
        return top_value / bottom_value

    @property
    def operator_name(self) -> str:
        return OPERATOR_NAMES.get(self.operator, self.operator)


def measured_groups(records: RecordSet) -> dict[tuple[str, str, str], RecordSet]:
    """The overhead suite's records by (profile, device, backend), most faithful profile first."""
    chosen = records.where(suites=(SUITE,))
    groups = chosen.groups("profile", "device", "backend")
    return dict(sorted(groups.items(), key=lambda kv: (profile_rank(kv[0][0]), kv[0][1], kv[0][2] != "pyg",
                                                       str(kv[0][2]))))


def group_stem(name: str, profile: str, device: str, backend: str) -> str:
    """``name__cpu-cpu`` for the PyG backend, ``name__cpu-cpu-dgl`` for another."""
    return f"{name}__{profile}-{device}" + ("" if backend in (None, "pyg") else f"-{backend}")


def present_connections(group: RecordSet) -> list[str]:
    """:data:`ALWAYS_SHOWN`, plus the other connections of :data:`CONNECTIONS` this group measured, in that order."""
    measured = set(group.values("connection"))
    return [c for c in CONNECTIONS if c in ALWAYS_SHOWN or c in measured]


def present_targets(group: RecordSet) -> list[Target]:
    """The targets whose two connections this group shows (rev-dgl exists only in the DGL environment)."""
    measured = set(present_connections(group))
    return [t for t in TARGETS if {t.numerator, t.denominator} <= measured]


def comparisons(group: RecordSet) -> list[Comparison]:
    """One :class:`Comparison` per (graph, operator, channels, layers) of a (profile, device) group."""
    by_key: dict[tuple[Any, ...], Comparison] = {}
    for item in group:
        graph = _graph(item)
        key = (graph, item.get("operator"), item.get("channels"), item.get("layers"))
        comparison = by_key.setdefault(key, Comparison(item.get("operator"), item.get("layers"),
                                                       item.get("channels"), graph))
        held = comparison.records.get(item.get("connection"))
        if held is None or (item.ok and not held.ok):  # an ok record wins over a failed one
            comparison.records[item.get("connection")] = item
    return [by_key[key] for key in sorted(by_key, key=lambda k: (k[0], operator_order(k[1]), k[2], k[3]))]


def operator_order(operator: str) -> tuple[int, str]:
    """The paper's order (GCN, SAGE, GEN, GAT), then any other operator by name."""
    order = list(OPERATOR_NAMES)
    return (order.index(operator) if operator in order else len(order), str(operator))


def describe_ratio(comparison: Comparison, target: Target) -> str:
    """"rev/rev-pyg time 0.71 (≤ 0.8: met)" (or that it was not measured), for captions."""
    ratio = comparison.ratio(target)
    if ratio is None:
        return f"{target.label}: not measured"
    return f"{target.label} {target.format(ratio)} (≤ {target.bound:g}: {target.verdict(ratio)})"


@register(NAME, "table", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    groups = measured_groups(ctx.records)
    if not groups:
        return [Artifact.skip(NAME, TITLE, "table", f"no records of suite '{SUITE}'; run {RUN}")]
    artifacts = []
    for (profile, device, backend), group in groups.items():
        rows = comparisons(group)
        connections, targets = present_connections(group), present_targets(group)
        timed = any(item.metric(TIME) is not None for item in group)
        if not timed:  # memory-only records (the paired suite times these cells): no unpaired columns
            targets = [t for t in targets if t.metric != TIME]
        per_unit, unit = _memory_unit(group)
        table = Table(["operator", "L", "D", *(f"unpaired step s: {c}" for c in connections if timed),
                       *(f"peak {unit}: {c}" for c in connections),
                       *(f"{t.label} (target ≤ {t.bound:g})" for t in targets)])
        several_graphs = len({row.graph for row in rows}) > 1
        for row in rows:
            table.add(row.operator_name + (f" ({row.graph})" if several_graphs else ""), str(row.layers),
                      str(row.channels),
                      *(_time_cell(row.records.get(c)) for c in connections if timed),
                      *(_memory_cell(row.records.get(c), per_unit) for c in connections),
                      *(_ratio_cell(row, t) for t in targets))
        ratios = [(row.ratio(t), t) for row in rows for t in targets]
        measured = [(ratio, t) for ratio, t in ratios if ratio is not None]
        met = sum(t.verdict(ratio) == "met" for ratio, t in measured)
        table.footnotes.append(
            f"peak {unit} = allocator peak of one training step (peak_allocated_bytes), a process per cell. "
            + ("unpaired step s = median wall time of the timed training steps after a warm-up step "
               "(step_seconds.median), each connection in its own process at its own moment: on a shared machine "
               "such ratios move with the load; the paired timing is table-overhead-paired. " if timed else "")
            + "A ratio divides rev's value by the other connection's, at the same operator, depth and width, "
            "within this profile and device; 'met' = at or below the target.")
        name = group_stem(NAME, profile, device, backend)
        title = f"{TITLE} — {profile}/{device}, {backend} backend"
        caption = (f"{title}. Targets met: {met} of {len(measured)} measured ratios. "
                   f"Measured: {measured_on(table.sources)}. Each number links to its record.")
        artifacts.append(table_artifact(ctx, name, title, caption, table))
    return artifacts


def _graph(item: SourcedRecord) -> str:
    scale = item.get("scale")
    return f"{item.get('dataset')}" + ("" if scale == 1 else f" ×{scale:g}")


def _time_cell(item: Optional[SourcedRecord]) -> Cell:
    if item is None:
        return not_run(RUN)
    if not item.ok:
        return failed(item)
    seconds = item.metric(TIME)
    return Cell(_number(seconds), source=item) if seconds is not None else Cell.why("no time measurement")


def _memory_cell(item: Optional[SourcedRecord], per_unit: float) -> Cell:
    if item is None:
        return not_run(RUN)
    peak = item.metric(MEMORY)
    if not item.ok and peak is not None and item.record.runs.get("memory", None) is not None \
            and item.record.runs["memory"].status == "ok":
        # the memory run finished and only the time run failed (e.g. killed by the kernel): keep the number
        return Cell(f"{_number(peak / per_unit)} (time run: {item.status})", source=item)
    if not item.ok:
        return failed(item)
    return Cell(_number(peak / per_unit), source=item) if peak is not None else Cell.why("no memory measurement")


def _ratio_cell(row: Comparison, target: Target) -> Cell:
    ratio = row.ratio(target)
    if ratio is None:
        return Cell.why(f"needs {target.numerator} and {target.denominator} measured ok")
    return Cell(f"{target.format(ratio)} {target.verdict(ratio)}", source=row.records[target.numerator])


def _memory_unit(group: RecordSet) -> tuple[float, str]:
    """GiB when every peak reaches 1 GiB, MiB otherwise (a reversible peak is often far below the residual one):
    (bytes per unit, unit)."""
    peaks = [item.metric(MEMORY) for item in group if item.ok and item.metric(MEMORY)]
    return (GIB, "GiB") if peaks and min(peaks) >= GIB else (1024**2, "MiB")


def _number(value: float) -> str:
    """Three significant digits, whole numbers with thousands separators from 100 up (never 1.23e+03)."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
