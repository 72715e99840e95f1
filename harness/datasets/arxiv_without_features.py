"""``ogbn-arxiv-nofeat``: the real ogbn-arxiv graph, labels and time split, with stand-in node features.

The genuine OGB files except ``raw/node-feat.csv.gz`` (see the folder's README), read with ogb's own raw reader and
preprocessed like ogbn-arxiv (undirected, self-loops). Features are ``N(0, 1)`` noise drawn from ``seed``, 128 wide
as the real ones: memory and step time are exactly the real data set's (they depend on shapes only), and the split
and evaluator are the real ones, but accuracy is NOT the OGB benchmark (``synthetic=True``).

Folder: ``<root>/ogbn_arxiv_without_features`` or the same name in a read-only mirror (read in place; nothing is
written).
"""
from __future__ import annotations

import contextlib
import sys
from typing import Optional

import pandas as pd
import torch
from torch_geometric.data import Data

from .base import DatasetUnavailable, GraphDataset, decoding
from .files import data_root, find_in_mirrors, missing_files
from .preprocess import undirected_with_self_loops
from .registry import DATASETS

FOLDER = "ogbn_arxiv_without_features"
FILES = ([f"raw/{stem}.csv.gz" for stem in ("edge", "node-label", "num-node-list", "num-edge-list")]
         + [f"split/time/{part}.csv.gz" for part in ("train", "valid", "test")])
FEATURES = 128


def _read_column(path: str) -> torch.Tensor:
    return torch.from_numpy(pd.read_csv(path, compression="gzip", header=None).values.T[0].astype("int64"))


@DATASETS.register("ogbn-arxiv-nofeat")
def load_arxiv_without_features(root: Optional[str], scale: float, seed: int) -> GraphDataset:
    from ogb.io.read_graph_raw import read_csv_graph_raw

    folder = data_root(root) / FOLDER
    if missing_files(folder, FILES):
        folder = find_in_mirrors(FOLDER, FILES) or folder
    missing = missing_files(folder, FILES)
    if missing:
        raise DatasetUnavailable(f"ogbn-arxiv-nofeat: {folder} lacks {', '.join(missing)}; copy the "
                                 f"{FOLDER} folder (the real arxiv graph without features) there")
    with contextlib.redirect_stdout(sys.stderr), decoding("ogbn-arxiv-nofeat", folder / "raw"):
        graph = read_csv_graph_raw(str(folder / "raw"))[0]
    n = int(graph["num_nodes"])
    generator = torch.Generator().manual_seed(seed)
    with decoding("ogbn-arxiv-nofeat", folder):
        data = Data(x=torch.randn(n, FEATURES, generator=generator),
                    edge_index=undirected_with_self_loops(torch.from_numpy(graph["edge_index"]), n),
                    y=_read_column(str(folder / "raw" / "node-label.csv.gz")), num_nodes=n)
        split = {part: _read_column(str(folder / "split" / "time" / f"{part}.csv.gz"))
                 for part in ("train", "valid", "test")}
    return GraphDataset(name="ogbn-arxiv-nofeat", data=data, split=split, num_features=FEATURES, num_outputs=40,
                        task="multiclass", metric="acc", edge_dim=None, synthetic=True, ogb_name="ogbn-arxiv",
                        source=f"real ogbn-arxiv graph, labels and time split from {folder}; STAND-IN features "
                               f"N(0,1) seed={seed} (accuracy is not the OGB benchmark); undirected, self-loops")
