"""GraphSAGE with mean aggregation: x_i' = W_1 x_i + W_2 mean_{j in N(i)} x_j (PyG's SAGEConv)."""
from __future__ import annotations

from typing import Optional

from torch import Tensor, nn
from torch_geometric.nn import SAGEConv

from .. import register_operator
from ..base import Operator


class SAGE(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, bias: bool) -> None:
        super().__init__()
        self.conv = SAGEConv(in_channels, out_channels, aggr="mean", bias=bias)

    def forward(self, x: Tensor, graph: Tensor, edge_attr: Optional[Tensor] = None) -> Tensor:
        return self.conv(x, graph)


@register_operator("sage", backend="pyg")
class SAGEOperator(Operator):
    def make_conv(self, in_channels: int, out_channels: int, *, heads: int = 1,
                  edge_dim: Optional[int] = None, bias: Optional[bool] = None) -> nn.Module:
        self.check_edge_dim(edge_dim)
        return SAGE(in_channels, out_channels, bias=self.resolve_bias(bias))
