"""The data set registry: a name → a loader. Adding a data set is one module and one ``@DATASETS.register``."""
from __future__ import annotations

from typing import Callable, Protocol

from .base import DatasetError, GraphDataset


class Loader(Protocol):
    def __call__(self, root: str, scale: float, seed: int) -> GraphDataset: ...


class DatasetRegistry:
    def __init__(self) -> None:
        self._loaders: dict[str, Loader] = {}
        self._scalable: set[str] = set()

    def register(self, name: str, scalable: bool = False) -> Callable[[Loader], Loader]:
        """Register ``loader(root, scale, seed)``; only ``scalable`` loaders accept ``scale`` below 1."""

        def add(loader: Loader) -> Loader:
            if name in self._loaders:
                raise DatasetError(f"data set {name!r} is registered twice")
            self._loaders[name] = loader
            if scalable:
                self._scalable.add(name)
            return loader

        return add

    def names(self) -> list[str]:
        return sorted(self._loaders)

    def __contains__(self, name: object) -> bool:
        return name in self._loaders

    def load(self, name: str, root: str, scale: float = 1.0, seed: int = 0) -> GraphDataset:
        if name not in self._loaders:
            raise DatasetError(f"unknown data set {name!r}; choose one of: {', '.join(self.names())}")
        check_scale(scale)
        if scale != 1.0 and name not in self._scalable:
            raise DatasetError(f"{name} is a real data set and cannot be scaled (scale={scale}); "
                               f"scalable: {', '.join(sorted(self._scalable))}")
        return self._loaders[name](root, scale, seed)


def check_scale(scale: float) -> None:
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not 0.0 < scale <= 1.0:
        raise DatasetError(f"scale must be a number with 0 < scale <= 1, got {scale!r}")


DATASETS = DatasetRegistry()
