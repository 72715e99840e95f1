"""``rev``: L grouped reversible layers (RevGNN), each with its own weights.

Activations are rebuilt from the outputs in the backward pass (:mod:`.reversible`): memory O(N·D) whatever the
depth, parameters O(L·D²). ``memory_efficient=False`` runs the same mathematics through plain autograd.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from torch import Tensor, nn

from .base import STORED_ACTIVATIONS, BlockFactory, StepCost, group_channels
from .reversible import GroupedReversibleLayer


def run_reversible(layers: Iterable[GroupedReversibleLayer], x: Tensor, graph: Any, edge_attr: Optional[Tensor],
                   dropout_mask: Optional[Tensor], memory_efficient: bool) -> Tensor:
    """Chain reversible layers; each layer after the first frees its input, the previous layer's output, which
    nothing else reads. The first layer's input belongs to the caller and is left intact."""
    for depth, layer in enumerate(layers):
        x = layer(x, graph, edge_attr, dropout_mask, memory_efficient=memory_efficient, free_input=depth > 0)
    return x


class ReversibleStack(nn.Module):
    def __init__(self, layers: int, channels: int, factory: BlockFactory, groups: int = 2,
                 memory_efficient: bool = True) -> None:
        super().__init__()
        per_group = group_channels(channels, groups)
        self.layers = nn.ModuleList(
            GroupedReversibleLayer([factory.block(per_group) for _ in range(groups)]) for _ in range(layers))
        self.memory_efficient = memory_efficient

    def reversible_layers(self) -> list[GroupedReversibleLayer]:
        return list(self.layers)

    def step_cost(self) -> StepCost:
        return StepCost(no_grad_forwards=1) if self.memory_efficient else STORED_ACTIVATIONS

    def forward(self, x: Tensor, graph: Any, edge_attr: Optional[Tensor] = None,
                dropout_mask: Optional[Tensor] = None) -> Tensor:
        return run_reversible(self.layers, x, graph, edge_attr, dropout_mask, self.memory_efficient)
