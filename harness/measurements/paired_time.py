"""``paired-time``: the training steps of several connection kinds timed side by side, in one process, in rounds.

Times taken in different processes or at different moments do not compare on a shared machine (a cell's median
moved 20–60 % between two runs). Here one worker builds the cell's graph once and one model per connection of the
suite's ``compared_connections`` (the cell's own connection first: the reference), all from the same seed, warms each
up, then runs **rounds**: in each round every model takes one full training step, and the reference also runs its
forward under ``torch.no_grad()`` (F0), in an order shuffled per round by a seeded generator. The reference's step
is split into F (forward and loss), B (backward) and U (the rest: zero_grad, clipping, the update).

Rounds go on until at least ``rounds`` are done and at least ``round_budget_s`` seconds have passed. The record
keeps every sample; per pair it keeps the median per-round ratio with its bootstrap interval, the ideal ratio of the
two connections' step costs (:class:`models.connections.StepCost`, e.g. rev/res = (F0 + F + B + U)/(F + B + U)) and
measured/ideal (:mod:`harness.ratios`). Memory is not measured here: the memory measurement runs in a process of its
own.
"""
from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Optional, Sequence

from harness.ratios import CONFIDENCE_LEVEL, PairedRatioSummary, summarize_pair

from .context import CellContext, peak_rss_bytes
from .registry import MEASUREMENTS, Metrics

if TYPE_CHECKING:
    from models.connections import StepCost

#: The task of a round that times the reference's forward without autograd.
FORWARD_NOGRAD = "forward-nograd"


def round_orders(names: Sequence[str], seed: int) -> Iterator[list[str]]:
    """An endless sequence of rounds: every name once per round, the order shuffled by a generator seeded ``seed``."""
    generator = random.Random(seed)
    while True:
        order = list(names)
        generator.shuffle(order)
        yield order


def run_rounds(tasks: Mapping[str, Callable[[], None]], min_rounds: int, budget_s: float, seed: int,
               clock: Callable[[], float] = time.perf_counter,
               after_round: Optional[Callable[[int, float], None]] = None) -> list[list[str]]:
    """Run every task once per round in a seeded random order until ``min_rounds`` rounds are done and
    ``budget_s`` seconds have passed; return the orders run. ``after_round(rounds, elapsed)`` reports progress."""
    if min_rounds < 1:
        raise ValueError(f"min_rounds must be >= 1, got {min_rounds}")
    start, orders = clock(), []
    for order in round_orders(list(tasks), seed):
        for name in order:
            tasks[name]()
        orders.append(order)
        elapsed = clock() - start
        if after_round is not None:
            after_round(len(orders), elapsed)
        if len(orders) >= min_rounds and elapsed >= budget_s:
            return orders
    raise AssertionError("unreachable")  # round_orders never ends


def compared_pairs(connections: Sequence[str]) -> list[tuple[str, str]]:
    """(numerator, denominator) pairs: every connection over the reference (the first), then the subject (the
    second) over each of the others, e.g. [res, rev, rev-pyg] → rev/res, rev-pyg/res, rev/rev-pyg."""
    reference, others = connections[0], list(connections[1:])
    pairs = [(other, reference) for other in others]
    if others:
        pairs += [(others[0], other) for other in others[1:]]
    return pairs


def _sibling(ctx: CellContext, connection: str) -> CellContext:
    """The cell with another connection, sharing the cell's data set (built once)."""
    sibling = CellContext(config=ctx.config.model_copy(update={"connection": connection}), device=ctx.device,
                          settings=ctx.settings, memory_budget_bytes=ctx.memory_budget_bytes)
    sibling.__dict__["dataset"] = ctx.dataset  # cached_property: the same graph object, not a rebuilt one
    return sibling


def _connections(ctx: CellContext) -> list[str]:
    connections = list(ctx.settings.compared_connections)
    if len(connections) < 2:
        raise ValueError("paired-time needs compared_connections = [the cell's connection, then at least one "
                         f"other] in the suite's [suite] table, got {connections}")
    if len(set(connections)) != len(connections):
        raise ValueError(f"compared_connections names a connection twice: {connections}")
    if connections[0] != ctx.config.connection:
        raise ValueError(f"compared_connections must start with the cell's connection {ctx.config.connection!r} "
                         f"(the reference), got {connections}")
    return connections


