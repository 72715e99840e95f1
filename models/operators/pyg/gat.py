"""Multi-head GAT (Velickovic et al.): concatenated heads, ``out_channels = heads * head_channels``.

Options beyond PyG's GATConv, needed by the paper's RevGAT (authors' DGL code, ogbn-arxiv):
``attention_on_destination=False`` drops the target-node term of the attention logits (the authors'
``use_attn_dst=False``), and ``residual=True`` adds the bias-free linear projection of the input. Attention dropout is
not offered: a reversible layer recomputes the block in the backward pass and a freshly drawn attention mask would
make the gradients inexact.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn
from torch_geometric.nn import GATConv

from ..registry import register_operator
from ..base import Operator


class GATConvNoDstAttention(GATConv):
    """GATConv whose destination attention vector is a fixed zero buffer (no parameters, no effect)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.att_dst
        self.register_buffer("att_dst", torch.zeros(1, self.heads, self.out_channels))

    def reset_parameters(self) -> None:
        att_dst = self._buffers.get("att_dst")
        super().reset_parameters()  # re-initialises att_dst with glorot; zero it again
        if att_dst is not None:
            att_dst.zero_()


class GAT(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, heads: int, bias: bool, residual: bool,
                 attention_on_destination: bool) -> None:
        super().__init__()
        if out_channels % heads:
            raise ValueError(f"gat: channels ({out_channels}) must be divisible by heads ({heads})")
        conv_cls = GATConv if attention_on_destination else GATConvNoDstAttention
        self.conv = conv_cls(in_channels, out_channels // heads, heads=heads, concat=True, bias=bias,
                             residual=residual, add_self_loops=True)

    def forward(self, x: Tensor, graph: Tensor, edge_attr: Optional[Tensor] = None) -> Tensor:
        return self.conv(x, graph)


@register_operator("gat", backend="pyg")
class GATOperator(Operator):
    def __init__(self, residual: bool = False, attention_on_destination: bool = True, bias: bool = True) -> None:
        self.residual, self.bias = residual, bias
        self.attention_on_destination = attention_on_destination

    def make_conv(self, in_channels: int, out_channels: int, *, heads: int = 1,
                  edge_dim: Optional[int] = None, bias: Optional[bool] = None) -> nn.Module:
        self.check_edge_dim(edge_dim)
        return GAT(in_channels, out_channels, heads, self.resolve_bias(bias), self.residual,
                   self.attention_on_destination)
