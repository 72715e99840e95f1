"""Fig. 2 of the paper: peak memory against depth, ResGNN against RevGNN (GEN on ogbn-proteins mini-batches).

The claim: a residual network's memory grows linearly with depth, a reversible one's stays flat (O(LND) against
O(ND)). Drawn from the ``memory`` suite (the CPU main job) and the ``proteins`` suite.
"""
from __future__ import annotations

from ..artifact import Artifact, BuildContext
from ..draw import memory_curves
from ..paper_points import proteins_points
from ..registry import register

NAME = "fig2-memory-vs-depth"
TITLE = "Memory against depth: ResGNN vs RevGNN"


@register(NAME, "figure", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    return memory_curves(
        ctx, name=NAME, title=TITLE, paper_figure="Fig. 2", suites=("memory", "proteins"),
        select=lambda r: r.get("connection") in ("res", "rev"),
        paper_points=proteins_points(ctx.paper, ("res", "rev")),
        estimate_suites=("estimate-proteins",), run_hint="tox -e memory",
        claim="The paper's claim: ResGNN grows linearly with depth, RevGNN stays flat.")
