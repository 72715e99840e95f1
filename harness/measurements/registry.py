"""The measurement registry: a name → a function of a :class:`~harness.measurements.context.CellContext`.

Its own module so that the measurement modules (which register into it) never import the package that imports
them. A measurement defined outside the project registers here too (``@MEASUREMENTS.register("name")`` in a module
named by ``GNN1000_PLUGINS``, see :mod:`models.registry`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from models.registry import Registry

if TYPE_CHECKING:
    from .context import CellContext

Metrics = dict[str, Any]
Measurement = Callable[["CellContext"], Metrics]

MEASUREMENTS: Registry[Measurement] = Registry("measurement")
