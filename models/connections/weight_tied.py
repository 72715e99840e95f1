"""``wt-res`` and ``wt-rev``: one set of block weights applied at every one of the L layers.

    f^{(1)}_{w} = f^{(2)}_{w} = ... = f^{(L)}_{w}

Parameters are O(D²) whatever the depth. ``wt-res`` still keeps every layer's activations (O(L·N·D)); ``wt-rev``
rebuilds them in the backward pass like ``rev`` (O(N·D)).
"""
from __future__ import annotations

from typing import Any, Optional

from torch import Tensor, nn

from .base import STORED_ACTIVATIONS, BlockFactory, StepCost, group_channels
from .reversible import GroupedReversibleLayer
from .rev import run_reversible


class WeightTiedResidualStack(nn.Module):
    def __init__(self, layers: int, channels: int, factory: BlockFactory) -> None:
        super().__init__()
        self.depth = layers
        self.block = factory.block(channels)

    def step_cost(self) -> StepCost:
        return STORED_ACTIVATIONS

    def forward(self, x: Tensor, graph: Any, edge_attr: Optional[Tensor] = None,
                dropout_mask: Optional[Tensor] = None) -> Tensor:
        for _ in range(self.depth):
            x = x + self.block(x, graph, edge_attr, dropout_mask)
        return x


class WeightTiedReversibleStack(nn.Module):
    def __init__(self, layers: int, channels: int, factory: BlockFactory, groups: int = 2,
                 memory_efficient: bool = True) -> None:
        super().__init__()
        per_group = group_channels(channels, groups)
        self.depth = layers
        self.layer = GroupedReversibleLayer([factory.block(per_group) for _ in range(groups)])
        self.memory_efficient = memory_efficient

    def reversible_layers(self) -> list[GroupedReversibleLayer]:
        return [self.layer] * self.depth

    def step_cost(self) -> StepCost:
        return StepCost(no_grad_forwards=1) if self.memory_efficient else STORED_ACTIVATIONS

    def forward(self, x: Tensor, graph: Any, edge_attr: Optional[Tensor] = None,
                dropout_mask: Optional[Tensor] = None) -> Tensor:
        return run_reversible(self.reversible_layers(), x, graph, edge_attr, dropout_mask, self.memory_efficient)
