"""The DGL backend: native DGL (``tox -e dgl``: dgl 2.1.0 on torch 2.2.1), checked against the PyG backend.

- Cross-backend agreement: with the same weights copied across, PyG and DGL give the same outputs and gradients
  (float64, 1e-5 relative) for gcn, sage, gat and gen, under ``res`` and ``rev``. GEN's two definitions coincide
  (the DGL GENConv is written from PyG's formula: messages ``ReLU(x_j + e_ij) + eps``, softmax or max aggregation,
  the same MLP), so GEN is compared too. GCN is compared on symmetric graphs only: DGL's ``GraphConv(norm="both")``
  normalises a source by its out-degree, PyG's ``gcn_norm`` by its in-degree (equal exactly when the graph is
  symmetric, as every graph GCN runs on here is).
- Every connection kind runs on DGL through the same connection code, and ``rev`` / ``wt-rev`` stay exact there.
- ``rev-pyg`` (GroupAddRev) and ``rev-dgl`` (GroupRevRes) give the gradients of plain autograd on the same weights.
- Importing ``models`` or building a PyG model never imports dgl.
"""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from typing import Callable, Optional

import pytest
import torch

import models
from tests.conftest import random_graph

try:
    import dgl

    DGL_ERROR: Optional[str] = None
except Exception as error:  # not installed (ImportError), or built for another torch (FileNotFoundError)
    DGL_ERROR = f"{type(error).__name__}: {error}".splitlines()[0]

pytestmark = [
    pytest.mark.dgl,
    pytest.mark.skipif(DGL_ERROR is not None,
                       reason=f"dgl is not importable under torch {torch.__version__} (run `tox -e dgl`): {DGL_ERROR}"),
]

N = 40

# --- PyG → DGL weight mapping -----------------------------------------------------------------------------------------

Transform = Callable[[torch.Tensor], torch.Tensor]
SAME: Transform = lambda t: t  # noqa: E731
# (DGL key suffix, PyG key suffix, PyG tensor → DGL tensor); keys not listed have the same name on both backends.
RENAMES: dict[str, list[tuple[str, str, Transform]]] = {
    "gcn": [("conv.conv.weight", "conv.conv.lin.weight", lambda t: t.t())],
    "sage": [("conv.conv.fc_neigh.weight", "conv.conv.lin_l.weight", SAME),
             ("conv.conv.fc_self.weight", "conv.conv.lin_r.weight", SAME),
             ("conv.conv.fc_self.bias", "conv.conv.lin_l.bias", SAME)],
    "gat": [("conv.conv.fc.weight", "conv.conv.lin.weight", SAME),
            ("conv.conv.attn_l", "conv.conv.att_src", SAME),
            ("conv.conv.attn_r", "conv.conv.att_dst", SAME),
            ("conv.res.weight", "conv.conv.res.weight", SAME),
            ("conv.bias", "conv.conv.bias", SAME)],
    "gen": [("conv.conv.t", "conv.conv.aggr_module.t", SAME)],
}


def pyg_name(operator: str, dgl_key: str) -> tuple[str, Transform]:
    for dgl_suffix, pyg_suffix, transform in RENAMES[operator]:
        if dgl_key.endswith(dgl_suffix):
            return dgl_key[: -len(dgl_suffix)] + pyg_suffix, transform
    return dgl_key, SAME


def copy_pyg_to_dgl(operator: str, pyg_model: torch.nn.Module, dgl_model: torch.nn.Module) -> None:
    source = pyg_model.state_dict()
    target = {}
    for key in dgl_model.state_dict():
        name, transform = pyg_name(operator, key)
        target[key] = transform(source.pop(name))
    assert not source, f"PyG weights with no DGL counterpart: {sorted(source)}"
    dgl_model.load_state_dict(target)


# --- helpers ----------------------------------------------------------------------------------------------------------


def symmetric_graph(seed: int = 0) -> torch.Tensor:
    edge_index = random_graph(N, 150, seed)
    return torch.cat([edge_index, edge_index.flip(0)], dim=1)


