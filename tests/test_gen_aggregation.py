"""The lean GENConv aggregation equals PyG's ``GENConv.propagate`` (values and gradients) and saves at most one
edge-sized tensor for backward, where PyG saves several."""
from __future__ import annotations

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch_geometric.nn import GENConv

from models.operators.pyg.gen_aggregation import gen_aggregate

N, D, EPS, T0 = 30, 6, 1e-7, 1.3


def graph(seed: int = 0) -> torch.Tensor:
    """~150 edges with duplicates; targets avoid the last 5 nodes, so those have no in-edges."""
    gen = torch.Generator().manual_seed(seed)
    ei = torch.stack([torch.randint(0, N, (140,), generator=gen), torch.randint(0, N - 5, (140,), generator=gen)])
    return torch.cat([ei, ei[:, :10]], dim=1)


def inputs(edge_index: torch.Tensor, with_edge_attr: bool, kind: str = "randn", seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    E = edge_index.size(1)
    if kind == "randn":
        x, e = torch.randn(N, D, generator=gen), torch.randn(E, D, generator=gen)
    elif kind == "ties":  # integer values: relu ties at eps, duplicate edges and equal sources tie exactly
        x = torch.randint(-4, 3, (N, D), generator=gen).double()
        e = torch.randint(-2, 2, (E, D), generator=gen).double()
    else:  # "positive": no relu kinks, continuous values (no ties when edge_attr is given)
        x, e = torch.rand(N, D, generator=gen) + 0.1, torch.rand(E, D, generator=gen)
    x = x.double().requires_grad_(True)
    e = e.double().requires_grad_(True) if with_edge_attr else None
    return x, e


def pyg_conv(aggr: str, learn_t: bool = True, eps: float = EPS) -> GENConv:
    return GENConv(D, D, aggr=aggr, learn_t=learn_t and aggr == "softmax", t=T0, eps=eps).double()


def grads(out: torch.Tensor, wrt: list, upstream: torch.Tensor) -> tuple:
    return torch.autograd.grad(out, wrt, upstream)


CASES = [("softmax", True), ("softmax", False), ("max", False)]


@pytest.mark.parametrize("with_edge_attr", [True, False])
@pytest.mark.parametrize("aggr,learn_t", CASES)
# eps = -1 makes some maxima exactly 0 with z = 1 > 0, where torch also counts its zero output buffer as a tie
@pytest.mark.parametrize("kind,eps", [("randn", EPS), ("ties", EPS), ("ties", 0.0), ("ties", -1.0)])
def test_matches_pyg_propagate(aggr, learn_t, with_edge_attr, kind, eps):
    edge_index = graph()
    x, e = inputs(edge_index, with_edge_attr, kind)
    conv = pyg_conv(aggr, learn_t, eps)
    t = conv.aggr_module.t if aggr == "softmax" else 1.0
    wrt = [x] + ([e] if e is not None else []) + ([t] if isinstance(t, torch.Tensor) else [])
    upstream = torch.randn(N, D, generator=torch.Generator().manual_seed(2), dtype=torch.float64)

    ref = conv.propagate(edge_index, x=(x, x), edge_attr=e, size=None)
    ours = gen_aggregate(x, edge_index, e, aggr, t, eps, N)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    assert (ours[N - 5:] == 0).all()
    for g_ours, g_ref in zip(grads(ours, wrt, upstream), grads(ref, wrt, upstream)):
        torch.testing.assert_close(g_ours, g_ref, rtol=1e-10, atol=1e-12)


def test_ties_are_present_in_tie_case():
    """Guards the tie test above: the max really has tied arg-maxima, also with the zero output buffer."""
    edge_index = graph()
    for eps in (EPS, 0.0, -1.0):
        x, _ = inputs(edge_index, False, "ties")
        m = x.detach()[edge_index[0]].relu() + eps
        out = gen_aggregate(x.detach(), edge_index, None, "max", 1.0, eps, N)
        counts = torch.zeros(N, D, dtype=torch.float64).index_add_(0, edge_index[1], (m == out[edge_index[1]]).double())
        assert (counts > 1).any()
    # eps = -1: a maximum equal to the zero "self" of torch's scatter buffer, reached with z > 0
    assert (out[: N - 5] == 0).any()


def test_float_t_and_frozen_tensor_t_agree():
    edge_index = graph()
    x, e = inputs(edge_index, True)
    frozen = torch.tensor([T0], dtype=torch.float64)
    a = gen_aggregate(x, edge_index, e, "softmax", T0, EPS, N)
    b = gen_aggregate(x, edge_index, e, "softmax", frozen, EPS, N)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    for ga, gb in zip(grads(a, [x, e], torch.ones_like(a)), grads(b, [x, e], torch.ones_like(b))):
        torch.testing.assert_close(ga, gb, rtol=0, atol=0)


def test_gradcheck_softmax():
    edge_index = graph()
    x, e = inputs(edge_index, True)
    t = torch.tensor([T0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, e, t: gen_aggregate(x, edge_index, e, "softmax", t, EPS, N), (x, e, t))


def test_gradcheck_max_without_ties():
    edge_index = graph()
    x, e = inputs(edge_index, True, "positive")
    assert torch.autograd.gradcheck(lambda x, e: gen_aggregate(x, edge_index, e, "max", 1.0, EPS, N), (x, e))


def edge_sized_saved(fn, E: int) -> int:
    """Distinct floating [E, D]-sized tensors saved for backward (stride-0 expanded index views excluded)."""
    seen = set()

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.is_floating_point() and (t.numel() >= E * D or (t.dim() == 2 and t.size(0) == E)):
            seen.add(t.data_ptr())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return len(seen)


@pytest.mark.parametrize("aggr", ["softmax", "max"])
def test_saved_tensors(aggr):
    edge_index = graph()
    E = edge_index.size(1)
    conv = pyg_conv(aggr)
    t = conv.aggr_module.t if aggr == "softmax" else 1.0
    for with_edge_attr in (True, False):
        x, e = inputs(edge_index, with_edge_attr)
        ours = edge_sized_saved(lambda: gen_aggregate(x, edge_index, e, aggr, t, EPS, N), E)
        assert ours == (1 if with_edge_attr else 0)
        # PyG 2.8.1 keeps 5 (softmax) / 2 (max): see the module docstring.
        ref = edge_sized_saved(lambda: conv.propagate(edge_index, x=(x, x), edge_attr=e, size=None), E)
        assert ref >= 2


@pytest.mark.parametrize("aggr", ["softmax", "max"])
@pytest.mark.parametrize("with_edge_attr", [True, False])
def test_fake_tensor_mode(aggr, with_edge_attr):
    with FakeTensorMode():
        x = torch.randn(N, D, requires_grad=True)
        edge_index = torch.randint(0, N, (2, 150))
        e = torch.randn(150, D, requires_grad=True) if with_edge_attr else None
        t = torch.tensor([T0], requires_grad=True)
        out = gen_aggregate(x, edge_index, e, aggr, t, EPS, N)
        wrt = [x] + ([e] if e is not None else []) + ([t] if aggr == "softmax" else [])
        gs = torch.autograd.grad(out, wrt, torch.ones(N, D), allow_unused=True)
        assert out.shape == (N, D)
        for g, w in zip(gs, wrt):
            assert g is not None and g.shape == w.shape


def test_bad_aggr():
    x = torch.randn(N, D)
    with pytest.raises(ValueError, match="aggr"):
        gen_aggregate(x, graph(), None, "mean", 1.0, EPS, N)
