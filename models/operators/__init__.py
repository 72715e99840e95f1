"""Graph operators by backend. ``OPERATORS`` lists operator names; ``get_operator(name, backend)`` builds one.

PyG operators are imported eagerly; DGL operators only when ``backend="dgl"`` is asked for, so that importing this
project or building a PyG model never imports dgl.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Any

from .base import Operator
from .registry import OPERATORS, register_operator

BACKENDS = ("pyg", "dgl")
_BACKEND_MODULES = {"pyg": "models.operators.pyg", "dgl": "models.operators.dgl"}


def get_operator(name: str, backend: str = "pyg", **options: Any) -> Operator:
    """An operator instance; ``options`` are its constructor's keyword arguments (e.g. ``aggr`` for gen)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    importlib.import_module(_BACKEND_MODULES[backend])
    per_backend = OPERATORS.get(name)
    if backend not in per_backend:
        raise ValueError(f"operator {name!r} has no {backend} implementation")
    cls = per_backend[backend]
    allowed = [p for p in inspect.signature(cls).parameters]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"operator {name!r} got unknown option(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(allowed) if allowed else 'none'}"
        )
    return cls(**options)


importlib.import_module(_BACKEND_MODULES["pyg"])

__all__ = ["BACKENDS", "OPERATORS", "Operator", "get_operator", "register_operator"]
