"""Fig. 4 of the paper: ResGNN against DEQ-GNN; the x-axis is layers for Res and solver iterations for DEQ.

A DEQ differentiates implicitly at the fixed point and stores none of the solver's iterates, so its memory does not
depend on how many iterations the solver ran. Its x value is the record's ``solver_iterations`` (what the solver
actually did in the measured step) when the record has it, else the iteration cap (``layers``).
"""
from __future__ import annotations

from ..artifact import Artifact, BuildContext
from ..draw import memory_curves
from ..paper_points import proteins_points
from ..registry import register

NAME = "fig4-deq"
TITLE = "Memory against depth or solver iterations: ResGNN vs DEQ-GNN"


@register(NAME, "figure", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    return memory_curves(
        ctx, name=NAME, title=TITLE, paper_figure="Fig. 4", suites=("memory", "proteins"),
        select=lambda r: r.get("connection") in ("res", "deq"),
        paper_points=proteins_points(ctx.paper, ("res", "deq")),
        x_label="layers (Res) / solver iterations (DEQ)", x_metric="solver_iterations",
        estimate_suites=("estimate-proteins",), run_hint="tox -e memory",
        claim="The paper's claim: DEQ-GNN's memory does not grow with the number of solver iterations.")
