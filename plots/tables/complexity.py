"""The paper's complexity table (Table 1 of the slides) beside the measured exponents of memory in L, N and D.

The paper's O(·) column is about what training must keep: activations. The measured counterpart is therefore the
exponent of ``activation_bytes`` (bytes held for backward at the end of the forward), fitted on log-log axes over
each sweep of the ``complexity`` suite (and the ``memory`` suite's depth sweep); the exponent of the whole
``peak_allocated_bytes`` in L is given too, since it also carries parameters and optimizer state (O(LD²)).
Methods we do not implement say so instead of borrowing a neighbour's numbers.
"""
from __future__ import annotations

from typing import Optional

from ..artifact import Artifact, BuildContext
from ..exponents import SWEPT, Sweep, best_sweep, find_sweeps
from ..fit import expected_exponents
from ..records import RecordSet, describe_origins
from ..registry import register
from ..table import Cell, Table, table_artifact

NAME = "table-complexity"
TITLE = "Memory complexity: the paper's O(·) beside the measured exponents in L, N and D"
SUITES = ("complexity", "memory")
RUN = "`tox -e reproduce-complexity`"

#: paper method → (connection, mode) measured for it, or the reason it is not measured
METHODS: dict[str, tuple[str, str] | str] = {
    "Full-batch GNN": ("res", "full"),
    "GraphSAGE": "not implemented: neighbour sampling needs pyg-lib or torch-sparse",
    "VR-GCN": "not implemented (variance-reduced neighbour sampling)",
    "FastGCN": "not implemented (layer-wise importance sampling)",
    "Cluster-GCN": ("res", "mini"),
    "GraphSAINT": ("res", "mini"),
    "Weight-tied GNN": ("wt-res", "full"),
    "RevGNN": ("rev", "full"),
    "WT-RevGNN": ("wt-rev", "full"),
    "DEQ-GNN": ("deq", "full"),
    "RevGNN + Subgraph Sampling": ("rev", "mini"),
    "WT-RevGNN + Subgraph Sampling": ("wt-rev", "mini"),
    "DEQ-GNN + Subgraph Sampling": ("deq", "mini"),
}
METRIC = "activation_bytes"
PEAK = "peak_allocated_bytes"


def _expected(memory: str, symbol: str) -> str:
    exponents = expected_exponents(memory)
    if symbol == "N" and "B" in exponents:  # a sampled subgraph: B nodes, a fixed fraction of N in our suites
        symbol = "B"
    if symbol in exponents and exponents[symbol] is None:
        return "exp."
    return f"{exponents.get(symbol, 0.0):g}"


def _fit_cell(sweep: Optional[Sweep], expected: str) -> Cell:
    if sweep is None:
        return Cell.why(f"{expected} → no sweep: run {RUN}")
    return Cell(f"{expected} → {_exponents(sweep)}", source=sweep.records[-1])


def _peak_cell(sweep: Optional[Sweep]) -> Cell:
    if sweep is None:
        return Cell.why("no sweep")
    return Cell(_exponents(sweep), source=sweep.records[-1])


def _exponents(sweep: Sweep) -> str:
    """'slope (R² …)', then the exponent of the part above a constant where the sweep has points enough for it."""
    r2 = "flat" if sweep.fit.r_squared is None else f"{sweep.fit.r_squared:.3f}"
    text = f"{sweep.fit.exponent:.2f} (R² {r2})"
    offset = sweep.offset_fit
    if offset is not None and offset.r_squared is not None:
        text += f"; above const. {offset.exponent:.2f}"
    return text


@register(NAME, "table", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    records = ctx.records.where(suites=SUITES)
    table = Table(["method", "memory (paper)", "params (paper)", "measured as", "L: paper → act.",
                   "N: paper → act.", "D: paper → act.", "L: peak"])
    details: list[str] = []
    for row in ctx.paper.complexity():
        method, memory = row["method"], row["memory"]
        measured_as = METHODS.get(method, "not mapped")
        if isinstance(measured_as, str):
            table.add(method, memory, row["params"], Cell.why(measured_as), *(Cell.why("–") for _ in range(4)))
            continue
        connection, mode = measured_as
        chosen = records.where(connection=connection, mode=mode)
        cells = []
        for symbol in SWEPT:
            sweep = best_sweep(find_sweeps(chosen, symbol, METRIC))
            cells.append(_fit_cell(sweep, _expected(memory, symbol)))
            if sweep is not None:
                details.append(_detail(ctx, method, sweep))
        peak = best_sweep(find_sweeps(chosen, "L", PEAK))
        cells.append(_peak_cell(peak))
        if peak is not None:
            details.append(_detail(ctx, method, peak))
        table.add(method, memory, row["params"], f"{connection}, {mode}-batch", *cells)
    table.footnotes.append("Cells read 'paper exponent → measured exponent (R² of the log-log fit)'. N is swept "
                           "through the synthetic twins' scale (nodes and edges grow together); in mini-batch mode "
                           "one part holds N/parts nodes, so the exponent in N is the paper's exponent in B. "
                           "'act.' fits activation_bytes (held for backward); 'peak' fits peak_allocated_bytes. "
                           "A log-log slope below the paper's exponent means a term that does not grow with the "
                           "swept variable: a reversible stack's activation bytes include the adjacency its forward "
                           "prepares and its first input, which do not depend on D. 'above const.' is the exponent "
                           "k of a least-squares fit of bytes = c + a·x^k (c, a ≥ 0; sweeps of 4 points or more): "
                           "the growth of the part that does depend on x, which is what O(·) describes; the sweep "
                           "list below gives c and the fit's R².")
    caption = (f"{TITLE}. Paper: tag '{ctx.paper.section('complexity_table')['tag']}'. "
               f"Measured from sweeps in the suites {', '.join(SUITES)} ({describe_origins(records)}); see the "
               "sweep list below the table.")
    artifact = table_artifact(ctx, NAME, TITLE, caption, table)
    artifact.sources = list({str(r.path): r for r in records}.values())
    artifact.notes = details
    return [artifact]


def _detail(ctx: BuildContext, method: str, sweep: Sweep) -> str:
    """One line per fitted sweep: which records, which range, which fit (for traceability)."""
    first = sweep.records[0]
    links = ", ".join(f"[{item.get(SWEPT[sweep.symbol])}]({ctx.cite(item)})" for item in sweep.records)
    offset = f"; above a constant: {sweep.offset_fit.describe()}" if sweep.offset_fit is not None else ""
    return (f"{method}, {sweep.metric} in {sweep.symbol} ({SWEPT[sweep.symbol]}), {sweep.operator}, "
            f"{first.record.suite}/{first.record.profile}: exponent {sweep.fit.describe()}{offset}; points {links}")


def exponent_summary(records: RecordSet) -> dict[tuple[str, str, str], Optional[float]]:
    """(connection, mode, symbol) → fitted exponent of activation bytes, for tests and the report's headline."""
    summary: dict[tuple[str, str, str], Optional[float]] = {}
    for connection, mode in {value for value in METHODS.values() if not isinstance(value, str)}:
        chosen = records.where(connection=connection, mode=mode)
        for symbol in SWEPT:
            sweep = best_sweep(find_sweeps(chosen, symbol, METRIC))
            summary[(connection, mode, symbol)] = None if sweep is None else sweep.fit.exponent
    return summary
