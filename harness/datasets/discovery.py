"""Data sets found by their files: any graph of a known format under the data root is registered by its name.

A format (:class:`DatasetFormat`) says where its files sit under a root and how to read them; :func:`find_datasets`
looks in the data root and then the read-only mirrors (:mod:`harness.datasets.files`) and registers every name it
finds that no module registered, with a loader that finds the files again when the data set is loaded (the root of
a later run may differ). The formats, each in its own module:

- Planetoid (:mod:`.planetoid`): ``<root>/<Folder>/raw/ind.<name>.{x,tx,allx,y,ty,ally,graph,test.index}``;
- heterophilous graphs (:mod:`.heterophilous`): ``<root>/heterophilous/<file>.npz`` as Platonov et al. publish them;
- OGB node property prediction (:mod:`.ogb_raw`): ``<root>/ogbn_<name>/raw/*.csv.gz`` and ``split/<kind>/``.

Adding a format is one module defining a :class:`~.base.DatasetFormat` and one entry in :data:`FORMATS`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional

from . import heterophilous, ogb_raw, planetoid
from .base import DatasetFormat, DatasetUnavailable, GraphDataset
from .files import search_roots
from .registry import DATASETS


FORMATS: tuple[DatasetFormat, ...] = (planetoid.FORMAT, heterophilous.FORMAT, ogb_raw.FORMAT)


def found(fmt: DatasetFormat, root: Optional[str | os.PathLike] = None) -> Iterator[tuple[str, Path]]:
    for folder in search_roots(root):
        if folder.is_dir():
            try:
                yield from fmt.find(folder).items()
            except OSError:  # an unreadable folder holds nothing we can load
                continue


def locate(fmt: DatasetFormat, name: str, root: Optional[str | os.PathLike]) -> Path:
    for candidate, path in found(fmt, root):
        if candidate == name:
            return path
    raise DatasetUnavailable(f"{name}: no {fmt.name} files for it under {', '.join(map(str, search_roots(root)))}; "
                             f"put them back or point --data-root / $GNN1000_DATA_ROOT at the folder holding them")


def register_format(fmt: DatasetFormat, name: str) -> None:
    @DATASETS.register(name, format=fmt.name)
    def load(root: Optional[str], scale: float, seed: int) -> GraphDataset:
        return fmt.load(name, locate(fmt, name, root), seed)


def find_datasets(root: Optional[str | os.PathLike] = None) -> None:
    """Register every data set of a known format under ``root`` (default: the data root) and the mirrors."""
    for fmt in FORMATS:
        for name, _ in found(fmt, root):
            if name not in DATASETS:  # a module's own registration (or an earlier find) wins
                register_format(fmt, name)


DATASETS.finder = find_datasets
