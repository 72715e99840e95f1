"""The deep GNN: input encoder → L blocks of one connection kind → Norm, ReLU, Dropout → head.

    H^0 = Enc(X),  H^L = Stack(H^0, A, U),  Y = Head(Dropout(ReLU(Norm(H^L))))

``U`` is the edge features encoded once into ``channels`` (shared by all layers; each convolution has its own
edge encoder on top, as in the paper's ogbn-proteins models). The dropout mask inside the stack is drawn once per
forward pass and shared by all layers (:mod:`models.dropout`).

Encoders: ``"linear"`` (Lin(in, D)), ``"species"`` (ogbn-proteins: the last 8 input columns are a one-hot species,
encoded by Lin(8, 8) and concatenated with the rest before Lin(in, D)), ``"conv"`` (a graph convolution, as the
authors' RevGAT). Heads: ``"linear"`` or ``"conv"`` (a conv head always has an output bias). ``layers`` counts graph convolutions, so a conv encoder and a
conv head each take one of them from the stack.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .connections import CONNECTIONS, BlockFactory, ReportsMetrics, ReversibleConnection, build_connection
from .connections.base import DeclaresStepCost, StepCost
from .dropout import shared_dropout_mask
from .operators import get_operator
from .operators.base import Operator
from .prepared_graph import PreparedGraphCache

ENCODERS = ("linear", "species", "conv")
HEADS = ("linear", "conv")


class LinearEncoder(nn.Module):
    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.lin = nn.Linear(in_channels, channels)

    def forward(self, x: Tensor, graph: Any) -> Tensor:
        return self.lin(x)


class SpeciesEncoder(nn.Module):
    """ogbn-proteins input: ``[aggregated edge features | one-hot species]`` → Lin(in, D), species through Lin(s, s)."""

    def __init__(self, in_channels: int, channels: int, species: int = 8) -> None:
        super().__init__()
        if in_channels <= species:
            raise ValueError(f"species encoder needs in_channels > {species}, got {in_channels}")
        self.species = species
        self.species_lin = nn.Linear(species, species)
        self.lin = nn.Linear(in_channels, channels)

    def forward(self, x: Tensor, graph: Any) -> Tensor:
        features, species = x[:, :-self.species], x[:, -self.species:]
        return self.lin(torch.cat([features, self.species_lin(species)], dim=-1))


class ConvLayer(nn.Module):
    """A graph convolution as encoder or head (called with the graph, no edge features)."""

    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: Tensor, graph: Any) -> Tensor:
        return self.conv(x, graph)


class DeepGNN(nn.Module):
    """Called as ``model(x, edge_index, edge_attr=None) -> logits``."""

    def __init__(self, operator: Operator, connection: str, layers: int, channels: int, in_channels: int,
                 out_channels: int, groups: int = 2, dropout: float = 0.0, norm: str = "layer", heads: int = 1,
                 edge_dim: Optional[int] = None, memory_efficient: bool = True, encoder: str = "linear",
                 head: str = "linear", connection_options: Optional[dict[str, Any]] = None) -> None:
        super().__init__()
        if encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {encoder!r}; choose one of: {', '.join(ENCODERS)}")
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; choose one of: {', '.join(HEADS)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        depth = layers - (encoder == "conv") - (head == "conv")
        if depth < 0 or (depth == 0 and not getattr(CONNECTIONS.get(connection), "allows_no_blocks", False)):
            raise ValueError(f"layers={layers} leaves no block between a conv encoder and a conv head"
                             f" (connection {connection!r} needs at least one)")
        self.operator, self.dropout, self.groups = operator, dropout, groups
        self.prepared_graphs: Optional[PreparedGraphCache] = None  # see reusing_prepared_graphs
        factory = BlockFactory(operator, norm=norm, heads=heads, edge_dim=channels if edge_dim else None)

        if encoder == "conv":
            self.encoder: nn.Module = ConvLayer(operator.make_conv(in_channels, channels, heads=heads))
        elif encoder == "species":
            self.encoder = SpeciesEncoder(in_channels, channels)
        else:
            self.encoder = LinearEncoder(in_channels, channels)
        self.edge_encoder = nn.Linear(edge_dim, channels) if edge_dim else None
        self.blocks = build_connection(connection, depth, channels, factory, groups=groups,
                                       memory_efficient=memory_efficient, **(connection_options or {}))
        self.out_norm = factory.norm_layer(channels)
        self.head: nn.Module = (ConvLayer(operator.make_conv(channels, out_channels, heads=1, bias=True))
                                if head == "conv" else LinearEncoder(channels, out_channels))

    def embed(self, x: Tensor, edge_index: Tensor, edge_attr: Optional[Tensor] = None
              ) -> tuple[Tensor, Any, Optional[Tensor]]:
        """``(H^0, A, U)``: the encoded input, the operator's prepared graph and the encoded edge features, i.e.
        what the stack receives (the fidelity measurement inverts the stack from here)."""
        cache = self.prepared_graphs
        graph = (self.operator.prepare_graph(edge_index, x.size(0)) if cache is None
                 else cache.get(self.operator.prepare_graph, edge_index, x.size(0)))
        if (edge_attr is None) != (self.edge_encoder is None):
            raise ValueError("edge_attr must be given exactly when the model was built with edge_dim")
        edges = self.edge_encoder(edge_attr) if self.edge_encoder is not None else None
        if edges is not None and isinstance(self.blocks, ReversibleConnection):
            edges = self.operator.edge_features_for_groups(edges, self.groups)
        return self.encoder(x, graph), graph, edges

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Optional[Tensor] = None) -> Tensor:
        h, graph, edges = self.embed(x, edge_index, edge_attr)
        h = self.blocks(h, graph, edges, shared_dropout_mask(h, self.dropout, self.training))
        h = F.dropout(self.out_norm(h).relu(), p=self.dropout, training=self.training)
        return self.head(h, graph)

    @contextlib.contextmanager
    def reusing_prepared_graphs(self) -> Iterator[PreparedGraphCache]:
        """Within the block, the operator's prepared graph is built once per ``edge_index`` and reused by every
        forward (:mod:`models.prepared_graph`); an operator whose preparation draws something at random
        (``reusable_graph = False``) keeps building it every time."""
        cache = PreparedGraphCache()
        previous = self.prepared_graphs
        self.prepared_graphs = cache if getattr(self.operator, "reusable_graph", True) else None
        try:
            yield cache
        finally:
            self.prepared_graphs = previous

    def step_cost(self) -> Optional[StepCost]:
        """The passes one training step makes (:class:`~models.connections.base.StepCost`); None for a connection
        that declares none (``deq``, whose cost is its solver's iteration count)."""
        return self.blocks.step_cost() if isinstance(self.blocks, DeclaresStepCost) else None

    def extra_metrics(self) -> dict[str, float]:
        """Per-forward statistics of the connection (DEQ: solver iterations and residual); empty otherwise."""
        return self.blocks.extra_metrics() if isinstance(self.blocks, ReportsMetrics) else {}


def build_model(operator: str, connection: str, layers: int, channels: int, in_channels: int, out_channels: int,
                groups: int = 2, backend: str = "pyg", dropout: float = 0.0, norm: str = "layer", heads: int = 1,
                edge_dim: Optional[int] = None, memory_efficient: bool = True, encoder: str = "linear",
                head: str = "linear", connection_options: Optional[dict[str, Any]] = None,
                **operator_options: Any) -> DeepGNN:
    """Build a deep GNN from names; ``operator_options`` go to the operator (e.g. ``aggr="max"`` for gen)."""
    return DeepGNN(get_operator(operator, backend, **operator_options), connection, layers, channels, in_channels,
                   out_channels, groups=groups, dropout=dropout, norm=norm, heads=heads, edge_dim=edge_dim,
                   memory_efficient=memory_efficient, encoder=encoder, head=head,
                   connection_options=connection_options)
