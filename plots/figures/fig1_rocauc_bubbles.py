"""Fig. 1 of the paper: test ROC-AUC against memory for the 112-layer ogbn-proteins models, bubbles sized by params.

It summarises the trade-off the paper argues for: reversible networks reach the residual networks' accuracy at a
fraction of the memory. Our bubbles need trained 112-layer models (the ``proteins`` suite's ``train`` profile, days
on a GPU); until such records exist the figure is skipped with that reason, and the table of the 112-layer models
still shows the measured memory and parameters.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..artifact import Artifact, BuildContext
from ..records import SourcedRecord, describe_origins
from ..style import GIB, colour, connection_name, save_figure
from ..registry import register

NAME = "fig1-rocauc-vs-memory"
TITLE = "ROC-AUC against memory, 112-layer models on ogbn-proteins (size: parameters)"
SCORE = "test_at_best_valid"


def _percent(value: float) -> float:
    return value * 100 if value <= 1.0 else value


def _size(params: float) -> float:
    return 20 + 400 * np.sqrt(params / 3e7)


def draw_paper_points(axis: plt.Axes, ctx: BuildContext) -> None:
    """The paper's Fig. 1 (its 112-layer ogbn-proteins table): memory against ROC-AUC, bubble = parameters; a value
    not verified against the paper is hollow and marked †. Shared by the real-graph Fig. 1, which draws it beside."""
    for row in ctx.paper.rows("proteins_112_layers"):
        memory = ctx.paper.value("proteins_112_layers", row, "memory_gb")
        score = ctx.paper.value("proteins_112_layers", row, "test_rocauc")
        params = ctx.paper.value("proteins_112_layers", row, "params")
        if memory.value is None or score.value is None:
            continue
        axis.scatter(memory.value, score.value, s=_size(params.value or 1e5), alpha=0.6, edgecolors="k",
                     color=colour(row["connection"]) if score.verified else "none")
        axis.annotate(row["model"] + ("" if score.verified else " †"), (memory.value, score.value), fontsize=7)


def _trained(item: SourcedRecord) -> bool:
    return item.ok and item.metric(SCORE) is not None and item.metric("peak_allocated_bytes") is not None


@register(NAME, "figure", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    trained = ctx.records.where(_trained, suites=("proteins",), layers=112)
    if not len(trained):
        return [Artifact.skip(NAME, TITLE, "figure",
                              "needs trained 112-layer models on the real ogbn-proteins data (ROC-AUC): "
                              "`python -m harness run suites/proteins.toml --profile train` on a GPU; the memory "
                              "and parameters of these models are in the ogbn-proteins table")]
    figure, (ours, paper) = plt.subplots(1, 2, figsize=(10.5, 4.2), sharey=True)
    for item in trained:
        connection = item.get("connection")
        ours.scatter(item.metric("peak_allocated_bytes") / GIB, _percent(item.metric(SCORE)),
                     s=_size(item.metric("params")), color=colour(connection), alpha=0.6, edgecolors="k")
        ours.annotate(f"{connection_name(connection)}-{item.get('channels')}",
                      (item.metric("peak_allocated_bytes") / GIB, _percent(item.metric(SCORE))), fontsize=7)
    draw_paper_points(paper, ctx)
    ours.set_title("measured")
    paper.set_title("paper (Fig. 1; † unverified, hollow)")
    for axis in (ours, paper):
        axis.set_xlabel("peak memory of one training step (GiB)")
    ours.set_ylabel("test ROC-AUC (%)")
    files = save_figure(figure, ctx.figures_dir, NAME)
    caption = (f"{TITLE}. Bubble area grows with the parameter count. Measured on "
               f"{', '.join(sorted({str(r.get('dataset')) for r in trained}))}; {describe_origins(trained)}.")
    return [Artifact(NAME, TITLE, "figure", caption=caption, files=files, sources=list(trained))]
