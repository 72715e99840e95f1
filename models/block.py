"""The "res+" pre-activation block shared by every connection kind.

    f(X) = Conv(Dropout(ReLU(Norm(X))), A, U)

(DeeperGCN's res+ ordering; RevGNN uses it as the function ``f_w`` inside each group.) The dropout is the network's
shared mask (see :mod:`models.dropout`), passed in rather than drawn here, so that recomputing ``f`` in a reversible
backward pass reproduces the forward pass exactly.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


class PreActBlock(nn.Module):
    """``conv(dropout(relu(norm(x))))`` with an externally supplied dropout mask.

    ``checkpoint_conv``: the convolution runs under :func:`torch.utils.checkpoint.checkpoint` (its internals are
    recomputed in backward, only its input is kept), as the authors' DeeperGCN code does in deep softmax-GEN stacks.
    """

    def __init__(self, norm: nn.Module, conv: nn.Module, checkpoint_conv: bool = False) -> None:
        super().__init__()
        self.norm = norm
        self.conv = conv
        self.checkpoint_conv = checkpoint_conv

    def forward(
        self,
        x: Tensor,
        graph: Any,
        edge_attr: Optional[Tensor] = None,
        dropout_mask: Optional[Tensor] = None,
    ) -> Tensor:
        h = self.norm(x).relu()
        if dropout_mask is not None:
            h = h * dropout_mask
        if self.checkpoint_conv and self.training and torch.is_grad_enabled():
            return checkpoint(self.conv, h, graph, edge_attr, use_reentrant=False)
        return self.conv(h, graph, edge_attr)
