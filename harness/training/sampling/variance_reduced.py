"""``variance-reduced``: VR-GCN's control-variate neighbour sampling with historical activations (Chen, Zhu and
Song, 2018).

Each layer ``l`` keeps a history ``H̄^l`` [N, D] of the convolution's input ``z^l = ReLU(Norm(X^l))`` for every node,
between steps: memory ``L · N · D`` that no batch size removes (the paper's O(LND)). The mean aggregation of a
destination ``v`` is estimated from R sampled neighbours ``S_v`` (DGL's ``NeighborSampler``) and the histories of all
its neighbours:

.. math::
    \\widehat{\\mathrm{mean}}_{u \\in N(v)} z_u = \\frac{1}{|S_v|} \\sum_{u \\in S_v} (z_u - \\bar z_u)
        + \\frac{1}{\\deg(v)} \\sum_{u \\in N(v)} \\bar z_u

the second term computed without autograd (``dgl.ops.copy_u_mean`` on the destinations' full in-neighbour block), so
only the sampled part is held for backward. After the layer, ``H̄^l`` takes the new ``z^l`` of every node it computed.
With every neighbour sampled (``|S_v| = deg(v)``) the estimate is the exact mean whatever the histories hold; with
fresh histories (``H̄ = z``) it is exact for any R.

The operator's convolution computes both terms at once, on one block per layer whose sources are
``[z (the live nodes, destinations first) | z − z̄ | the historical mean of each destination]``: a sampled edge
``u → v`` reads ``z_u − z̄_u`` with weight ``c_v / |S_v|``, one more edge reads the historical mean with weight
``c_v``, where ``c_v = |S_v| + 1`` is the block's in-degree over which the operator averages
(:data:`models.operators.dgl.graph.EDGE_WEIGHT`). The destinations' own features (SAGE's self term) are the live ``z``.

Written by hand: that block (``dgl.create_block``) and the histories; DGL 2.1 has no VR-GCN sampler. The
sampled neighbours and the full in-neighbour blocks are DGL's (``NeighborSampler``, ``dgl.in_subgraph``,
``dgl.to_block``). The layer applies the res+ block's norm and convolution as :class:`models.block.PreActBlock` does.
"""
from __future__ import annotations

from dataclasses import dataclass

import dgl
import torch
import torch.nn.functional as F
from dgl.dataloading import NeighborSampler
from torch import Tensor, nn

from harness.config import TrainConfig
from harness.datasets.base import GraphDataset
from models.dropout import shared_dropout_mask
from models.operators.dgl.graph import EDGE_WEIGHT

from .base import SampledBatch, SampledStep


@dataclass
class VarianceReducedBatch(SampledBatch):
    """``blocks``: the estimator's block per layer; ``history_blocks``: the destinations' full in-neighbour blocks;
    ``live_nodes``: graph ids of each layer's live nodes (destinations first)."""

    history_blocks: list[dgl.DGLGraph]
    live_nodes: list[Tensor]


def estimator_block(sampled: dgl.DGLGraph) -> dgl.DGLGraph:
    """The block that turns the operator's mean into VR-GCN's estimator (see the module docstring)."""
    live, dst = sampled.num_src_nodes(), sampled.num_dst_nodes()
    src_local, dst_local = sampled.edges()
    sampled_degree = sampled.in_degrees().to(torch.float64)
    own = torch.arange(dst)
    src = torch.cat([live + src_local, 2 * live + own])
    target = torch.cat([dst_local, own])
    block = dgl.create_block((src, target), num_src_nodes=2 * live + dst, num_dst_nodes=dst)
    total = sampled_degree + 1  # c_v: the sampled edges and the one historical edge
    weight = torch.cat([total[dst_local] / sampled_degree[dst_local], total])
    block.edata[EDGE_WEIGHT] = weight.view(-1, 1)
    return block


class VarianceReducedStep(SampledStep):
    def __init__(self, model: nn.Module, dataset: GraphDataset, cfg: TrainConfig, device: torch.device,
                 optimizer: torch.optim.Optimizer) -> None:
        super().__init__(model, dataset, cfg, device, optimizer)
        self.sampler = NeighborSampler([cfg.fanout] * self.num_layers)
        width = model.encoder.lin.out_features  # D: the stack's width, what every layer's z has
        #: H̄^l for every layer and node, kept between steps (zero until a node is first computed)
        self.histories = torch.zeros(self.num_layers, dataset.num_nodes, width, dtype=self.features.dtype,
                                     device=self.device)

    def sample(self, seeds: Tensor) -> VarianceReducedBatch:
        input_nodes, output_nodes, sampled = self.sampler.sample_blocks(self.graph, seeds)
        blocks, history_blocks, live_nodes = [], [], []
        for block in sampled:
            dst_ids = block.dstdata[dgl.NID]
            blocks.append(estimator_block(block))
            history_blocks.append(dgl.to_block(dgl.in_subgraph(self.graph, dst_ids), dst_nodes=dst_ids))
            live_nodes.append(block.srcdata[dgl.NID])
        for block in blocks:  # float64 while built, the features' dtype for the operator
            block.edata[EDGE_WEIGHT] = block.edata[EDGE_WEIGHT].to(self.features.dtype)
        return VarianceReducedBatch(output_nodes, input_nodes, blocks, history_blocks, live_nodes)

    def _device_batch(self, batch: VarianceReducedBatch) -> VarianceReducedBatch:
        move = [block.to(self.device) for block in batch.blocks]
        history = [block.to(self.device) for block in batch.history_blocks]
        return VarianceReducedBatch(batch.seeds, batch.input_nodes, move, history,
                                    [nodes.to(self.device) for nodes in batch.live_nodes])

    def logits(self, batch: VarianceReducedBatch, x: Tensor) -> Tensor:
        model = self.model
        h = model.encoder(x, None)
        mask = shared_dropout_mask(h, model.dropout, model.training)
        for l, layer in enumerate(self.layers):
            block, history_block, live = batch.blocks[l], batch.history_blocks[l], batch.live_nodes[l]
            z = layer.norm(h).relu()
            if mask is not None:
                z = z * mask[: z.size(0)]
            with torch.no_grad():
                stale = self.histories[l][live]
                historical_mean = dgl.ops.copy_u_mean(history_block,
                                                      self.histories[l][history_block.srcdata[dgl.NID]])
            out = layer.conv(torch.cat([z, z - stale, historical_mean]), block, None)
            self.histories[l].index_copy_(0, live, z.detach())
            h = h[: block.num_dst_nodes()] + out
        h = F.dropout(model.out_norm(h).relu(), p=model.dropout, training=model.training)
        return model.head(h, None)

    @torch.no_grad()
    def refresh_histories(self) -> None:
        """Every history set to the full-batch ``z^l`` of every node (no dropout): the fresh histories under which
        the estimator is exact for any fanout."""
        data_graph = self.graph.to(self.device)
        h = self.model.encoder(self.features.to(self.device), None)
        for l, layer in enumerate(self.layers):
            z = layer.norm(h).relu()
            self.histories[l].copy_(z)
            h = h + layer.conv(z, data_graph, None)
