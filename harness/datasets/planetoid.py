"""Cora, CiteSeer and PubMed (Yang et al., 2016) through PyG's ``Planetoid``, public split; and any other graph in
the Planetoid raw format, ``<root>/<Folder>/raw/ind.<name>.{x,tx,allx,y,ty,ally,graph,test.index}``, registered as
``<name>`` (lower case) and read in place with PyG's own ``read_planetoid_data``.

Features are row-normalised (``NormalizeFeatures``), as in GCN (Kipf and Welling, 2017) whose 81.5 % on Cora is the
reference figure for this split (140 / 500 / 1,000 nodes). Raw files are taken from ``<root>/<Name>/raw`` or copied from
a read-only mirror (:mod:`harness.datasets.files`); otherwise PyG downloads them from GitHub when it answers.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Optional

import torch_geometric.transforms as T
from torch_geometric.data import Data
from torch_geometric.datasets import Planetoid
from torch_geometric.io import read_planetoid_data

from .base import DatasetFormat, GraphDataset, decoding
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
    return _graph_dataset(name, data, f"Planetoid {title} from {folder} (PyG)")


def _graph_dataset(name: str, data: Data, source: str) -> GraphDataset:
    split = {key: mask.nonzero().view(-1)
             for key, mask in (("train", data.train_mask), ("valid", data.val_mask), ("test", data.test_mask))}
    del data.train_mask, data.val_mask, data.test_mask
    return GraphDataset(name=name, data=data, split=split, num_features=int(data.x.size(1)),
                        num_outputs=int(data.y.max()) + 1, task="multiclass", metric="acc", edge_dim=None,
                        synthetic=False, source=f"{source}, public split, row-normalised features")


def find(root: Path) -> dict[str, Path]:
    """``name → its ind.<name>.x`` for every ``<root>/<Folder>/raw`` holding all eight ``ind.<name>.*`` files
    (``<name>`` in lower case, as PyG's reader spells the files it opens)."""
    found: dict[str, Path] = {}
    for raw in sorted(root.glob("*/raw")):
        for features in sorted(raw.glob("ind.*.x")):
            prefix = features.name[len("ind."):-len(".x")]  # PyG's reader opens ind.<prefix in lower case>.*
            if prefix == prefix.lower() and all((raw / f"ind.{prefix}.{suffix}").is_file()
                                                for suffix in PLANETOID_SUFFIXES):
                found.setdefault(prefix, features)
    return found


def load_found(name: str, features: Path, seed: int) -> GraphDataset:
    """A Planetoid-format graph read in place (nothing written next to it) with PyG's reader."""
    prefix = features.name[len("ind."):-len(".x")]
    with decoding(name, features.parent):
        data = T.NormalizeFeatures()(read_planetoid_data(str(features.parent), prefix))
    return _graph_dataset(name, data, f"Planetoid-format {prefix} from {features.parent} (PyG read_planetoid_data)")


FORMAT = DatasetFormat("Planetoid raw", find, load_found)


def _register(name: str) -> None:
    @DATASETS.register(name)
    def load(root: Optional[str], scale: float, seed: int) -> GraphDataset:
        return load_planetoid(name, root)


for _name in PLANETOID_NAMES:
    _register(_name)
