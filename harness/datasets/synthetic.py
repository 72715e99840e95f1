"""Synthetic twins of the OGB graphs: the real shapes, random numbers.

Peak memory and step time depend only on shapes (nodes, edges, feature and edge-feature widths, outputs), so a twin
with the real graph's sizes measures what the real data set costs without its download. A twin has, after the same
preprocessing as the real data set (:mod:`harness.datasets.preprocess`):

- exactly ``round(scale · N)`` nodes and ``round(scale · M)`` distinct undirected non-loop edges, stored both ways
  (``2M`` columns of ``edge_index``) plus one self-loop per node where the paper adds them (arxiv, products);
- the real feature width, class or task count, edge-feature width (proteins: 8) and split sizes (scaled; test is
  the rest, as the real splits cover every node);
- a heavy-tailed degree distribution: a Chung-Lu graph, endpoints drawn with probability ``∝ w_v = rank_v^-α``,
  ``α`` chosen so that the expected largest degree is the real one times ``scale`` (the hub keeps its share of the
  nodes), or ``α = 0`` (uniform endpoints) where that would be below the mean degree, which ``scale`` keeps;
- labels that the features predict (class-dependent feature means; per-species task rates for proteins), so that a
  training run on a twin shows learning, but the structure carries no label signal: its accuracy says nothing about
  the real data set.

Everything is drawn from one ``torch.Generator`` seeded with ``seed``: the same seed gives the same tensors.

``<twin>-parts`` (e.g. ``synthetic-proteins-parts``) is the same twin never held whole: it draws each mini-batch
part directly at the shape a random node partition gives it (:func:`part_shape`), so a paper-scale step
(ogbn-proteins: 13,254 nodes and ~791k edge columns per part of 10) costs only its part. Only the part's shapes are
faithful; ``tests/test_fake_meter.py`` holds its step's activations to the materialised twin's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import math

import torch
from torch import Tensor
from torch_geometric.data import Data

from . import preprocess
from .base import DatasetError, GraphDataset, Metric, Task
from .registry import DATASETS

DENSE_ENUMERATION_FACTOR = 8  # enumerate all pairs when the graph has at least 1/8 of them


@dataclass(frozen=True)
class TwinSpec:
    name: str
    copies: str  # the OGB data set whose shapes (and evaluator) it takes
    num_nodes: int
    num_pairs: int  # distinct undirected edges without self-loops
    max_degree: int  # in the preprocessed real graph, self-loops excluded
    self_loops: bool
    num_features: int
    num_outputs: int
    task: Task
    metric: Metric
    edge_dim: Optional[int]
    train_size: int
    valid_size: int

    def num_edge_columns(self, scale: float = 1.0) -> int:
        """``edge_index.size(1)`` of a twin at ``scale``."""
        return 2 * scaled(self.num_pairs, scale) + (scaled(self.num_nodes, scale) if self.self_loops else 0)


TWINS = {spec.name: spec for spec in (
    # arxiv: 1,166,243 directed citations -> 1,157,799 distinct undirected pairs; max degree 13,161 (measured on the
    # real edge list); ogb's time split.
    TwinSpec("synthetic-arxiv", "ogbn-arxiv", 169_343, 1_157_799, 13_161, True, 128, 40, "multiclass", "acc", None,
             90_941, 29_799),
    # proteins: 39,561,252 undirected edges (79,122,504 columns in PyG), max degree 7,750 (published); species split.
    TwinSpec("synthetic-proteins", "ogbn-proteins", 132_534, 39_561_252, 7_750, False,
             2 * preprocess.PROTEINS_SPECIES, 112, "multilabel", "rocauc", 8, 86_619, 21_236),
    # products: 61,859,140 undirected edges (123,718,280 columns), max degree 17,481 (published); sales-rank split.
    TwinSpec("synthetic-products", "ogbn-products", 2_449_029, 61_859_140, 17_481, True, 100, 47, "multiclass", "acc",
             None, 196_615, 39_323),
)}


def scaled(count: int, scale: float) -> int:
    return int(round(count * scale))


def degree_exponent(num_nodes: int, num_pairs: int, max_degree: float) -> float:
    """``α`` such that a Chung-Lu graph with weights ``r^-α`` (r = 1..n) expects its top node to have ``max_degree``:
    ``2M / Σ_r r^-α = max_degree``, solved by bisection (the left side grows with ``α``)."""
    ranks = torch.arange(1, num_nodes + 1, dtype=torch.float64)
    target = min(max_degree, num_nodes - 1)
    low, high = 0.0, 3.0
    for _ in range(50):
        alpha = (low + high) / 2
        if 2 * num_pairs / ranks.pow(-alpha).sum().item() < target:
            low = alpha
        else:
            high = alpha
    return (low + high) / 2


def chung_lu_pairs(num_nodes: int, num_pairs: int, alpha: float, generator: torch.Generator) -> Tensor:
    """``num_pairs`` distinct pairs ``u < v`` ([2, M]); endpoint probability ``∝ w_v``, weights on random nodes."""
    max_pairs = num_nodes * (num_nodes - 1) // 2
    if num_pairs > max_pairs:
        raise DatasetError(f"{num_pairs:,} edges do not fit in {num_nodes:,} nodes (at most {max_pairs:,}); "
                           f"use a larger scale")
    weights = torch.arange(1, num_nodes + 1, dtype=torch.float64).pow(-alpha)
    weights = weights[torch.randperm(num_nodes, generator=generator)]
    if max_pairs <= DENSE_ENUMERATION_FACTOR * num_pairs:
        return _dense_pairs(weights, num_pairs, generator)
    return _sparse_pairs(weights, num_pairs, generator)


def _dense_pairs(weights: Tensor, num_pairs: int, generator: torch.Generator) -> Tensor:
    """All pairs enumerated; ``num_pairs`` of them drawn without replacement with probability ``∝ w_u w_v``
    (Gumbel top-k: the k largest of ``log w_u + log w_v + Gumbel noise``)."""
    pairs = torch.triu_indices(weights.numel(), weights.numel(), offset=1)
    uniform = torch.rand(pairs.size(1), generator=generator, dtype=torch.float64).clamp_(min=1e-300)
    keys = weights.log()[pairs].sum(0) - uniform.log().neg().log()
    return pairs[:, keys.topk(num_pairs).indices.sort().values]


def _sparse_pairs(weights: Tensor, num_pairs: int, generator: torch.Generator) -> Tensor:
    """Endpoint pairs drawn independently ``∝ w``, loops dropped, duplicates merged, until ``num_pairs`` distinct
    ones exist; then exactly that many are kept at random."""
    n = weights.numel()
    cdf = weights.cumsum(0)
    cdf /= cdf[-1].clone()
    keys = torch.empty(0, dtype=torch.long)
    while keys.numel() < num_pairs:
        draw = int(1.1 * (num_pairs - keys.numel())) + 1024
        ends = torch.searchsorted(cdf, torch.rand(2, draw, generator=generator, dtype=torch.float64))
        ends = ends.clamp_(max=n - 1)
        u, v = ends.min(0).values, ends.max(0).values
        keep = u != v
        keys = torch.unique(torch.cat([keys, u[keep] * n + v[keep]]))
    keys = keys[torch.randperm(keys.numel(), generator=generator)[:num_pairs]].sort().values
    return torch.stack([keys // n, keys % n])


def random_split(num_nodes: int, train: int, valid: int, generator: torch.Generator) -> dict[str, Tensor]:
    order = torch.randperm(num_nodes, generator=generator)
    return {"train": order[:train].sort().values, "valid": order[train:train + valid].sort().values,
            "test": order[train + valid:].sort().values}


def class_features(num_nodes: int, num_features: int, num_classes: int, generator: torch.Generator,
                   signal: float = 0.5) -> tuple[Tensor, Tensor]:
    """Labels from a skewed prior (``∝ 1/(c+1)``) and features ``x = μ_y + ε``, with ``μ_c ~ N(0, signal²)`` and
    ``ε ~ N(0, 1)``."""
    prior = 1.0 / torch.arange(1, num_classes + 1, dtype=torch.float64)
    y = torch.multinomial(prior, num_nodes, replacement=True, generator=generator)
    means = signal * torch.randn(num_classes, num_features, generator=generator)
    return means[y] + torch.randn(num_nodes, num_features, generator=generator), y


def proteins_arrays(pairs: Tensor, num_nodes: int, num_tasks: int, generator: torch.Generator
                    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Edge features like OGB's association scores (8 channels in [0.001, 1], most at the floor 0.001), species,
    node features as the paper builds them, and 0/1 targets whose rates depend on species and features."""
    edge_dim = 8
    score = torch.rand(pairs.size(1), edge_dim, generator=generator)
    present = torch.rand(pairs.size(1), edge_dim, generator=generator) < 0.3
    attr = torch.where(present, score.clamp_(min=0.001), torch.full_like(score, 0.001))
    edge_index = torch.cat([pairs, pairs.flip(0)], dim=1)
    edge_attr = torch.cat([attr, attr], dim=0)
    species = torch.randint(preprocess.PROTEINS_SPECIES, (num_nodes,), generator=generator)
    x = preprocess.proteins_node_features(edge_index, edge_attr, species, num_nodes)
    summed = x[:, :edge_dim]
    standardised = (summed - summed.mean(0)) / summed.std(0).clamp(min=1e-6)
    logits = (torch.randn(preprocess.PROTEINS_SPECIES, num_tasks, generator=generator)[species] - 1.5
              + standardised @ (0.5 * torch.randn(edge_dim, num_tasks, generator=generator)))
    y = (torch.rand(num_nodes, num_tasks, generator=generator) < logits.sigmoid()).float()
    return x, edge_index, edge_attr, y


