"""The paper's complexity table (Table 1 of the slides) beside the measured exponents of memory in L, N and D.

The paper's O(·) column is about what training must keep: activations. The measured counterpart is therefore the
exponent of ``activation_bytes`` (bytes held for backward at the end of the forward), fitted on log-log axes over
each sweep of the ``complexity`` suite (and the ``memory`` suite's depth sweep); the exponent of the whole
``peak_allocated_bytes`` in L is given too, since it also carries parameters and optimizer state (O(LD²)).
GraphSAGE, FastGCN and VR-GCN are the DGL backend's sampled modes (``suites/complexity-*.toml``), swept in the fanout
R and the seed batch B too; GraphSAGE's growth in L is exponential, so its L cell gives the fitted base.
Methods we do not implement say so instead of borrowing a neighbour's numbers.
"""
from __future__ import annotations

from typing import Optional

from ..artifact import Artifact, BuildContext
from ..exponents import SWEPT, Sweep, best_sweep, find_sweeps, swept_value
from ..fit import expected_exponents
from ..records import RecordSet, describe_origins
from ..registry import register
from ..table import Cell, Table, table_artifact

NAME = "table-complexity"
TITLE = "Memory complexity: the paper's O(·) beside the measured exponents in L, N (or B), D and R"
SUITES = ("complexity", "memory")
RUN = "`tox -e reproduce-complexity`"