def run(model: torch.nn.Module, x: torch.Tensor, edge_index: torch.Tensor,
        edge_attr: Optional[torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Output and gradients (parameters by name, plus ``x`` and ``edge_attr``) of ``sum(out²)``."""
    x = x.clone().requires_grad_(True)
    edge_attr = None if edge_attr is None else edge_attr.clone().requires_grad_(True)
    torch.manual_seed(1234)  # the same shared dropout mask (and edge dropout) for every model
    out = model(x, edge_index, edge_attr)
    out.square().sum().backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    grads["input.x"] = x.grad
    if edge_attr is not None:
        grads["input.edge_attr"] = edge_attr.grad
    return out.detach(), grads


def assert_close_all(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> None:
    scale = max(g.abs().max().item() for g in want.values())
    assert scale > 0
    assert got.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-5, atol=1e-10 * scale, msg=name)


CASES = {  # name: (operator, build_model options)
    "gcn": ("gcn", {}),
    "sage": ("sage", {}),
    "gat": ("gat", dict(heads=2, residual=True)),
    # the RevGAT ablation row's options: conv encoder and head, BatchNorm, no destination attention, no hidden bias
    "gat-arxiv": ("gat", dict(heads=3, residual=True, attention_on_destination=False, bias=False, norm="batch",
                              encoder="conv", head="conv")),
    "gen-softmax": ("gen", dict(edge_dim=4, aggr="softmax", learn_t=True, mlp_layers=2)),
    "gen-max": ("gen", dict(edge_dim=4, aggr="max", mlp_layers=2)),
}


# --- cross-backend agreement ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("connection", ["res", "rev"])
@pytest.mark.parametrize("symmetric", [True, False], ids=["symmetric", "directed"])
def test_pyg_and_dgl_agree(case, connection, symmetric, float64):
    operator, options = CASES[case]
    if operator == "gcn" and not symmetric:
        pytest.skip("GCN's normalisations differ on directed graphs by design (module docstring)")
    edge_index = symmetric_graph() if symmetric else random_graph(N, 300)
    config = dict(operator=operator, connection=connection, layers=4, channels=24, in_channels=5, out_channels=3,
                  dropout=0.2, **options)
    torch.manual_seed(0)
    pyg_model = models.build_model(**config, backend="pyg")
    dgl_model = models.build_model(**config, backend="dgl").double()  # dgl's GATConv makes float32 attention vectors
    copy_pyg_to_dgl(operator, pyg_model, dgl_model)
    x = torch.randn(N, 5)
    edge_attr = torch.randn(edge_index.size(1), 4) if options.get("edge_dim") else None

    out_pyg, grads_pyg = run(pyg_model, x, edge_index, edge_attr)
    out_dgl, grads_dgl = run(dgl_model, x, edge_index, edge_attr)
    torch.testing.assert_close(out_dgl, out_pyg, rtol=1e-5, atol=1e-10 * out_pyg.abs().max().item())
    # DGL gradients, renamed and transformed back into PyG's layout
    mapped = {}
    for key, grad in grads_dgl.items():
        name, transform = pyg_name(operator, key)
        mapped[name] = grad.t() if transform is not SAME else grad
    assert_close_all(mapped, grads_pyg)


# --- every connection kind on DGL -------------------------------------------------------------------------------------


@pytest.mark.parametrize("operator", ["gcn", "sage", "gat", "gen"])
@pytest.mark.parametrize("connection", models.CONNECTIONS.names())
def test_every_connection_runs_on_dgl(operator, connection):
    torch.manual_seed(0)
    model = models.build_model(operator, connection, layers=3, channels=12, in_channels=5, out_channels=3,
                               backend="dgl", dropout=0.2, heads=2 if operator == "gat" else 1)
    x, edge_index = torch.randn(N, 5), symmetric_graph()
    for _ in range(2):  # twice: nothing the first pass freed is read again
        model.zero_grad()
        out = model(x, edge_index)
        out.square().sum().backward()
        assert out.shape == (N, 3) and torch.isfinite(out).all()
        grads = [p.grad for p in model.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(g.abs().sum().item() for g in grads) > 0
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(x, edge_index)).all()


@pytest.mark.parametrize("case", ["gcn", "sage", "gat", "gen-softmax", "revgat-dgl"])
@pytest.mark.parametrize("connection", ["rev", "wt-rev"])
def test_reversible_gradients_are_exact_on_dgl(case, connection, float64):
    """The one reversible Function serves DGL graphs too: its gradients equal plain autograd's."""
    if case == "revgat-dgl":  # the authors' normalisation and edge dropout: one draw per forward, shared by all
        operator, options = "gat", dict(heads=3, residual=True, attention_on_destination=False, bias=False,
                                        norm="batch", symmetric_norm=True, edge_drop=0.3)
    else:
        operator, options = CASES[case]
    config = dict(operator=operator, connection=connection, layers=4, channels=24, in_channels=5, out_channels=3,
                  groups=3 if operator != "gat" else 2, dropout=0.2, backend="dgl", **options)
    torch.manual_seed(0)
    efficient = models.build_model(**config, memory_efficient=True).double()
    reference = models.build_model(**config, memory_efficient=False).double()
    reference.load_state_dict(efficient.state_dict())
    x, edge_index = torch.randn(N, 5), random_graph(N, 300)
    edge_attr = torch.randn(edge_index.size(1), 4) if options.get("edge_dim") else None
    out_got, got = run(efficient, x, edge_index, edge_attr)
    out_want, want = run(reference, x, edge_index, edge_attr)
    torch.testing.assert_close(out_got, out_want)
    assert_close_all(got, want)


# --- the RevGAT convolution -------------------------------------------------------------------------------------------


def dense_revgat(conv, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """The authors' normalised GAT without destination attention, with dense matrices (multi-edges counted)."""
    src, dst = edge_index
    adjacency = torch.zeros(N, N, dtype=x.dtype).index_put_((dst, src), torch.ones(src.numel(), dtype=x.dtype),
                                                            accumulate=True)  # adjacency[i, j] = #edges j → i
    d_out, d_in = adjacency.sum(0).clamp(min=1), adjacency.sum(1).clamp(min=1)
    h = conv.fc(x).view(N, conv.heads, conv.head_channels) * d_out.pow(-0.5).view(-1, 1, 1)
    logits = torch.nn.functional.leaky_relu((h * conv.attn_l).sum(-1), 0.2)  # [N (source), H]
    weights = adjacency.unsqueeze(-1) * logits.exp().unsqueeze(0)  # [i, j, H]
    alpha = weights / weights.sum(1, keepdim=True)
    out = torch.einsum("ijh,jhc->ihc", alpha, h) * d_in.pow(0.5).view(-1, 1, 1)
    return out.flatten(1) + conv.res_fc(x)


def test_revgat_convolution_matches_the_dense_formula(float64):
    from models.operators.dgl.graph import to_dgl_graph

    operator = models.operators.get_operator("gat", "dgl", residual=True, attention_on_destination=False,
                                             bias=False, symmetric_norm=True)
    torch.manual_seed(0)
    conv = operator.make_conv(6, 12, heads=3).conv.double()
    x, edge_index = torch.randn(N, 6), random_graph(N, 300)
    graph = to_dgl_graph(edge_index, N, self_loops=True)
    torch.testing.assert_close(conv(x, graph), dense_revgat(conv, x, torch.stack(graph.edges())))


def test_revgat_convolution_without_normalisation_is_stock_gat(float64):
    stock = models.operators.get_operator("gat", "dgl", residual=True)
    custom = models.operators.get_operator("gat", "dgl", residual=True, edge_drop=0.5)
    torch.manual_seed(0)
    want_conv, got_conv = stock.make_conv(6, 12, heads=3).double(), custom.make_conv(6, 12, heads=3)
    got_conv.conv.fc.weight.data.copy_(want_conv.conv.fc.weight)
    got_conv.conv.attn_l.data.copy_(want_conv.conv.attn_l)
    got_conv.conv.attn_r.data.copy_(want_conv.conv.attn_r)
    got_conv.conv.res_fc.weight.data.copy_(want_conv.res.weight)
    got_conv.conv.bias.data.copy_(torch.randn(12))
    want_conv.bias.data.copy_(got_conv.conv.bias)
    x, edge_index = torch.randn(N, 6), random_graph(N, 300)
    graph = custom.prepare_graph(edge_index, N)

    got_conv.eval()  # evaluation: every edge
    torch.testing.assert_close(got_conv(x, graph), want_conv(x, stock.prepare_graph(edge_index, N)))
    got_conv.train()  # training: exactly the kept edges, the same on every call within one forward
    kept = graph.kept_edges()
    assert kept.numel() == graph.graph.num_edges() - int(0.5 * graph.graph.num_edges())
    src, dst = graph.graph.edges()
    subgraph = dgl.graph((src[kept], dst[kept]), num_nodes=N)
    torch.testing.assert_close(got_conv(x, graph), want_conv(x, subgraph))
    torch.testing.assert_close(got_conv(x, graph), got_conv(x, graph))


def test_dgl_revgat_presets_have_the_pyg_parameter_counts():
    for width in (768, 1068):
        pyg_model, dgl_model = models.preset(f"revgat-5-{width}"), models.preset(f"revgat-5-{width}-dgl")
        count = sum(p.numel() for p in dgl_model.parameters())
        assert count == sum(p.numel() for p in pyg_model.parameters())
        assert models.preset_config(f"revgat-5-{width}-dgl")["backend"] == "dgl"
    assert sum(p.numel() for p in models.preset("revgat-5-768-dgl").parameters()) == 2_098_256


def test_dgl_revgat_preset_trains_a_step():
    torch.manual_seed(0)
    model = models.preset("revgat-5-768-dgl", channels=24, in_channels=5)
    x, edge_index = torch.randn(N, 5), symmetric_graph()
    model(x, edge_index).logsumexp(-1).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


# --- the libraries' reversible wrappers -------------------------------------------------------------------------------

BASELINE_BLOCK = {"rev-pyg": r"layers.\1.convs.\2.block.", "rev-dgl": r"layers.\1.gnn_modules.\2.block."}


@pytest.mark.parametrize("baseline", ["rev-pyg", "rev-dgl"])
@pytest.mark.parametrize("backend", ["pyg", "dgl"])
@pytest.mark.parametrize("operator", ["gcn", "sage", "gat"])
@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_library_wrappers_give_plain_autograd_gradients(baseline, backend, operator, dropout, float64):
    """Exact here because dropout is the explicit shared mask (split by group like the channels): the wrappers'
    recomputation sees the same mask. (DGL's GroupRevRes would re-draw an ``nn.Dropout`` inside the block.)"""
    config = dict(operator=operator, layers=4, channels=24, in_channels=5, out_channels=3, groups=2,
                  dropout=dropout, backend=backend, heads=2 if operator == "gat" else 1)
    torch.manual_seed(0)
    wrapped = models.build_model(**config, connection=baseline).double()
    reference = models.build_model(**config, connection="rev", memory_efficient=False).double()
    wrapped.load_state_dict({re.sub(r"layers\.(\d+)\.blocks\.(\d+)\.", BASELINE_BLOCK[baseline], key): value
                             for key, value in reference.state_dict().items()})
    x, edge_index = torch.randn(N, 5), symmetric_graph()
    out_got, got = run(wrapped, x, edge_index, None)
    out_want, want = run(reference, x, edge_index, None)
    torch.testing.assert_close(out_got, out_want)
    assert_close_all(got, {re.sub(r"layers\.(\d+)\.blocks\.(\d+)\.", BASELINE_BLOCK[baseline], key): grad
                           for key, grad in want.items()})


@pytest.mark.parametrize("baseline", ["rev-pyg", "rev-dgl"])
def test_library_wrappers_reject_edge_features(baseline):
    with pytest.raises(ValueError, match="edge features"):
        models.build_model("gen", baseline, layers=2, channels=8, in_channels=5, out_channels=3, edge_dim=4,
                           backend="dgl")


def test_rev_dgl_has_no_plain_autograd_mode():
    with pytest.raises(ValueError, match="GroupRevRes"):
        models.build_model("gcn", "rev-dgl", layers=2, channels=8, in_channels=5, out_channels=3,
                           memory_efficient=False)


@pytest.mark.parametrize("baseline", ["rev-pyg", "rev-dgl"])
def test_library_wrappers_leave_the_callers_input_intact(baseline):
    model = models.build_model("sage", baseline, layers=2, channels=8, in_channels=5, out_channels=3,
                               backend="dgl")
    h = torch.randn(N, 8, requires_grad=True)
    graph = model.operator.prepare_graph(symmetric_graph(), N)
    model.blocks(h, graph).sum().backward()
    assert h.untyped_storage().nbytes() == h.numel() * h.element_size() and torch.isfinite(h).all()


# --- import isolation -------------------------------------------------------------------------------------------------


def modules_after(code: str) -> set[str]:
    script = textwrap.dedent(code) + "\nimport sys\nprint(' '.join(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_importing_models_or_building_a_pyg_model_never_imports_dgl():
    loaded = modules_after("""
        import torch, models
        edge_index = torch.randint(0, 20, (2, 60))
        for connection in models.CONNECTIONS.names():
            if connection == "rev-dgl":
                continue
            model = models.build_model("gat", connection, layers=2, channels=8, in_channels=4, out_channels=3)
            model(torch.randn(20, 4), edge_index).sum().backward()
        models.preset("revgat-5-768")
    """)
    assert "models" in loaded and "torch_geometric" in loaded
    assert "dgl" not in loaded
    # the check can fail: building a DGL model does load dgl in the same kind of subprocess
    assert "dgl" in modules_after("import models; models.build_model('gcn', 'rev', 2, 8, 4, 3, backend='dgl')")
