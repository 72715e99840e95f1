"""GCN (Kipf & Welling) on DGL: ``dgl.nn.GraphConv(norm="both")`` on the graph with one self-loop per node.

.. math::
    x_i' = \\sum_{j \\in N(i) \\cup \\{i\\}} \\frac{1}{\\sqrt{d^{out}_j d^{in}_i}} W x_j + b

DGL normalises the source by its out-degree, PyG's ``gcn_norm`` by its in-degree: the two coincide on symmetric
graphs (every graph GCN is run on here: OGB's and the synthetic twins are undirected) and differ on directed ones.
"""
from __future__ import annotations

from typing import Optional

import dgl
from dgl.nn import GraphConv
from torch import Tensor, nn

from ..registry import register_operator
from ..base import Operator
from .graph import to_dgl_graph


class GCN(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, bias: bool) -> None:
        super().__init__()
        self.conv = GraphConv(in_channels, out_channels, norm="both", bias=bias, allow_zero_in_degree=True)

    def forward(self, x: Tensor, graph: dgl.DGLGraph, edge_attr: Optional[Tensor] = None) -> Tensor:
        return self.conv(graph, x)


@register_operator("gcn", backend="dgl")
class GCNOperator(Operator):
    def prepare_graph(self, edge_index: Tensor, num_nodes: int) -> dgl.DGLGraph:
        return to_dgl_graph(edge_index, num_nodes, self_loops=True)

    def make_conv(self, in_channels: int, out_channels: int, *, heads: int = 1,
                  edge_dim: Optional[int] = None, bias: Optional[bool] = None) -> nn.Module:
        self.check_edge_dim(edge_dim)
        return GCN(in_channels, out_channels, bias=self.resolve_bias(bias))
