"""The operator registry: operator name → {backend → :class:`~models.operators.base.Operator` subclass}.

Its own module so that the backends' modules (which register into it) never import the package that imports them.
"""
from __future__ import annotations

from typing import Callable

from ..registry import Registry
from .base import Operator

#: operator name → {backend name → Operator subclass}
OPERATORS: Registry[dict[str, type[Operator]]] = Registry("operator")


def register_operator(name: str, backend: str) -> Callable[[type[Operator]], type[Operator]]:
    """Class decorator: register an :class:`Operator` subclass as ``name`` on ``backend``; one class per pair."""

    def add(cls: type[Operator]) -> type[Operator]:
        if name not in OPERATORS:
            OPERATORS.register(name)({})
        per_backend = OPERATORS.get(name)
        if backend in per_backend:
            raise ValueError(f"operator {name!r} on backend {backend!r} is registered twice (by "
                             f"{per_backend[backend].__module__}.{per_backend[backend].__qualname__} and "
                             f"{cls.__module__}.{cls.__qualname__})")
        per_backend[backend] = cls
        return cls

    return add
