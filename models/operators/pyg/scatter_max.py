r"""The max aggregation of the authors' GENConv: ``torch_scatter.scatter_max``'s forward and backward.

.. math::
    o_i = \max_{j:(j,i) \in E} m_j, \qquad a_i = \operatorname{arg\,max}_j m_j, \qquad
    \frac{\partial L}{\partial m_j} = \sum_i [a_i = j] \, \frac{\partial L}{\partial o_i}

(per channel; a node without in-edges gets 0 and no gradient). ``torch_scatter``'s backward needs only the argmax
``a`` ([N, D] indices), where PyG's CPU path (``torch.scatter_reduce``) keeps the ``[E, D]`` source for its backward,
so the two differ in memory, which is what the paper's numbers measured. ``torch_scatter`` cannot be installed
here, hence this re-implementation; the argmax of tied maxima is the first edge, and only the gradient at exact ties
can differ from PyG's (which shares it among the ties).
"""
from __future__ import annotations

from typing import Any, Tuple

import torch
from torch import Tensor


class ScatterMax(torch.autograd.Function):
    """``scatter_max(src [E, D], index [E], num_nodes) -> [num_nodes, D]``, saving the argmax only."""

    @staticmethod
    def forward(ctx: Any, src: Tensor, index: Tensor, num_nodes: int) -> Tensor:
        idx = index.view(-1, 1).expand_as(src)
        out = src.new_zeros(num_nodes, src.size(1)).scatter_reduce_(0, idx, src, reduce="amax", include_self=False)
        edges = src.size(0)
        # first edge attaining the maximum; ``edges`` (one past the last) where a node has no in-edge
        position = torch.arange(edges, dtype=torch.int32, device=src.device).view(-1, 1)
        past_end = torch.full((), edges, dtype=torch.int32, device=src.device)  # a tensor, not a scalar the
        candidates = torch.where(src == out.index_select(0, index), position, past_end)  # kernel would wrap
        arg = torch.full(out.shape, edges, dtype=torch.int32, device=src.device)
        arg = arg.scatter_reduce_(0, idx, candidates, reduce="amin").long()
        ctx.save_for_backward(arg)
        ctx.edges = edges
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> Tuple[Tensor, None, None]:
        (arg,) = ctx.saved_tensors
        grad = grad_out.new_zeros(ctx.edges + 1, grad_out.size(1)).scatter_(0, arg, grad_out)
        return grad[:ctx.edges], None, None


def scatter_max(src: Tensor, index: Tensor, num_nodes: int) -> Tensor:
    """Max of ``src`` rows per target ``index``, with ``torch_scatter``'s argmax backward."""
    return ScatterMax.apply(src, index, num_nodes)
