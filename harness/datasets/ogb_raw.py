"""Any node-property graph in OGB's raw layout, ``<root>/ogbn_<name>/``, read with ogb's own raw reader.

The layout (as OGB ships it, and as :mod:`.ogb` reads the three it knows through ``PygNodePropPredDataset``)::

    ogbn_<name>/raw/{edge,num-node-list,num-edge-list,node-feat,node-label}.csv.gz   (edge-feat.csv.gz optional)
    ogbn_<name>/split/<kind>/{train,valid,test}.csv.gz                               (one split kind)

registered as ``ogbn-<name>`` (``_`` written ``-``). ogb's ``PygNodePropPredDataset`` only opens the data sets of its
``master.csv`` and writes processed files beside the raw ones, so a graph it does not know is read in place with
``ogb.io.read_graph_raw.read_csv_graph_raw``. Scoring follows OGB's rule: several label columns are tasks scored by
mean ROC-AUC, one column of two classes is one binary ROC-AUC task, one column of more classes is accuracy. A name in
ogb's ``master.csv`` is scored by its ``Evaluator``. Edges are made undirected (edge features averaged per pair).
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from .base import SPLITS, DatasetError, DatasetFormat, GraphDataset, decoding

PREFIX = "ogbn_"
RAW = ("edge", "num-node-list", "num-edge-list", "node-feat", "node-label")


def split_kind(folder: Path) -> str | None:
    """The one ``split/<kind>`` holding train, valid and test (the first by name when there are several)."""
    for kind in sorted((folder / "split").glob("*")):
        if all((kind / f"{part}.csv.gz").is_file() for part in SPLITS):
            return kind.name
    return None


def find(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in sorted(root.glob(f"{PREFIX}*")):
        if (folder.is_dir() and all((folder / "raw" / f"{stem}.csv.gz").is_file() for stem in RAW)
                and split_kind(folder) is not None):
            found.setdefault(folder.name.removesuffix("_pyg").replace("_", "-").lower(), folder)
    return found


def _read(path: Path) -> np.ndarray:
    return pd.read_csv(path, compression="gzip", header=None).values


def evaluator_name(name: str) -> str | None:
    """``name`` when ogb has an ``Evaluator`` for it (its ``master.csv`` lists it), else None."""
    from ogb.nodeproppred import Evaluator

    try:
        with contextlib.redirect_stdout(sys.stderr):
            Evaluator(name)
    except (ValueError, KeyError):
        return None
    return name


def load(name: str, folder: Path, seed: int) -> GraphDataset:
    from ogb.io.read_graph_raw import read_csv_graph_raw

    kind = split_kind(folder)
    with contextlib.redirect_stdout(sys.stderr), decoding(name, folder):  # ogb prints progress
        graph = read_csv_graph_raw(str(folder / "raw"))[0]
        labels = _read(folder / "raw" / "node-label.csv.gz")
        split = {part: torch.from_numpy(_read(folder / "split" / str(kind) / f"{part}.csv.gz")[:, 0].astype(np.int64))
                 for part in SPLITS}
    n = int(graph["num_nodes"])
    if graph["node_feat"] is None or len(labels) != n:
        raise DatasetError(f"{name}: {folder / 'raw'}: node-label has {len(labels)} rows for {n} nodes")
    edge_attr = None if graph["edge_feat"] is None else torch.from_numpy(graph["edge_feat"]).float()
    edge_index = torch.from_numpy(graph["edge_index"]).long()
    if edge_attr is None:
        edge_index = to_undirected(edge_index, num_nodes=n)
    else:
        edge_index, edge_attr = to_undirected(edge_index, edge_attr, num_nodes=n, reduce="mean")
    tasks = labels.shape[1]
    classes = int(np.nanmax(labels)) + 1
    if tasks == 1 and classes > 2:
        y, task, metric, outputs = torch.from_numpy(labels[:, 0].astype(np.int64)), "multiclass", "acc", classes
    else:  # OGB marks unlabelled rows with NaN: kept, ROC-AUC skips them
        y, task, metric, outputs = torch.from_numpy(labels.astype(np.float32)), "multilabel", "rocauc", tasks
    x = torch.from_numpy(graph["node_feat"]).float()
    data = Data(x=x, edge_index=edge_index, y=y, num_nodes=n)
    if edge_attr is not None:
        data.edge_attr = edge_attr
    return GraphDataset(name=name, data=data, split=split, num_features=int(x.size(1)), num_outputs=outputs,
                        task=task, metric=metric, edge_dim=None if edge_attr is None else int(edge_attr.size(1)),
                        synthetic=False, ogb_name=evaluator_name(name),
                        source=f"OGB raw layout {folder} (ogb read_csv_graph_raw), split/{kind}, undirected, "
                               f"{metric}")


FORMAT = DatasetFormat("OGB node-property raw", find, load)
