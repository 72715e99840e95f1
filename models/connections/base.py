"""What every connection kind receives: a factory for blocks, so it never needs to know the operator."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from torch import nn

from ..block import PreActBlock
from ..norms import make_norm
from ..operators.base import Operator


@dataclass(frozen=True)
class BlockFactory:
    """Builds the pieces of a layer on ``channels`` channels (the full width, or one group's share)."""

    operator: Operator
    norm: str = "layer"
    heads: int = 1
    edge_dim: Optional[int] = None

    def conv(self, channels: int) -> nn.Module:
        return self.operator.make_conv(channels, channels, heads=self.heads, edge_dim=self.edge_dim)

    def norm_layer(self, channels: int) -> nn.Module:
        return make_norm(self.norm, channels)

    def block(self, channels: int) -> PreActBlock:
        """The res+ block ``conv(dropout(relu(norm(x))))``."""
        return PreActBlock(self.norm_layer(channels), self.conv(channels))


def group_channels(channels: int, groups: int) -> int:
    """Channels per group; the one-line errors for a bad ``groups``."""
    if groups < 2:
        raise ValueError(f"reversible connections need groups >= 2, got groups={groups}")
    if channels % groups:
        raise ValueError(f"channels={channels} is not divisible by groups={groups}")
    return channels // groups
