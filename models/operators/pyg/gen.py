"""GENConv (DeeperGCN, Li et al. 2020) with an optional per-layer edge encoder.

    m_ij = ReLU(x_j + W_e e_ij) + eps,   x_i' = MLP(x_i + AGG_j m_ij)

``AGG`` is ``softmax`` (learnable temperature with ``learn_t``), ``max`` or any PyG aggregation. The MLP has
``mlp_layers`` linear layers with LayerNorm + ReLU between them (``expansion``× wider hidden layer).

Edge features: the network encodes the raw edge features once into ``edge_dim`` channels (shared by all layers);
every convolution owns its edge encoder ``W_e = Lin(edge_dim, out_channels)``. That is the ogbn-proteins design of the
paper (``architectures.md``); PyG's GENConv would skip its own encoder when ``edge_dim == out_channels``, so the
encoder is kept here, outside the PyG conv, to make the parameter count independent of the width.
"""
from __future__ import annotations

from typing import Optional

from torch import Tensor, nn
from torch_geometric.nn import GENConv

from ..registry import register_operator
from ..base import Operator, encode_edge_features


class GEN(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, edge_dim: Optional[int], bias: bool, aggr: str,
                 learn_t: bool, mlp_layers: int, expansion: int) -> None:
        super().__init__()
        self.edge_encoder = nn.Linear(edge_dim, in_channels, bias=bias) if edge_dim is not None else None
        self.conv = GENConv(in_channels, out_channels, aggr=aggr, learn_t=learn_t, norm="layer",
                            num_layers=mlp_layers, expansion=expansion, bias=bias)

    def forward(self, x: Tensor, graph: Tensor, edge_attr: Optional[Tensor] = None) -> Tensor:
        return self.conv(x, graph, encode_edge_features("gen", self.edge_encoder, edge_attr))


@register_operator("gen", backend="pyg")
class GENOperator(Operator):
    supports_edge_features = True

    def __init__(self, aggr: str = "softmax", learn_t: bool = True, mlp_layers: int = 2,
                 expansion: int = 2) -> None:
        self.aggr = aggr
        self.learn_t = learn_t and aggr == "softmax"
        self.mlp_layers = mlp_layers
        self.expansion = expansion

    def make_conv(self, in_channels: int, out_channels: int, *, heads: int = 1,
                  edge_dim: Optional[int] = None, bias: Optional[bool] = None) -> nn.Module:
        return GEN(in_channels, out_channels, edge_dim, self.resolve_bias(bias), self.aggr, self.learn_t,
                   self.mlp_layers, self.expansion)
