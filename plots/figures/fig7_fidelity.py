"""Fig. 7: numerical fidelity of the reversible stacks — inverse drift against depth, per dtype, and gradient cosine.

A reversible network rebuilds its activations in the backward pass by inverting every layer, so round-off adds up
with depth. Left: the relative error ``||X̂ - X|| / ||X||`` of the stack's input rebuilt from its output through all
L inverses (``reconstruction_error[dtype]`` of the ``fidelity`` measurement), log-log, a line per dtype (line style:
connection), with the target for float32 drawn across: at most 1e-4 after 1001 layers. Right: ``1 - cosine`` of the
parameter gradients of our float32 memory-efficient backward against a float64 plain-autograd reference, where the
cell computed one (a cosine of 1 - ε² / 2 means a relative gradient error of about ε). Not a figure of the paper.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Optional

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from ..artifact import Artifact, BuildContext
from ..draw import describe_setting
from ..records import RecordSet, profile_rank
from ..registry import register
from ..style import LINE_STYLES, MARKERS, colour, connection_name, save_figure

NAME = "fig7-fidelity"
TITLE = "Inverse drift against depth per dtype, and gradient agreement with a float64 reference"
SUITE = "fidelity"
RUN = "`tox -e fidelity`"
DTYPES = ("float64", "float32", "bfloat16")
DTYPE_COLOURS = dict(zip(DTYPES, sns.color_palette("dark", len(DTYPES))))

#: The issue's target: the input rebuilt through 1001 float32 layers within 1e-4 (relative) of the true one.
DRIFT_TARGET = 1e-4
DRIFT_TARGET_DTYPE = "float32"
DRIFT_TARGET_LAYERS = 1001
#: The depth at which the issue asks for the gradient cosine.
COSINE_LAYERS = 100
#: 1 - cosine below this (or rounded to zero or below) is drawn at it: a log axis has no zero.
COSINE_FLOOR = 1e-16


@register(NAME, "figure", TITLE)
def build(ctx: BuildContext) -> list[Artifact]:
    chosen = ctx.records.where(suites=(SUITE,))
    if not len(chosen):
        return [Artifact.skip(NAME, TITLE, "figure", f"no records of suite '{SUITE}'; run {RUN}")]
    artifacts = []
    # one figure per graph and width: a line must not join depths measured on different graphs
    groups = sorted(chosen.groups("profile", "device", "dataset", "scale", "channels").items(),
                    key=lambda kv: (profile_rank(kv[0][0]), *map(str, kv[0][1:])))
    per_device = Counter(key[:2] for key, _ in groups)
    for (profile, device, dataset, scale, channels), group in groups:
        figure, (drift, gradient) = plt.subplots(1, 2, figsize=(10.5, 4.2),
                                                 gridspec_kw={"width_ratios": [3, 2]})
        _draw_drift(drift, group)
        _draw_gradient(gradient, group)
        figure.suptitle(f"measured: {SUITE} suite, profile {profile}, {device}", fontsize=10)
        figure.tight_layout()
        stem = f"{NAME}__{profile}-{device}"
        if per_device[(profile, device)] > 1:
            stem += f"-{dataset}-x{scale:g}-d{channels}"
        files = save_figure(figure, ctx.figures_dir, stem)
        artifacts.append(Artifact(name=stem, title=f"{TITLE} — {profile}/{device}", kind="figure",
                                  caption=_caption(group, profile), files=files, sources=list(group)))
    return artifacts


def _draw_drift(axis: Any, group: RecordSet) -> None:
    connections = group.values("connection")
    for c_index, connection in enumerate(connections):
        records = group.where(lambda r: r.ok, connection=connection)
        for d_index, dtype in enumerate(DTYPES):
            points = sorted((item.get("layers"), item.metric(f"reconstruction_error.{dtype}")) for item in records
                            if (item.metric(f"reconstruction_error.{dtype}") or 0) > 0)  # exact: no log point
            if points:
                axis.plot([x for x, _ in points], [y for _, y in points],
                          color=DTYPE_COLOURS[dtype], linestyle=LINE_STYLES[c_index % len(LINE_STYLES)],
                          marker=MARKERS[d_index], markersize=5)
    axis.axhline(DRIFT_TARGET, color="0.35", linestyle=(0, (4, 3)), linewidth=1)
    axis.annotate(f"target: {DRIFT_TARGET_DTYPE} ≤ {DRIFT_TARGET:g} at {DRIFT_TARGET_LAYERS} layers",
                  (0.01, DRIFT_TARGET), xycoords=("axes fraction", "data"), ha="left", va="bottom", fontsize=7,
                  color="0.3")
    _depth_axis(axis, group)
    axis.set_yscale("log")
    axis.set_ylabel("relative error of the rebuilt input ‖X̂−X‖/‖X‖")
    axis.set_title("input rebuilt through L inverses", fontsize=10)
    # colour and marker = dtype, line style = connection: one legend entry each instead of every pair
    dtypes = [d for d in DTYPES if any(item.metric(f"reconstruction_error.{d}") is not None for item in group)]
    handles = [Line2D([], [], color=DTYPE_COLOURS[d], marker=MARKERS[DTYPES.index(d)], label=d) for d in dtypes]
    handles += [Line2D([], [], color="0.3", linestyle=LINE_STYLES[i % len(LINE_STYLES)],
                       label=connection_name(c)) for i, c in enumerate(connections)]
    axis.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=len(handles), fontsize=7)


def _draw_gradient(axis: Any, group: RecordSet) -> None:
    connections = group.values("connection")
    drawn = False
    for c_index, connection in enumerate(connections):
        points = sorted((item.get("layers"), item.metric("gradient_cosine"))
                        for item in group.where(lambda r: r.ok, connection=connection)
                        if item.metric("gradient_cosine") is not None)
        if points:
            drawn = True
            axis.plot([x for x, _ in points], [max(1 - cos, COSINE_FLOOR) for _, cos in points],
                      color=colour(connection), linestyle=LINE_STYLES[c_index % len(LINE_STYLES)],
                      marker=MARKERS[c_index], markersize=5, label=connection_name(connection))
    # only the depths with a reference: the deepest cells skip it (gradient_cosine_max_layers)
    _depth_axis(axis, group.where(lambda r: r.metric("gradient_cosine") is not None) if drawn else group)
    axis.set_yscale("log")
    axis.set_ylabel("1 − cosine similarity of the gradients")
    axis.set_title("gradients: our float32 backward vs float64 autograd", fontsize=10)
    if drawn:
        axis.legend(loc="upper left", fontsize=7)
    else:
        axis.text(0.5, 0.5, "no gradient comparison recorded", transform=axis.transAxes, ha="center", fontsize=8)


def _depth_axis(axis: Any, group: RecordSet) -> None:
    depths = group.values("layers")
    axis.set_xscale("log")
    axis.xaxis.set_major_locator(FixedLocator(depths))  # the measured depths
    axis.xaxis.set_major_formatter(ScalarFormatter())
    axis.xaxis.set_minor_locator(NullLocator())
    axis.set_xlim(min(depths) / 1.6, max(depths) * 1.6)
    axis.set_xlabel("reversible layers (L)")


def drift_verdict(group: RecordSet, connection: str) -> str:
    """The float32 drift at 1001 layers against the target, or what is missing (for the caption and tests)."""
    item = group.where(lambda r: r.ok, connection=connection, layers=DRIFT_TARGET_LAYERS).first()
    error: Optional[float] = None if item is None else item.metric(f"reconstruction_error.{DRIFT_TARGET_DTYPE}")
    if error is None:
        return f"{connection_name(connection)}: no {DRIFT_TARGET_DTYPE} record at {DRIFT_TARGET_LAYERS} layers"
    verdict = "met" if error <= DRIFT_TARGET else "missed"
    return (f"{connection_name(connection)}: {DRIFT_TARGET_DTYPE} drift {error:.2e} at {DRIFT_TARGET_LAYERS} "
            f"layers (target ≤ {DRIFT_TARGET:g}: {verdict})")


def cosine_summary(group: RecordSet, connection: str) -> str:
    item = group.where(lambda r: r.ok and r.metric("gradient_cosine") is not None, connection=connection,
                       layers=COSINE_LAYERS).first()
    if item is None:
        return f"{connection_name(connection)}: no gradient cosine at {COSINE_LAYERS} layers"
    # the cosine itself would print as 1.000000…: its distance from 1 is the information
    return (f"{connection_name(connection)}: gradient cosine at {COSINE_LAYERS} layers = 1 − "
            f"{1 - item.metric('gradient_cosine'):.1e}")


def _caption(group: RecordSet, profile: str) -> str:
    connections = group.values("connection")
    skipped = sorted({f"{dtype}: {reason}" for item in group
                      for dtype, reason in (item.metric("reconstruction_skipped") or {}).items()})
    floored = any(1 - cosine < COSINE_FLOOR for item in group
                  if (cosine := item.metric("gradient_cosine")) is not None)
    return (f"{TITLE}. Measured {describe_setting(group)}; suite `{SUITE}`, profile `{profile}`. "
            + "; ".join(drift_verdict(group, c) for c in connections) + ". "
            + "; ".join(cosine_summary(group, c) for c in connections) + "."
            + (f" A 1 − cos below {COSINE_FLOOR:g} is drawn at {COSINE_FLOOR:g}." if floored else "")
            + (f" Not measured: {'; '.join(skipped)}." if skipped else ""))
