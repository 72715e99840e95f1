"""The memory-against-depth figure that Figs. 2–5 of the paper share, parameterised by what each one compares.

A figure is drawn once per (suite, profile) that has records for it, because a CPU profile on a scaled graph and a
GPU profile on the real one are different experiments. Lines are (connection, channels, mode) series of peak memory
in GiB against depth; a cell that ran out of memory is an ``X`` at the budget line, like the paper's OOM points.
The paper's points are overlaid on the same axes when the records measured the paper's own graph at full size;
otherwise they go in a panel of their own beside the measurement, since GiB on a scaled graph and GiB on the real
one are not the same quantity. Every caption says where its records come from (a machine of the committed store, or
the user's own run); when they come from more than one, each series is one origin's and its legend names it, so a
line never joins a point measured on one machine to a point measured on another. Estimates of the paper's own
configuration at full size (:mod:`plots.estimate_curves`) are drawn with the paper's points, in the same GiB.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import matplotlib.pyplot as plt

from .artifact import Artifact, BuildContext
from .estimate_curves import LEGEND_TITLE as ESTIMATE_LEGEND
from .estimate_curves import EstimateSeries, collect_estimates, draw_estimates, log_axes, set_axes
from .estimate_curves import sources as estimate_sources
from .estimated import paper_scale_estimates
from .records import Origin, RecordSet, SourcedRecord, describe_origins
from .style import (GIB, LINE_STYLES, MARKERS, MODE_NAMES, OOM_MARKER, PAPER_MARKER, colour, connection_name,
                    save_figure)


@dataclass(frozen=True)
class PaperPoint:
    """One point the paper prints: a depth, a memory in GiB (None for OOM), whether it was checked."""

    x: float
    memory_gib: Optional[float]
    connection: str
    label: str
    verified: bool
    mode: str = "mini"


@dataclass
class Series:
    connection: str
    channels: int
    mode: str
    origin: Optional[Origin] = None  # set when the figure's records come from more than one origin
    points: list[tuple[float, float, SourcedRecord]] = field(default_factory=list)  # x, GiB, record
    ooms: list[tuple[float, SourcedRecord]] = field(default_factory=list)

    @property
    def label(self) -> str:
        label = f"{connection_name(self.connection)}-{self.channels} ({MODE_NAMES.get(self.mode, self.mode)})"
        return label if self.origin is None else f"{label} [{self.origin.tag}]"


def x_of(item: SourcedRecord, x_metric: Optional[str]) -> float:
    """Depth, or a metric standing in for it (a DEQ's solver iterations), when the record has it."""
    if x_metric and item.metric(x_metric) is not None and item.get("connection") == "deq":
        return float(item.metric(x_metric))
    return float(item.get("layers"))


def collect_series(records: RecordSet, x_metric: Optional[str] = None) -> list[Series]:
    """A series per (connection, channels, mode), and per origin when the records come from several."""
    origins = records.origins()
    split = len(origins) > 1
    by_key: dict[tuple[str, int, str, Optional[Origin]], Series] = {}
    for item in records:
        key = (item.get("connection"), item.get("channels"), item.get("mode"), item.origin if split else None)
        series = by_key.setdefault(key, Series(*key))
        peak = item.metric("peak_allocated_bytes")
        if item.status == "oom":
            series.ooms.append((x_of(item, x_metric), item))
        elif item.ok and peak is not None:
            series.points.append((x_of(item, x_metric), peak / GIB, item))
    for series in by_key.values():
        series.points.sort(key=lambda point: point[0])
    return sorted(by_key.values(), key=lambda s: (s.connection, s.mode, s.channels,
                                                  origins.index(s.origin) if s.origin else 0))


def describe_setting(records: RecordSet) -> str:
    """What was measured, for the caption: data set, scale, mode, budget, device (the profile's caps, from records)
    and where the records come from."""
    datasets = ", ".join(f"{name} ×{scale:g}" if scale != 1 else str(name)
                         for name, scale in sorted({(r.get("dataset"), r.get("scale")) for r in records}))
    depths = records.values("layers")
    budgets = {r.record.memory_budget_bytes for r in records if r.record.memory_budget_bytes}
    devices = sorted({r.record.environment.device for r in records})
    parts = sorted({r.get("num_parts") for r in records if r.get("mode") == "mini"})
    text = f"data: {datasets}; depths {depths[0]}–{depths[-1]}"
    if parts:
        text += f"; mini-batch = 1 of {', '.join(map(str, parts))} random node parts"
    if budgets:
        text += f"; memory budget {max(budgets) / GIB:.0f} GiB"
    return text + f"; device: {', '.join(devices)}; {describe_origins(records)}"


def is_paper_scale(records: RecordSet) -> bool:
    """True when every record measured a real OGB graph at full size (the paper's own setting)."""
    return all(str(r.get("dataset")).startswith("ogbn-") and r.get("scale") == 1 for r in records)


def memory_curves(ctx: BuildContext, *, name: str, title: str, paper_figure: str, suites: Sequence[str],
                  select: Callable[[SourcedRecord], bool], paper_points: Sequence[PaperPoint],
                  x_label: str = "layers (L)", x_metric: Optional[str] = None, run_hint: str,
                  claim: str, estimate_suites: Sequence[str] = ()) -> list[Artifact]:
    """One artifact per (suite, profile) with matching records, each with the paper-scale estimates of
    ``estimate_suites`` beside the paper's points; one artifact of the paper and the estimates alone when nothing
    was measured; a single skipped artifact when there is neither."""
    chosen = ctx.records.where(select, suites=suites)
    estimates = collect_estimates(paper_scale_estimates(ctx.records, estimate_suites, select),
                                  lambda item: x_of(item, x_metric))
    if not len(chosen) and not estimates:
        wanted = " or ".join(repr(s) for s in (*suites, *estimate_suites))
        return [Artifact.skip(name, title, "figure", f"no records of suite {wanted} for this figure; "
                              f"run `{run_hint}`")]
    panel = _Panel(paper_figure, paper_points, estimates, x_label)
    if not len(chosen):
        return [_estimates_alone(ctx, name, title, claim, panel)]
    artifacts = []
    for (suite, profile), group in sorted(chosen.groups("suite", "profile").items(),
                                          key=lambda kv: (kv[0][0], kv[0][1])):
        series = collect_series(group, x_metric)
        unit, per_gib = pick_unit(series)
        overlay = is_paper_scale(group)
        panels = 1 if overlay or not panel.drawn else 2
        figure, axes = plt.subplots(1, panels, figsize=(6.4 * panels if panels == 1 else 10.5, 4.2),
                                    squeeze=False, gridspec_kw={"width_ratios": [3, 2]} if panels == 2 else None)
        measured_axis = axes[0][0]
        _draw_series(measured_axis, series, group, per_gib)
        measured_axis.set_title(f"measured: {suite} suite, profile {profile}")
        measured_axis.set_xlabel(x_label)
        measured_axis.set_ylabel(f"peak memory of one training step ({unit})")
        if panel.drawn:
            panel.draw(measured_axis if overlay else axes[0][1], per_gib if overlay else 1.0, own=not overlay)
        measured_axis.legend(loc="upper left", fontsize=7)
        stem = f"{name}__{suite}-{profile}"
        files = save_figure(figure, ctx.figures_dir, stem)
        caption = (f"{title} ({paper_figure} of the paper). {claim} Measured {describe_setting(group)}; "
                   f"suite `{suite}`, profile `{profile}`. Peak = allocator peak of one training step after a "
                   f"warm-up step (`peak_allocated_bytes`). X = out of memory, drawn at the budget line. "
                   f"Paper points: ★ (unverified values hollow)"
                   + ("" if overlay else "; drawn in their own panel because this profile does not measure "
                      "the paper's full-size graph") + "." + panel.caption())
        artifacts.append(Artifact(name=stem, title=f"{title} — {suite}/{profile}", kind="figure", caption=caption,
                                  files=files, sources=list(group) + estimate_sources(estimates)))
    return artifacts


@dataclass
class _Panel:
    """The paper's points and the estimates at the paper's scale: one panel in GiB (or the measured one's axes)."""

    paper_figure: str
    points: Sequence[PaperPoint]
    estimates: list[EstimateSeries]
    x_label: str

    @property
    def depths(self) -> list[float]:
        return [p.x for p in self.points] + [x for s in self.estimates for x, _, _ in s.points]

    @property
    def drawn(self) -> bool:
        return bool(self.points or self.estimates)

    def draw(self, axis: Any, per_gib: float, own: bool) -> None:
        if self.points:
            _draw_paper(axis, self.points, per_gib)
        if self.estimates:
            draw_estimates(axis, self.estimates, per_gib, prefix="" if own else "estimated: ")
            if own:
                known = [p.memory_gib for p in self.points if p.memory_gib is not None]
                oom = [max(known) * 1.1] if known and len(known) < len(self.points) else []  # where _draw_paper puts X
                set_axes(axis, self.depths, known + oom + [gib for s in self.estimates for _, gib, _ in s.points])
            else:
                axis.set_ylim(bottom=0)
        if own:
            axis.set_title(f"paper ({self.paper_figure}, full graph on GPU)"
                           + (" and estimates at its scale" if self.estimates else ""), fontsize=9)
            axis.set_xlabel(self.x_label)
            axis.set_ylabel("peak memory of one training step (GiB)" if self.estimates else "GPU memory (GiB)")
            if self.estimates:
                axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=6,
                            title=ESTIMATE_LEGEND, title_fontsize=6.5)

    def caption(self) -> str:
        if not self.estimates:
            return ""
        return (" Lines beside the paper's points: estimated at the paper's scale (fake tensors): the `estimate` "
                "measurement's peak of one training step of the paper's configuration at full size "
                "(`estimated_peak_bytes`), in GiB as the paper's; impl paper (the authors' implementation, "
                "like-for-like with the paper) solid, impl ours dashed; "
                + ("log-log axes (the depths span more than a decade: a slope of 1 is linear growth, 0 flat); "
                   if log_axes(self.depths) else "")
                + f"{describe_origins(estimate_sources(self.estimates))}.")


