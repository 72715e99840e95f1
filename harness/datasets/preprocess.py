"""The paper's preprocessing, shared by the real OGB graphs and their synthetic twins.

- ogbn-arxiv: the directed citation graph made undirected, plus one self-loop per node (GCN normalisation then sees
  ``D^-1/2 (A + I) D^-1/2``).
- ogbn-proteins: no node features ship with the data set, so (as in the authors' code) each node gets the sum of its
  incident edges' 8 association scores, ``x_v = Σ_{(u,v)∈E} e_uv``, concatenated with a one-hot of its species:
  ``x = [Σ e | onehot(species)]``, 8 + 8 = 16 columns, the layout the models' species encoder reads (its last 8).
- ogbn-products: one self-loop per node (edges are already both ways).
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import add_self_loops, remove_self_loops, scatter, to_undirected

from .base import DatasetError

PROTEINS_SPECIES = 8


def undirected_with_self_loops(edge_index: Tensor, num_nodes: int) -> Tensor:
    edge_index = to_undirected(edge_index, num_nodes=num_nodes)
    return with_self_loops(edge_index, num_nodes)


def with_self_loops(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Exactly one self-loop per node (existing ones removed first, so none is doubled)."""
    edge_index, _ = remove_self_loops(edge_index)
    edge_index, _ = add_self_loops(edge_index, num_nodes=num_nodes)
    return edge_index


def species_index(species: Tensor) -> Tensor:
    """Map raw species ids (NCBI taxonomy ids in ogbn-proteins) to 0..7, in sorted order of the ids."""
    ids, index = torch.unique(species.view(-1), sorted=True, return_inverse=True)
    if ids.numel() > PROTEINS_SPECIES:
        raise DatasetError(f"ogbn-proteins has {PROTEINS_SPECIES} species, found {ids.numel()}: {ids.tolist()}")
    return index


def proteins_node_features(edge_index: Tensor, edge_attr: Tensor, species: Tensor, num_nodes: int) -> Tensor:
    """``[Σ incident edge features | one-hot species]`` ([N, 8 + 8]); ``species`` holds indices 0..7."""
    summed = scatter(edge_attr, edge_index[0], dim=0, dim_size=num_nodes, reduce="sum")
    one_hot = torch.nn.functional.one_hot(species, PROTEINS_SPECIES).to(summed.dtype)
    return torch.cat([summed, one_hot], dim=1)
