"""``deq``: a deep-equilibrium GNN, the fixed point of one weight-tied cell (the paper's DEQ-GNN).

With the injected input X (the encoder's output):

.. math::
    Z_1 = \\mathrm{Conv}_1(Z), \\quad Z_2 = \\mathrm{Norm}(Z_1 + X), \\quad
    Z_3 = \\mathrm{Conv}_2(\\mathrm{Dropout}(\\mathrm{ReLU}(Z_2))), \\quad
    f(Z, X) = \\mathrm{Norm}(\\mathrm{ReLU}(Z_3 + Z_1))

and the layer's output is Z* = f(Z*, X), found by torchdeq's solver (Anderson acceleration by default) from Z = 0.
The backward pass differentiates the fixed point implicitly (``backward="implicit"``: solves the adjoint linear
system with torchdeq's backward solver) or with the phantom gradient (``backward="phantom"``: a few damped unrolled
steps from Z*); neither stores the solver's iterates, so memory is O(N·D) and parameters O(D²).

``layers`` is the forward solver's iteration cap (the x-axis of the paper's Res-vs-DEQ figure is solver
iterations). ``memory_efficient=False`` is the reference: plain fixed-point iteration unrolled through autograd until
the relative residual drops below ``tol``.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn
from torchdeq import get_deq

from .base import BlockFactory

BACKWARDS = ("implicit", "phantom")


class DEQCell(nn.Module):
    """f(Z, X) of the paper's DEQ-GNN: two convolutions and two norms, weights shared by every iteration."""

    def __init__(self, channels: int, factory: BlockFactory) -> None:
        super().__init__()
        self.conv1, self.conv2 = factory.conv(channels), factory.conv(channels)
        self.norm1, self.norm2 = factory.norm_layer(channels), factory.norm_layer(channels)

    def forward(self, z: Tensor, x: Tensor, graph: Any, edge_attr: Optional[Tensor],
                dropout_mask: Optional[Tensor]) -> Tensor:
        z1 = self.conv1(z, graph, edge_attr)
        h = self.norm1(z1 + x).relu()
        if dropout_mask is not None:
            h = h * dropout_mask
        z3 = self.conv2(h, graph, edge_attr)
        return self.norm2((z3 + z1).relu())


def relative_residual(f_z: Tensor, z: Tensor) -> float:
    f_z, z = f_z.detach(), z.detach()
    return float((f_z - z).norm() / (f_z.norm() + 1e-12))


class DEQStack(nn.Module):
    def __init__(self, layers: int, channels: int, factory: BlockFactory, memory_efficient: bool = True,
                 solver: str = "anderson", tol: float = 1e-4, backward: str = "implicit",
                 backward_iterations: Optional[int] = None, phantom_steps: int = 5) -> None:
        super().__init__()
        if backward not in BACKWARDS:
            raise ValueError(f"unknown deq backward {backward!r}; choose one of: {', '.join(BACKWARDS)}")
        self.cell = DEQCell(channels, factory)
        self.max_iterations, self.tol, self.memory_efficient = layers, tol, memory_efficient
        self.solver = get_deq(
            core="sliced", f_solver=solver, f_max_iter=layers, f_tol=tol, f_stop_mode="rel",
            eval_f_max_iter=layers, ift=backward == "implicit", grad=phantom_steps,
            b_solver=solver, b_max_iter=backward_iterations or layers, b_tol=tol, b_stop_mode="rel")
        self.last_stats: dict[str, float] = {}

    def forward(self, x: Tensor, graph: Any, edge_attr: Optional[Tensor] = None,
                dropout_mask: Optional[Tensor] = None) -> Tensor:
        if not self.memory_efficient:
            return self._unrolled(x, graph, edge_attr, dropout_mask)
        # torchdeq treats dim 0 as a batch of independent problems; the graph is ONE coupled problem.
        def f(z: Tensor) -> Tensor:
            return self.cell(z[0], x, graph, edge_attr, dropout_mask).unsqueeze(0)

        z_out, info = self.solver(f, torch.zeros_like(x).unsqueeze(0))
        self.last_stats = {"solver_iterations": float(info["nstep"].max()),
                           "solver_residual": float(info["rel_lowest"].max())}
        return z_out[-1][0]

    def _unrolled(self, x: Tensor, graph: Any, edge_attr: Optional[Tensor],
                  dropout_mask: Optional[Tensor]) -> Tensor:
        z = torch.zeros_like(x)
        residual, steps = float("inf"), 0
        while residual > self.tol and steps < self.max_iterations:
            z_next = self.cell(z, x, graph, edge_attr, dropout_mask)
            residual, z, steps = relative_residual(z_next, z), z_next, steps + 1
        self.last_stats = {"solver_iterations": float(steps), "solver_residual": residual}
        return z

    def extra_metrics(self) -> dict[str, float]:
        return dict(self.last_stats)
