"""What an operator provides to the network: a graph representation and a convolution factory.

The connection kinds never see an operator's internals: they receive blocks built from
``Operator.make_conv`` and pass along whatever ``Operator.prepare_graph`` returned (an ``edge_index``, a normalised
sparse adjacency, a ``DGLGraph`` ...). Every convolution is called as ``conv(x, graph, edge_attr)``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Optional

from torch import Tensor, nn


class Operator(ABC):
    """One graph operator on one backend."""

    #: whether ``make_conv`` accepts ``edge_dim`` (edge features); others reject it with a clear error.
    supports_edge_features: bool = False
    #: whether hidden convolutions have a bias (``make_conv(bias=None)``); an operator may make it an option.
    bias: bool = True
    #: ``"ours"`` (this project's implementation) or ``"paper"`` (as the authors' released code ran it), for the
    #: operators that take an ``impl`` option; see :func:`check_impl`.
    impl: str = "ours"
    #: whether ``prepare_graph`` is a pure function of the graph, so one result may serve every forward pass on it
    #: (:mod:`models.prepared_graph`); an operator that draws something at random there sets it False.
    reusable_graph: bool = True

    def checkpointed_blocks(self, layers: int) -> frozenset[int]:
        """The blocks of a ``layers``-deep residual stack whose convolution runs under ``torch.utils.checkpoint``
        (recomputed in backward instead of kept), where the implementation being reproduced did so; none here."""
        return frozenset()

    def edge_features_for_groups(self, edges: Tensor, groups: int) -> Tensor:
        """The encoded edge features as a reversible stack of ``groups`` groups receives them; unchanged here."""
        return edges

    def prepare_graph(self, edge_index: Tensor, num_nodes: int) -> Any:
        """Turn ``edge_index`` into what this operator's convolutions consume; built once per forward pass, or once
        per graph where the model reuses prepared graphs (a training run)."""
        return edge_index

    @abstractmethod
    def make_conv(
        self,
        in_channels: int,
        out_channels: int,
        *,
        heads: int = 1,
        edge_dim: Optional[int] = None,
        bias: Optional[bool] = None,
    ) -> nn.Module:
        """A module called as ``conv(x, graph, edge_attr=None) -> [N, out_channels]``.

        Operator-specific options (aggregation, residual projections ...) are constructor arguments of the
        ``Operator`` subclass, so one instance builds consistent convolutions for every layer. ``bias=None`` means
        the operator's default (:attr:`bias`).
        """

    def check_edge_dim(self, edge_dim: Optional[int]) -> None:
        if edge_dim is not None and not self.supports_edge_features:
            raise ValueError(f"operator {self.name!r} does not take edge features (edge_dim={edge_dim})")

    def resolve_bias(self, bias: Optional[bool]) -> bool:
        return self.bias if bias is None else bias

    @property
    def name(self) -> str:
        return type(self).__name__.removesuffix("Operator").lower()


IMPLS = ("ours", "paper")


def check_impl(operator: str, impl: str) -> str:
    """``impl`` validated: ``"ours"`` or ``"paper"``, else a one-line error naming the operator."""
    if impl not in IMPLS:
        raise ValueError(f"operator {operator!r}: impl must be one of {', '.join(IMPLS)}, got {impl!r}")
    return impl


def encode_edge_features(name: str, encoder: Optional[nn.Module], edge_attr: Optional[Tensor]) -> Optional[Tensor]:
    """``edge_attr`` through the convolution's own edge encoder; a model built with ``edge_dim`` needs edge features
    and one built without refuses them, so a mismatch is a clear error rather than silently ignored features."""
    if encoder is not None:
        if edge_attr is None:
            raise ValueError(f"{name}: this model was built with edge_dim, so it needs edge_attr")
        return encoder(edge_attr)
    if edge_attr is not None:
        raise ValueError(f"{name}: edge_attr given but the model was built without edge_dim")
    return None
