"""The ogbn-arxiv operator ablation (paper Table 3): Res against Rev for GCN, SAGE, GEN (28 layers) and GAT (5).

For each of the paper's twelve rows: memory, parameters and test accuracy, paper beside measured, and the memory
ratio Rev/Res against the Res row of the same operator. The ratio is the comparable number: the paper's GiB come
from a V100, ours from whatever device and graph size the profile used; a ratio taken within one profile cancels
both. Accuracy needs training on the real ogbn-arxiv features, which only the ``full`` profile does.

Beside them, each row's estimate at the paper's scale (suite ``estimate-arxiv``: the real arxiv graph, 28 layers, on
fake tensors, see :mod:`plots.estimated`), with the authors' implementation and with ours: GiB that do compare with
the paper's, whatever graph the exact meter could afford.
"""
from __future__ import annotations

from typing import Optional

from .. import estimated
from ..artifact import Artifact, BuildContext
from ..measured import memory_cell, paper_cell, params_cell, pick, pick_scored, ratio_cell, score_cell
from ..records import SourcedRecord
from ..reference import UNVERIFIED_NOTE, memory_ratio
from ..registry import register
from ..table import Cell, Table, measured_on, table_artifact

NAME = "table-arxiv-ablation"
TITLE = "ogbn-arxiv operator ablation: Res vs Rev (paper Table 3)"
SECTION = "arxiv_operator_ablation"
RUN = "`tox -e reproduce-arxiv`"
ESTIMATE_SUITES = ("estimate-arxiv",)
ESTIMATED_OPERATORS = ("gcn", "sage", "gen")  # the operators suites/estimate-arxiv*.toml estimate


def _accuracy_why(memory: Optional[SourcedRecord]) -> str:
    dataset = str(memory.get("dataset")) if memory is not None else ""
    if dataset != "ogbn-arxiv":
        return "needs the ogbn-arxiv data (node features) and training: profile full"
    return "needs training: profile full"


def _graph_cell(measured: Optional[SourcedRecord]) -> Cell:
    if measured is None:
        return Cell.why("–")
    scale = measured.get("scale")
    return Cell(f"{measured.get('dataset')}" + ("" if scale in (None, 1) else f" ×{scale:g}"))


def _no_estimate(row: dict) -> Optional[str]:
    """Why a row has no estimate by design (suite estimate-arxiv has no GAT cells), else None."""
    return None if row["operator"] in ESTIMATED_OPERATORS else f"not in suite estimate-arxiv ({row['operator']})"


@register(NAME, "table", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    records = ctx.records.where(suites=("arxiv",), mode="full")
    estimates = estimated.paper_scale_estimates(ctx.records, ESTIMATE_SUITES, lambda r: r.get("mode") == "full")
    table = Table(["model", "L", "D", "memory GiB (paper)", "memory GiB (measured)", "graph (measured)",
                   "Rev/Res (paper)", "Rev/Res (measured)", *estimated.HEADERS, "params (paper)",
                   "params (measured)", "test acc % (paper)", "test acc % (measured)"])
    rows = ctx.paper.rows(SECTION)
    for row in rows:
        config = dict(operator=row["operator"], connection=row["connection"], layers=row["layers"],
                      channels=row["channels"])
        measured = pick(records, **config)
        res_row = next(r for r in rows if r["operator"] == row["operator"] and r["connection"] == "res")
        paper_memory = ctx.paper.value(SECTION, row, "memory_gb")
        if row["connection"] == "res":
            paper_ratio = Cell("1")
            measured_ratio = Cell("1", source=measured) if measured is not None and measured.ok else Cell.why("–")
        else:
            paper_ratio = paper_cell(memory_ratio(paper_memory, ctx.paper.value(SECTION, res_row, "memory_gb")))
            res = None
            if measured is not None:  # the Res row measured in the same profile, on the same graph
                res = pick(records, lambda r: r.record.profile == measured.record.profile,
                           operator=row["operator"], connection="res", layers=res_row["layers"],
                           channels=res_row["channels"], dataset=measured.get("dataset"),
                           scale=measured.get("scale"))
            measured_ratio = ratio_cell(measured, res)
        table.add(row["model"], str(row["layers"]), str(row["channels"]), paper_cell(paper_memory),
                  memory_cell(measured, RUN), _graph_cell(measured), paper_ratio, measured_ratio,
                  *estimated.estimate_cells(estimates, paper_memory, RUN, _no_estimate(row), **config),
                  paper_cell(ctx.paper.value(SECTION, row, "params")), params_cell(measured, RUN),
                  paper_cell(ctx.paper.value(SECTION, row, "test_acc")),
                  score_cell(pick_scored(records, **config), _accuracy_why(measured)))
    table.footnotes.append(UNVERIFIED_NOTE)
    table.footnotes.append(estimated.NOTE)
    table.footnotes.append(
        "graph (measured): the graph each row was measured on. Rows on a part of the synthetic twin (×scale) have "
        "GiB that do not compare with the paper's whole-graph figures; their Rev/Res ratio, taken against the Res "
        "row on the same graph, does. Each suite file says why its profile uses that graph.")
    caption = (f"{TITLE}. Paper: full-batch on a V100, tag '{ctx.paper.section(SECTION)['tag']}'. "
               f"Measured and estimated: full-batch, peak of one training step; {measured_on(table.sources)}. "
               "Each measured number links to its record.")
    return [table_artifact(ctx, NAME, TITLE, caption, table)]
