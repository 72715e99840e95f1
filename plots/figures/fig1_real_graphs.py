"""Fig. 1 on real graphs: test ROC-AUC against peak memory (bubble area: parameters) and against depth, per
connection kind, on tolokers and minesweeper (Platonov et al., ICLR 2023), beside the paper's ogbn-proteins points.

The paper's Fig. 1 needs trained 112-layer models on ogbn-proteins (a GPU for days, :mod:`.fig1_rocauc_bubbles`);
these are real binary-node-classification graphs scored by ROC-AUC like proteins but small enough for a CPU, so the
claim (a deeper reversible network scores as well or better at flat memory) is checked on real data here. Each point
is one configuration of the ``real-data`` suite: the mean over its seeds (each seed is one of the data set's standard
splits), error bars one unbiased std; the dashed lines are the published GCN and SAGE baselines.
"""
from __future__ import annotations

import statistics

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.text import Annotation
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..artifact import Artifact, BuildContext
from ..labels import annotate_point, spread_labels
from ..published_baselines import PUBLISHED
from ..records import RecordSet, SourcedRecord, describe_origins
from ..registry import register
from ..style import MARKERS, colour, connection_name, save_figure
from .fig1_rocauc_bubbles import draw_paper_points

NAME = "fig1-real-graphs"
TITLE = "ROC-AUC against memory and depth on real graphs (tolokers, minesweeper; size: parameters)"
SCORE = "test_at_best_valid"
MIB = 1024**2
DATASETS = ("tolokers", "minesweeper")
CONFIGURATION = ("operator", "connection", "layers", "channels")  # one point each


def _trained(item: SourcedRecord) -> bool:
    return item.ok and item.metric(SCORE) is not None


def _points(records: RecordSet) -> list[dict]:
    """One point per (operator, connection, layers, channels): mean and std over seeds, params, peak."""
    points = []
    for (operator, connection, layers, channels), group in sorted(
            records.groups("operator", "connection", "layers", "channels").items(), key=lambda kv: str(kv[0])):
        scores = [100 * item.metric(SCORE) for item in group]
        peaks = [item.metric("peak_allocated_bytes") for item in group if item.metric("peak_allocated_bytes")]
        points.append({"operator": operator, "connection": connection, "layers": layers, "channels": channels,
                       "mean": statistics.fmean(scores), "std": statistics.stdev(scores) if len(scores) > 1 else 0.0,
                       "n": len(scores), "params": group.first().metric("params") or 1,
                       "peak": max(peaks) / MIB if peaks else None})
    return points


def _marker(operator: str) -> str:
    return {"gcn": "s", "sage": "o"}.get(operator, MARKERS[-1])


def _size(params: float) -> float:
    return 20 + 400 * np.sqrt(params / 2e6)


def _plain_ticks(axis: plt.Axes) -> None:
    """Log-scaled x ticks written as plain numbers (30, 64), not powers (3×10¹, 2⁶); no minor labels."""
    axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.xaxis.set_minor_formatter(NullFormatter())


def _draw_memory(axis: plt.Axes, points: list[dict]) -> list[Annotation]:
    """The bubbles and their labels (returned, to be spread once the layout is final)."""
    labels = []
    for point in points:
        if point["peak"] is None:
            continue
        axis.scatter(point["peak"], point["mean"], s=_size(point["params"]), color=colour(point["connection"]),
                     alpha=0.55, edgecolors="k", marker=_marker(point["operator"]))
        labels.append(annotate_point(axis, f"{point['operator']}-{point['connection']}-{point['layers']}",
                                     (point["peak"], point["mean"])))
    axis.set_xscale("log")
    axis.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 20, 50, 100, 200: a decade is too coarse
    _plain_ticks(axis)
    axis.set_xlabel("peak memory of one training step (MiB)")
    return labels


