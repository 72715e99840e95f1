"""One training step: forward (marked for the memory meter), loss on the training nodes, backward, update.

The one step of the project: ``train`` takes it epoch after epoch, and the ``memory`` and ``time`` measurements
measure it, all built by :func:`build_train_step` from one :class:`~harness.config.TrainConfig` (optimizer, weight
decay, clipping, input dropout, the dropout override, deterministic kernels).

Full-batch: the whole graph, moved to the device once. Mini-batch: the graph stays on the host and each step moves one
part's subgraph to the device, as the authors do for ogbn-proteins (a step then holds one part, not the graph); a new
random partition is drawn when the previous one is used up, i.e. once per epoch of ``num_parts`` steps. A data set
with a ``part_sampler`` (a twin at the paper's scale, never held whole) draws each step's part itself.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Iterator, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.profiler import record_function
from torch_geometric.data import Data

from harness.config import SAMPLED_MODES, TrainConfig
from harness.datasets.base import GraphDataset
from harness.meter import FORWARD_MARKER

from .losses import node_loss
from .optimizers import build_optimizer
from .partition import part_subgraph, random_node_partition
from .seeding import deterministic_algorithms

if TYPE_CHECKING:
    from .sampling import SampledStep


def training_graph(dataset: GraphDataset) -> Data:
    """The data set's graph with a ``train_mask`` node attribute, which subgraphs slice with the rest."""
    dataset.require_whole_graph("full-batch training or evaluation")
    data = dataset.data
    graph = Data(x=data.x, edge_index=data.edge_index, y=data.y, num_nodes=data.num_nodes)
    if getattr(data, "edge_attr", None) is not None:
        graph.edge_attr = data.edge_attr
    graph.train_mask = torch.zeros(data.num_nodes, dtype=torch.bool)
    graph.train_mask[dataset.split["train"]] = True
    return graph


class TrainStep:
    """``step() -> loss``; ``steps_per_epoch`` calls make one epoch. ``optimizer`` is the one the step updates."""

    def __init__(self, model: nn.Module, dataset: GraphDataset, cfg: TrainConfig, device: torch.device,
                 optimizer: torch.optim.Optimizer) -> None:
        self.model, self.task, self.optimizer, self.cfg = model, dataset.task, optimizer, cfg
        self.device = torch.device(device)
        self.part_sampler = dataset.part_sampler if cfg.mode == "mini" else None
        if cfg.mode == "full":
            self.steps_per_epoch = 1
            self.graph = training_graph(dataset).to(self.device)
        else:
            if not 1 <= cfg.num_parts <= dataset.num_nodes:
                raise ValueError(f"num_parts must be in [1, {dataset.num_nodes}] for {dataset.name}, "
                                 f"got {cfg.num_parts}")
            self.steps_per_epoch = cfg.num_parts
            self.graph = None if self.part_sampler is not None else training_graph(dataset)
            self.generator = torch.Generator().manual_seed(cfg.seed)
            self._parts: Iterator[Tensor] = iter(())

    def next_batch(self) -> Data:
        if self.cfg.mode == "full":
            return self.graph
        if self.part_sampler is not None:  # a data set never held whole draws its parts itself
            return self.part_sampler(self.cfg.num_parts, self.generator).to(self.device)
        nodes = next(self._parts, None)
        if nodes is None:
            self._parts = iter(random_node_partition(self.graph.num_nodes, self.cfg.num_parts, self.generator))
            nodes = next(self._parts)
        return part_subgraph(self.graph, nodes).to(self.device)

    def __call__(self, phases: Optional[dict[str, float]] = None) -> float:
        """One step; with ``phases``, its wall seconds are written there: ``forward`` (with the loss),
        ``backward`` and ``step`` (clipping and the update), the device synchronised at each boundary."""
        cfg = self.cfg
        clock = _PhaseClock(self.device, phases)
        with deterministic_algorithms(cfg.deterministic):
            batch = self.next_batch()
            self.model.train()
            self.optimizer.zero_grad(set_to_none=True)
            clock.start()
            with record_function(FORWARD_MARKER):
                logits = self._logits(batch)
            loss = node_loss(self.task, logits[batch.train_mask], batch.y[batch.train_mask])
            clock.lap("forward")
            loss.backward()
            clock.lap("backward")
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.optimizer.step()
            clock.lap("step")
            return float(loss.detach())

    @torch.no_grad()
    def forward_without_grad(self) -> float:
        """The forward pass and loss of a step under ``torch.no_grad()`` (no update): F0 in the cost of a
        reversible step, which runs its forward this way. Returns its wall seconds, the device synchronised."""
        clock = _PhaseClock(self.device, {})
        with deterministic_algorithms(self.cfg.deterministic):
            batch = self.next_batch()
            self.model.train()  # dropout and norms as in a training step
            clock.start()
            logits = self._logits(batch)
            node_loss(self.task, logits[batch.train_mask], batch.y[batch.train_mask])
            return clock.lap("forward")

    def _logits(self, batch: Data) -> Tensor:
        """The model on a batch, its input features dropped as in training (``input_dropout``)."""
        p = self.cfg.input_dropout
        x = F.dropout(batch.x, p=p, training=True) if p else batch.x
        return self.model(x, batch.edge_index, batch.get("edge_attr"))


class _PhaseClock:
    """Wall seconds between synchronised points; does nothing (no synchronisation either) without a dict."""

    def __init__(self, device: torch.device, phases: Optional[dict[str, float]]) -> None:
        self.device, self.phases, self.last = device, phases, 0.0

    def start(self) -> None:
        if self.phases is not None:
            self.last = self._now()

    def lap(self, name: str) -> float:
        if self.phases is None:
            return 0.0
        now = self._now()
        self.phases[name] = now - self.last
        self.last = now
        return self.phases[name]

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()


def build_train_step(model: nn.Module, ds: GraphDataset, cfg: TrainConfig, device: torch.device | str,
                     optimizer: Optional[torch.optim.Optimizer] = None) -> TrainStep | SampledStep:
    """The training step ``cfg`` describes for ``model`` on ``ds`` (see :class:`TrainStep`): the unit that ``train``
    repeats and that the meter and the timer measure. Sets ``cfg.dropout`` on the model when given; the optimizer
    is ``cfg.optimizer`` over the model's parameters unless one is passed. The sampled modes (``neighbor``,
    ``layerwise``, ``variance-reduced``) get their step from :mod:`harness.training.sampling`."""
    if cfg.dropout is not None:
        if not hasattr(model, "dropout"):
            raise ValueError(f"TrainConfig.dropout is set but {type(model).__name__} has no 'dropout' attribute")
        model.dropout = cfg.dropout
    if optimizer is None:
        optimizer = build_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.weight_decay, cfg.foreach)
    if cfg.mode in SAMPLED_MODES:  # imports dgl: only for these modes
        from .sampling import build_sampled_step

        return build_sampled_step(model, ds, cfg, torch.device(device), optimizer)
    return TrainStep(model, ds, cfg, torch.device(device), optimizer)
