"""One training step: forward (marked for the memory meter), loss on the training nodes, backward, update.

Full-batch: the whole graph, moved to the device once. Mini-batch: the graph stays on the host and each step moves one
part's subgraph to the device, as the authors do for ogbn-proteins (a step then holds one part, not the graph); a new
random partition is drawn when the previous one is used up, i.e. once per epoch of ``num_parts`` steps.
"""
from __future__ import annotations

from typing import Iterator, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.profiler import record_function
from torch_geometric.data import Data

from harness.datasets.base import GraphDataset
from harness.meter import FORWARD_MARKER

from .losses import node_loss
from .partition import part_subgraph, random_node_partition


def training_graph(dataset: GraphDataset) -> Data:
    """The data set's graph with a ``train_mask`` node attribute, which subgraphs slice with the rest."""
    data = dataset.data
    graph = Data(x=data.x, edge_index=data.edge_index, y=data.y, num_nodes=data.num_nodes)
    if getattr(data, "edge_attr", None) is not None:
        graph.edge_attr = data.edge_attr
    graph.train_mask = torch.zeros(data.num_nodes, dtype=torch.bool)
    graph.train_mask[dataset.split["train"]] = True
    return graph


class TrainStep:
    """``step() -> loss``; ``steps_per_epoch`` calls make one epoch."""

    def __init__(self, model: nn.Module, dataset: GraphDataset, mode: str, num_parts: int,
                 optimizer: torch.optim.Optimizer, device: torch.device, seed: int,
                 grad_clip: Optional[float] = None, input_dropout: float = 0.0) -> None:
        if mode not in ("full", "mini"):
            raise ValueError(f"mode must be 'full' or 'mini', got {mode!r}")
        self.model, self.task, self.optimizer = model, dataset.task, optimizer
        self.device, self.grad_clip, self.input_dropout = torch.device(device), grad_clip, input_dropout
        self.mode = mode
        graph = training_graph(dataset)
        if mode == "full":
            self.steps_per_epoch = 1
            self.graph = graph.to(self.device)
        else:
            if not 1 <= num_parts <= graph.num_nodes:
                raise ValueError(f"num_parts must be in [1, {graph.num_nodes}] for {dataset.name}, got {num_parts}")
            self.steps_per_epoch = num_parts
            self.graph, self.num_parts = graph, num_parts
            self.generator = torch.Generator().manual_seed(seed)
            self._parts: Iterator[Tensor] = iter(())

    def next_batch(self) -> Data:
        if self.mode == "full":
            return self.graph
        nodes = next(self._parts, None)
        if nodes is None:
            self._parts = iter(random_node_partition(self.graph.num_nodes, self.num_parts, self.generator))
            nodes = next(self._parts)
        return part_subgraph(self.graph, nodes).to(self.device)

    def __call__(self) -> float:
        batch = self.next_batch()
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        with record_function(FORWARD_MARKER):
            x = F.dropout(batch.x, p=self.input_dropout, training=True) if self.input_dropout else batch.x
            logits = self.model(x, batch.edge_index, batch.get("edge_attr"))
        loss = node_loss(self.task, logits[batch.train_mask], batch.y[batch.train_mask])
        loss.backward()
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        return float(loss.detach())


def build_train_step(model: nn.Module, ds: GraphDataset, mode: str, num_parts: int, optimizer: torch.optim.Optimizer,
                     device: torch.device | str, seed: int, grad_clip: Optional[float] = None,
                     input_dropout: float = 0.0) -> TrainStep:
    """One training step of ``model`` on ``ds`` (see :class:`TrainStep`), the unit the meter and the timer measure."""
    return TrainStep(model, ds, mode, num_parts, optimizer, device, seed, grad_clip=grad_clip,
                     input_dropout=input_dropout)
