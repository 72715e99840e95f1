"""Fig. 3 of the paper: weight-tied networks, WT-ResGNN against WT-RevGNN.

Tying the weights makes parameters O(D²) but does not save activations: WT-Res still grows with depth, WT-Rev stays
flat. Drawn from the ``memory`` and ``proteins`` suites.
"""
from __future__ import annotations

from ..artifact import Artifact, BuildContext
from ..draw import memory_curves
from ..paper_points import proteins_points
from ..registry import register

NAME = "fig3-weight-tied"
TITLE = "Memory against depth: WT-ResGNN vs WT-RevGNN"


@register(NAME, "figure", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    return memory_curves(
        ctx, name=NAME, title=TITLE, paper_figure="Fig. 3", suites=("memory", "proteins"),
        select=lambda r: r.get("connection") in ("wt-res", "wt-rev"),
        paper_points=proteins_points(ctx.paper, ("wt-res", "wt-rev")),
        estimate_suites=("estimate-proteins",), run_hint="tox -e memory",
        claim="The paper's claim: WT-ResGNN grows with depth, WT-RevGNN stays flat.")
