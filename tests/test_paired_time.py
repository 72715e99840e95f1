"""The paired timing: the round scheduler, the ratio summary on samples with a known answer, the ideal arithmetic,
and the measurement end to end on a tiny graph (its record validates; its samples are one per round)."""
from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
import torch

from harness.config import CellConfig, MeasurementSettings
from harness.measurements import MEASUREMENTS, CellContext
from harness.measurements.paired_time import FORWARD_NOGRAD, _summary, compared_pairs, round_orders, run_rounds
from harness.ratios import Interval, decide, median_interval, per_round_ratios, summarize_pair
from harness.records import Metrics
from models.connections import StepCost
from models.connections.base import STORED_ACTIVATIONS

NAMES = ["res", "rev", "rev-pyg", FORWARD_NOGRAD]


# --- the round scheduler ---------------------------------------------------------------------------------------------


def test_every_round_runs_every_model_once_in_a_seeded_shuffled_order() -> None:
    rounds = list(itertools.islice(round_orders(NAMES, seed=3), 40))
    assert all(sorted(order) == sorted(NAMES) for order in rounds)
    assert rounds == list(itertools.islice(round_orders(NAMES, seed=3), 40))  # the seed fixes the orders
    assert rounds != list(itertools.islice(round_orders(NAMES, seed=4), 40))
    assert len({tuple(order) for order in rounds}) > 5  # shuffled per round, not once
    first = Counter(order[0] for order in rounds)
    assert set(first) == set(NAMES)  # every model sometimes goes first


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rounds_go_on_until_both_the_round_count_and_the_budget_are_reached() -> None:
    clock, calls = FakeClock(), []

    def task(name: str):
        def run() -> None:
            calls.append(name)
            clock.now += 1.0  # one second per step
        return run

    tasks = {name: task(name) for name in ("a", "b")}
    orders = run_rounds(tasks, min_rounds=3, budget_s=0.0, seed=0, clock=clock)
    assert len(orders) == 3 and Counter(calls) == {"a": 3, "b": 3}

    calls.clear()
    clock.now = 0.0
    seen = []
    orders = run_rounds(tasks, min_rounds=2, budget_s=9.0, seed=0, clock=clock,
                        after_round=lambda rounds, elapsed: seen.append((rounds, elapsed)))
    assert len(orders) == 5  # 2 s per round: the budget (9 s) ends later than 2 rounds
    assert seen[-1] == (5, 10.0) and Counter(calls) == {"a": 5, "b": 5}
    assert [call for order in orders for call in order] == calls  # the orders returned are the orders run

    with pytest.raises(ValueError, match="min_rounds"):
        run_rounds(tasks, min_rounds=0, budget_s=0.0, seed=0, clock=clock)


def test_pairs_are_each_connection_over_the_reference_then_the_subject_over_the_others() -> None:
    assert compared_pairs(["res", "rev", "rev-pyg", "rev-dgl"]) == [
        ("rev", "res"), ("rev-pyg", "res"), ("rev-dgl", "res"), ("rev", "rev-pyg"), ("rev", "rev-dgl")]
    assert compared_pairs(["res", "rev"]) == [("rev", "res")]


# --- the ratio summary -----------------------------------------------------------------------------------------------


def test_the_median_ratio_and_its_interval_recover_a_known_ratio_under_shared_load() -> None:
    rng = np.random.default_rng(0)
    load = rng.uniform(1.0, 3.0, size=25)  # the machine's load in each round: shared by both models
    denominator = 2.0 * load
    numerator = 1.5 * denominator * rng.normal(1.0, 0.01, size=25)
    summary = summarize_pair("rev", "res", numerator.tolist(), denominator.tolist())
    assert summary.ratio.low <= 1.5 <= summary.ratio.high
    assert abs(summary.ratio.median - 1.5) < 0.01
    assert summary.ratio.half_width() < 0.02  # the load cancels: unpaired medians would differ by far more
    assert summary.ideal is None and summary.over_ideal is None


def test_the_interval_holds_the_median_and_narrows_with_more_rounds() -> None:
    rng = np.random.default_rng(1)
    few = median_interval(rng.normal(1.0, 0.1, size=10).tolist())
    many = median_interval(rng.normal(1.0, 0.1, size=400).tolist())
    for interval in (few, many):
        assert interval.low <= interval.median <= interval.high
    assert many.high - many.low < few.high - few.low
    assert abs(many.median - 1.0) < 0.03
    assert median_interval([2.0, 2.0, 2.0]) == Interval(2.0, 2.0, 2.0)
    with pytest.raises(ValueError, match="finite"):
        median_interval([1.0, float("nan")])
    with pytest.raises(ValueError, match="one value per round"):
        per_round_ratios([1.0, 2.0], [1.0])


def test_a_verdict_needs_the_whole_interval_on_one_side_of_the_target() -> None:
    assert decide(Interval(0.8, 0.75, 0.84), 0.85) == "met"
    assert decide(Interval(0.9, 0.86, 0.95), 0.85) == "missed"
    assert decide(Interval(0.84, 0.80, 0.88), 0.85) == "not decided"


