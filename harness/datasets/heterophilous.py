"""Graphs in the heterophilous-graphs format (Platonov et al., ICLR 2023): any ``<root>/heterophilous/<file>.npz``.

The format: arrays ``node_features`` [N, F], ``node_labels`` [N], ``edges`` [E, 2] and ``train_masks``,
``val_masks``, ``test_masks`` of shape [S, N] (S standard splits; [N] is one split). The published files
(``roman_empire.npz``, ``amazon_ratings.npz``, ``minesweeper.npz``, ``tolokers.npz``, ``questions.npz``) are found
under their file names and registered as the file's stem with ``_`` written ``-`` (``roman-empire``); any other
file of the format dropped into the folder is registered the same way.

Scoring follows the paper: two classes are one binary task scored by ROC-AUC (``y`` [N, 1] float, BCE loss), more
classes are scored by accuracy (``y`` [N] long, cross-entropy). Edges are made undirected; ``seed`` picks split
``seed % S``, so seeds 0-9 give the published protocol (one run per split).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from .base import DatasetError, DatasetFormat, DatasetUnavailable, GraphDataset, decoding
from .files import search_roots
from .registry import DATASETS

FOLDER = "heterophilous"
ARRAYS = ("node_features", "node_labels", "edges", "train_masks", "val_masks", "test_masks")
SPLIT_KEYS = (("train", "train"), ("valid", "val"), ("test", "test"))
SOURCE = "https://github.com/yandex-research/heterophilous-graphs"


def dataset_name(file: Path) -> str:
    """``roman_empire.npz`` → ``roman-empire``."""
    return file.stem.lower().replace("_", "-")


def find(root: Path) -> dict[str, Path]:
    folder = root / FOLDER
    if not folder.is_dir():
        return {}
    return {dataset_name(file): file for file in sorted(folder.glob("*.npz")) if file.is_file()}


def load(name: str, file: Path, seed: int) -> GraphDataset:
    with decoding(name, file):  # an .npz reads its arrays lazily: all of them inside
        arrays = np.load(file)
        missing = [key for key in ARRAYS if key not in arrays.files]
        if missing:
            raise DatasetError(f"{name}: {file} is not in the heterophilous-graphs format: it lacks "
                               f"{', '.join(missing)} (has {', '.join(arrays.files) or 'no arrays'})")
        x = torch.from_numpy(np.asarray(arrays["node_features"], dtype=np.float32))
        n = x.size(0)
        edge_index = to_undirected(torch.from_numpy(arrays["edges"]).long().t(), num_nodes=n)
        labels = torch.from_numpy(arrays["node_labels"]).long().view(-1)
        masks = {part: np.atleast_2d(arrays[f"{key}_masks"]) for part, key in SPLIT_KEYS}
    splits = masks["train"].shape[0]
    index = seed % splits
    split = {part: torch.from_numpy(mask[index]).nonzero().view(-1) for part, mask in masks.items()}
    classes = int(labels.max()) + 1 if labels.numel() else 0
    if classes < 2:
        raise DatasetError(f"{name}: {file} has {classes} class(es); node classification needs at least 2")
    binary = classes == 2
    y = labels.float().view(-1, 1) if binary else labels
    scoring = "binary: ROC-AUC" if binary else f"{classes} classes: accuracy"
    return GraphDataset(name=name, data=Data(x=x, edge_index=edge_index, y=y, num_nodes=n), split=split,
                        num_features=x.size(1), num_outputs=1 if binary else classes,
                        task="multilabel" if binary else "multiclass", metric="rocauc" if binary else "acc",
                        edge_dim=None, synthetic=False,
                        source=f"{name} from {file} (heterophilous-graphs format, Platonov et al. 2023), split "
                               f"{index} of {splits}, undirected, {scoring}")


FORMAT = DatasetFormat("heterophilous-graphs .npz", find, load)

#: The published files, registered even before they are on disk (a suite naming one validates; loading says where
#: to get it).
PUBLISHED = ("roman_empire", "amazon_ratings", "minesweeper", "tolokers", "questions")


def _register(stem: str) -> None:
    name = dataset_name(Path(f"{stem}.npz"))

    @DATASETS.register(name, format=FORMAT.name)
    def load_published(root: Optional[str], scale: float, seed: int) -> GraphDataset:
        for folder in search_roots(root):
            file = folder / FOLDER / f"{stem}.npz"
            if file.is_file():
                return load(name, file, seed)
        looked = ", ".join(str(folder / FOLDER) for folder in search_roots(root))
        raise DatasetUnavailable(f"{name}: {stem}.npz is in none of {looked}; get it from {SOURCE} (data/{stem}.npz), "
                                 f"or point --data-root / $GNN1000_DATA_ROOT at a folder holding {FOLDER}/{stem}.npz")


for _stem in PUBLISHED:
    _register(_stem)
