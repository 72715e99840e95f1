"""The training loss of a task: cross-entropy over classes, or binary cross-entropy per task on labelled entries."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def node_loss(task: str, logits: Tensor, y: Tensor) -> Tensor:
    """Mean loss over the given nodes; a zero that still has a graph when there are none (an empty part)."""
    if y.size(0) == 0:
        return logits.sum() * 0.0
    if task == "multiclass":
        return F.cross_entropy(logits, y.view(-1))
    labelled = y == y  # NaN marks a missing target
    return F.binary_cross_entropy_with_logits(logits[labelled], y[labelled].to(logits.dtype))