def twin_graph(spec: TwinSpec, n: int, m: int, alpha: float, generator: torch.Generator) -> Data:
    """A Chung-Lu graph of ``n`` nodes and ``m`` pairs (both ways, self-loops where the data set has them) with the
    twin's features, edge features and labels."""
    pairs = chung_lu_pairs(n, m, alpha, generator)
    if spec.task == "multilabel":
        x, edge_index, edge_attr, y = proteins_arrays(pairs, n, spec.num_outputs, generator)
        return Data(x=x, edge_index=edge_index, edge_attr=edge_attr, y=y, num_nodes=n)
    x, y = class_features(n, spec.num_features, spec.num_outputs, generator)
    edge_index = torch.cat([pairs, pairs.flip(0)], dim=1)
    if spec.self_loops:
        edge_index = torch.cat([edge_index, torch.arange(n).repeat(2, 1)], dim=1)
    return Data(x=x, edge_index=edge_index, y=y, num_nodes=n)


def make_twin(spec: TwinSpec, scale: float = 1.0, seed: int = 0) -> GraphDataset:
    n, m = scaled(spec.num_nodes, scale), scaled(spec.num_pairs, scale)
    train, valid = scaled(spec.train_size, scale), scaled(spec.valid_size, scale)
    if min(train, valid, n - train - valid) < 1 or m < 1:
        raise DatasetError(f"{spec.name} at scale {scale} has {n} nodes: too few for a train/valid/test split; "
                           f"use scale >= {10 / spec.num_nodes:.2g}")
    generator = torch.Generator().manual_seed(seed)
    alpha = degree_exponent(n, m, spec.max_degree * scale)
    data = twin_graph(spec, n, m, alpha, generator)
    split = random_split(n, train, valid, generator)
    return GraphDataset(name=spec.name, data=data, split=split, num_features=spec.num_features,
                        num_outputs=spec.num_outputs, task=spec.task, metric=spec.metric, edge_dim=spec.edge_dim,
                        synthetic=True, ogb_name=spec.copies,
                        source=f"synthetic twin of {spec.copies} (real shapes, Chung-Lu graph with alpha={alpha:.3f}, "
                               f"random features and labels), scale={scale}, seed={seed}")


