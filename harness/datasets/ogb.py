"""ogbn-arxiv, ogbn-proteins and ogbn-products through ogb's own ``PygNodePropPredDataset``.

Files live in ``<root>/ogbn_<name>/`` exactly as OGB ships them (``raw/*.csv.gz``, ``split/<kind>/*.csv.gz``,
``RELEASE_v1.txt``). Before ogb is called, :func:`harness.datasets.files.require_files` checks that they are all there
or that OGB's server answers; a download is done here with ogb's own ``download_url``/``extract_zip`` into a temporary
sibling folder that is renamed into place when complete, so ogb never reaches its ``input()`` prompts (the stale-folder
question and the "larger than 1 GB" question for products) and a failed download leaves nothing behind. ogb then
processes the raw files unchanged; :mod:`harness.datasets.preprocess` turns its ``Data`` into what the paper trains on.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch
from torch_geometric.data import Data

from . import preprocess
from .base import DatasetError, GraphDataset, Metric, Task, decoding
from .files import data_root, require_files
from .registry import DATASETS

OGB_HOST = "snap.stanford.edu"
OGB_URL = "http://snap.stanford.edu/ogb/data/nodeproppred/{download_name}.zip"


@dataclass(frozen=True)
class OgbSpec:
    name: str  # e.g. "ogbn-arxiv"
    download_name: str  # the zip's name and top folder, e.g. "arxiv"
    raw: tuple[str, ...]  # files under raw/, without .csv.gz
    split: str  # folder under split/
    task: Task
    metric: Metric
    num_outputs: int
    edge_dim: Optional[int]
    preprocess: Callable[[Data], Data]
    preprocessing: str  # in words, for ``source``

    @property
    def folder_name(self) -> str:
        return self.name.replace("-", "_")

    @property
    def url(self) -> str:
        return OGB_URL.format(download_name=self.download_name)

    def required_files(self) -> list[str]:
        return ([f"raw/{stem}.csv.gz" for stem in self.raw]
                + [f"split/{self.split}/{part}.csv.gz" for part in ("train", "valid", "test")] + ["RELEASE_v1.txt"])


def _arxiv(data: Data) -> Data:
    n = data.num_nodes
    return Data(x=data.x.float(), edge_index=preprocess.undirected_with_self_loops(data.edge_index, n),
                y=data.y.view(-1), num_nodes=n)


def _proteins(data: Data) -> Data:
    n = data.num_nodes
    edge_attr = data.edge_attr.float()
    species = preprocess.species_index(data.node_species)
    x = preprocess.proteins_node_features(data.edge_index, edge_attr, species, n)
    return Data(x=x, edge_index=data.edge_index, edge_attr=edge_attr, y=data.y.float(), num_nodes=n)


def _products(data: Data) -> Data:
    n = data.num_nodes
    return Data(x=data.x.float(), edge_index=preprocess.with_self_loops(data.edge_index, n), y=data.y.view(-1),
                num_nodes=n)


OGB_SPECS = {spec.name: spec for spec in (
    OgbSpec("ogbn-arxiv", "arxiv", ("edge", "node-feat", "node_year", "node-label", "num-node-list", "num-edge-list"),
            "time", "multiclass", "acc", 40, None, _arxiv, "made undirected, one self-loop per node"),
    OgbSpec("ogbn-proteins", "proteins",
            ("edge", "edge-feat", "node_species", "node-label", "num-node-list", "num-edge-list"),
            "species", "multilabel", "rocauc", 112, 8, _proteins,
            "x = [sum of incident edge features (8) | one-hot species (8)]"),
    OgbSpec("ogbn-products", "products", ("edge", "node-feat", "node-label", "num-node-list", "num-edge-list"),
            "sales_ranking", "multiclass", "acc", 47, None, _products, "one self-loop per node"),
)}


def allow_pyg_data_in_weights_only_load() -> None:
    """torch >= 2.6 unpickles ``torch.load`` files weights-only; ogb reloads its processed PyG file that way."""
    add = getattr(torch.serialization, "add_safe_globals", None)
    if add is None:
        return
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage

    add([DataEdgeAttr, DataTensorAttr, GlobalStorage])


def download(spec: OgbSpec, root: Path, folder: Path) -> None:
    """Download and unzip into ``<root>/.<folder>.partial-<pid>``, then rename into place (never half a folder)."""
    from ogb.utils.url import download_url, extract_zip

    staging = root / f".{folder.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            archive = download_url(spec.url, str(staging))
            extract_zip(archive, str(staging))
        os.replace(staging / spec.download_name, folder)
    except Exception as exc:
        raise DatasetError(f"{spec.name}: download of {spec.url} failed ({exc}); nothing was written") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_ogb(spec: OgbSpec, root: Optional[str]) -> GraphDataset:
    base = data_root(root)
    folder = base / spec.folder_name
    if (base / f"{spec.folder_name}_pyg").is_dir():  # ogb prefers this older name when it exists
        folder = base / f"{spec.folder_name}_pyg"
    how_to_get = (f"download {spec.url}, unzip it in {base} and rename {spec.download_name}/ to {folder.name}/")
    if require_files(spec.name, folder, spec.required_files(), OGB_HOST, how_to_get):
        base.mkdir(parents=True, exist_ok=True)
        download(spec, base, folder)

    from ogb.nodeproppred import PygNodePropPredDataset  # imported after the check: it takes seconds

    allow_pyg_data_in_weights_only_load()
    processed = folder / "processed"
    was_processed = (processed / "geometric_data_processed.pt").is_file()
    try:
        with contextlib.redirect_stdout(sys.stderr), decoding(spec.name, folder):  # ogb prints progress
            dataset = PygNodePropPredDataset(spec.name, root=str(base))
            split = dataset.get_idx_split()
    except BaseException:
        if not was_processed:  # a half-written processed file would be trusted by the next run
            shutil.rmtree(processed, ignore_errors=True)
        raise
    data = spec.preprocess(dataset[0])
    return GraphDataset(name=spec.name, data=data, split=dict(split), num_features=int(data.x.size(1)),
                        num_outputs=spec.num_outputs, task=spec.task, metric=spec.metric, edge_dim=spec.edge_dim,
                        synthetic=False, ogb_name=spec.name,
                        source=f"OGB {spec.name} from {folder} (ogb PygNodePropPredDataset); {spec.preprocessing}")


def _register(spec: OgbSpec) -> None:
    @DATASETS.register(spec.name)
    def load(root: Optional[str], scale: float, seed: int) -> GraphDataset:
        return load_ogb(spec, root)


for _spec in OGB_SPECS.values():
    _register(_spec)
