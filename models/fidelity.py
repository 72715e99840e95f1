"""Numerical fidelity of reversible networks: how exactly the backward pass can rebuild what the forward freed.

A reversible network never stores its activations; the backward pass recomputes them by inverting each layer,
``X_i = X'_i - f_i(X'_{i-1})``. In floating point each inversion adds round-off, so the input rebuilt through L layers
drifts from the true one. Two figures quantify it:

- :func:`reconstruction_error`: ``||X̂ - X|| / ||X||`` after running the stack forward and then inverting every
  layer in reverse order, in a given dtype.
- :func:`gradient_cosine`: the cosine similarity between the parameter gradients of the memory-efficient model (in
  its own dtype) and of a float64 copy run through plain autograd (the reference).
"""
from __future__ import annotations

import copy
from typing import Optional

import torch
from torch import Tensor

from .connections import ReversibleConnection
from .network import DeepGNN


def reversible_stack(model: DeepGNN) -> ReversibleConnection:
    """The model's stack, which must declare :class:`~models.connections.ReversibleConnection`."""
    if not isinstance(model.blocks, ReversibleConnection):
        raise ValueError(f"fidelity needs a reversible connection (rev, wt-rev); this model's stack is "
                         f"{type(model.blocks).__name__}")
    return model.blocks


@torch.no_grad()
def reconstruction_error(model: DeepGNN, x: Tensor, edge_index: Tensor, edge_attr: Optional[Tensor] = None,
                         dtype: torch.dtype = torch.float32) -> float:
    """Relative error of the stack's input rebuilt from its output, with model and data cast to ``dtype``."""
    model = copy.deepcopy(model).to(dtype).eval()
    h0, graph, edges = model.embed(x.to(dtype), edge_index, None if edge_attr is None else edge_attr.to(dtype))
    h = h0
    layers = reversible_stack(model).reversible_layers()
    for layer in layers:
        h = layer(h, graph, edges)
    for layer in reversed(layers):
        h = layer.inverse(h, graph, edges)
    return float(((h - h0).double().norm() / h0.double().norm()).item())


def gradient_cosine(model: DeepGNN, x: Tensor, edge_index: Tensor, edge_attr: Optional[Tensor] = None) -> float:
    """Cosine similarity of all parameter gradients: the model as it is vs a float64 plain-autograd copy."""
    def flat_gradient(net: DeepGNN, dtype: torch.dtype) -> Tensor:
        net.zero_grad(set_to_none=True)
        features = x.to(dtype)
        edges = None if edge_attr is None else edge_attr.to(dtype)
        torch.manual_seed(0)
        net(features, edge_index, edges).square().mean().backward()
        return torch.cat([p.grad.double().flatten() for p in net.parameters() if p.grad is not None])

    reversible_stack(model)
    reference = copy.deepcopy(model).double()
    reversible_stack(reference).memory_efficient = False  # every activation kept: ordinary autograd
    got = flat_gradient(model, next(model.parameters()).dtype)
    want = flat_gradient(reference, torch.float64)
    return float(torch.nn.functional.cosine_similarity(got, want, dim=0).item())
