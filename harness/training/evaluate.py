"""Predictions for every node, on the whole graph or by random partitions averaged over views.

Multi-view evaluation (the paper's ogbn-proteins test): the nodes are split into ``num_parts`` random parts, each
part's subgraph gives its nodes' logits, and this is repeated for ``views`` independent partitions; a node's
prediction is the mean of its ``views`` logits, ``ŷ_v = (1/K) Σ_k f(G[P_k(v)])_v``. Each view sees different
neighbourhoods (edges between parts are dropped), so the average recovers some of what one partition loses.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from harness.datasets.base import SPLITS, GraphDataset
from harness.evaluation import score

from .partition import part_subgraph, random_node_partition

Predict = Callable[[Data], Tensor]


def model_predictor(model: nn.Module, device: torch.device) -> Predict:
    """``graph -> logits`` on the host, the model in eval mode and without gradients."""

    @torch.no_grad()
    def predict(graph: Data) -> Tensor:
        model.eval()
        graph = graph.to(device)
        return model(graph.x, graph.edge_index, graph.get("edge_attr")).float().cpu()

    return predict


def multi_view_predictions(predict: Predict, data: Data, num_parts: int, views: int,
                           generator: Optional[torch.Generator] = None) -> Tensor:
    """Logits for all nodes: the whole graph when ``num_parts == 1``, else the mean over ``views`` random partitions."""
    if num_parts == 1:
        return predict(data)
    total: Optional[Tensor] = None
    for _ in range(views):
        for nodes in random_node_partition(data.num_nodes, num_parts, generator or torch.Generator()):
            logits = predict(part_subgraph(data, nodes))
            if total is None:
                total = logits.new_zeros(data.num_nodes, logits.size(-1))
            total[nodes] += logits
    assert total is not None
    return total / views


def evaluate_splits(dataset: GraphDataset, logits: Tensor) -> dict[str, float]:
    return {split: score(dataset, logits, dataset.split[split]) for split in SPLITS}
