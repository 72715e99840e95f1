"""``layerwise``: FastGCN's layer-wise importance sampling (Chen, Ma and Xiao, 2018).

Each layer (top down) draws R nodes i.i.d. from the whole graph with a degree-based importance distribution
``q(u) ∝ deg_out(u)`` (a node feeding many others is drawn more often), and aggregates over the drawn nodes only,
importance-weighted so that the estimate of the mean aggregation is unbiased:

.. math::
    \\widehat{\\mathrm{mean}}_{u \\in N(v)} h_u = \\frac{1}{\\deg(v)} \\sum_{u \\in N(v)}
        \\frac{k_u}{R\\, q(u)}\\, h_u, \\qquad \\mathbb{E}[k_u] = R\\, q(u),

``k_u`` being how often ``u`` was drawn. The block of a layer holds the destinations' in-edges from drawn nodes
(``dgl.in_subgraph``, ``dgl.edge_subgraph``, ``dgl.to_block``); the operator's mean over the block's ``c_v``
in-edges is turned into the estimator by the message weight ``w_uv = c_v k_u / (R q(u) deg(v))``
(:data:`models.operators.dgl.graph.EDGE_WEIGHT`). With the res connection the destinations stay among the sources, so
layer ``l`` (from the seeds) holds at most ``B + l R`` nodes: activations ``O(L (B + L R) D)``, i.e. ``O(L R B D)``
in the paper's reading and linear in each while ``L R`` is small beside B. With ``R >= N`` every node is taken once
with weight 1 (the exact mean: the correctness test).

Written by hand: the draw of the R nodes (``torch.multinomial``) and the weights; DGL 2.1 ships node-wise and
LABOR samplers but no layer-wise importance sampler. The edges and blocks are DGL's.
"""
from __future__ import annotations

import dgl
import torch
from torch import Tensor, nn

from harness.config import TrainConfig
from harness.datasets.base import GraphDataset
from models.operators.dgl.graph import EDGE_WEIGHT

from .base import SampledBatch, SampledStep


def importance(graph: dgl.DGLGraph) -> Tensor:
    """FastGCN's degree-based node distribution ``q(u) ∝ deg_out(u)`` (every node at least 1, so all can be drawn)."""
    degrees = graph.out_degrees().clamp(min=1).to(torch.float64)
    return degrees / degrees.sum()


class LayerwiseSamplingStep(SampledStep):
    def __init__(self, model: nn.Module, dataset: GraphDataset, cfg: TrainConfig, device: torch.device,
                 optimizer: torch.optim.Optimizer) -> None:
        super().__init__(model, dataset, cfg, device, optimizer)
        self.q = importance(self.graph)
        self.in_degrees = self.graph.in_degrees()

    def draw(self) -> tuple[Tensor, Tensor]:
        """(drawn nodes, their importance factor ``k_u / (R q(u))``); every node with factor 1 when ``R >= N``."""
        num_nodes, r = self.graph.num_nodes(), self.cfg.fanout
        if r >= num_nodes:
            return torch.arange(num_nodes), torch.ones(num_nodes, dtype=torch.float64)
        draws = torch.multinomial(self.q, r, replacement=True, generator=self.generator)
        nodes, counts = torch.unique(draws, return_counts=True)
        return nodes, counts.to(torch.float64) / (r * self.q[nodes])

    def sample(self, seeds: Tensor) -> SampledBatch:
        blocks = []
        dst = seeds
        for _ in range(self.num_layers):
            nodes, factor = self.draw()
            weight_of = torch.zeros(self.graph.num_nodes(), dtype=torch.float64)
            weight_of[nodes] = factor
            frontier = dgl.in_subgraph(self.graph, dst)
            src, _ = frontier.edges()
            kept = torch.nonzero(weight_of[src] > 0).view(-1)
            frontier = dgl.edge_subgraph(frontier, kept, relabel_nodes=False)
            block = dgl.to_block(frontier, dst_nodes=dst)
            src_local, dst_local = block.edges()
            src_ids, dst_ids = block.srcdata[dgl.NID][src_local], block.dstdata[dgl.NID][dst_local]
            in_block = block.in_degrees()[dst_local].to(torch.float64)
            weight = in_block * weight_of[src_ids] / self.in_degrees[dst_ids].to(torch.float64)
            block.edata[EDGE_WEIGHT] = weight.to(self.features.dtype).view(-1, 1)
            blocks.insert(0, block)
            dst = block.srcdata[dgl.NID]
        return SampledBatch(seeds, dst, blocks)
