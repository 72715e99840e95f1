"""GENConv (DeeperGCN, Li et al. 2020) with an optional per-layer edge encoder.

    m_ij = ReLU(x_j + W_e e_ij) + eps,   x_i' = MLP(x_i + AGG_j m_ij)

``AGG`` is ``softmax`` (learnable temperature with ``learn_t``), ``max`` or any PyG aggregation. The MLP has
``mlp_layers`` linear layers with LayerNorm + ReLU between them (``expansion``× wider hidden layer).

``impl`` (the same function each way; the ``[E, D]`` tensors each keeps for backward per layer differ):

- ``"pyg"`` (the default): PyG's ``GENConv`` as is, what every record measured before ``impl`` existed; softmax
  keeps 5, max 2 (``torch.scatter_reduce`` keeps its source).
- ``"paper"``: as the authors' ``gcn_lib`` GENConv ran, on ``torch_scatter``: softmax is ``scatter_softmax``, the
  same operations as PyG's (5 kept); max is ``scatter_max``, whose backward keeps only the argmax
  (:mod:`.scatter_max`), so 1 (the ReLU's output). With softmax in a residual stack deeper than 7 blocks, the
  convolutions run under ``torch.utils.checkpoint`` as in the authors' DeeperGCN ogbn-arxiv model
  (``examples/ogb/ogbn_arxiv/model.py``: with ``k = L // 2``, block ``l`` is checkpointed unless ``l % k == 0``),
  which their ResGEN-28 row ran (28 layers of 5 kept tensors would need ~180 GiB). In a reversible stack the
  encoded edge features are copied once per group, ``cat([U] * groups, -1)``, and each group reads its own copy,
  as the authors' RevGNN (``examples/ogb_eff/ogbn_proteins/model_rev.py``) does: the same values, and a
  ``[E, groups·D]`` tensor and its gradient more in memory.
- ``"ours"``: :func:`~.gen_aggregation.gen_aggregate`, which recomputes the messages in backward and keeps none
  beyond ``edge_attr``; softmax and max only.

Edge features: the network encodes the raw edge features once into ``edge_dim`` channels (shared by all layers);
every convolution owns its edge encoder ``W_e = Lin(edge_dim, out_channels)``. That is the ogbn-proteins design of the
paper (``architectures.md``); PyG's GENConv would skip its own encoder when ``edge_dim == out_channels``, so the
encoder is kept here, outside the PyG conv, to make the parameter count independent of the width.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn
from torch_geometric.nn import GENConv

from ..registry import register_operator
from ..base import Operator, encode_edge_features
from .gen_aggregation import gen_aggregate
from .scatter_max import scatter_max

LEAN_AGGRS = ("softmax", "max")
IMPLS = ("pyg", "paper", "ours")


class GEN(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, edge_dim: Optional[int], bias: bool, aggr: str,
                 learn_t: bool, mlp_layers: int, expansion: int, impl: str = "pyg") -> None:
        super().__init__()
        self.aggr, self.impl = aggr, impl
        self.edge_encoder = nn.Linear(edge_dim, in_channels, bias=bias) if edge_dim is not None else None
        self.conv = GENConv(in_channels, out_channels, aggr=aggr, learn_t=learn_t, norm="layer",
                            num_layers=mlp_layers, expansion=expansion, bias=bias)

    def forward(self, x: Tensor, graph: Tensor, edge_attr: Optional[Tensor] = None) -> Tensor:
        if edge_attr is not None and self.edge_encoder is not None:
            # the authors' per-group copies (GENOperator.edge_features_for_groups): every copy holds the same values
            edge_attr = edge_attr.narrow(-1, 0, self.edge_encoder.in_features)
        edge_attr = encode_edge_features("gen", self.edge_encoder, edge_attr)
        if self.impl == "pyg" or (self.impl == "paper" and self.aggr != "max"):
            return self.conv(x, graph, edge_attr)
        # GENConv.forward with propagate replaced (same parameters, same order of operations)
        conv = self.conv
        source = conv.lin_src(x) if hasattr(conv, "lin_src") else x
        if self.impl == "paper":  # GENConv.message, then torch_scatter's max
            message = source.index_select(0, graph[0])
            message = (message if edge_attr is None else message + edge_attr).relu() + conv.eps
            out = scatter_max(message, graph[1], x.size(0))
        else:
            t = conv.aggr_module.t if self.aggr == "softmax" else 1.0
            out = gen_aggregate(source, graph, edge_attr, self.aggr, t, conv.eps, x.size(0))
        if hasattr(conv, "lin_aggr_out"):
            out = conv.lin_aggr_out(out)
        return conv.mlp(out + (conv.lin_dst(x) if hasattr(conv, "lin_dst") else x))


@register_operator("gen", backend="pyg")
class GENOperator(Operator):
    supports_edge_features = True

    def __init__(self, aggr: str = "softmax", learn_t: bool = True, mlp_layers: int = 2,
                 expansion: int = 2, impl: str = "pyg") -> None:
        if impl not in IMPLS:
            raise ValueError(f"operator 'gen': impl must be one of {', '.join(IMPLS)}, got {impl!r}")
        self.impl = impl
        if impl == "ours" and aggr not in LEAN_AGGRS:
            raise ValueError(f"operator 'gen': impl='ours' aggregates with {' or '.join(LEAN_AGGRS)}, "
                             f"got aggr={aggr!r}; use impl='paper' for PyG's aggregation")
        self.aggr = aggr
        self.learn_t = learn_t and aggr == "softmax"
        self.mlp_layers = mlp_layers
        self.expansion = expansion

    def edge_features_for_groups(self, edges: Tensor, groups: int) -> Tensor:
        return torch.cat([edges] * groups, dim=-1) if self.impl == "paper" else edges

    def checkpointed_blocks(self, layers: int) -> frozenset[int]:
        if self.impl != "paper" or self.aggr != "softmax" or layers <= 7:
            return frozenset()
        every = layers // 2
        return frozenset(index for index in range(layers) if index % every)

    def make_conv(self, in_channels: int, out_channels: int, *, heads: int = 1,
                  edge_dim: Optional[int] = None, bias: Optional[bool] = None) -> nn.Module:
        return GEN(in_channels, out_channels, edge_dim, self.resolve_bias(bias), self.aggr, self.learn_t,
                   self.mlp_layers, self.expansion, self.impl)
