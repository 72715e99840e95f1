"""ogbn-products (the PyG example's RevGNN, SAGE 160 channels): Res against Rev, full-batch against mini-batch.

The paper prints memory only for the 112-layer RevGNN trained on 10 random parts; the other rows have a measured
value and a "not in the paper" cell, which is the honest state of the reference.

Beside them, the mini-batch rows' estimates at the paper's scale (suite ``estimate-products``: parts drawn at their
full-size shape, on fake tensors, see :mod:`plots.estimated`), impl paper (PyG's edge_index SAGEConv, the rev_gnn
example's) and ours. Full-batch at this scale holds the whole 124M-column graph and is left to the exact meter.
"""
from __future__ import annotations

from .. import estimated
from ..artifact import Artifact, BuildContext
from ..measured import memory_cell, paper_cell, params_cell, pick, pick_scored, ratio_cell, score_cell
from ..reference import MISSING, UNVERIFIED_NOTE
from ..registry import register
from ..style import MODE_NAMES
from ..table import Cell, Table, measured_on, table_artifact

NAME = "table-products"
TITLE = "ogbn-products: ResGNN vs RevGNN, full-batch vs mini-batch (SAGE, 160 channels)"
SECTION = "products"
RUN = "`tox -e reproduce-products`"
ESTIMATE_SUITES = ("estimate-products",)
WHY_NO_ESTIMATE = "full-batch: left to the exact meter (GPU)"
WHY_SCORE = "needs training on the real ogbn-products data: profile full (GPU)"


@register(NAME, "table", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    records = ctx.records.where(suites=("products",), operator="sage", channels=160)
    estimates = estimated.paper_scale_estimates(ctx.records, ESTIMATE_SUITES,
                                                lambda r: r.get("operator") == "sage" and r.get("channels") == 160)
    table = Table(["model", "L", "mode", "memory GiB (paper)", "memory GiB (measured)", "Rev/Res (paper)",
                   "Rev/Res (measured)", *estimated.HEADERS, "params (paper)", "params (measured)",
                   "test acc % (paper)", "test acc % (measured)"])
    depths = sorted({row["layers"] for row in ctx.paper.rows(SECTION)} | set(records.values("layers"))
                    | set(estimates.values("layers")))
    for layers in depths:
        for mode in ("mini", "full"):
            for connection in ("res", "rev"):
                row = ctx.paper.find(SECTION, connection=connection, layers=layers) if mode == "mini" else None
                config = dict(connection=connection, layers=layers, mode=mode)
                measured = pick(records, **config)
                memory = ctx.paper.value(SECTION, row, "memory_gb") if row else MISSING
                if connection == "res":
                    ratio_paper = Cell("1")
                    ratio_measured = (Cell("1", source=measured) if measured is not None and measured.ok
                                      else Cell.why("–"))
                else:
                    res = None
                    if measured is not None:
                        res = pick(records, lambda r: r.record.profile == measured.record.profile,
                                   connection="res", layers=layers, mode=mode, dataset=measured.get("dataset"),
                                   scale=measured.get("scale"))
                    ratio_paper, ratio_measured = Cell.why("not in the paper"), ratio_cell(measured, res)
                name = f"{'RevGNN' if connection == 'rev' else 'ResGNN'}-{layers}"
                table.add(name, str(layers), MODE_NAMES[mode], paper_cell(memory), memory_cell(measured, RUN),
                          ratio_paper, ratio_measured,
                          *estimated.estimate_cells(estimates, memory, RUN,
                                                    WHY_NO_ESTIMATE if mode == "full" else None, **config),
                          paper_cell(ctx.paper.value(SECTION, row, "params") if row else MISSING),
                          params_cell(measured, RUN),
                          paper_cell(ctx.paper.value(SECTION, row, "test_acc") if row else MISSING),
                          score_cell(pick_scored(records, **config), WHY_SCORE))
    table.footnotes.append(UNVERIFIED_NOTE)
    table.footnotes.append(estimated.NOTE)
    caption = (f"{TITLE}. Paper: PyG examples/rev_gnn.py header (mini-batch, 10 parts). "
               f"Measured and estimated: {measured_on(table.sources)}. Each measured number links to its record.")
    return [table_artifact(ctx, NAME, TITLE, caption, table)]
