"""A planted memory regression, for the CI gate's test: ``rev`` that keeps four extra activations for backward.

Imported inside the harness's cell processes through ``GNN1000_PLUGINS=planted_regression`` (and only
there: the test's own process and every other run keep the real ``rev``). It swaps the registry entry, so the cells
keep their configuration — and their ids — and the gate compares them with the committed baseline records exactly
as it would compare a real regression introduced in models/connections/rev.py.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from models.connections import CONNECTIONS
from models.connections.rev import ReversibleStack

EXTRA_ACTIVATIONS = 4


class LeakyReversibleStack(ReversibleStack):
    """The reversible stack plus ``EXTRA_ACTIVATIONS`` sigmoids of its output that autograd keeps for backward.

    The output value is unchanged (``leak - leak.detach()`` is zero); only the memory held grows, by
    ``EXTRA_ACTIVATIONS`` × N × D floats, the signature of a connection that forgot to free an activation.
    """

    def forward(self, x: Tensor, graph: Any, edge_attr: Optional[Tensor] = None,
                dropout_mask: Optional[Tensor] = None) -> Tensor:
        out = super().forward(x, graph, edge_attr, dropout_mask)
        leak = torch.stack([out.sigmoid() for _ in range(EXTRA_ACTIVATIONS)]).sum(0)
        return out + (leak - leak.detach())


CONNECTIONS.override("rev", LeakyReversibleStack)  # for this process, on purpose; see the module docstring