@MEASUREMENTS.register("paired-time")
def measure_paired_time(ctx: CellContext) -> Metrics:
    import torch

    from harness.meter import synchronize

    connections = _connections(ctx)
    reference = connections[0]
    contexts = {name: ctx if name == reference else _sibling(ctx, name) for name in connections}
    for context in contexts.values():
        for _ in range(max(1, ctx.settings.warmup_steps)):
            context.step()
    contexts[reference].step.forward_without_grad()

    steps: dict[str, list[float]] = {name: [] for name in connections}
    phases: dict[str, list[float]] = {"forward": [], "backward": [], "update": [], FORWARD_NOGRAD: []}

    def timed_step(name: str) -> Callable[[], None]:
        def run() -> None:
            split: dict[str, float] = {}
            synchronize(ctx.device)
            start = time.perf_counter()
            contexts[name].step(split if name == reference else None)
            synchronize(ctx.device)
            steps[name].append(time.perf_counter() - start)
            if name == reference:
                phases["forward"].append(split["forward"])
                phases["backward"].append(split["backward"])
                phases["update"].append(steps[name][-1] - split["forward"] - split["backward"])
        return run

    tasks = {name: timed_step(name) for name in connections}
    tasks[FORWARD_NOGRAD] = lambda: phases[FORWARD_NOGRAD].append(contexts[reference].step.forward_without_grad())

    def report(rounds: int, elapsed: float) -> None:
        last = ", ".join(f"{name} {steps[name][-1]:.3f} s" for name in connections)
        print(f"round {rounds} ({elapsed:.0f} s): {last}; F0 {phases[FORWARD_NOGRAD][-1]:.3f} s", flush=True)

    order_seed = ctx.config.seed
    orders = run_rounds(tasks, ctx.settings.rounds, ctx.settings.round_budget_s, order_seed, after_round=report)

    costs = {name: contexts[name].model.step_cost() for name in connections}
    ratios = [_summary(a, b, steps, phases, costs, order_seed).as_record() for a, b in compared_pairs(connections)]
    paired = {
        "connections": connections, "rounds": len(orders), "threads": torch.get_num_threads(),
        "confidence_level": CONFIDENCE_LEVEL, "order_seed": order_seed, "step_seconds": steps,
        "reference_forward_seconds": phases["forward"], "reference_backward_seconds": phases["backward"],
        "reference_update_seconds": phases["update"],
        "reference_forward_nograd_seconds": phases[FORWARD_NOGRAD],
        "step_cost": {name: cost.as_list() if cost else None for name, cost in costs.items()},
        "ratios": ratios,
    }
    return {"paired_time": paired, "params": sum(p.numel() for p in ctx.model.parameters()),
            "peak_rss_bytes": peak_rss_bytes()}


def _summary(numerator: str, denominator: str, steps: Mapping[str, list[float]], phases: Mapping[str, list[float]],
             costs: Mapping[str, Optional[StepCost]], seed: int) -> PairedRatioSummary:
    cost_a, cost_b = costs[numerator], costs[denominator]
    if cost_a is None or cost_b is None:
        return summarize_pair(numerator, denominator, steps[numerator], steps[denominator], seed=seed)
    rounds = zip(phases[FORWARD_NOGRAD], phases["forward"], phases["backward"], phases["update"])
    ideal = [(cost_a.seconds(f0, f, b) + u) / (cost_b.seconds(f0, f, b) + u) for f0, f, b, u in rounds]
    formula = f"({cost_a.formula()} + U) / ({cost_b.formula()} + U)"
    return summarize_pair(numerator, denominator, steps[numerator], steps[denominator], ideal, formula, seed=seed)


__all__ = ["FORWARD_NOGRAD", "compared_pairs", "measure_paired_time", "round_orders", "run_rounds"]
