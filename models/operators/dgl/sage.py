"""GraphSAGE with mean aggregation on DGL: ``x_i' = W_1 x_i + W_2 mean_{j in N(i)} x_j + b`` (``dgl.nn.SAGEConv``).

The same function as PyG's ``SAGEConv(aggr="mean")``: DGL's ``fc_neigh.weight`` / ``fc_self.weight`` /
``fc_self.bias`` are PyG's ``lin_l.weight`` / ``lin_r.weight`` / ``lin_l.bias``; a node without in-edges aggregates zero on both.

On a DGL block (a sampled bipartite layer) it is exact: the mean runs over the block's in-edges and the destination
nodes are the first source nodes, so with every neighbour sampled a block gives the full graph's output on its
destination nodes (``aggregates_on_blocks``). A block carrying :data:`.graph.EDGE_WEIGHT` weights each message,
``mean_j w_ij x_j`` (DGL's ``edge_weight``), which is how the samplers write importance-weighted estimators.
"""
from __future__ import annotations

from typing import Optional

import dgl
from dgl.nn import SAGEConv
from torch import Tensor, nn

from ..registry import register_operator
from ..base import Operator
from .graph import EDGE_WEIGHT, to_dgl_graph


class SAGE(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, bias: bool) -> None:
        super().__init__()
        self.conv = SAGEConv(in_channels, out_channels, aggregator_type="mean", bias=bias)

    def forward(self, x: Tensor, graph: dgl.DGLGraph, edge_attr: Optional[Tensor] = None) -> Tensor:
        weight = graph.edata[EDGE_WEIGHT] if EDGE_WEIGHT in graph.edata else None
        return self.conv(graph, x, edge_weight=weight)


@register_operator("sage", backend="dgl")
class SAGEOperator(Operator):
    #: exact on sampled blocks, with optional message weights (the sampled training modes need this)
    aggregates_on_blocks = True

    def prepare_graph(self, edge_index: Tensor, num_nodes: int) -> dgl.DGLGraph:
        return to_dgl_graph(edge_index, num_nodes)

    def make_conv(self, in_channels: int, out_channels: int, *, heads: int = 1,
                  edge_dim: Optional[int] = None, bias: Optional[bool] = None) -> nn.Module:
        self.check_edge_dim(edge_dim)
        return SAGE(in_channels, out_channels, bias=self.resolve_bias(bias))
