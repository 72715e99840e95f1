"""What every connection kind receives (a factory for blocks, so it never needs to know the operator), and the
optional contracts a kind may declare: the harness and :mod:`models.fidelity` ask for these, never for a class.

- :class:`ReversibleConnection`: the stack is a chain of invertible layers (``rev``, ``wt-rev``); the fidelity
  measurement inverts them and compares its backward with plain autograd (``memory_efficient = False``).
- :class:`ReportsMetrics`: the stack reports per-forward statistics (``deq``: solver iterations and residual),
  which every measurement writes into the record beside its own metrics.
- :class:`DeclaresStepCost`: the stack says how many passes one training step makes (:class:`StepCost`), from which
  the ``paired-time`` measurement computes the ideal time ratio of two kinds (``deq`` declares none: its cost is
  the solver's iteration count).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Protocol, runtime_checkable

from torch import nn

from ..block import PreActBlock
from ..norms import make_norm
from ..operators.base import Operator

if TYPE_CHECKING:
    from .reversible import GroupedReversibleLayer


@runtime_checkable
class ReversibleConnection(Protocol):
    """A stack of :class:`~models.connections.reversible.GroupedReversibleLayer` applied in order.

    ``memory_efficient`` switches between the memory-saving backward (True) and the same mathematics through plain
    autograd (False, the reference the gradients are checked against).
    """

    memory_efficient: bool

    def reversible_layers(self) -> list["GroupedReversibleLayer"]:
        """The layers in the order the forward pass applies them (a weight-tied stack repeats one layer)."""
        ...


@runtime_checkable
class ReportsMetrics(Protocol):
    """A stack that reports statistics of its last forward pass, as JSON numbers keyed by metric name."""

    def extra_metrics(self) -> dict[str, float]:
        ...


@dataclass(frozen=True)
class StepCost:
    """One training step of a stack in passes over its layers: ``no_grad_forwards`` forwards without autograd (F0
    each), ``forwards`` with autograd (F) and ``backwards`` (B).

    A residual stack costs F + B. Our reversible stack runs its forward without autograd and, in the backward, one
    evaluation per group that rebuilds the group's input and gives its gradient: F0 + F + B. PyG's ``GroupAddRev``
    and DGL's ``GroupRevRes`` invert without autograd, then run the forward again with it: 2·F0 + F + B. No stack
    can beat its cost without storing activations, so ``seconds(F0, F, B)`` of two kinds is the yardstick of their
    measured time ratio (it counts the encoder and head with the stack, which only rebuilds its own layers: the
    ideal is a slight over-estimate of the work, by about 2 of L + 2 layers).
    """

    no_grad_forwards: int
    forwards: int = 1
    backwards: int = 1

    def seconds(self, forward_nograd: float, forward: float, backward: float) -> float:
        return self.no_grad_forwards * forward_nograd + self.forwards * forward + self.backwards * backward

    def formula(self) -> str:
        """E.g. ``F0 + F + B`` or ``2F0 + F + B``."""
        terms = [(self.no_grad_forwards, "F0"), (self.forwards, "F"), (self.backwards, "B")]
        return " + ".join(f"{count if count > 1 else ''}{name}" for count, name in terms if count)

    def as_list(self) -> list[int]:
        return [self.no_grad_forwards, self.forwards, self.backwards]


#: A stack that keeps its activations: one forward with autograd, one backward.
STORED_ACTIVATIONS = StepCost(no_grad_forwards=0)


@runtime_checkable
class DeclaresStepCost(Protocol):
    """A stack whose training step costs a known number of passes (see :class:`StepCost`)."""

    def step_cost(self) -> StepCost:
        ...


@dataclass(frozen=True)
class BlockFactory:
    """Builds the pieces of a layer on ``channels`` channels (the full width, or one group's share)."""

    operator: Operator
    norm: str = "layer"
    heads: int = 1
    edge_dim: Optional[int] = None

    def conv(self, channels: int) -> nn.Module:
        return self.operator.make_conv(channels, channels, heads=self.heads, edge_dim=self.edge_dim)

    def norm_layer(self, channels: int) -> nn.Module:
        return make_norm(self.norm, channels)

    def block(self, channels: int) -> PreActBlock:
        """The res+ block ``conv(dropout(relu(norm(x))))``."""
        return PreActBlock(self.norm_layer(channels), self.conv(channels))


def group_channels(channels: int, groups: int) -> int:
    """Channels per group; the one-line errors for a bad ``groups``."""
    if groups < 2:
        raise ValueError(f"reversible connections need groups >= 2, got groups={groups}")
    if channels % groups:
        raise ValueError(f"channels={channels} is not divisible by groups={groups}")
    return channels // groups
