"""``tolokers`` and ``minesweeper`` (Platonov et al., ICLR 2023): real binary node classification scored by ROC-AUC.

Read from ``<name>.npz`` in ``<root>/heterophilous`` or a read-only mirror's ``heterophilous`` folder. Edges are
made undirected; the data set ships 10 standard splits and ``seed`` picks split ``seed % 10``, so seeds 0-9 give the
published protocol (one run per split). The target is one binary task: ``y`` is [N, 1] float, trained with BCE.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from .base import DatasetUnavailable, GraphDataset, decoding
from .files import data_root, find_in_mirrors
from .registry import DATASETS

FOLDER = "heterophilous"
NUM_SPLITS = 10


def load_heterophilous(name: str, root: Optional[str], seed: int) -> GraphDataset:
    file_name = f"{name}.npz"
    folder = data_root(root) / FOLDER
    if not (folder / file_name).is_file():
        folder = find_in_mirrors(FOLDER, [file_name]) or folder
    if not (folder / file_name).is_file():
        raise DatasetUnavailable(f"{name}: {folder / file_name} is missing; get it from "
                                 f"https://github.com/yandex-research/heterophilous-graphs (data/{file_name})")
    with decoding(name, folder / file_name):  # an .npz reads its arrays lazily: all of them inside
        arrays = np.load(folder / file_name)
        x = torch.from_numpy(arrays["node_features"]).float()
        n = x.size(0)
        edge_index = to_undirected(torch.from_numpy(arrays["edges"]).long().t(), num_nodes=n)
        y = torch.from_numpy(arrays["node_labels"]).float().view(-1, 1)
        index = seed % NUM_SPLITS
        split = {part: torch.from_numpy(arrays[f"{key}_masks"][index]).nonzero().view(-1)
                 for part, key in (("train", "train"), ("valid", "val"), ("test", "test"))}
    return GraphDataset(name=name, data=Data(x=x, edge_index=edge_index, y=y, num_nodes=n), split=split,
                        num_features=x.size(1), num_outputs=1, task="multilabel", metric="rocauc", edge_dim=None,
                        synthetic=False, source=f"{name} from {folder / file_name} (Platonov et al. 2023), "
                                                f"split {index} of {NUM_SPLITS}, undirected")


def _register(name: str) -> None:
    @DATASETS.register(name)
    def load(root: Optional[str], scale: float, seed: int) -> GraphDataset:
        return load_heterophilous(name, root, seed)


for _name in ("tolokers", "minesweeper"):
    _register(_name)
