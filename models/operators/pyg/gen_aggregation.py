r"""Memory-lean message + aggregation of PyG's :class:`~torch_geometric.nn.GENConv` (DeeperGCN).

Computes exactly what ``GENConv.propagate`` returns (before the root add ``out + x_dst`` and the MLP), with
edges ``(j, i) = edge_index[:, k]`` (flow ``source_to_target``):

.. math::
    z_{ij} = x_j + e_{ij}, \qquad m_{ij} = \mathrm{ReLU}(z_{ij}) + \epsilon

    \text{softmax:}\quad a_{ij} = \frac{\exp(t\,m_{ij} - \max_k t\,m_{ik})}{\sum_k \exp(t\,m_{ik} - \max_k t\,m_{ik})
    + 10^{-16}}, \qquad o_i = \sum_j a_{ij}\, m_{ij}

    \text{max:}\quad o_i = \max_j m_{ij} \quad (0 \text{ for nodes without in-edges})

(per channel; ``e`` is optional). Backward, with :math:`g_i = \partial L / \partial o_i`:

.. math::
    \text{softmax:}\quad \delta_{ij} = a_{ij}\, g_i \odot (m_{ij} - o_i), \quad
    \frac{\partial L}{\partial t} = \sum_{ij} \delta_{ij} \odot m_{ij}, \quad
    \frac{\partial L}{\partial m_{ij}} = a_{ij}\, g_i + t\, \delta_{ij}

    \text{max:}\quad \frac{\partial L}{\partial m_{ij}} = \frac{[m_{ij} = o_i]\, g_i}
    {[o_i = 0] + \sum_k [m_{ik} = o_i]}

    \frac{\partial L}{\partial z_{ij}} = \frac{\partial L}{\partial m_{ij}} \odot [z_{ij} > 0], \quad
    \frac{\partial L}{\partial e_{ij}} = \frac{\partial L}{\partial z_{ij}}, \quad
    \frac{\partial L}{\partial x_j} = \sum_{i} \frac{\partial L}{\partial z_{ij}}

The max rule is ``torch.scatter_reduce(reduce='amax', include_self=False)``'s backward, which PyG's max aggregation
uses on CPU (and on GPU without ``torch_scatter``): ties share the gradient evenly, and the zero "self" value of
the output buffer is counted as one more tie when the maximum is exactly 0 (visible in the gradient only for
``eps < 0``).

PyG's GENConv (2.8.1) keeps these distinct ``[E, D]`` floating tensors for backward per layer (found with
``torch.autograd.graph.saved_tensors_hooks``; the ``[E, D]`` scatter indices it also saves are stride-0 views):

* ``softmax`` (5): ``ReluBackward0`` result ``relu(z)``; ``MulBackward0`` (``m * t``) and ``MulBackward0``
  (``m * alpha``) self ``m``; ``ExpBackward0`` result = ``DivBackward0`` self ``exp(s - s_max)``;
  ``DivBackward0`` other ``sum[index]``; ``MulBackward0`` (``m * alpha``) other ``alpha``.
* ``max`` (2): ``ReluBackward0`` result ``relu(z)``; ``ScatterReduceBackward0`` src ``m``.

:class:`GENAggregation` saves only node-sized tensors, ``edge_index`` and, if given, ``edge_attr`` (an input, so
no extra memory) and recomputes ``m`` and ``a`` in backward. PyG has no recomputing aggregation,
hence the hand-written :class:`torch.autograd.Function`. Plain torch ops only (works under ``FakeTensorMode``).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
from torch import Tensor

_AGGRS = ("softmax", "max")


def _messages(x: Tensor, src: Tensor, edge_attr: Optional[Tensor], eps: float) -> Tuple[Tensor, Tensor]:
    z = x.index_select(0, src)
    if edge_attr is not None:
        z = z + edge_attr
    return z, z.relu() + eps


class GENAggregation(torch.autograd.Function):
    """``propagate`` of GENConv (softmax / max) saving at most one ``[E, D]`` tensor (``edge_attr``)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, edge_index: Tensor, edge_attr: Optional[Tensor], aggr: str,
                t: Union[Tensor, float], eps: float, num_nodes: int) -> Tensor:
        src, dst = edge_index[0], edge_index[1]
        _, m = _messages(x, src, edge_attr, eps)
        idx = dst.view(-1, 1).expand_as(m)
        size = (num_nodes, m.size(1))
        t_saved = t if isinstance(t, Tensor) else None
        ctx.aggr, ctx.eps, ctx.t = aggr, eps, None if t_saved is not None else t
        if aggr == "max":
            out = m.new_zeros(size).scatter_reduce_(0, idx, m, reduce="amax", include_self=False)
            ctx.save_for_backward(x, edge_index, edge_attr, t_saved, out)
            return out
        s = m * t
        s_max = s.new_zeros(size).scatter_reduce_(0, idx, s, reduce="amax", include_self=False)
        ex = (s - s_max.index_select(0, dst)).exp_()
        denom = ex.new_zeros(size).scatter_add_(0, idx, ex) + 1e-16
        alpha = ex.div_(denom.index_select(0, dst))
        out = m.new_zeros(size).scatter_add_(0, idx, m.mul_(alpha))
        ctx.save_for_backward(x, edge_index, edge_attr, t_saved, out, s_max, denom)
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> Tuple[Optional[Tensor], ...]:
        x, edge_index, edge_attr, t_saved, out, *stats = ctx.saved_tensors
        t = t_saved if t_saved is not None else ctx.t
        src, dst = edge_index[0], edge_index[1]
        z, m = _messages(x, src, edge_attr, ctx.eps)
        size = (out.size(0), m.size(1))
        g = grad_out.index_select(0, dst)
        grad_t = None
        if ctx.aggr == "max":
            mask = (m == out.index_select(0, dst)).to(m.dtype)
            count = m.new_zeros(size).scatter_add_(0, dst.view(-1, 1).expand_as(m), mask)
            count = count + (out == 0).to(m.dtype)  # torch counts the zero "self" of the buffer as a tie
            dm = mask.mul_((grad_out / count).index_select(0, dst))
        else:
            s_max, denom = stats
            a = (m * t - s_max.index_select(0, dst)).exp_().div_(denom.index_select(0, dst))
            ag = a.mul_(g)
            ds = (m - out.index_select(0, dst)).mul_(ag)
            if t_saved is not None and ctx.needs_input_grad[4]:
                dt = (ds * m).sum(0)
                grad_t = dt.sum_to_size(t_saved.shape) if t_saved.dim() > 0 else dt.sum()
            dm = ag.add_(ds.mul_(t))
        dz = dm.mul_(z > 0)
        grad_x = torch.zeros_like(x).index_add_(0, src, dz) if ctx.needs_input_grad[0] else None
        grad_e = dz if edge_attr is not None and ctx.needs_input_grad[2] else None
        return grad_x, None, grad_e, None, grad_t, None, None


