"""Fig. 5 of the paper: ogbn-products, ResGNN and RevGNN (SAGE, 160 channels), full-batch against mini-batch.

Mini-batch training on one of 10 random node parts divides the memory by about the number of parts; reversible
connections remove the growth with depth; together they are what lets a 112-layer RevGNN train on products.
"""
from __future__ import annotations

from ..artifact import Artifact, BuildContext
from ..draw import PaperPoint, memory_curves
from ..registry import register

NAME = "fig5-products-full-vs-mini"
TITLE = "ogbn-products: full-batch vs mini-batch, ResGNN vs RevGNN"


def paper_points(ctx: BuildContext) -> list[PaperPoint]:
    points = []
    for row in ctx.paper.rows("products"):
        memory = ctx.paper.value("products", row, "memory_gb")
        if memory.value is not None:
            points.append(PaperPoint(x=row["layers"], memory_gib=memory.value, connection=row["connection"],
                                     label=f"{row['model']}, mini-batch", verified=memory.verified))
    return points


@register(NAME, "figure", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    return memory_curves(
        ctx, name=NAME, title=TITLE, paper_figure="Fig. 5", suites=("products",),
        select=lambda r: r.get("connection") in ("res", "rev"), paper_points=paper_points(ctx),
        estimate_suites=("estimate-products",), run_hint="tox -e reproduce-products",
        claim="The paper's claim: mini-batches cut memory by about the number of parts; RevGNN stays flat in "
              "depth in both modes.")
