"""The GAT convolution of the authors' RevGAT (ogbn-arxiv, DGL), written with DGL's message passing.

With ``h_j = W x_j`` split into H heads, the symmetric normalisation ``s_j = (d^{out}_j)^{-1/2}`` (or 1 without
it) and ``E'`` the edges kept by edge dropout (all edges in evaluation):

.. math::
    e_{ij} = \\mathrm{LeakyReLU}_{0.2}\\big(a_{src}^\\top s_j h_j + a_{dst}^\\top h_i\\big), \\qquad
    \\alpha_{ij} = \\mathrm{softmax}_{j:(j,i) \\in E'}(e_{ij}) \\ \\text{(0 on dropped edges)}

.. math::
    x_i' = (d^{in}_i)^{1/2} \\sum_{j:(j,i) \\in E'} \\alpha_{ij}\\, s_j h_j \\;+\\; W_{res} x_i \\;+\\; b

exactly as the authors' ``GATConv(use_symmetric_norm=True, edge_drop=p)`` (the normalised source features enter
the attention logits too, and the aggregate is scaled by ``+1/2`` of the in-degree). Without symmetric
normalisation and edge dropout it is the stock GAT of :mod:`.gat`. Stock ``dgl.nn.GATConv`` cannot be used here:
it offers no hook between the projection and the attention logits, nor a softmax over a subset of the edges.
"""
from __future__ import annotations

from typing import Optional, Union

import dgl
import dgl.function as fn
import torch
from dgl.nn.functional import edge_softmax
from torch import Tensor, nn

from .graph import EdgeDropGraph


class RevGATConv(nn.Module):
    def __init__(self, in_channels: int, head_channels: int, heads: int, bias: bool, residual: bool,
                 attention_on_destination: bool, symmetric_norm: bool, negative_slope: float = 0.2) -> None:
        super().__init__()
        self.heads, self.head_channels = heads, head_channels
        self.symmetric_norm = symmetric_norm
        self.fc = nn.Linear(in_channels, heads * head_channels, bias=False)
        self.attn_l = nn.Parameter(torch.empty(1, heads, head_channels))
        self.attn_r = nn.Parameter(torch.empty(1, heads, head_channels)) if attention_on_destination else None
        self.res_fc = nn.Linear(in_channels, heads * head_channels, bias=False) if residual else None
        self.bias = nn.Parameter(torch.empty(heads * head_channels)) if bias else None
        self.leaky_relu = nn.LeakyReLU(negative_slope)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        gain = nn.init.calculate_gain("relu")
        nn.init.xavier_normal_(self.fc.weight, gain=gain)
        nn.init.xavier_normal_(self.attn_l, gain=gain)
        if self.attn_r is not None:
            nn.init.xavier_normal_(self.attn_r, gain=gain)
        if self.res_fc is not None:
            nn.init.xavier_normal_(self.res_fc.weight, gain=gain)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, graph: Union[dgl.DGLGraph, EdgeDropGraph]) -> Tensor:
        kept: Optional[Tensor] = None
        if isinstance(graph, EdgeDropGraph):
            if self.training and graph.edge_drop > 0:
                kept = graph.kept_edges()
            graph = graph.graph
        h = self.fc(x).view(-1, self.heads, self.head_channels)
        h_src = h
        if self.symmetric_norm:
            h_src = h * graph.out_degrees().clamp(min=1).to(h.dtype).pow(-0.5).view(-1, 1, 1)
        with graph.local_scope():
            graph.srcdata.update({"ft": h_src, "el": (h_src * self.attn_l).sum(-1, keepdim=True)})
            if self.attn_r is not None:
                graph.dstdata["er"] = (h * self.attn_r).sum(-1, keepdim=True)
                graph.apply_edges(fn.u_add_v("el", "er", "e"))
            else:
                graph.apply_edges(fn.copy_u("el", "e"))
            logits = self.leaky_relu(graph.edata.pop("e"))
            if kept is None:
                graph.edata["a"] = edge_softmax(graph, logits)
            else:
                attention = edge_softmax(graph, logits[kept], eids=kept)
                graph.edata["a"] = torch.zeros_like(logits).index_copy(0, kept, attention)
            graph.update_all(fn.u_mul_e("ft", "a", "m"), fn.sum("m", "ft"))
            out = graph.dstdata["ft"]
        if self.symmetric_norm:
            out = out * graph.in_degrees().clamp(min=1).to(out.dtype).pow(0.5).view(-1, 1, 1)
        out = out.flatten(1)
        if self.res_fc is not None:
            out = out + self.res_fc(x)
        if self.bias is not None:
            out = out + self.bias
        return out
