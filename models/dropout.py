"""The shared dropout mask of RevGNN.

A reversible layer recomputes its blocks in the backward pass. If every block drew its own dropout mask, the
recomputation would see a different mask than the forward pass and the gradients would be wrong. The paper therefore
draws ONE mask per forward pass of the network, of shape ``[N, D]``, and multiplies it into every layer (a grouped
layer uses the i-th channel chunk for group i). Because the mask is an explicit tensor, the recomputation is
deterministic and the gradients are exact.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def shared_dropout_mask(like: Tensor, p: float, training: bool) -> Optional[Tensor]:
    """A scaled Bernoulli mask shaped like ``like`` (``mask ∈ {0, 1/(1-p)}``), or ``None`` when dropout is off."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return None
    return torch.empty_like(like).bernoulli_(1.0 - p).div_(1.0 - p)