# --- the ideal arithmetic --------------------------------------------------------------------------------------------


def test_step_costs_and_their_formulas() -> None:
    rev, wrapper = StepCost(no_grad_forwards=1), StepCost(no_grad_forwards=2)
    assert STORED_ACTIVATIONS.formula() == "F + B" and rev.formula() == "F0 + F + B"
    assert wrapper.formula() == "2F0 + F + B"
    assert wrapper.seconds(forward_nograd=1.0, forward=2.0, backward=4.0) == 8.0
    assert STORED_ACTIVATIONS.as_list() == [0, 1, 1]


def test_the_ideal_of_each_pair_is_its_cost_ratio_on_the_reference_phases_of_the_same_round() -> None:
    # two rounds: F0, F, B, U = (1, 2, 4, 1) then (2, 4, 8, 2): the ideal is the same, the load doubled
    phases = {FORWARD_NOGRAD: [1.0, 2.0], "forward": [2.0, 4.0], "backward": [4.0, 8.0], "update": [1.0, 2.0]}
    costs = {"res": STORED_ACTIVATIONS, "rev": StepCost(1), "rev-pyg": StepCost(2), "deq": None}
    steps = {"res": [7.0, 14.0], "rev": [8.8, 17.6], "rev-pyg": [9.0, 18.0], "deq": [20.0, 40.0]}
    rev_res = _summary("rev", "res", steps, phases, costs, seed=0)
    assert rev_res.ideal == pytest.approx((1 + 2 + 4 + 1) / (2 + 4 + 1))  # (F0 + F + B + U) / (F + B + U)
    assert rev_res.ideal_formula == "(F0 + F + B + U) / (F + B + U)"
    assert rev_res.ratio.median == pytest.approx(8.8 / 7.0)
    assert rev_res.over_ideal.median == pytest.approx((8.8 / 7.0) / (8 / 7))
    rev_pyg = _summary("rev", "rev-pyg", steps, phases, costs, seed=0)
    assert rev_pyg.ideal == pytest.approx((1 + 2 + 4 + 1) / (2 + 2 + 4 + 1))
    no_cost = _summary("deq", "res", steps, phases, costs, seed=0)
    assert no_cost.ideal is None and no_cost.ratio.median == pytest.approx(20 / 7)


def test_models_declare_their_step_cost() -> None:
    import models

    expected = {"res": "F + B", "rev": "F0 + F + B", "wt-rev": "F0 + F + B", "rev-pyg": "2F0 + F + B"}
    for connection, formula in expected.items():
        model = models.build_model("gcn", connection, 2, 8, 3, 2)
        assert model.step_cost().formula() == formula, connection
    assert models.build_model("gcn", "rev", 2, 8, 3, 2, memory_efficient=False).step_cost() == STORED_ACTIVATIONS
    assert models.build_model("gcn", "deq", 2, 8, 3, 2).step_cost() is None


# --- the measurement -------------------------------------------------------------------------------------------------


def _context(connection: str = "res", **settings) -> CellContext:
    config = CellConfig(operator="gcn", connection=connection, layers=2, channels=8, dataset="synthetic-arxiv",
                        scale=0.002)
    defaults = {"compared_connections": ["res", "rev", "rev-pyg"], "rounds": 3}
    return CellContext(config=config, device=torch.device("cpu"),
                       settings=MeasurementSettings(**{**defaults, **settings}))


def test_the_measurement_keeps_one_sample_per_round_per_model_and_a_valid_record() -> None:
    metrics = MEASUREMENTS.get("paired-time")(_context())
    paired = Metrics.model_validate(metrics).paired_time
    assert paired.connections == ["res", "rev", "rev-pyg"] and paired.rounds == 3
    assert {name: len(samples) for name, samples in paired.step_seconds.items()} == {"res": 3, "rev": 3,
                                                                                     "rev-pyg": 3}
    for samples in (paired.reference_forward_seconds, paired.reference_backward_seconds,
                    paired.reference_update_seconds, paired.reference_forward_nograd_seconds):
        assert len(samples) == 3 and all(value > 0 for value in samples)
    assert [(r.numerator, r.denominator) for r in paired.ratios] == [("rev", "res"), ("rev-pyg", "res"),
                                                                     ("rev", "rev-pyg")]
    for ratio in paired.ratios:
        assert ratio.low <= ratio.median <= ratio.high and ratio.ideal > 0
    assert paired.step_cost == {"res": [0, 1, 1], "rev": [1, 1, 1], "rev-pyg": [2, 1, 1]}
    assert paired.threads == torch.get_num_threads()


@pytest.mark.parametrize("connection, compared, message", [
    ("rev", ["res", "rev"], "must start with the cell's connection 'rev'"),
    ("res", ["res"], "at least one other"),
    ("res", ["res", "rev", "rev"], "names a connection twice"),
])
def test_a_wrong_comparison_is_one_line(connection: str, compared: list, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        MEASUREMENTS.get("paired-time")(_context(connection, compared_connections=compared))
    assert "\n" not in str(caught.value)
