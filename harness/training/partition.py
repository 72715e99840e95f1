"""Random node partitions, the mini-batches of the paper's ogbn-proteins and ogbn-products protocol.

The nodes are shuffled and cut into ``num_parts`` parts of equal size (±1), as PyG's ``RandomNodeLoader``; each part
with the edges among its nodes is one mini-batch (``Data.subgraph``), and edges between parts are dropped for that
step. Equal sizes make every step's memory the same, which the memory meter relies on. (The authors' code draws each
node's part independently, which gives the same parts in expectation.)
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data


def random_node_partition(num_nodes: int, num_parts: int, generator: torch.Generator) -> list[Tensor]:
    """``num_parts`` sorted index tensors that together hold every node of ``0..num_nodes-1`` exactly once."""
    if not 1 <= num_parts <= max(num_nodes, 1):
        raise ValueError(f"num_parts must be in [1, {num_nodes}] for {num_nodes} nodes, got {num_parts}")
    order = torch.randperm(num_nodes, generator=generator)
    return [part.sort().values for part in order.tensor_split(num_parts)]


def part_subgraph(data: Data, nodes: Tensor) -> Data:
    """The subgraph induced by ``nodes`` (relabelled 0..len-1), with every node- and edge-level attribute sliced."""
    return data.subgraph(nodes)
