"""Multi-head GAT on DGL: concatenated heads, ``out_channels = heads * head_channels``, one self-loop per node.

The same function as the PyG operator (:mod:`models.operators.pyg.gat`): ``dgl.nn.GATConv`` for the attention, with
the options the paper's RevGAT needs. ``attention_on_destination=False`` replaces the destination attention vector
by a zero buffer; ``residual=True`` adds a bias-free linear projection ``W_res x_i`` (PyG's ``residual``; DGL's
own ``residual`` would be an identity when the widths agree); the bias is added after both.

Two options exist only on this backend, from the authors' DGL code: ``symmetric_norm`` (their "normalised
adjacency") and ``edge_drop`` (edge dropout with one permutation shared by the groups of a reversible layer). Either
switches to :class:`.revgat_conv.RevGATConv`, which writes the same attention with DGL's message passing; neither has
parameters, so the parameter counts equal the PyG presets'.
"""
from __future__ import annotations

from typing import Optional, Union

import dgl
import torch
from dgl.nn import GATConv
from torch import Tensor, nn

from ..registry import register_operator
from ..base import Operator
from .graph import EdgeDropGraph, to_dgl_graph
from .revgat_conv import RevGATConv


class GATConvNoDstAttention(GATConv):
    """``dgl.nn.GATConv`` whose destination attention vector is a fixed zero buffer (no parameters, no effect)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.attn_r
        self.register_buffer("attn_r", torch.zeros(1, self._num_heads, self._out_feats))

    def reset_parameters(self) -> None:
        super().reset_parameters()  # re-initialises attn_r (a Parameter while GATConv.__init__ runs); zero it again
        with torch.no_grad():
            self.attn_r.zero_()


class GAT(nn.Module):
    """Stock ``dgl.nn.GATConv`` attention + linear residual + bias (no edge dropout, no normalisation)."""

    def __init__(self, in_channels: int, out_channels: int, heads: int, bias: bool, residual: bool,
                 attention_on_destination: bool) -> None:
        super().__init__()
        conv_cls = GATConv if attention_on_destination else GATConvNoDstAttention
        self.conv = conv_cls(in_channels, out_channels // heads, num_heads=heads, residual=False, bias=False,
                             allow_zero_in_degree=True)
        self.res = nn.Linear(in_channels, out_channels, bias=False) if residual else None
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        if self.res is not None:
            nn.init.xavier_normal_(self.res.weight, gain=nn.init.calculate_gain("relu"))

    def forward(self, x: Tensor, graph: dgl.DGLGraph, edge_attr: Optional[Tensor] = None) -> Tensor:
        out = self.conv(graph, x).flatten(1)
        if self.res is not None:
            out = out + self.res(x)
        if self.bias is not None:
            out = out + self.bias
        return out


class NormalisedGAT(nn.Module):
    """:class:`.revgat_conv.RevGATConv` called as ``conv(x, graph, edge_attr)``."""

    def __init__(self, conv: RevGATConv) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: Tensor, graph: Union[dgl.DGLGraph, EdgeDropGraph],
                edge_attr: Optional[Tensor] = None) -> Tensor:
        return self.conv(x, graph)


@register_operator("gat", backend="dgl")
class GATOperator(Operator):
    def __init__(self, residual: bool = False, attention_on_destination: bool = True, bias: bool = True,
                 symmetric_norm: bool = False, edge_drop: float = 0.0) -> None:
        if not 0.0 <= edge_drop < 1.0:
            raise ValueError(f"gat: edge_drop must be in [0, 1), got {edge_drop}")
        self.residual, self.bias = residual, bias
        self.attention_on_destination = attention_on_destination
        self.symmetric_norm, self.edge_drop = symmetric_norm, edge_drop
        self.reusable_graph = edge_drop == 0.0  # an EdgeDropGraph is drawn per forward pass

    def prepare_graph(self, edge_index: Tensor, num_nodes: int) -> Union[dgl.DGLGraph, EdgeDropGraph]:
        graph = to_dgl_graph(edge_index, num_nodes, self_loops=True)
        return EdgeDropGraph(graph, self.edge_drop) if self.edge_drop > 0 else graph

    def make_conv(self, in_channels: int, out_channels: int, *, heads: int = 1,
                  edge_dim: Optional[int] = None, bias: Optional[bool] = None) -> nn.Module:
        self.check_edge_dim(edge_dim)
        if out_channels % heads:
            raise ValueError(f"gat: channels ({out_channels}) must be divisible by heads ({heads})")
        bias = self.resolve_bias(bias)
        if self.symmetric_norm or self.edge_drop > 0:
            return NormalisedGAT(RevGATConv(in_channels, out_channels // heads, heads, bias, self.residual,
                                            self.attention_on_destination, self.symmetric_norm))
        return GAT(in_channels, out_channels, heads, bias, self.residual, self.attention_on_destination)
