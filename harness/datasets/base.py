"""The one shape every data set takes once loaded: :class:`GraphDataset`."""
from __future__ import annotations

import contextlib
import pickle
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Literal, Optional

import torch
from torch import Tensor
from torch_geometric.data import Data

Task = Literal["multiclass", "multilabel"]
Metric = Literal["acc", "rocauc"]
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class DatasetFormat:
    """A file format data sets come in (:mod:`harness.datasets.discovery`): ``find(root) -> {name: path}`` lists
    the data sets of this format under ``root`` (names and stats only, no file read), ``load(name, path, seed)``
    reads one."""

    name: str
    find: Callable[[Path], dict[str, Path]]
    load: Callable[[str, Path, int], "GraphDataset"]


class DatasetError(ValueError):
    """A data set cannot be loaded (bad name, bad argument, files missing); the message is one line."""


class DatasetUnavailable(DatasetError, FileNotFoundError):
    """The files are not on disk and cannot be downloaded; the message names the folder, the files and a fix."""


#: What reading a truncated or corrupt file raises: pickle and torch.load (EOFError, UnpicklingError, RuntimeError
#: "PytorchStreamReader failed"), gzip and zip (BadGzipFile is an OSError, zlib.error), NumPy and pandas (ValueError).
DECODE_ERRORS = (EOFError, pickle.UnpicklingError, zlib.error, zipfile.BadZipFile, OSError, ValueError, RuntimeError)


@contextlib.contextmanager
def decoding(name: str, where: Path | str) -> Iterator[None]:
    """Errors decoding the files at ``where`` become one :class:`DatasetError` naming them and the data set ``name``
    (a bare ``EOFError: Ran out of input`` names neither); our own errors and running out of memory pass through."""
    try:
        yield
    except DatasetError:
        raise
    except DECODE_ERRORS as exc:
        if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower() or "allocate" in str(exc).lower():
            raise
        detail = " ".join(str(exc).split()) or "no detail"
        file = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
        raise DatasetError(f"{name}: cannot read {where}{file}: {type(exc).__name__}: {detail[:300]}; the file is "
                           f"truncated or corrupt: delete it and copy or download it again") from None


@dataclass
class GraphDataset:
    """A preprocessed node-prediction graph, ready for a model.

    ``data.x`` [N, F] float, ``data.edge_index`` [2, E] (preprocessing included: what the model sees), ``data.y``
    [N] long class labels (``task="multiclass"``) or [N, T] float 0/1 targets (``task="multilabel"``, NaN = unlabelled),
    optional ``data.edge_attr`` [E, edge_dim]. ``split`` holds node indices. ``ogb_name`` names the
    ``ogb.nodeproppred.Evaluator`` that scores it (a synthetic twin is scored like the data set it copies);
    ``source`` says in words where the numbers came from (real files, a generator and its seed, stand-in features).

    ``part_sampler``, where set, draws one part of a random node partition directly, ``part_sampler(num_parts,
    generator) -> Data`` (``x``, ``edge_index``, ``y``, ``train_mask``, optional ``edge_attr``): a data set too large
    to hold whole (a twin at the paper's scale) then has only ``data.num_nodes`` and its split, and trains only in
    mini-batch mode.
    """

    name: str
    data: Data
    split: dict[str, Tensor]
    num_features: int
    num_outputs: int
    task: Task
    metric: Metric
    edge_dim: Optional[int]
    synthetic: bool
    source: str
    ogb_name: Optional[str] = None
    part_sampler: Optional[Callable[[int, torch.Generator], Data]] = None

    def __post_init__(self) -> None:
        if set(self.split) != set(SPLITS):
            raise DatasetError(f"{self.name}: split must have keys {', '.join(SPLITS)}, got {', '.join(self.split)}")
        self.split = {key: index.to(torch.long) for key, index in self.split.items()}

    @property
    def num_nodes(self) -> int:
        return int(self.data.num_nodes)

    @property
    def num_edges(self) -> Optional[int]:
        """``edge_index`` columns; ``None`` for a data set that only draws parts (:attr:`part_sampler`)."""
        edge_index = getattr(self.data, "edge_index", None)
        return None if edge_index is None else int(edge_index.size(1))

    def require_whole_graph(self, purpose: str) -> None:
        """One-line error when ``purpose`` needs the whole graph but this data set only draws parts."""
        if self.data.get("edge_index") is None:
            raise DatasetError(f"{self.name} draws random-node parts only (it is never held whole), so it cannot be "
                               f"used for {purpose}; use mode = 'mini', or the materialised data set")

    def __repr__(self) -> str:
        sizes = "/".join(str(self.split[key].numel()) for key in SPLITS)
        edges = "parts only" if self.num_edges is None else f"{self.num_edges:,} edges"
        return (f"GraphDataset({self.name}: {self.num_nodes:,} nodes, {edges}, "
                f"{self.num_features} features, {self.num_outputs} outputs ({self.task}, {self.metric}), "
                f"split {sizes}{', synthetic' if self.synthetic else ''})")
