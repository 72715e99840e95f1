"""GraphSAGE with mean aggregation: x_i' = W_1 x_i + W_2 mean_{j in N(i)} x_j (PyG's SAGEConv).

The mean is a product by the row-normalised adjacency D_in^-1 A, built once per forward pass as an
:class:`~.adjacency.Adjacency` (a node without in-edges aggregates zeros, as PyG's scatter mean does), with
``SAGEConv``'s own weights: the gather/scatter of edge_index message passing, done again in every layer, dominated
a CPU step. ``impl="paper"`` keeps ``SAGEConv``'s edge_index message passing (the authors' released code);
``tests/test_models_api.py`` checks that the two agree.
"""
from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor, nn
from torch_geometric.nn import SAGEConv
from torch_geometric.utils import degree

from ..registry import register_operator
from ..base import Operator, check_impl
from .adjacency import Adjacency


class SAGE(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, bias: bool) -> None:
        super().__init__()
        self.conv = SAGEConv(in_channels, out_channels, aggr="mean", bias=bias)

    def forward(self, x: Tensor, graph: Union[Adjacency, Tensor], edge_attr: Optional[Tensor] = None) -> Tensor:
        if not isinstance(graph, Adjacency):
            return self.conv(x, graph)
        # SAGEConv.forward's order: lin_l(mean of neighbours) + lin_r(root)
        return self.conv.lin_l(graph @ x) + self.conv.lin_r(x)


@register_operator("sage", backend="pyg")
class SAGEOperator(Operator):
    def __init__(self, impl: str = "ours") -> None:
        self.impl = check_impl("sage", impl)

    def prepare_graph(self, edge_index: Tensor, num_nodes: int) -> Union[Adjacency, Tensor]:
        if self.impl == "paper":
            return edge_index
        in_degree = degree(edge_index[1], num_nodes, dtype=torch.get_default_dtype())  # as gcn_norm's weights
        return Adjacency.from_edges(edge_index, in_degree.reciprocal()[edge_index[1]], num_nodes)

    def make_conv(self, in_channels: int, out_channels: int, *, heads: int = 1,
                  edge_dim: Optional[int] = None, bias: Optional[bool] = None) -> nn.Module:
        self.check_edge_dim(edge_dim)
        return SAGE(in_channels, out_channels, bias=self.resolve_bias(bias))
