"""Peak memory and step time of a 28-layer reversible GCN on PyG and on DGL, ours against the libraries' wrappers.

Run in the DGL environment (``tox -e dgl`` builds it)::

    .tox/dgl/bin/python -m harness.dgl_overhead [--nodes 20000 --edges 200000 --repeats 5 --out results/dgl/overhead.json]

One synthetic graph (``edges / 2`` uniform random pairs, symmetrised, so that PyG's and DGL's GCN normalisations
coincide), 128 input features, 40 classes, full-batch steps (forward, cross-entropy, backward, Adam step). Cells:
connection ∈ {res, rev, rev-pyg, rev-dgl} × backend ∈ {pyg, dgl}, all GCN, 28 layers, 128 channels, 2 groups,
shared dropout 0.5. Memory and time come from separate runs of the same step (the profiler slows the step): memory
from :func:`harness.meter.measure_step_memory`, time as the median of ``repeats`` timed steps after one warm-up.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch.profiler import record_function

import models
from harness.environment import collect_environment
from harness.meter import FORWARD_MARKER, measure_step_memory, synchronize

CONNECTIONS = ("res", "rev", "rev-pyg", "rev-dgl")
BACKENDS = ("pyg", "dgl")


def synthetic_graph(nodes: int, edges: int, features: int, classes: int, seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    pairs = torch.randint(0, nodes, (2, edges // 2), generator=generator)
    return dict(x=torch.randn(nodes, features, generator=generator),
                edge_index=torch.cat([pairs, pairs.flip(0)], dim=1),
                y=torch.randint(0, classes, (nodes,), generator=generator))


def training_step(model: torch.nn.Module, data: dict[str, torch.Tensor]) -> Callable[[], float]:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        with record_function(FORWARD_MARKER):
            logits = model(data["x"], data["edge_index"])
        loss = F.cross_entropy(logits, data["y"])
        loss.backward()
        optimizer.step()
        return float(loss)

    return step


def measure_memory(step: Callable[[], Any], device: torch.device) -> dict[str, Any]:
    return dict(dataclasses.asdict(measure_step_memory(step, device)), method="harness.meter.measure_step_memory")


def measure_time(step: Callable[[], Any], device: torch.device, repeats: int) -> dict[str, float]:
    step()
    seconds = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        step()
        synchronize(device)
        seconds.append(time.perf_counter() - start)
    return dict(step_seconds_median=statistics.median(seconds), step_seconds_min=min(seconds),
                step_seconds_all=seconds)


def run_cell(connection: str, backend: str, data: dict[str, torch.Tensor], args: argparse.Namespace,
             device: torch.device) -> dict[str, Any]:
    def build() -> torch.nn.Module:
        torch.manual_seed(args.seed)
        return models.build_model("gcn", connection, layers=args.layers, channels=args.channels,
                                  in_channels=data["x"].size(1), out_channels=args.classes, groups=2,
                                  backend=backend, dropout=0.5).to(device)

    model = build()
    cell: dict[str, Any] = dict(operator="gcn", connection=connection, backend=backend, layers=args.layers,
                                channels=args.channels, groups=2,
                                parameters=sum(p.numel() for p in model.parameters()))
    cell["memory"] = measure_memory(training_step(model, data), device)
    del model
    gc.collect()
    cell["time"] = measure_time(training_step(build(), data), device, args.repeats)
    return cell


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=20_000)
    parser.add_argument("--edges", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=128)
    parser.add_argument("--classes", type=int, default=40)
    parser.add_argument("--layers", type=int, default=28)
    parser.add_argument("--channels", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path("results/dgl/overhead.json"))
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    data = {k: v.to(device) for k, v in
            synthetic_graph(args.nodes, args.edges, args.features, args.classes, args.seed).items()}
    cells = []
    for connection in CONNECTIONS:
        for backend in BACKENDS:
            cell = run_cell(connection, backend, data, args, device)
            print(f"{connection:8s} {backend}: peak {cell['memory']['peak_allocated_bytes'] / 2**20:8.1f} MiB, "
                  f"activations {(cell['memory']['activation_bytes'] or 0) / 2**20:8.1f} MiB, "
                  f"step {cell['time']['step_seconds_median']:.3f} s", flush=True)
            cells.append(cell)
    result = dict(
        description=__doc__.splitlines()[0],
        graph=dict(nodes=args.nodes, edges=data["edge_index"].size(1), features=args.features, classes=args.classes,
                   kind="uniform random pairs, symmetrised", seed=args.seed),
        environment=collect_environment(str(device)).model_dump(mode="json"),
        cells=cells,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
