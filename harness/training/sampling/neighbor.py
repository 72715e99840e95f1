"""``neighbor``: GraphSAGE's node-wise neighbour sampling (Hamilton et al., 2017), with DGL's ``NeighborSampler``.

From B seeds, each layer (top down) draws at most R in-neighbours of every destination node, without replacement;
the sampled edges become a block whose sources are the destinations followed by the new neighbours
(``dgl.to_block``, through the sampler). With the res connection every destination is also a source, so layer ``l``
(counted from the seeds) holds up to ``B (R + 1)^l`` nodes, and the step's activations grow as

.. math::
    \\sum_{l=0}^{L} \\min\\big(N, B (R+1)^l\\big) \\cdot D \\;=\\; O(R^L B D)

until the receptive field covers the graph. Nothing is written by hand: the sampler and the blocks are DGL's.
"""
from __future__ import annotations

import torch
from dgl.dataloading import NeighborSampler
from torch import Tensor, nn

from harness.config import TrainConfig
from harness.datasets.base import GraphDataset

from .base import SampledBatch, SampledStep


class NeighborSamplingStep(SampledStep):
    def __init__(self, model: nn.Module, dataset: GraphDataset, cfg: TrainConfig, device: torch.device,
                 optimizer: torch.optim.Optimizer) -> None:
        super().__init__(model, dataset, cfg, device, optimizer)
        self.sampler = NeighborSampler([cfg.fanout] * self.num_layers)

    def sample(self, seeds: Tensor) -> SampledBatch:
        input_nodes, output_nodes, blocks = self.sampler.sample_blocks(self.graph, seeds)
        return SampledBatch(output_nodes, input_nodes, blocks)
