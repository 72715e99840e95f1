"""The data set registry: a name → a loader. Adding a data set is one module and one ``@DATASETS.register``.

``@DATASETS.register(name, scalable=True)`` marks a synthetic twin whose ``scale`` may be below 1; a real data set is
loaded whole.
"""
from __future__ import annotations

from typing import Protocol

from models.registry import Registry

from .base import DatasetError, GraphDataset


class Loader(Protocol):
    def __call__(self, root: str, scale: float, seed: int) -> GraphDataset: ...


DATASETS: Registry[Loader] = Registry("data set")


def load_registered(name: str, root: str, scale: float = 1.0, seed: int = 0) -> GraphDataset:
    """Load the registered data set ``name``; one-line :class:`DatasetError` for an unknown name or a bad scale."""
    if name not in DATASETS:
        raise DatasetError(f"unknown data set {name!r}; choose one of: {', '.join(DATASETS.names())}")
    check_scale(scale)
    if scale != 1.0 and not DATASETS.attributes(name).get("scalable", False):
        scalable = [other for other in DATASETS.names() if DATASETS.attributes(other).get("scalable", False)]
        raise DatasetError(f"{name} is a real data set and cannot be scaled (scale={scale}); "
                           f"scalable: {', '.join(scalable)}")
    return DATASETS.get(name)(root, scale, seed)


def check_scale(scale: float) -> None:
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not 0.0 < scale <= 1.0:
        raise DatasetError(f"scale must be a number with 0 < scale <= 1, got {scale!r}")
