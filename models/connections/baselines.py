"""``rev-pyg`` and ``rev-dgl``: the libraries' own grouped reversible wrappers, as baselines for :mod:`.rev`.

Both build the same layer as ``rev`` (C groups, one res+ block per group, the same coupling
``X'_i = f_i(X'_{i-1}, A, U) + X_i`` with ``X'_0 = \\sum_{i \\ge 2} X_i``), but run it through
``torch_geometric.nn.GroupAddRev`` or ``dgl.nn.GroupRevRes``. Their backward inverts the layer without gradients
and then runs the forward again with gradients (3F + B per layer against ``rev``'s 2F + B), so the suites can compare
memory and time in one run. Weights are interchangeable with ``rev``'s: group ``i`` of layer ``l`` holds the same
block, so ``load_state_dict`` after renaming ``layers.l.blocks.i.`` → ``layers.l.convs.i.block.`` (PyG) or
``layers.l.gnn_modules.i.block.`` (DGL) gives the same function.

What the wrappers impose (and why these kinds reject edge features):

- Both free the storage of the tensor passed in on every forward, so the first layer receives a private copy of
  the stack's input (later layers receive the previous layer's output, which nothing else reads).
- ``GroupAddRev`` splits every extra argument whose last dimension equals the channels; ``GroupRevRes`` splits every
  extra argument along its last dimension. The shared dropout mask ``[N, D]`` is meant to be split; the graph is
  passed where neither splits it. The encoded edge features ``[E, D]`` would be cut into groups, so
  ``edge_dim`` is a ValueError: use ``rev``.
- ``GroupRevRes`` recomputes BatchNorm in training mode, which updates its running statistics a second time, and
  would re-draw any dropout inside the block (here dropout is the explicit shared mask, so its gradients are exact).
"""
from __future__ import annotations

import importlib
from typing import Any, Optional

from torch import Tensor, nn

from .base import STORED_ACTIVATIONS, BlockFactory, StepCost, group_channels


#: Both wrappers' step: the forward without autograd, then in the backward an inversion without autograd and the
#: forward again with it.
INVERT_THEN_FORWARD = StepCost(no_grad_forwards=2)


def _reject_edge_features(kind: str, factory: BlockFactory) -> None:
    if factory.edge_dim is not None:
        raise ValueError(f"connection {kind!r} cannot pass edge features: the library's wrapper would split the "
                         f"[E, channels] edge embedding across groups; use 'rev'")


class _Whole:
    """Hides an argument from ``GroupAddRev``'s splitting (it splits tensors whose last dim equals the channels)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class PyGGroupBlock(nn.Module):
    """A res+ block called the way ``GroupAddRev`` calls its convs: ``conv(x, edge_index, *split_args)``."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: Tensor, graph: _Whole, dropout_mask: Optional[Tensor] = None) -> Tensor:
        return self.block(x, graph.value, None, dropout_mask)


class DGLGroupBlock(nn.Module):
    """A res+ block called the way ``GroupRevRes`` calls its modules: ``module(g, x, *split_args)``."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, graph: Any, x: Tensor, dropout_mask: Optional[Tensor] = None) -> Tensor:
        return self.block(x, graph, None, dropout_mask)


class PyGGroupAddRevStack(nn.Module):
    """L layers of ``torch_geometric.nn.GroupAddRev``; ``memory_efficient=False`` is its ``disable=True``."""

    def __init__(self, layers: int, channels: int, factory: BlockFactory, groups: int = 2,
                 memory_efficient: bool = True) -> None:
        super().__init__()
        from torch_geometric.nn import GroupAddRev

        _reject_edge_features("rev-pyg", factory)
        per_group = group_channels(channels, groups)
        self.layers = nn.ModuleList(
            GroupAddRev(nn.ModuleList(PyGGroupBlock(factory.block(per_group)) for _ in range(groups)),
                        split_dim=-1, disable=not memory_efficient)
            for _ in range(layers))
        self.memory_efficient = memory_efficient

    def step_cost(self) -> StepCost:
        return INVERT_THEN_FORWARD if self.memory_efficient else STORED_ACTIVATIONS

    def forward(self, x: Tensor, graph: Any, edge_attr: Optional[Tensor] = None,
                dropout_mask: Optional[Tensor] = None) -> Tensor:
        if edge_attr is not None:
            raise ValueError("connection 'rev-pyg' takes no edge features; use 'rev'")
        extra = () if dropout_mask is None else (dropout_mask,)
        whole = _Whole(graph)
        if self.memory_efficient:
            x = x.clone()  # GroupAddRev frees its input's storage; keep the caller's tensor intact
        for layer in self.layers:
            x = layer(x, whole, *extra)
        return x


class DGLGroupRevResStack(nn.Module):
    """L layers of ``dgl.nn.GroupRevRes`` (dgl is imported when this kind is built, not before).

    ``GroupRevRes`` deep-copies the module it is given into every group; each copy is then replaced by its own
    freshly initialised block, as ``rev`` has (the function is the same, the groups just start apart).
    """

    def __init__(self, layers: int, channels: int, factory: BlockFactory, groups: int = 2,
                 memory_efficient: bool = True) -> None:
        super().__init__()
        if not memory_efficient:
            raise ValueError("connection 'rev-dgl' is dgl.nn.GroupRevRes, which has no plain-autograd mode; "
                             "use 'rev' with memory_efficient=False for the reference")
        group_rev_res = importlib.import_module("dgl.nn").GroupRevRes
        _reject_edge_features("rev-dgl", factory)
        per_group = group_channels(channels, groups)
        self.layers = nn.ModuleList()
        for _ in range(layers):
            layer = group_rev_res(DGLGroupBlock(factory.block(per_group)), groups=groups)
            for i in range(1, groups):
                layer.gnn_modules[i] = DGLGroupBlock(factory.block(per_group))
            self.layers.append(layer)

    def step_cost(self) -> StepCost:
        return INVERT_THEN_FORWARD

    def forward(self, x: Tensor, graph: Any, edge_attr: Optional[Tensor] = None,
                dropout_mask: Optional[Tensor] = None) -> Tensor:
        if edge_attr is not None:
            raise ValueError("connection 'rev-dgl' takes no edge features; use 'rev'")
        extra = () if dropout_mask is None else (dropout_mask,)
        x = x.clone()  # GroupRevRes frees its input's storage (even without grad); keep the caller's tensor intact
        for layer in self.layers:
            x = layer(graph, x, *extra)
        return x