def _draw_depth(axis: plt.Axes, points: list[dict], dataset: str) -> None:
    for operator in sorted({point["operator"] for point in points}):
        for connection in sorted({p["connection"] for p in points if p["operator"] == operator}):
            series = sorted((p for p in points if p["operator"] == operator and p["connection"] == connection),
                            key=lambda p: p["layers"])
            axis.errorbar([p["layers"] for p in series], [p["mean"] for p in series],
                          yerr=[p["std"] for p in series], color=colour(connection), marker=_marker(operator),
                          linestyle="-" if operator == "sage" else "--", capsize=2,
                          label=f"{operator.upper()} {connection_name(connection)}")
    for operator in sorted({point["operator"] for point in points}):
        if (dataset, operator) in PUBLISHED:
            mean = PUBLISHED[(dataset, operator)][0]
            axis.axhline(mean, color="0.4", linestyle=":" if operator == "sage" else "-.", linewidth=1)
            # x in axes fraction, y in data: the label stays inside the panel whatever the depths drawn
            axis.annotate(f"published {operator.upper()} {mean:.2f}", (0.01, mean),
                          xycoords=axis.get_yaxis_transform(), fontsize=6, va="bottom")
    axis.set_xscale("log", base=2)
    axis.set_xticks(sorted({point["layers"] for point in points}))  # the depths trained, written out: 4, 16, 64
    _plain_ticks(axis)
    axis.set_xlabel("layers")
    axis.legend(fontsize=6)


def _draw_paper(axis: plt.Axes, ctx: BuildContext) -> None:
    draw_paper_points(axis, ctx)
    axis.set_title("paper, ogbn-proteins (Fig. 1; † unverified)", fontsize=9)
    axis.set_xlabel("GPU memory (GB)")
    axis.set_ylabel("test ROC-AUC (%)")


@register(NAME, "figure", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    trained = ctx.records.where(_trained, suites=("real-data",), dataset=DATASETS).best_profile_per(
        "dataset", *CONFIGURATION)
    present = [dataset for dataset in DATASETS if len(trained.where(dataset=dataset))]
    if not present:
        return [Artifact.skip(NAME, TITLE, "figure",
                              "no trained records of suite 'real-data' on tolokers or minesweeper: "
                              "`python -m harness run suites/real-data.toml --profile cpu`")]
    figure, axes = plt.subplots(len(present), 3, figsize=(15, 4.6 * len(present)), squeeze=False)
    labels: list[Annotation] = []
    for r, dataset in enumerate(present):
        points = _points(trained.where(dataset=dataset))
        labels += _draw_memory(axes[r][0], points)
        _draw_depth(axes[r][1], points, dataset)
        for axis in axes[r][:2]:
            axis.set_ylabel(f"{dataset}: test ROC-AUC (%)")
        axes[r][0].set_title(f"{dataset}: score against memory (ours, CPU)", fontsize=9)
        axes[r][1].set_title(f"{dataset}: score against depth (mean ± std over splits)", fontsize=9)
    _draw_paper(axes[0][2], ctx)
    for r in range(1, len(present)):
        axes[r][2].axis("off")
    figure.tight_layout()
    spread_labels(figure, labels)  # rev and wt-rev share a peak and nearly a score: their labels would overlap
    files = save_figure(figure, ctx.figures_dir, NAME)
    seeds = sorted({item.get("seed") for item in trained})
    caption = (f"{TITLE}. Left, middle: measured here on {', '.join(present)} (Platonov et al. 2023, real graphs, "
               f"binary labels, ROC-AUC), splits {seeds}, one training step's allocator peak on the CPU; square "
               f"markers GCN, round SAGE; dotted/dash-dotted lines the published SAGE/GCN scores. Right: the paper's "
               f"Fig. 1, 112-layer models on ogbn-proteins (GPU memory), for comparison of the shape only — other "
               f"data, other scale. {describe_origins(trained)}.")
    return [Artifact(NAME, TITLE, "figure", caption=caption, files=files, sources=list(trained))]