def part_shape(num_nodes: int, num_pairs: int, num_parts: int) -> tuple[int, int]:
    """``(nodes, pairs)`` of the largest part of a random node partition: ``ceil(N / P)`` nodes, and the expected
    number of the ``M`` undirected pairs with both ends in it, ``M · n(n-1) / (N(N-1))`` (a pair's two ends land in
    one given part of ``n`` nodes with that probability; about ``M / P²``)."""
    nodes = math.ceil(num_nodes / num_parts)
    return nodes, int(round(num_pairs * nodes * (nodes - 1) / (num_nodes * (num_nodes - 1))))


def make_part(spec: TwinSpec, scale: float, num_parts: int, generator: torch.Generator) -> Data:
    """One random-node part of the twin at ``scale``, drawn as a twin of its own shape (:func:`part_shape`), with
    the twin's widths and its share of training nodes."""
    n_all, m_all = scaled(spec.num_nodes, scale), scaled(spec.num_pairs, scale)
    n, m = part_shape(n_all, m_all, num_parts)
    alpha = degree_exponent(n, max(m, 1), spec.max_degree * scale * n / n_all)
    part = twin_graph(spec, n, m, alpha, generator)
    part.train_mask = torch.zeros(n, dtype=torch.bool)
    part.train_mask[torch.randperm(n, generator=generator)[:round(n * spec.train_size / spec.num_nodes)]] = True
    return part


def make_part_twin(spec: TwinSpec, scale: float = 1.0, seed: int = 0) -> GraphDataset:
    """The twin at ``scale`` without its graph: its split, and a sampler of its mini-batch parts."""
    n = scaled(spec.num_nodes, scale)
    train, valid = scaled(spec.train_size, scale), scaled(spec.valid_size, scale)
    if min(train, valid, n - train - valid) < 1:
        raise DatasetError(f"{spec.name}-parts at scale {scale} has {n} nodes: too few for a train/valid/test split")
    split = random_split(n, train, valid, torch.Generator().manual_seed(seed))

    def sample_part(num_parts: int, generator: torch.Generator) -> Data:
        return make_part(spec, scale, num_parts, generator)

    return GraphDataset(name=f"{spec.name}-parts", data=Data(num_nodes=n), split=split,
                        num_features=spec.num_features, num_outputs=spec.num_outputs, task=spec.task,
                        metric=spec.metric, edge_dim=spec.edge_dim, synthetic=True, ogb_name=spec.copies,
                        part_sampler=sample_part,
                        source=f"random-node parts of a synthetic twin of {spec.copies} drawn at their expected "
                               f"shape (the whole graph is never built), scale={scale}, seed={seed}")


def _register(spec: TwinSpec) -> None:
    @DATASETS.register(spec.name, scalable=True)
    def load(root: Optional[str], scale: float, seed: int) -> GraphDataset:
        return make_twin(spec, scale, seed)

    @DATASETS.register(f"{spec.name}-parts", scalable=True)
    def load_parts(root: Optional[str], scale: float, seed: int) -> GraphDataset:
        return make_part_twin(spec, scale, seed)


for _spec in TWINS.values():
    _register(_spec)
