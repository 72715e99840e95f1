"""Fig. 6, unpaired: time per training step against depth, from the ``overhead`` suite's older ``time`` runs.

Each connection's step was timed in a process of its own, at its own moment, so on a shared machine two medians
here differ by the machine's load as much as by the method (a cell's median moved 20–60 % between runs). Kept so
that such records stay readable, and labelled "unpaired" everywhere; Fig. 6 proper (:mod:`.fig6_overhead_time`)
draws the paired ratios. One panel per operator, a line per connection; the point is the median of the timed steps
and the error bar spans their min and max (``step_seconds``), both axes logarithmic.
"""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from ..artifact import Artifact, BuildContext
from ..draw import describe_setting
from ..records import RecordSet
from ..registry import register
from ..style import LINE_STYLES, MARKERS, colour, connection_name, save_figure
from ..tables.overhead import (OPERATOR_NAMES, RUN, SUITE, comparisons, describe_ratio, group_stem,
                               measured_groups, operator_order, present_targets)

NAME = "fig6-overhead-time-unpaired"
TITLE = ("Unpaired (each connection timed in its own process): time per training step against depth, res, rev and "
         "the libraries' reversible wrappers")
CONNECTION_ORDER = ("res", "rev", "rev-pyg", "rev-dgl")
#: Connections sit side by side around each depth (factors on the log axis) so their error bars do not overlap.
SPREAD = 0.06


@register(NAME, "figure", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    groups = {key: group.where(lambda item: item.metric("step_seconds") is not None)
              for key, group in measured_groups(ctx.records).items()}
    groups = {key: group for key, group in groups.items() if len(group)}
    if not groups:
        return [Artifact.skip(NAME, TITLE, "figure", f"no unpaired time records of suite '{SUITE}' (the paired "
                                                     f"timing is Fig. 6)")]
    artifacts = []
    for (profile, device, backend), group in groups.items():
        operators = sorted(group.values("operator"), key=operator_order)
        figure, axes = plt.subplots(1, len(operators), figsize=(3.6 * len(operators) + 0.6, 3.8), squeeze=False,
                                    sharey=True)
        for axis, operator in zip(axes[0], operators):
            _draw_operator(axis, group.where(operator=operator))
            axis.set_title(OPERATOR_NAMES.get(operator, operator))
            axis.set_xlabel("layers (L)")
        axes[0][0].set_ylabel("time per training step (s)")
        handles, labels = axes[0][0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="upper center", ncol=len(labels), bbox_to_anchor=(0.5, 0.0),
                      fontsize=8, title="median of the timed steps; bars: min–max", title_fontsize=8)
        figure.suptitle(f"unpaired: {SUITE} suite, profile {profile}, {device}, {backend} backend", fontsize=10)
        figure.tight_layout()
        stem = group_stem(NAME, profile, device, backend)
        files = save_figure(figure, ctx.figures_dir, stem)
        artifacts.append(Artifact(name=stem, title=f"{TITLE} — {profile}/{device}, {backend} backend", kind="figure",
                                  caption=_caption(group, profile), files=files, sources=list(group)))
    return artifacts


def _draw_operator(axis: Any, records: RecordSet) -> None:
    """A line per (connection, width, graph); the width and graph are named only where they vary."""
    connections = sorted(records.values("connection"), key=_connection_order)
    settings = sorted({(item.get("channels"), str(item.get("dataset")), item.get("scale")) for item in records})
    depths = records.values("layers")
    for index, connection in enumerate(connections):
        for s_index, (width, dataset, scale) in enumerate(settings):
            timed = records.where(lambda r: r.ok and r.metric("step_seconds") is not None, connection=connection,
                                  channels=width, dataset=dataset, scale=scale)
            points = sorted(((item.get("layers"), item.metric("step_seconds")) for item in timed),
                            key=lambda point: point[0])
            if not points:
                continue
            shift = (1 + SPREAD) ** (index - (len(connections) - 1) / 2)
            xs = [layers * shift for layers, _ in points]
            medians = [seconds["median"] for _, seconds in points]
            below = [seconds["median"] - seconds["min"] for _, seconds in points]
            above = [seconds["max"] - seconds["median"] for _, seconds in points]
            label = connection_name(connection)
            if len(settings) > 1:
                label += f", D={width}, {dataset}" + ("" if scale == 1 else f" ×{scale:g}")
            axis.errorbar(xs, medians, yerr=[below, above], color=colour(connection), marker=MARKERS[index],
                          linestyle=LINE_STYLES[s_index % len(LINE_STYLES)], markersize=5, capsize=3,
                          linewidth=1.4, label=label)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.xaxis.set_major_locator(FixedLocator(depths))  # the measured depths, not powers of ten
    axis.xaxis.set_major_formatter(ScalarFormatter())
    axis.xaxis.set_minor_locator(NullLocator())
    axis.set_xlim(min(depths) / 1.5, max(depths) * 1.5)


def _caption(group: RecordSet, profile: str) -> str:
    targets = present_targets(group)
    ratios = "; ".join(
        f"{row.operator_name} L={row.layers}: " + ", ".join(describe_ratio(row, target) for target in targets)
        for row in comparisons(group))
    return (f"{TITLE}. Measured {describe_setting(group)}; suite `{SUITE}`, profile `{profile}`, every cell in one "
            f"run. Targets: {', '.join(f'{t.label} ≤ {t.bound:g}' for t in targets)}. Measured ratios: {ratios}.")


def _connection_order(connection: str) -> tuple[int, str]:
    return (CONNECTION_ORDER.index(connection) if connection in CONNECTION_ORDER else len(CONNECTION_ORDER),
            connection)
