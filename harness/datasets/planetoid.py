"""Cora, CiteSeer and PubMed (Yang et al., 2016) through PyG's ``Planetoid``, public split.

Features are row-normalised (``NormalizeFeatures``), as in GCN (Kipf and Welling, 2017) whose 81.5 % on Cora is the
reference figure for this split (140 / 500 / 1,000 nodes). Raw files are taken from ``<root>/<Name>/raw`` or copied from
a read-only mirror (:mod:`harness.datasets.files`); otherwise PyG downloads them from GitHub when it answers.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Optional

import torch_geometric.transforms as T
from torch_geometric.datasets import Planetoid

from .base import GraphDataset, decoding
from .files import copy_tree_atomically, data_root, find_in_mirrors, remove_empty_tree, require_files
from .registry import DATASETS

PLANETOID_HOST = "github.com"
PLANETOID_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
PLANETOID_NAMES = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}


def load_planetoid(name: str, root: Optional[str]) -> GraphDataset:
    title = PLANETOID_NAMES[name]
    base = data_root(root)
    folder = base / title
    files = [f"raw/ind.{name}.{suffix}" for suffix in PLANETOID_SUFFIXES]
    remove_empty_tree(folder)
    mirror = find_in_mirrors(title, files)
    if mirror is not None and not folder.exists():
        copy_tree_atomically(mirror, folder)
    require_files(name, folder, files, PLANETOID_HOST, f"copy the files from {Planetoid.url} into {folder / 'raw'}",
                  port=443)
    with contextlib.redirect_stdout(sys.stderr), decoding(name, folder):
        dataset = Planetoid(str(base), title, split="public", transform=T.NormalizeFeatures())
        data = dataset[0]
    split = {key: mask.nonzero().view(-1)
             for key, mask in (("train", data.train_mask), ("valid", data.val_mask), ("test", data.test_mask))}
    del data.train_mask, data.val_mask, data.test_mask
    return GraphDataset(name=name, data=data, split=split, num_features=dataset.num_features,
                        num_outputs=dataset.num_classes, task="multiclass", metric="acc", edge_dim=None,
                        synthetic=False, source=f"Planetoid {title} from {folder} (PyG), public split, "
                                                f"row-normalised features")


def _register(name: str) -> None:
    @DATASETS.register(name)
    def load(root: Optional[str], scale: float, seed: int) -> GraphDataset:
        return load_planetoid(name, root)


for _name in PLANETOID_NAMES:
    _register(_name)
