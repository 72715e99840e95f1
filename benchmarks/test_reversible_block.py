"""Micro-benchmark: one grouped reversible layer, forward + backward, ours against PyG's ``GroupAddRev``.

Both wrap the very same blocks (same weights), so the only difference is the autograd Function: ours evaluates each
group's block once in the backward pass (2F + B), ``GroupAddRev`` inverts without gradients and then re-runs the
forward with gradients (3F + B). Run by ``tox -e bench`` (not by the test env): timings are benchmark results written
to ``results/benchmarks/``, never test assertions. The gradients of the two are checked equal once, outside the timed
loop, so the comparison is between two correct implementations.
"""
from __future__ import annotations

import copy

import pytest
import torch
from torch_geometric.nn import GroupAddRev

import models
from models.connections.reversible import GroupedReversibleLayer

NUM_NODES, NUM_EDGES, CHANNELS, GROUPS = 20_000, 200_000, 128, 2


def layer_for(operator: str) -> GroupedReversibleLayer:
    torch.manual_seed(0)
    model = models.build_model(operator, "rev", layers=1, channels=CHANNELS, in_channels=CHANNELS, out_channels=2,
                               groups=GROUPS)
    return model.blocks.layers[0], model.operator


class PyGBlock(torch.nn.Module):
    """GroupAddRev calls ``conv(x, edge_index)``; our block takes ``(x, graph, edge_attr, dropout_mask)``."""

    def __init__(self, block: torch.nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        return self.block(x, graph)


def make_steps(operator: str):
    ours, operator_impl = layer_for(operator)
    theirs = GroupAddRev(torch.nn.ModuleList(PyGBlock(b) for b in copy.deepcopy(ours.blocks)))
    generator = torch.Generator().manual_seed(0)
    edge_index = torch.randint(0, NUM_NODES, (2, NUM_EDGES), generator=generator)
    graph = operator_impl.prepare_graph(edge_index, NUM_NODES)
    x = torch.randn(NUM_NODES, CHANNELS, generator=generator)

    def ours_step() -> list[torch.Tensor]:
        ours.zero_grad()
        h = x.clone().requires_grad_(True)
        ours(h, graph).square().sum().backward()
        return [h.grad] + [p.grad for p in ours.parameters()]

    def theirs_step() -> list[torch.Tensor]:
        theirs.zero_grad()
        h = x.clone().requires_grad_(True)  # GroupAddRev frees its input: give it a tensor no one else holds
        theirs(h, graph).square().sum().backward()
        return [h.grad] + [p.grad for p in theirs.parameters()]

    return ours_step, theirs_step


@pytest.mark.parametrize("operator", ["gcn", "sage", "gen"])
@pytest.mark.parametrize("implementation", ["ours", "GroupAddRev"])
def test_reversible_layer_forward_backward(benchmark, operator, implementation):
    ours_step, theirs_step = make_steps(operator)
    for got, want in zip(ours_step(), theirs_step(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    benchmark.group = f"{operator}: one reversible layer, {NUM_NODES} nodes, {NUM_EDGES} edges, {CHANNELS} channels"
    benchmark.extra_info.update(operator=operator, implementation=implementation, groups=GROUPS)
    benchmark.pedantic(ours_step if implementation == "ours" else theirs_step, rounds=7, warmup_rounds=1)