#: paper method → (connection, mode) measured for it, or the reason it is not measured
METHODS: dict[str, tuple[str, str] | str] = {
    "Full-batch GNN": ("res", "full"),
    "GraphSAGE": ("res", "neighbor"),
    "VR-GCN": ("res", "variance-reduced"),
    "FastGCN": ("res", "layerwise"),
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
#: methods whose O(·) is memory kept between steps, not held by one forward: VR-GCN's histories (L·N·D) are
#: allocated once and live through every step, so they are in the peak and not in the activation bytes
METRIC_OF = {"VR-GCN": PEAK}
#: the columns fitted for every method: L, then N (or B where the method samples a batch of B seeds), D and R
COLUMNS = ("L", "N", "D", "R")


def _expected(memory: str, symbol: str, sweep: Optional[Sweep] = None) -> str:
    exponents = expected_exponents(memory)
    if symbol == "N" and "B" in exponents:  # a sampled subgraph: B nodes, a fixed fraction of N in our suites
        symbol = "B"
    if symbol == "R" and exponents.get("R", 0.0) is None and sweep is not None:  # R^L: a power L in R
        return f"{sweep.records[0].get('layers'):g}"
    if symbol in exponents and exponents[symbol] is None:
        return "exp."
    return f"{exponents.get(symbol, 0.0):g}"


def _sweep(records: RecordSet, symbol: str, metric: str) -> Optional[Sweep]:
    """The best sweep of ``symbol``; for N, a sweep of the seed batch B where the method samples one."""
    if symbol == "N":
        batch = best_sweep(find_sweeps(records, "B", metric))
        if batch is not None:
            return batch
    return best_sweep(find_sweeps(records, symbol, metric))


def _fit_cell(sweep: Optional[Sweep], expected: str, symbol: str) -> Cell:
    if sweep is None:
        return Cell.why("–" if symbol == "R" else f"{expected} → no sweep: run {RUN}")
    if expected == "exp." and sweep.exponential_fit is not None:  # R^L in L: the fitted base, beside the fanout
        fit = sweep.exponential_fit
        r2 = "flat" if fit.r_squared is None else f"{fit.r_squared:.3f}"
        fanout = sweep.records[0].get("train.fanout")
        return Cell(f"exp. (R={fanout}) → base {fit.base:.2f} (R² {r2}, L {fit.x_min:g}–{fit.x_max:g})",
                    source=sweep.records[-1])
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
                   "N (or B): paper → act.", "D: paper → act.", "R: paper → act.", "L: peak"])
    details: list[str] = []
    for row in ctx.paper.complexity():
        method, memory = row["method"], row["memory"]
        measured_as = METHODS.get(method, "not mapped")
        if isinstance(measured_as, str):
            table.add(method, memory, row["params"], Cell.why(measured_as), *(Cell.why("–") for _ in range(5)))
            continue
        connection, mode = measured_as
        chosen = records.where(connection=connection, mode=mode)
        cells = []
        metric = METRIC_OF.get(method, METRIC)
        for symbol in COLUMNS:
            sweep = _sweep(chosen, symbol, metric)
            cells.append(_fit_cell(sweep, _expected(memory, symbol, sweep), symbol))
            if sweep is not None:
                details.append(_detail(ctx, method, sweep))
        peak = best_sweep(find_sweeps(chosen, "L", PEAK))
        cells.append(_peak_cell(peak))
        if peak is not None:
            details.append(_detail(ctx, method, peak))
        measured = f"{connection}, {mode}-batch" if mode in ("full", "mini") else f"{connection}, {mode} sampling (DGL)"
        if metric != METRIC:
            measured += "; fits the peak"
        table.add(method, memory, row["params"], measured, *cells)
    table.footnotes.append("Cells read 'paper exponent → measured exponent (R² of the log-log fit)'. N is swept "
                           "through the synthetic twins' scale (nodes and edges grow together); in mini-batch mode "
                           "one part holds N/parts nodes, so the exponent in N is the paper's exponent in B. "
                           "'act.' fits activation_bytes (held for backward); 'peak' fits peak_allocated_bytes. "
                           "A log-log slope below the paper's exponent means a term that does not grow with the "
                           "swept variable: a reversible stack's activation bytes include the adjacency its forward "
                           "prepares and its first input, which do not depend on D. 'above const.' is the exponent "
                           "k of a least-squares fit of bytes = c + a·x^k (c, a ≥ 0; sweeps of 4 points or more): "
                           "the growth of the part that does depend on x, which is what O(·) describes; the sweep "
                           "list below gives c and the fit's R². "
                           "The sampled rows (DGL's samplers, SAGE blocks, res): GraphSAGE's L cell is the base b of "
                           "a fit bytes = a·b^L at fanout R (with the res connection a node's own row joins its R "
                           "sampled neighbours, so the receptive field grows by at most R+1 per layer, less where "
                           "samples collide, until it covers the graph); its R cell's paper exponent is the sweep's "
                           "L. N (or B) is the seed batch B where the method samples one. FastGCN keeps every "
                           "layer's destinations (the residual needs them), so layer l holds up to B + l·R nodes. "
                           "VR-GCN fits peak_allocated_bytes: its histories (L·N·D) live between steps.")
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
    links = ", ".join(f"[{swept_value(item, SWEPT[sweep.symbol])}]({ctx.cite(item)})" for item in sweep.records)
    offset = f"; above a constant: {sweep.offset_fit.describe()}" if sweep.offset_fit is not None else ""
    if sweep.exponential_fit is not None and sweep.records[0].get("mode") == "neighbor" and sweep.symbol == "L":
        offset += f"; exponential: {sweep.exponential_fit.describe()}"
    return (f"{method}, {sweep.metric} in {sweep.symbol} ({SWEPT[sweep.symbol]}), {sweep.operator}, "
            f"{first.record.suite}/{first.record.profile}: exponent {sweep.fit.describe()}{offset}; points {links}")


def exponent_summary(records: RecordSet) -> dict[tuple[str, str, str], Optional[float]]:
    """(connection, mode, symbol) → fitted exponent of activation bytes, for tests and the report's headline."""
    summary: dict[tuple[str, str, str], Optional[float]] = {}
    for connection, mode in {value for value in METHODS.values() if not isinstance(value, str)}:
        chosen = records.where(connection=connection, mode=mode)
        for symbol in COLUMNS:
            sweep = best_sweep(find_sweeps(chosen, symbol, METRIC))
            summary[(connection, mode, symbol)] = None if sweep is None else sweep.fit.exponent
    return summary
