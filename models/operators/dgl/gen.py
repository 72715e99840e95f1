"""GENConv (DeeperGCN, Li et al. 2020) written with DGL's message passing, the same function as PyG's ``GENConv``.

.. math::
    m_{ij} = \\mathrm{ReLU}(x_j + W_e e_{ij}) + \\epsilon, \\qquad
    x_i' = \\mathrm{MLP}\\big(x_i + \\mathrm{AGG}_{j \\in N(i)}\\, m_{ij}\\big)

with ``AGG`` one of

- ``softmax``: :math:`\\sum_j \\mathrm{softmax}_j(t\\, m_{ij}) \\odot m_{ij}`, per channel, ``t`` learnable with
  ``learn_t`` (``dgl.nn.functional.edge_softmax``, then a sum);
- ``max``: the channel-wise maximum (``dgl.function.max``); ``mean``, ``sum``.

A node without in-edges aggregates zero under every ``AGG``, as in PyG. When ``in_channels != out_channels`` the
source and destination features are first projected (PyG's ``lin_src`` / ``lin_dst``). The MLP is PyG's: ``mlp_layers``
linear layers, the hidden ones ``expansion``× wider and followed by LayerNorm and ReLU. The per-layer edge encoder
``W_e`` is kept outside the convolution, as on the PyG side (:mod:`models.operators.pyg.gen`).
"""
from __future__ import annotations

from typing import Optional

import dgl
import dgl.function as fn
import torch
from dgl.nn.functional import edge_softmax
from torch import Tensor, nn

from ..registry import register_operator
from ..base import Operator, encode_edge_features
from .graph import to_dgl_graph

AGGREGATIONS = ("softmax", "max", "mean", "sum")


def gen_mlp(channels: int, layers: int, expansion: int, bias: bool) -> nn.Sequential:
    """``Lin → (LayerNorm → ReLU → Lin)*``: PyG's GENConv MLP with ``norm="layer"`` (dropout 0 kept as a slot)."""
    widths = [channels] + [channels * expansion] * (layers - 1) + [channels]
    modules: list[nn.Module] = []
    for i in range(1, len(widths)):
        modules.append(nn.Linear(widths[i - 1], widths[i], bias=bias))
        if i < len(widths) - 1:
            modules += [nn.LayerNorm(widths[i]), nn.ReLU(), nn.Dropout(0.0)]
    return nn.Sequential(*modules)


class GENConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, aggr: str = "softmax", t: float = 1.0,
                 learn_t: bool = False, mlp_layers: int = 2, expansion: int = 2, bias: bool = True,
                 eps: float = 1e-7) -> None:
        super().__init__()
        if aggr not in AGGREGATIONS:
            raise ValueError(f"gen (dgl): unknown aggr {aggr!r}; choose one of: {', '.join(AGGREGATIONS)}")
        self.aggr, self.eps = aggr, eps
        self.lin_src = nn.Linear(in_channels, out_channels, bias=bias) if in_channels != out_channels else None
        self.lin_dst = nn.Linear(in_channels, out_channels, bias=bias) if in_channels != out_channels else None
        self.t: Optional[Tensor]
        if aggr == "softmax" and learn_t:
            self.t = nn.Parameter(torch.full((1,), float(t)))
        else:
            self.register_buffer("t", torch.full((1,), float(t)) if aggr == "softmax" else None)
        self.mlp = gen_mlp(out_channels, mlp_layers, expansion, bias)

    def forward(self, x: Tensor, graph: dgl.DGLGraph, edge_attr: Optional[Tensor] = None) -> Tensor:
        x_src = self.lin_src(x) if self.lin_src is not None else x
        x_dst = self.lin_dst(x) if self.lin_dst is not None else x
        with graph.local_scope():
            graph.srcdata["x"] = x_src
            if edge_attr is not None:
                graph.edata["e"] = edge_attr
                graph.apply_edges(fn.u_add_e("x", "e", "m"))
            else:
                graph.apply_edges(fn.copy_u("x", "m"))
            message = graph.edata["m"].relu() + self.eps
            if self.aggr == "softmax":
                message = message * edge_softmax(graph, message * self.t)
            graph.edata["m"] = message
            reduce = {"softmax": fn.sum, "sum": fn.sum, "mean": fn.mean, "max": fn.max}[self.aggr]
            graph.update_all(fn.copy_e("m", "m"), reduce("m", "h"))
            aggregated = graph.dstdata["h"]
        return self.mlp(aggregated + x_dst)


class GEN(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, edge_dim: Optional[int], bias: bool, aggr: str,
                 learn_t: bool, mlp_layers: int, expansion: int) -> None:
        super().__init__()
        self.edge_encoder = nn.Linear(edge_dim, in_channels, bias=bias) if edge_dim is not None else None
        self.conv = GENConv(in_channels, out_channels, aggr=aggr, learn_t=learn_t, mlp_layers=mlp_layers,
                            expansion=expansion, bias=bias)

    def forward(self, x: Tensor, graph: dgl.DGLGraph, edge_attr: Optional[Tensor] = None) -> Tensor:
        return self.conv(x, graph, encode_edge_features("gen", self.edge_encoder, edge_attr))


@register_operator("gen", backend="dgl")
class GENOperator(Operator):
    supports_edge_features = True

    def __init__(self, aggr: str = "softmax", learn_t: bool = True, mlp_layers: int = 2,
                 expansion: int = 2) -> None:
        if aggr not in AGGREGATIONS:
            raise ValueError(f"gen (dgl): unknown aggr {aggr!r}; choose one of: {', '.join(AGGREGATIONS)}")
        self.aggr = aggr
        self.learn_t = learn_t and aggr == "softmax"
        self.mlp_layers = mlp_layers
        self.expansion = expansion

    def prepare_graph(self, edge_index: Tensor, num_nodes: int) -> dgl.DGLGraph:
        return to_dgl_graph(edge_index, num_nodes)

    def make_conv(self, in_channels: int, out_channels: int, *, heads: int = 1,
                  edge_dim: Optional[int] = None, bias: Optional[bool] = None) -> nn.Module:
        return GEN(in_channels, out_channels, edge_dim, self.resolve_bias(bias), self.aggr, self.learn_t,
                   self.mlp_layers, self.expansion)