def _estimates_alone(ctx: BuildContext, name: str, title: str, claim: str, panel: _Panel) -> Artifact:
    """Nothing measured by the exact meter: the paper's points and the estimates, one panel."""
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    panel.draw(axis, 1.0, own=True)
    stem = f"{name}__estimate"
    files = save_figure(figure, ctx.figures_dir, stem)
    caption = (f"{title} ({panel.paper_figure} of the paper). {claim} No exact measurement of these cells yet. "
               f"Paper points: ★ (unverified values hollow)." + panel.caption())
    return Artifact(name=stem, title=f"{title} — estimated at the paper's scale", kind="figure", caption=caption,
                    files=files, sources=estimate_sources(panel.estimates))


def pick_unit(series: Sequence[Series]) -> tuple[str, float]:
    """MiB for small measurements (the CPU profiles), GiB otherwise: (unit, units per GiB)."""
    top = max([gib for s in series for _, gib, _ in s.points] or [1.0])
    return ("MiB", 1024.0) if top < 1.0 else ("GiB", 1.0)


def _draw_series(axis: Any, series: list[Series], group: RecordSet, per_gib: float) -> None:
    """Colour: connection; line style: width (or mode); marker: mode, and origin when there are several."""
    channels = sorted({s.channels for s in series})
    modes = sorted({s.mode for s in series})
    origins = group.origins()
    budgets = [r.record.memory_budget_bytes for r in group if r.record.memory_budget_bytes]
    budget_gib = max(budgets) / GIB * per_gib if budgets else None
    top = max([gib * per_gib for s in series for _, gib, _ in s.points] or [1.0])
    oom_level = budget_gib if budget_gib is not None else top * 1.05
    for s in series:
        style = LINE_STYLES[channels.index(s.channels) % len(LINE_STYLES)] if len(channels) > 1 else \
            LINE_STYLES[modes.index(s.mode) % len(LINE_STYLES)]
        origin_index = origins.index(s.origin) if s.origin else 0
        marker = MARKERS[(modes.index(s.mode) + origin_index * len(modes)) % len(MARKERS)]
        if s.points:
            axis.plot([x for x, _, _ in s.points], [y * per_gib for _, y, _ in s.points], linestyle=style, marker=marker,
                      markersize=4, color=colour(s.connection), label=s.label)
        if s.ooms:
            axis.scatter([x for x, _ in s.ooms], [oom_level] * len(s.ooms), marker=OOM_MARKER, s=60,
                         color=colour(s.connection), zorder=5,
                         label=None if s.points else f"{s.label} (OOM)")
    if any(s.ooms for s in series):
        axis.axhline(oom_level, color="0.4", linestyle=":", linewidth=1)
        axis.annotate("memory budget" if budget_gib is not None else "OOM", (0.99, oom_level),
                      xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=7, color="0.3")
    axis.set_ylim(bottom=0)
    axis.set_xlim(left=0)


def _draw_paper(axis: Any, points: Sequence[PaperPoint], per_gib: float) -> None:
    """The paper's points as stars (hollow: unverified), each labelled beside it; OOM as an X above the rest."""
    known = [p.memory_gib * per_gib for p in points if p.memory_gib is not None]
    oom_level = max(known or [1.0]) * 1.1
    for point in points:
        y = point.memory_gib * per_gib if point.memory_gib is not None else oom_level
        face = colour(point.connection) if point.verified else "none"
        axis.scatter([point.x], [y], marker=PAPER_MARKER if point.memory_gib is not None else OOM_MARKER, s=110,
                     facecolors=face, edgecolors=colour(point.connection), linewidths=1.2, zorder=6,
                     label=None)
        axis.annotate(point.label + ("" if point.verified else " †"), (point.x, y), xytext=(6, 0),
                      textcoords="offset points", fontsize=6, va="center", color="0.25")
    axis.set_ylim(bottom=0)
    axis.set_xlim(0, max(p.x for p in points) * 1.35)  # room for the labels right of the points
