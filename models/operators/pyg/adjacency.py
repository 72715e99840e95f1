"""A sparse adjacency built once per forward pass and multiplied by every layer: ``Adjacency @ X``.

    out = A X,   dL/dX = A^T dL/dout

``torch.sparse_csr @ dense`` differentiates with respect to the dense side by transposing ``A`` in every backward
call (a sort and a COO/CSR round trip over its E entries). A deep network multiplies by the same ``A`` in every
layer, a reversible one in every group and again when it rebuilds its activations, so on a 20k-node graph that
transpose was 13 % of a residual GCN's step and 27 % of a reversible one's. Here it is built once, beside ``A``.
It costs no memory when ``A`` is symmetric (GCN's normalisation of an undirected graph: the transpose IS ``A``), one
value per edge when only the pattern is (SAGE's mean on an undirected graph: the index arrays are shared), and a
second CSR matrix on a directed graph.

Written by hand because PyG's convolutions take either an ``edge_index`` (gather/scatter, no transpose to cache) or
a sparse matrix (transposed again in each backward); neither keeps ``A^T``. The edge weights are constants: no
gradient flows to them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch_geometric.utils import to_torch_csr_tensor


@dataclass(frozen=True)
class Adjacency:
    """``matrix[i, j]`` weighs source ``j``'s features into target ``i``; ``transpose`` is ``matrix.T`` in CSR."""

    matrix: Tensor
    transpose: Tensor

    @classmethod
    def from_edges(cls, edge_index: Tensor, weight: Tensor, num_nodes: int) -> "Adjacency":
        """From ``edge_index`` = (source, target) and one weight per edge (duplicate edges add up)."""
        size = (num_nodes, num_nodes)
        matrix = to_torch_csr_tensor(edge_index.flip(0), weight, size=size)
        transpose = to_torch_csr_tensor(edge_index, weight, size=size)
        if not _same_pattern(matrix, transpose):  # a directed graph: a transpose of its own
            return cls(matrix, transpose)
        if torch.equal(matrix.values(), transpose.values()):
            return cls(matrix, matrix)
        # an undirected graph with asymmetric weights (SAGE's 1 / in-degree): only the values differ
        return cls(matrix, torch.sparse_csr_tensor(matrix.crow_indices(), matrix.col_indices(), transpose.values(),
                                                   size=size))

    @property
    def symmetric(self) -> bool:
        return self.transpose is self.matrix

    @property
    def dtype(self) -> torch.dtype:
        return self.matrix.dtype

    def to(self, dtype: torch.dtype) -> "Adjacency":
        matrix = self.matrix.to(dtype)
        if self.symmetric:
            return Adjacency(matrix, matrix)
        transpose = self.transpose
        if transpose.crow_indices().data_ptr() == self.matrix.crow_indices().data_ptr():  # shared pattern
            return Adjacency(matrix, torch.sparse_csr_tensor(matrix.crow_indices(), matrix.col_indices(),
                                                             transpose.values().to(dtype), size=transpose.shape))
        return Adjacency(matrix, transpose.to(dtype))

    def __matmul__(self, x: Tensor) -> Tensor:
        if x.dtype != self.dtype:  # a float64 or bfloat16 model
            return self.to(x.dtype) @ x
        return _SparseMatmul.apply(self.matrix, self.transpose, x)


class _SparseMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, matrix: Tensor, transpose: Tensor, x: Tensor) -> Tensor:
        ctx.transpose = transpose  # a constant: no save_for_backward version checks needed
        return matrix @ x

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, None, Tensor]:
        return None, None, ctx.transpose @ grad


def _same_pattern(a: Tensor, b: Tensor) -> bool:
    return torch.equal(a.crow_indices(), b.crow_indices()) and torch.equal(a.col_indices(), b.col_indices())
