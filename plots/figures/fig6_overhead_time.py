"""Fig. 6: what our reversible backward costs, timed in pairs: step-time ratios against depth, beside their ideals.

Not a figure of the paper: it checks what our hand-written backward buys. Every point is the median of per-round
ratios of two models timed in the same process and the same rounds (suite ``overhead-paired``), its bar the 95 %
bootstrap interval; the hollow marker on a dotted line is the pair's ideal, the ratio of the two step costs on the
reference's own F0, F, B and U: rev/res = (F0 + F + B + U)/(F + B + U) (a reversible step cannot beat it without
storing activations), rev/rev-pyg = (F0 + F + B + U)/(2F0 + F + B + U). One panel per operator, a colour per pair,
a marker per graph; the caption gives each verdict ("not decided" where the interval straddles the target).
"""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from ..artifact import Artifact, BuildContext
from ..paired import OPERATOR_NAMES, RUN, SUITE, PairedRow, describe, paired_groups, paired_rows
from ..registry import register
from ..style import MARKERS, colour, save_figure
from ..tables.overhead import group_stem

NAME = "fig6-overhead-time"
TITLE = "Reversible overhead timed in pairs: step-time ratio against depth, beside the ideal"
#: Pairs side by side around each depth (factors on the log axis), so their bars do not overlap.
SPREAD = 0.07


@register(NAME, "figure", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    groups = paired_groups(ctx.records)
    if not groups:
        return [Artifact.skip(NAME, TITLE, "figure", f"no records of suite '{SUITE}'; run {RUN}")]
    artifacts = []
    for (profile, device, backend), group in groups.items():
        rows = paired_rows(group)
        operators = list(dict.fromkeys(row.operator for row in rows))
        graphs = list(dict.fromkeys(row.graph for row in rows))  # the figure's, so every panel labels alike
        figure, axes = plt.subplots(1, len(operators), figsize=(3.8 * len(operators) + 0.6, 3.9), squeeze=False,
                                    sharey=True)
        for axis, operator in zip(axes[0], operators):
            _draw_operator(axis, [row for row in rows if row.operator == operator], graphs)
            axis.set_title(OPERATOR_NAMES.get(operator, operator))
            axis.set_xlabel("layers (L)")
        axes[0][0].set_ylabel("step-time ratio (paired rounds)")
        handles, labels = _legend(axes[0])
        figure.legend(handles, labels, loc="upper center", ncol=min(len(labels), 4), bbox_to_anchor=(0.5, 0.0),
                      fontsize=8, title="median of per-round ratios, bars: 95 % bootstrap interval; hollow, "
                                        "dotted: the ideal", title_fontsize=8)
        figure.suptitle(f"measured: {SUITE} suite, profile {profile}, {device}, {backend} backend", fontsize=10)
        figure.tight_layout()
        stem = group_stem(NAME, profile, device, backend)
        files = save_figure(figure, ctx.figures_dir, stem)
        caption = (f"{TITLE} — {profile}/{device}, {backend} backend; "
                   f"{min(row.rounds for row in rows)}–{max(row.rounds for row in rows)} rounds per cell. "
                   + " ".join(f"{row.operator_name} L={row.layers} ({row.graph}): {describe(row)}." for row in rows))
        artifacts.append(Artifact(name=stem, title=f"{TITLE} — {profile}/{device}, {backend} backend",
                                  kind="figure", caption=caption, files=files, sources=list(group)))
    return artifacts


def _draw_operator(axis: Any, rows: list[PairedRow], graphs: list[str]) -> None:
    """One operator's pairs; ``graphs`` are the whole figure's, so that a panel lacking a graph keeps its labels,
    markers and slots the same as its neighbours'."""
    pairs = list(dict.fromkeys(row.label for row in rows))
    depths = sorted({row.layers for row in rows})
    slots = [(pair, graph) for pair in pairs for graph in graphs]
    for slot, (pair, graph) in enumerate(slots):
        chosen = sorted((row for row in rows if row.label == pair and row.graph == graph), key=lambda r: r.layers)
        if not chosen:
            continue
        shift = (1 + SPREAD) ** (slot - (len(slots) - 1) / 2)
        xs = [row.layers * shift for row in chosen]
        medians = [row.ratio.median for row in chosen]
        below = [row.ratio.median - row.ratio.low for row in chosen]
        above = [row.ratio.high - row.ratio.median for row in chosen]
        tint = _pair_colour(chosen[0])
        marker = MARKERS[graphs.index(graph) % len(MARKERS)]
        label = pair + (f", {graph}" if len(graphs) > 1 else "")
        axis.errorbar(xs, medians, yerr=[below, above], color=tint, marker=marker, linestyle="-", markersize=5,
                      capsize=3, linewidth=1.3, label=label)
        ideal = [(x, row.pair.ideal) for x, row in zip(xs, chosen) if row.pair.ideal is not None]
        if ideal:
            axis.plot([x for x, _ in ideal], [value for _, value in ideal], color=tint, marker=marker,
                      markerfacecolor="none", linestyle=":", linewidth=1.0, markersize=7)
    axis.axhline(1.0, color="0.4", linewidth=0.8)
    axis.set_xscale("log")
    axis.xaxis.set_major_locator(FixedLocator(depths))  # the measured depths, not powers of ten
    axis.xaxis.set_major_formatter(ScalarFormatter())
    axis.xaxis.set_minor_locator(NullLocator())
    axis.set_xlim(min(depths) / 1.6, max(depths) * 1.6)


def _pair_colour(row: PairedRow) -> Any:
    """A pair over res takes its numerator's colour; rev over a wrapper takes the wrapper's, darkened."""
    if row.pair.denominator == "res":
        return colour(row.pair.numerator)
    return tuple(0.6 * channel for channel in colour(row.pair.denominator))


def _legend(axes: Any) -> tuple[list, list]:
    """Every panel's entries once (a panel may lack a pair another has)."""
    seen: dict[str, Any] = {}
    for axis in axes:
        for handle, label in zip(*axis.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    return list(seen.values()), list(seen)
