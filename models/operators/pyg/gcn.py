"""GCN (Kipf & Welling) with the symmetric normalisation D^-1/2 (A + I) D^-1/2.

The normalised adjacency is built once per forward pass as a ``torch.sparse_csr`` matrix and every layer multiplies
by it: on the CPU this is ~4.7x faster than edge_index message passing on an ogbn-arxiv-sized graph with the same
result (tests/test_operators.py checks the two paths agree). ``sparse=False`` keeps PyG's edge_index path.
"""
from __future__ import annotations

from typing import Optional

from torch import Tensor, nn
from torch_geometric.nn import GCNConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import to_torch_csr_tensor

from .. import register_operator
from ..base import Operator


class GCN(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, sparse: bool, bias: bool) -> None:
        super().__init__()
        # With a pre-normalised sparse adjacency the conv must not normalise again.
        self.conv = GCNConv(in_channels, out_channels, normalize=not sparse, bias=bias)

    def forward(self, x: Tensor, graph: Tensor, edge_attr: Optional[Tensor] = None) -> Tensor:
        if graph.is_floating_point() and graph.dtype != x.dtype:  # a float64 or bfloat16 model
            graph = graph.to(x.dtype)
        return self.conv(x, graph)


@register_operator("gcn", backend="pyg")
class GCNOperator(Operator):
    def __init__(self, sparse: bool = True) -> None:
        self.sparse = sparse

    def prepare_graph(self, edge_index: Tensor, num_nodes: int) -> Tensor:
        if not self.sparse:
            return edge_index
        edge_index, edge_weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=True)
        # Row = target, column = source: out[i] = sum_j Â[i, j] x[j], PyG's adj_t convention.
        return to_torch_csr_tensor(edge_index.flip(0), edge_weight, size=(num_nodes, num_nodes))

    def make_conv(self, in_channels: int, out_channels: int, *, heads: int = 1,
                  edge_dim: Optional[int] = None, bias: Optional[bool] = None) -> nn.Module:
        self.check_edge_dim(edge_dim)
        return GCN(in_channels, out_channels, sparse=self.sparse, bias=self.resolve_bias(bias))
