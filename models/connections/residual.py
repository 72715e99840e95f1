"""``res``: the DeeperGCN res+ stack, ``X^{l+1} = X^l + f_l(X^l)``.

Every layer's activations are kept for the backward pass: memory O(L·N·D), parameters O(L·D²).

Blocks the operator names in ``Operator.checkpointed_blocks`` (GEN with ``impl="paper"``: the authors' DeeperGCN
checkpointing) run their convolution under ``torch.utils.checkpoint``.
"""
from __future__ import annotations

from typing import Any, Optional

from torch import Tensor, nn

from .base import STORED_ACTIVATIONS, BlockFactory, StepCost


class ResidualStack(nn.Module):
    #: zero blocks is a stack too: between a conv encoder and a conv head (``layers=2``, ``norm="none"``) the network
    #: is exactly Kipf and Welling's 2-layer GCN, ``conv(dropout(relu(conv(x))))``, the shallow control of deep runs.
    allows_no_blocks = True

    def __init__(self, layers: int, channels: int, factory: BlockFactory) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(factory.block(channels) for _ in range(layers))
        for index in factory.operator.checkpointed_blocks(layers):
            self.blocks[index].checkpoint_conv = True
        self.checkpointed = bool(factory.operator.checkpointed_blocks(layers))

    def step_cost(self) -> StepCost:
        # checkpointed convolutions run twice, once without autograd: F0 + F + B at most (a share of the blocks)
        return StepCost(no_grad_forwards=1) if self.checkpointed else STORED_ACTIVATIONS

    def forward(self, x: Tensor, graph: Any, edge_attr: Optional[Tensor] = None,
                dropout_mask: Optional[Tensor] = None) -> Tensor:
        for block in self.blocks:
            x = x + block(x, graph, edge_attr, dropout_mask)
        return x
