"""One of each extension point, defined outside the project's packages, as a user's own module would be.

Imported through ``GNN1000_PLUGINS=outside_plugins`` (tests/test_plugins.py): in the test's process, in the
harness's command line and in every cell process. Each entry is one definition plus one registry call, as the
README promises: an operator (PyG's ``GraphConv``), a connection kind (a residual stack with a fixed branch
scale), a data set (a ring of cliques), a measurement (parameter and buffer counts) and a report figure.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn import GraphConv

from harness.datasets import DATASETS, GraphDataset
from harness.measurements import MEASUREMENTS, CellContext
from models.connections import CONNECTIONS, BlockFactory
from models.operators import Operator, register_operator
from plots.artifact import Artifact, BuildContext
from plots.registry import register


class _GraphConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, bias: bool) -> None:
        super().__init__()
        self.conv = GraphConv(in_channels, out_channels, aggr="add", bias=bias)

    def forward(self, x: Tensor, graph: Tensor, edge_attr: Optional[Tensor] = None) -> Tensor:
        return self.conv(x, graph)


@register_operator("graphconv", backend="pyg")
class GraphConvOperator(Operator):
    """x_i' = W_1 x_i + W_2 Σ_{j ∈ N(i)} x_j (Morris et al. 2019)."""

    def make_conv(self, in_channels: int, out_channels: int, *, heads: int = 1, edge_dim: Optional[int] = None,
                  bias: Optional[bool] = None) -> nn.Module:
        self.check_edge_dim(edge_dim)
        return _GraphConv(in_channels, out_channels, bias=self.resolve_bias(bias))


@CONNECTIONS.register("res-scaled")
class ScaledResidualStack(nn.Module):
    """X^{l+1} = X^l + α f_l(X^l): a residual stack whose branches are damped by a fixed ``alpha``."""

    def __init__(self, layers: int, channels: int, factory: BlockFactory, alpha: float = 0.5) -> None:
        super().__init__()
        self.alpha = alpha
        self.blocks = nn.ModuleList(factory.block(channels) for _ in range(layers))

    def forward(self, x: Tensor, graph: Any, edge_attr: Optional[Tensor] = None,
                dropout_mask: Optional[Tensor] = None) -> Tensor:
        for block in self.blocks:
            x = x + self.alpha * block(x, graph, edge_attr, dropout_mask)
        return x


@DATASETS.register("ring-of-cliques", scalable=True)
def ring_of_cliques(root: str, scale: float, seed: int) -> GraphDataset:
    """``round(40 * scale) + 2`` cliques of 5 nodes joined in a ring; the label is the clique's parity."""
    cliques, size = max(2, round(40 * scale) + 2), 5
    edges = [(c * size + i, c * size + j) for c in range(cliques) for i in range(size) for j in range(size) if i != j]
    edges += [(c * size, ((c + 1) % cliques) * size) for c in range(cliques)]
    edge_index = torch.tensor(edges).t()
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1).unique(dim=1)
    n = cliques * size
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(n) // size % 2
    order = torch.randperm(n, generator=generator)
    split = {"train": order[: n // 2], "valid": order[n // 2: 3 * n // 4], "test": order[3 * n // 4:]}
    data = Data(x=torch.randn(n, 8, generator=generator), edge_index=edge_index, y=y, num_nodes=n)
    return GraphDataset(name="ring-of-cliques", data=data, split=split, num_features=8, num_outputs=2,
                        task="multiclass", metric="acc", edge_dim=None, synthetic=True,
                        source=f"{cliques} 5-cliques in a ring, seed {seed}")


@MEASUREMENTS.register("module-count")
def module_count(ctx: CellContext) -> dict[str, Any]:
    """How many modules and parameter tensors the cell's model has (an extra metric, kept as it comes)."""
    model = ctx.model
    return {"params": sum(p.numel() for p in model.parameters()), "module_count": sum(1 for _ in model.modules()),
            "parameter_tensors": sum(1 for _ in model.parameters())}


@register("fig-plugin-modules", "figure", "Modules against depth (a figure from outside the project)")
def modules_against_depth(ctx: BuildContext) -> list[Artifact]:
    import matplotlib.pyplot as plt

    from plots.style import save_figure

    chosen = ctx.records.where(lambda item: item.ok and item.metric("module_count") is not None)
    name, title = "fig-plugin-modules", "Modules against depth (a figure from outside the project)"
    if not len(chosen):
        return [Artifact.skip(name, title, "figure", "no records with module_count")]
    figure, axis = plt.subplots(figsize=(4, 3))
    points = sorted((item.get("layers"), item.metric("module_count")) for item in chosen)
    axis.plot([x for x, _ in points], [y for _, y in points], marker="o")
    axis.set_xlabel("layers")
    axis.set_ylabel("modules")
    files = save_figure(figure, ctx.figures_dir, name)
    return [Artifact(name=name, title=title, kind="figure", caption="Modules per model.", files=files,
                     sources=list(chosen))]
