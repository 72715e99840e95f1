"""The data set registry: a name → a loader. Adding a data set is one module and one ``@DATASETS.register``, or no
code at all: a file of a known format dropped under the data root (:mod:`harness.datasets.discovery`).

``@DATASETS.register(name, scalable=True)`` marks a synthetic twin whose ``scale`` may be below 1; a real data set is
loaded whole. Every read of the registry (its names, a lookup) first registers the data sets found on disk, so a
suite naming a dropped-in file validates, in the runner and in every cell process alike.
"""
from __future__ import annotations

from typing import Callable, Optional, Protocol

from models.registry import Registry

from .base import DatasetError, GraphDataset


class Loader(Protocol):
    def __call__(self, root: str, scale: float, seed: int) -> GraphDataset: ...


class DatasetRegistry(Registry[Loader]):
    """A :class:`~models.registry.Registry` that runs its ``finder`` (set by the discovery module) before each read;
    the finder registers what it finds under the current data root and mirrors."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.finder: Optional[Callable[[Optional[str]], None]] = None
        self._finding = False

    def find(self, root: Optional[str] = None) -> None:
        if self.finder is None or self._finding:
            return
        self._finding = True  # the finder registers entries: no rescan from inside it
        try:
            self.finder(root)
        finally:
            self._finding = False

    def get(self, name: str) -> Loader:
        if name not in self._entries:
            self.find()
        return super().get(name)

    def names(self) -> list[str]:
        self.find()
        return super().names()

    def __contains__(self, name: object) -> bool:
        if name not in self._entries:
            self.find()
        return super().__contains__(name)


DATASETS = DatasetRegistry("data set")


def load_registered(name: str, root: str, scale: float = 1.0, seed: int = 0) -> GraphDataset:
    """Load the registered data set ``name``; one-line :class:`DatasetError` for an unknown name or a bad scale."""
    DATASETS.find(root)
    if name not in DATASETS:
        raise DatasetError(f"unknown data set {name!r} (nor a file of a known format under {root}); choose one of: "
                           f"{', '.join(DATASETS.names())}")
    check_scale(scale)
    if scale != 1.0 and not DATASETS.attributes(name).get("scalable", False):
        scalable = [other for other in DATASETS.names() if DATASETS.attributes(other).get("scalable", False)]
        raise DatasetError(f"{name} is a real data set and cannot be scaled (scale={scale}); "
                           f"scalable: {', '.join(scalable)}")
    return DATASETS.get(name)(root, scale, seed)


def check_scale(scale: float) -> None:
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not 0.0 < scale <= 1.0:
        raise DatasetError(f"scale must be a number with 0 < scale <= 1, got {scale!r}")
