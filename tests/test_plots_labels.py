"""Point labels never cover one another: the greedy stack of plots.labels, on boxes and on a real figure."""
from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import pytest

from plots.labels import _overlaps, annotate_point, spread_labels, stack_boxes, text_box


def test_boxes_that_overlap_are_stacked_down_and_the_rest_stay() -> None:
    boxes = [(0, 10, 50, 20), (5, 10, 55, 20), (8, 10, 40, 20), (200, 10, 250, 20), (20, 13, 60, 23)]
    shifts = stack_boxes(boxes, gap=1.0)
    assert shifts[0] == 0 and shifts[3] == 0  # the first, and one far away, never move
    assert shifts[1] == 11 and shifts[2] == 22  # one line (height 10 + gap 1) per box placed at its height
    assert shifts[4] == 44  # 3 above the row: one line down still covers the first box, so down past the stack
    moved = [(x0, y0 - s, x1, y1 - s) for (x0, y0, x1, y1), s in zip(boxes, shifts)]
    assert not any(_overlaps(a, b) for a, b in itertools.combinations(moved, 2))


def test_boxes_that_only_touch_do_not_move() -> None:
    assert stack_boxes([(0, 0, 10, 10), (10, 0, 20, 10), (0, 10, 10, 20)]) == [0, 0, 0]


@pytest.mark.parametrize("spread", [False, True])
def test_labels_of_a_cluster_of_points_are_spread_on_a_figure(spread: bool) -> None:
    figure, axis = plt.subplots(figsize=(4, 3))
    points = [(25.0, 94.90), (25.1, 94.87), (24.8, 94.84), (25.0, 94.80), (600.0, 96.8)]
    axis.scatter(*zip(*points))
    labels = [annotate_point(axis, f"sage-wt-rev-{i}", xy) for i, xy in enumerate(points)]
    figure.tight_layout()
    if spread:
        spread_labels(figure, labels)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    boxes = [text_box(label, renderer) for label in labels]
    overlapping = [(a, b) for a, b in itertools.combinations(boxes, 2) if _overlaps(a, b)]
    # without the spread the four close labels do cover one another (the test can fail); with it none does
    assert bool(overlapping) is not spread
    if spread:
        assert labels[-1].xyann == (3, 0)  # the lone point keeps its label where annotate_point put it
    plt.close(figure)
