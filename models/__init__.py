"""gnn1000 models: deep GNNs with residual, reversible, weight-tied and equilibrium connections.

>>> import models
>>> model = models.build_model("gcn", "rev", layers=28, channels=128, in_channels=128, out_channels=40)
>>> logits = model(x, edge_index)

The names below are imported on first use (PEP 562), so that ``models.registry`` (the project's one
:class:`~models.registry.Registry` class, which the harness and the report use too) loads without torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BACKENDS": "models.operators", "OPERATORS": "models.operators", "CONNECTIONS": "models.connections",
    "DeepGNN": "models.network", "build_model": "models.network",
    "PRESETS": "models.presets", "list_presets": "models.presets", "preset": "models.presets",
    "preset_config": "models.presets",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
