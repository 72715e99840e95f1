"""The grouped reversible layer of RevGNN and its memory-saving autograd Function.

With the input split along channels into C groups ``X_1 .. X_C`` and one block ``f_i`` per group:

.. math::
    X'_0 = \\sum_{i=2}^{C} X_i, \\qquad X'_i = f_i(X'_{i-1}, A, U) + X_i \\quad (i = 1..C)

and the inverse, evaluated from the last group down:

.. math::
    X_i = X'_i - f_i(X'_{i-1}, A, U) \\quad (i = C..2), \\qquad
    X'_0 = \\sum_{i=2}^{C} X_i, \\qquad X_1 = X'_1 - f_1(X'_0, A, U)

:class:`ReversibleFunction` runs the forward without building a graph, frees the layer's input and keeps only its
output. In the backward pass it evaluates each ``f_i`` ONCE with gradients enabled; that one evaluation gives both
the reconstructed input group (``X_i = X'_i - f_i``) and the vector-Jacobian product. The released wrappers (the
authors', PyG's ``GroupAddRev``, DGL's ``GroupRevRes``) instead invert without gradients and then re-run the forward
with gradients: 3F + B per layer against our 2F + B. At most one group's graph is alive at a time, so activation
memory stays O(N·D) whatever the depth.

Written by hand because neither PyG nor DGL offers this: their wrappers split every extra argument along channels
(an ``[E]`` edge tensor would be cut across edges), always free the caller's input tensor, and pay the extra forward.
Here only the shared dropout mask is chunked by group; the graph and the edge features go whole to every group.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Optional, Sequence

import torch
from torch import Tensor, nn


@contextmanager
def frozen_running_stats(module: nn.Module) -> Iterator[None]:
    """Recomputing a block must not update BatchNorm's running statistics (or its batch counter) a second time.

    With ``track_running_stats`` off, a BatchNorm in training mode still normalises with the batch statistics, as in
    the forward pass, but leaves its buffers alone.
    """
    frozen = [m for m in module.modules()
              if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats]
    for m in frozen:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in frozen:
            m.track_running_stats = True


class GroupedReversibleLayer(nn.Module):
    """One reversible layer: C ≥ 2 groups, each with its own block ``f_i`` on ``channels / C`` channels.

    Args:
        blocks: the C group blocks, each called as ``f(x, graph, edge_attr, dropout_mask)``.
    """

    def __init__(self, blocks: Sequence[nn.Module]) -> None:
        super().__init__()
        if len(blocks) < 2:
            raise ValueError(f"a reversible layer needs groups >= 2, got {len(blocks)}")
        self.blocks = nn.ModuleList(blocks)

    @property
    def groups(self) -> int:
        return len(self.blocks)

    def _chunks(self, x: Tensor) -> list[Tensor]:
        if x.size(-1) % self.groups:
            raise ValueError(f"{x.size(-1)} channels cannot be split into {self.groups} groups")
        return list(x.chunk(self.groups, dim=-1))

    def _mask_chunks(self, dropout_mask: Optional[Tensor]) -> list[Optional[Tensor]]:
        return [None] * self.groups if dropout_mask is None else self._chunks(dropout_mask)

    def coupling(self, x: Tensor, graph: Any, edge_attr: Optional[Tensor] = None,
                 dropout_mask: Optional[Tensor] = None) -> Tensor:
        """The forward map ``X -> X'`` with ordinary autograd (the reference the efficient path must match)."""
        xs, masks = self._chunks(x), self._mask_chunks(dropout_mask)
        y = sum(xs[1:])
        ys = []
        for block, x_i, mask in zip(self.blocks, xs, masks):
            y = block(y, graph, edge_attr, mask) + x_i
            ys.append(y)
        return torch.cat(ys, dim=-1)

    def inverse(self, y: Tensor, graph: Any, edge_attr: Optional[Tensor] = None,
                dropout_mask: Optional[Tensor] = None) -> Tensor:
        """The inverse map ``X' -> X`` (used by the tests and the fidelity measurement)."""
        ys, masks = self._chunks(y), self._mask_chunks(dropout_mask)
        xs: list[Tensor] = [y] * self.groups
        for i in range(self.groups - 1, 0, -1):
            xs[i] = ys[i] - self.blocks[i](ys[i - 1], graph, edge_attr, masks[i])
        xs[0] = ys[0] - self.blocks[0](sum(xs[1:]), graph, edge_attr, masks[0])
        return torch.cat(xs, dim=-1)

    def forward(self, x: Tensor, graph: Any, edge_attr: Optional[Tensor] = None,
                dropout_mask: Optional[Tensor] = None, *, memory_efficient: bool = True,
                free_input: bool = False) -> Tensor:
        """``free_input=True`` releases ``x``'s storage after the forward (only for an input no one else reads,
        i.e. the previous reversible layer's output); the backward pass writes the reconstruction back into it."""
        params = tuple(p for p in self.parameters() if p.requires_grad)
        needs_graph = torch.is_grad_enabled() and (
            x.requires_grad or bool(params) or (edge_attr is not None and edge_attr.requires_grad))
        if not memory_efficient or not needs_graph:
            return self.coupling(x, graph, edge_attr, dropout_mask)
        return ReversibleFunction.apply(self, free_input, x, graph, edge_attr, dropout_mask, *params)


