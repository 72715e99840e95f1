"""``edge_index`` → ``DGLGraph``, and the per-forward edge-dropout view used by the RevGAT convolution.

:data:`EDGE_WEIGHT` names the per-edge weight a sampler may put on a block (``block.edata``): an operator that
declares ``aggregates_on_blocks`` multiplies each message by it (importance weights, control-variate terms).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import dgl
import torch
from torch import Tensor

#: ``block.edata`` key of the weight each message is multiplied by (set by the samplers in harness.training.sampling)
EDGE_WEIGHT = "sampling_weight"


def to_dgl_graph(edge_index: Tensor, num_nodes: int, self_loops: bool = False) -> dgl.DGLGraph:
    """The graph with edges ``edge_index[0] → edge_index[1]`` (PyG's source-to-target flow), duplicates kept.

    ``self_loops=True`` mirrors PyG's ``add_remaining_self_loops`` (GCN) and GATConv's ``remove_self_loops`` +
    ``add_self_loops``: existing self-loops are removed and exactly one loop per node is appended.
    """
    graph = dgl.graph((edge_index[0], edge_index[1]), num_nodes=num_nodes, device=edge_index.device)
    if self_loops:
        graph = dgl.add_self_loop(dgl.remove_self_loop(graph))
    return graph


@dataclass
class EdgeDropGraph:
    """A ``DGLGraph`` plus the edges kept by edge dropout, drawn once per forward pass.

    The authors' RevGAT keeps the edges ``perm[⌊pE⌋:]`` of a random permutation ``perm``, one permutation shared by
    the groups of a reversible layer so that every group sees the same edges. Here the permutation is drawn lazily,
    by the first convolution that asks for it in training mode, and kept for the life of this object (one forward
    pass of the network): every layer and group, and every recomputation in a reversible backward pass, sees the same
    kept edges, so the gradients stay exact. (The authors draw one permutation per layer; sharing one across layers
    is the same choice the paper makes for the node dropout mask.)
    """

    graph: dgl.DGLGraph
    edge_drop: float
    _kept: Optional[Tensor] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.edge_drop < 1.0:
            raise ValueError(f"edge_drop must be in [0, 1), got {self.edge_drop}")

    def kept_edges(self) -> Tensor:
        """Ids of the edges that survive this forward pass's edge dropout."""
        if self._kept is None:
            num_edges = self.graph.num_edges()
            perm = torch.randperm(num_edges, device=self.graph.device)
            self._kept = perm[int(num_edges * self.edge_drop):]
        return self._kept
