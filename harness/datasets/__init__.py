"""Data sets by name: real OGB and Planetoid graphs, their synthetic twins, and a few extras.

>>> from harness.datasets import load_dataset, DATASETS
>>> ds = load_dataset("synthetic-arxiv", scale=0.01, seed=0)
>>> ds.data, ds.split["train"], ds.metric

Each family is one module that registers its names on import (``@DATASETS.register(name)``); adding a data set is
one module and one line below, or no code at all: a graph of a known format (Planetoid raw, a heterophilous-graphs
``.npz``, OGB's node-property raw layout) under the data root is found and registered by its name
(:mod:`.discovery`).
"""
from __future__ import annotations

import os
from typing import Optional

from .base import DatasetError, DatasetUnavailable, GraphDataset
from .files import data_root
from .registry import DATASETS, load_registered

from . import ogb, planetoid, synthetic  # noqa: E402,F401  (registration)
from . import arxiv_without_features, heterophilous  # noqa: E402,F401  (registration)
from . import discovery  # noqa: E402,F401  (data sets found on disk)


def load_dataset(name: str, root: Optional[str | os.PathLike] = None, scale: float = 1.0, seed: int = 0
                 ) -> GraphDataset:
    """Load ``name`` (one of ``DATASETS.names()``) under ``root`` (default :func:`data_root`); ``scale`` in (0, 1]
    shrinks synthetic twins, ``seed`` draws their numbers (and any stand-in part of a real data set)."""
    return load_registered(name, str(data_root(root)), scale=scale, seed=seed)


__all__ = ["DATASETS", "DatasetError", "DatasetUnavailable", "GraphDataset", "data_root", "load_dataset"]
