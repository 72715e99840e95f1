"""Connection kinds by name. Each is an ``nn.Module`` built as ``cls(layers, channels, factory, **options)`` and
called as ``stack(x, graph, edge_attr, dropout_mask) -> x``; it sees the operator only through its
:class:`BlockFactory`. Adding a kind is one module plus one entry here.
"""
from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from ..registry import Registry
from .base import BlockFactory, DeclaresStepCost, ReportsMetrics, ReversibleConnection, StepCost
from .baselines import DGLGroupRevResStack, PyGGroupAddRevStack
from .deq import DEQStack
from .residual import ResidualStack
from .rev import ReversibleStack
from .weight_tied import WeightTiedResidualStack, WeightTiedReversibleStack

CONNECTIONS: Registry[type[nn.Module]] = Registry("connection")
CONNECTIONS.register("res")(ResidualStack)
CONNECTIONS.register("rev")(ReversibleStack)
CONNECTIONS.register("wt-res")(WeightTiedResidualStack)
CONNECTIONS.register("wt-rev")(WeightTiedReversibleStack)
CONNECTIONS.register("deq")(DEQStack)
CONNECTIONS.register("rev-pyg")(PyGGroupAddRevStack)
CONNECTIONS.register("rev-dgl")(DGLGroupRevResStack)


def build_connection(name: str, layers: int, channels: int, factory: BlockFactory, **options: Any) -> nn.Module:
    """Instantiate a connection kind, passing only the options its constructor declares.

    ``groups`` and ``memory_efficient`` are offered to every kind and silently dropped by those without them (a
    residual stack has no groups); any other unknown option is a one-line ValueError.
    """
    cls = CONNECTIONS.get(name)
    least = 0 if getattr(cls, "allows_no_blocks", False) else 1
    if layers < least:
        raise ValueError(f"layers must be >= {least} for connection {name!r}, got {layers}")
    accepted = set(inspect.signature(cls).parameters) - {"layers", "channels", "factory"}
    common = {"groups", "memory_efficient"}
    unknown = sorted(set(options) - accepted - common)
    if unknown:
        raise ValueError(f"connection {name!r} got unknown option(s) {', '.join(unknown)}; "
                         f"allowed: {', '.join(sorted(accepted)) or 'none'}")
    return cls(layers, channels, factory, **{k: v for k, v in options.items() if k in accepted})


__all__ = ["CONNECTIONS", "BlockFactory", "DeclaresStepCost", "ReportsMetrics", "ReversibleConnection", "StepCost",
           "build_connection"]
