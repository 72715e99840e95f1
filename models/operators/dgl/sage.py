"""GraphSAGE with mean aggregation on DGL: ``x_i' = W_1 x_i + W_2 mean_{j in N(i)} x_j + b`` (``dgl.nn.SAGEConv``).

The same function as PyG's ``SAGEConv(aggr="mean")``: DGL's ``fc_neigh.weight`` / ``fc_self.weight`` /
``fc_self.bias`` are PyG's ``lin_l.weight`` / ``lin_r.weight`` / ``lin_l.bias``; a node without in-edges aggregates zero on both.
"""
from __future__ import annotations

from typing import Optional

import dgl
from dgl.nn import SAGEConv
from torch import Tensor, nn

from ..registry import register_operator
from ..base import Operator
from .graph import to_dgl_graph


class SAGE(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, bias: bool) -> None:
        super().__init__()
        self.conv = SAGEConv(in_channels, out_channels, aggregator_type="mean", bias=bias)

    def forward(self, x: Tensor, graph: dgl.DGLGraph, edge_attr: Optional[Tensor] = None) -> Tensor:
        return self.conv(graph, x)


@register_operator("sage", backend="dgl")
class SAGEOperator(Operator):
    def prepare_graph(self, edge_index: Tensor, num_nodes: int) -> dgl.DGLGraph:
        return to_dgl_graph(edge_index, num_nodes)

    def make_conv(self, in_channels: int, out_channels: int, *, heads: int = 1,
                  edge_dim: Optional[int] = None, bias: Optional[bool] = None) -> nn.Module:
        self.check_edge_dim(edge_dim)
        return SAGE(in_channels, out_channels, bias=self.resolve_bias(bias))
