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

from .network import DeepGNN


def _reversible_layers(model: DeepGNN) -> list:
    layers = getattr(model.blocks, "reversible_layers", None)
    if layers is None:
        raise ValueError(f"fidelity needs a reversible connection (rev, wt-rev); this model's stack is "
                         f"{type(model.blocks).__name__}")
    return layers()


@torch.no_grad()
def reconstruction_error(model: DeepGNN, x: Tensor, edge_index: Tensor, edge_attr: Optional[Tensor] = None,
                         dtype: torch.dtype = torch.float32) -> float:
    """Relative error of the stack's input rebuilt from its output, with model and data cast to ``dtype``."""
    model = copy.deepcopy(model).to(dtype).eval()
    x = x.to(dtype)
    graph = model.operator.prepare_graph(edge_index, x.size(0))
    edges = model.edge_encoder(edge_attr.to(dtype)) if model.edge_encoder is not None else None
    h0 = model.encoder(x, graph)
    h = h0
    layers = _reversible_layers(model)
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

    reference = copy.deepcopy(model).double()
    for layer in _reversible_layers(reference):
        layer.forward = _plain(layer)
    got = flat_gradient(model, next(model.parameters()).dtype)
    want = flat_gradient(reference, torch.float64)
    return float(torch.nn.functional.cosine_similarity(got, want, dim=0).item())


def _plain(layer):
    """The layer's forward through ordinary autograd (the float64 reference keeps every activation)."""
    def forward(x, graph, edge_attr=None, dropout_mask=None, **_: object) -> Tensor:
        return layer.coupling(x, graph, edge_attr, dropout_mask)
    return forward