class ReversibleFunction(torch.autograd.Function):
    """Forward without a graph; backward reconstructs the input and differentiates in one pass per group."""

    @staticmethod
    def forward(ctx: Any, layer: GroupedReversibleLayer, free_input: bool, x: Tensor, graph: Any,
                edge_attr: Optional[Tensor], dropout_mask: Optional[Tensor], *params: Tensor) -> Tensor:
        with torch.no_grad():
            y = layer.coupling(x.detach(), graph, None if edge_attr is None else edge_attr.detach(), dropout_mask)
        ctx.layer, ctx.graph, ctx.dropout_mask, ctx.params = layer, graph, dropout_mask, params
        ctx.edge_attr = edge_attr
        # Plain attributes rather than save_for_backward: the storages below are freed and restored in place.
        ctx.output = y.detach()  # aliases the returned tensor's storage
        ctx.input = x.detach() if free_input else None
        if free_input:
            x.untyped_storage().resize_(0)
        return y

    @staticmethod
    def backward(ctx: Any, grad_y: Tensor) -> tuple[Optional[Tensor], ...]:
        if ctx.output is None:
            raise RuntimeError("backward through a reversible layer twice is not supported (its activations are "
                               "rebuilt and released by the first backward)")
        layer: GroupedReversibleLayer = ctx.layer
        y, C = ctx.output, layer.groups
        if y.untyped_storage().nbytes() == 0:
            raise RuntimeError("reversible layer output was freed before its backward: a reversible layer's output "
                               "was read by something other than the next reversible layer")
        edge_attr = ctx.edge_attr
        edge_needs_grad = edge_attr is not None and edge_attr.requires_grad
        edge_in = edge_attr.detach().requires_grad_(edge_needs_grad) if edge_attr is not None else None

        # Where the reconstructed input goes: back into the freed storage of the caller's tensor, if we freed it.
        x = ctx.input if ctx.input is not None else torch.empty_like(y)
        if ctx.input is not None:
            x.untyped_storage().resize_(y.numel() * y.element_size())
        xs, ys = layer._chunks(x), layer._chunks(y)
        grad_ys = list(layer._chunks(grad_y))
        masks = layer._mask_chunks(ctx.dropout_mask)
        grad_xs: list[Optional[Tensor]] = [None] * C
        param_grads: dict[Tensor, Tensor] = {}
        grad_edge: Optional[Tensor] = None

        def recompute(i: int, block_input: Tensor) -> Tensor:
            """Evaluate f_i once: store X_i = X'_i - f_i, return d(f_i · g_i)/d(block_input); accumulate the rest."""
            nonlocal grad_edge
            block = layer.blocks[i]
            own = [p for p in block.parameters() if p.requires_grad]
            inp = block_input.detach().requires_grad_(True)
            with torch.enable_grad(), frozen_running_stats(block):
                out = block(inp, ctx.graph, edge_in, masks[i])
            with torch.no_grad():
                torch.sub(ys[i], out, out=xs[i])
            wrt = [inp, *own] + ([edge_in] if edge_needs_grad else [])
            grads = torch.autograd.grad(out, wrt, grad_ys[i], allow_unused=True)
            for p, g in zip(own, grads[1:1 + len(own)]):
                if g is not None:
                    param_grads[p] = param_grads[p] + g if p in param_grads else g
            if edge_needs_grad and grads[-1] is not None:
                grad_edge = grads[-1] if grad_edge is None else grad_edge + grads[-1]
            return grads[0]

        for i in range(C - 1, 0, -1):
            grad_xs[i] = grad_ys[i]
            grad_ys[i - 1] = grad_ys[i - 1] + recompute(i, ys[i - 1])
        grad_y0 = recompute(0, sum(xs[1:]))
        grad_xs[0] = grad_ys[0]
        # written group by group into one buffer: no [N, D/C] temporaries and no cat (a copy of [N, D] per layer)
        grad_x = torch.empty_like(y)
        for i, (part, g) in enumerate(zip(layer._chunks(grad_x), grad_xs)):
            part.copy_(g) if i == 0 else torch.add(g, grad_y0, out=part)

        ctx.output = ctx.input = None  # this layer's activations are no longer needed
        grads_params = tuple(param_grads.get(p) for p in ctx.params)
        return (None, None, grad_x, None, grad_edge, None) + grads_params
