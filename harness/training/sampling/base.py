"""A sampled training step: B seed nodes, a sampled computation graph (one DGL block per layer), the res stack on it.

The three sampled modes (:mod:`.neighbor`, :mod:`.layerwise`, :mod:`.variance_reduced`) differ only in how they build
the blocks; the step around them is this one. An epoch is a random permutation of the training nodes cut into
``floor(|train| / B)`` batches of exactly B seeds (the last partial batch is dropped, so every step has B seeds).

The network is the model's own: its encoder, its res blocks and its head, applied to blocks instead of one graph.
For block ``l`` with source nodes ``S_l`` and destination nodes ``S_{l+1}`` (DGL puts the destinations first among
the sources), the res stack's ``X^{l+1} = X^l + f_l(X^l)`` becomes

.. math::
    X^{l+1}[S_{l+1}] = X^l[S_{l+1}] + f_l(X^l[S_l], \\mathrm{block}_l)

and the shared dropout mask, drawn once on the input nodes, is sliced to each layer's sources. With every neighbour
in every block this is the full-batch forward restricted to the seeds (tests/test_dgl_sampling.py holds it so).
The operator must declare ``aggregates_on_blocks`` (its convolution is exact on a block): DGL's ``GraphConv`` is not,
since it normalises a source by its out-degree within the block rather than in the graph.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Iterator, Optional

import dgl
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.profiler import record_function

from harness.config import TrainConfig
from harness.datasets.base import GraphDataset
from harness.meter import FORWARD_MARKER
from models.connections.residual import ResidualStack
from models.dropout import shared_dropout_mask
from models.network import ConvLayer

from ..losses import node_loss
from ..seeding import deterministic_algorithms


@dataclass
class SampledBatch:
    """One step's computation graph: ``blocks[0]`` reads ``input_nodes`` (graph ids), the last block writes ``seeds``."""

    seeds: Tensor
    input_nodes: Tensor
    blocks: list[dgl.DGLGraph]


def residual_blocks(model: nn.Module) -> nn.ModuleList:
    """The res stack's blocks of ``model``, after checking that the model can run on sampled blocks (else ValueError)."""
    if not isinstance(getattr(model, "blocks", None), ResidualStack):
        raise ValueError(f"sampled modes train the res connection; got {type(getattr(model, 'blocks', model)).__name__}")
    if model.blocks.checkpointed:
        raise ValueError("sampled modes do not run checkpointed blocks")
    if isinstance(model.encoder, ConvLayer) or isinstance(model.head, ConvLayer):
        raise ValueError("sampled modes need a node-wise encoder and head (a conv encoder or head needs a block)")
    if not getattr(model.operator, "aggregates_on_blocks", False):
        raise ValueError(f"sampled modes need an operator exact on DGL blocks (aggregates_on_blocks); "
                         f"{type(model.operator).__name__} is not")
    return model.blocks.blocks


def forward_on_blocks(model: nn.Module, x: Tensor, blocks: list[dgl.DGLGraph]) -> Tensor:
    """The model's forward over one block per res layer: logits of the last block's destination nodes."""
    layers = residual_blocks(model)
    if len(blocks) != len(layers):
        raise ValueError(f"{len(blocks)} blocks for {len(layers)} res layers")
    h = model.encoder(x, None)
    mask = shared_dropout_mask(h, model.dropout, model.training)
    for layer, block in zip(layers, blocks):
        layer_mask = None if mask is None else mask[: block.num_src_nodes()]
        h = h[: block.num_dst_nodes()] + layer(h, block, None, layer_mask)
    h = F.dropout(model.out_norm(h).relu(), p=model.dropout, training=model.training)
    return model.head(h, None)


class SampledStep(ABC):
    """``step() -> loss`` on B sampled seeds; the same interface as :class:`harness.training.step.TrainStep`."""

    def __init__(self, model: nn.Module, dataset: GraphDataset, cfg: TrainConfig, device: torch.device,
                 optimizer: torch.optim.Optimizer) -> None:
        self.layers = residual_blocks(model)
        dataset.require_whole_graph(f"mode {cfg.mode!r}")
        data = dataset.data
        if data.get("edge_attr") is not None:
            raise ValueError(f"mode {cfg.mode!r} takes no edge features ({dataset.name} has them)")
        self.model, self.task, self.optimizer, self.cfg = model, dataset.task, optimizer, cfg
        self.device = torch.device(device)
        self.graph: dgl.DGLGraph = model.operator.prepare_graph(data.edge_index, dataset.num_nodes)
        self.features, self.labels = data.x, data.y
        self.train_nodes = dataset.split["train"]
        if cfg.batch_size > self.train_nodes.numel():
            raise ValueError(f"batch_size {cfg.batch_size} exceeds the {self.train_nodes.numel()} training nodes "
                             f"of {dataset.name}")
        self.steps_per_epoch = self.train_nodes.numel() // cfg.batch_size
        self.generator = torch.Generator().manual_seed(cfg.seed)
        dgl.seed(cfg.seed)  # DGL's samplers draw from DGL's own global generator
        self._batches: Iterator[Tensor] = iter(())

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def next_seeds(self) -> Tensor:
        seeds = next(self._batches, None)
        if seeds is None:
            order = self.train_nodes[torch.randperm(self.train_nodes.numel(), generator=self.generator)]
            self._batches = iter(order[: self.steps_per_epoch * self.cfg.batch_size].split(self.cfg.batch_size))
            seeds = next(self._batches)
        return seeds

    @abstractmethod
    def sample(self, seeds: Tensor) -> SampledBatch:
        """The blocks of one step for ``seeds`` (graph ids), on the host."""

    def logits(self, batch: SampledBatch, x: Tensor) -> Tensor:
        """Logits of ``batch.seeds`` from the input nodes' features ``x`` (a mode may add state, e.g. histories)."""
        return forward_on_blocks(self.model, x, batch.blocks)

    def _device_batch(self, batch: SampledBatch) -> SampledBatch:
        return SampledBatch(batch.seeds, batch.input_nodes, [block.to(self.device) for block in batch.blocks])

    def __call__(self, phases: Optional[dict[str, float]] = None) -> float:
        """One step; with ``phases``, its wall seconds for ``forward`` (with the loss), ``backward`` and ``step``."""
        cfg = self.cfg
        with deterministic_algorithms(cfg.deterministic):
            batch = self._device_batch(self.sample(self.next_seeds()))
            self.model.train()
            self.optimizer.zero_grad(set_to_none=True)
            clock = [self._now()]
            with record_function(FORWARD_MARKER):
                x = self.features[batch.input_nodes].to(self.device)
                x = F.dropout(x, p=cfg.input_dropout, training=True) if cfg.input_dropout else x
                logits = self.logits(batch, x)
            loss = node_loss(self.task, logits, self.labels[batch.seeds].to(self.device))
            clock.append(self._now())
            loss.backward()
            clock.append(self._now())
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.optimizer.step()
            clock.append(self._now())
        if phases is not None:
            phases.update(zip(("forward", "backward", "step"), (b - a for a, b in zip(clock, clock[1:]))))
        return float(loss.detach())

    @torch.no_grad()
    def forward_without_grad(self) -> float:
        """The forward and loss of a step without autograd (no update); its wall seconds."""
        with deterministic_algorithms(self.cfg.deterministic):
            batch = self._device_batch(self.sample(self.next_seeds()))
            self.model.train()
            start = self._now()
            logits = self.logits(batch, self.features[batch.input_nodes].to(self.device))
            node_loss(self.task, logits, self.labels[batch.seeds].to(self.device))
            return self._now() - start

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()
