"""Point labels that do not overlap: each label that would cover one placed before it moves down, one text line
at a time, until it is clear, and keeps a thin leader to its point.

Written by hand because a deterministic greedy stack is enough for the ≤ 30 labels of a panel here; adjustText
(the usual library) would be a new dependency whose force-directed result also changes with the figure size.
Work is in display pixels after the layout is final: call :func:`spread_labels` after ``tight_layout``.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.text import Annotation, Text

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels, y up


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def stack_boxes(boxes: Sequence[Box], gap: float = 1.0) -> list[float]:
    """The downward shift (pixels, ≥ 0) of each box so that none overlaps an earlier one, in the given order.

    A box moves down by its own height plus ``gap`` until it covers no box already placed; the first never moves.
    """
    placed: list[Box] = []
    shifts = []
    for x0, y0, x1, y1 in boxes:
        step, shift = (y1 - y0) + gap, 0.0
        box = (x0, y0, x1, y1)
        while any(_overlaps(box, other) for other in placed):
            shift += step
            box = (x0, y0 - shift, x1, y1 - shift)
        placed.append(box)
        shifts.append(shift)
    return shifts


def annotate_point(axis: plt.Axes, text: str, xy: tuple[float, float], fontsize: float = 6) -> Annotation:
    """A label just right of its point, ready for :func:`spread_labels` (offset in points, leader line)."""
    return axis.annotate(text, xy, xytext=(3, 0), textcoords="offset points", fontsize=fontsize, va="center",
                         arrowprops={"arrowstyle": "-", "color": "0.5", "linewidth": 0.4, "shrinkA": 0,
                                     "shrinkB": 2})


def text_box(label: Annotation, renderer) -> Box:
    """The pixels of the label's text alone (an Annotation's own extent also spans its leader line)."""
    return tuple(Text.get_window_extent(label, renderer).extents)


def spread_labels(figure: plt.Figure, labels: Sequence[Annotation]) -> None:
    """Move overlapping ``labels`` (from :func:`annotate_point`) down until none covers another, top label first.

    Labels of several panels may go in one call: in pixels they never meet, and the figure is drawn once.
    """
    renderer = figure.canvas.get_renderer()
    figure.canvas.draw()  # final limits and layout: the boxes below are where the labels will be drawn
    top_first = sorted(((text_box(label, renderer), label) for label in labels), key=lambda pair: -pair[0][3])
    points_per_pixel = 72.0 / figure.dpi
    for (_, label), shift in zip(top_first, stack_boxes([box for box, _ in top_first])):
        if shift:
            x, y = label.xyann
            label.xyann = (x, y - shift * points_per_pixel)
