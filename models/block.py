"""The "res+" pre-activation block shared by every connection kind.

    f(X) = Conv(Dropout(ReLU(Norm(X))), A, U)

(DeeperGCN's res+ ordering; RevGNN uses it as the function ``f_w`` inside each group.) The dropout is the network's
shared mask (see :mod:`models.dropout`), passed in rather than drawn here, so that recomputing ``f`` in a reversible
backward pass reproduces the forward pass exactly.
"""
from __future__ import annotations

from typing import Any, Optional

from torch import Tensor, nn


class PreActBlock(nn.Module):
    """``conv(dropout(relu(norm(x))))`` with an externally supplied dropout mask."""

    def __init__(self, norm: nn.Module, conv: nn.Module) -> None:
        super().__init__()
        self.norm = norm
        self.conv = conv

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
        return self.conv(h, graph, edge_attr)
