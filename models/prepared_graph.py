"""The operator's prepared graph (normalised sparse adjacency, DGL graph ...), kept for the ``edge_index`` it came from.

``Operator.prepare_graph`` turns an ``edge_index`` into what the convolutions multiply by; for GCN and SAGE that is
a normalisation and two CSR matrices, about half of a full-batch epoch on tolokers (11,758 nodes, 1 M edges) when
it is rebuilt in every training forward and every evaluation. A training run feeds the same graph again and again, so
:class:`PreparedGraphCache` keeps the last few prepared graphs, each keyed by its ``edge_index`` tensor itself
(identity, held by a weak reference, plus its version counter, so an edited or freed tensor never matches) and the
node count. It is off by default: a measurement of one step measures the step as a user's first call runs it, build
included; ``harness.training.train`` turns it on for the run (:meth:`models.DeepGNN.reusing_prepared_graphs`).
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

from torch import Tensor

Prepare = Callable[[Tensor, int], Any]


class PreparedGraphCache:
    """``prepare(edge_index, num_nodes)`` computed once per distinct graph (at most ``size`` kept, last used first)."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self.builds = 0  # how many graphs were prepared (tests: once per graph, not once per forward)
        self._entries: list[tuple[weakref.ref, int, int, Any]] = []

    def get(self, prepare: Prepare, edge_index: Tensor, num_nodes: int) -> Any:
        for position, (reference, version, nodes, graph) in enumerate(self._entries):
            if reference() is edge_index and version == edge_index._version and nodes == num_nodes:
                self._entries.insert(0, self._entries.pop(position))
                return graph
        graph = prepare(edge_index, num_nodes)
        self.builds += 1
        self._entries.insert(0, (weakref.ref(edge_index), edge_index._version, num_nodes, graph))
        del self._entries[self.size:]
        return graph