def gen_aggregate(x: Tensor, edge_index: Tensor, edge_attr: Optional[Tensor], aggr: str, t: Union[Tensor, float],
                  eps: float, num_nodes: int) -> Tensor:
    r"""GENConv's ``propagate``: aggregates :math:`\mathrm{ReLU}(x_j + e_{ij}) + \epsilon` at the targets.

    Args:
        x (Tensor): Source node features ``[N_src, D]``.
        edge_index (Tensor): ``[2, E]`` (source, target) indices.
        edge_attr (Tensor, optional): Edge features ``[E, D]`` (already of width ``D``).
        aggr (str): ``"softmax"`` or ``"max"``.
        t (Tensor or float): Inverse temperature of the softmax (e.g. the learnable ``[1]`` parameter of
            :class:`~torch_geometric.nn.aggr.SoftmaxAggregation`); unused for ``"max"``.
        eps (float): Added to the messages.
        num_nodes (int): Number of target nodes.

    :rtype: :class:`Tensor` ``[num_nodes, D]``
    """
    if aggr not in _AGGRS:
        raise ValueError(f"gen_aggregate: aggr must be one of {_AGGRS}, got {aggr!r}")
    return GENAggregation.apply(x, edge_index, edge_attr, aggr, t, eps, num_nodes)
