"""The paper's named configurations, as ``build_model`` keyword arguments.

Parameter counts (``sum(p.numel() for p in model.parameters())``), checked by tests/test_presets.py:

========================  ============  =================================================================
preset                    ours          paper
========================  ============  =================================================================
revgnn-deep               20,031,384    20,031,384 (OGB leaderboard)
revgnn-wide               68,471,608    68,471,608 (OGB leaderboard)
revgnn-products-112        2,945,007     2,945,007 (PyG example)
resgnn-112-64              2,374,584     2,374,584 (paper table; the leaderboard's DeeperGCN row says
                                                   2,374,568, 16 apart, origin unknown)
revgnn-112-{64,80,224}    1,457,080 / 2,251,384 / 17,141,560 (paper table)
deq-112-{64,224}              51,384 / 537,784 (paper table)
arxiv ablation rows       the paper's rounded counts ("491k", "262k", "2.10M" ...) within 1 %
wt-revgnn-112-{64,80,224}     22,072 / 31,384 / 184,312 — paper "35.0k" / "51.4k" / "337k"
wt-resgnn-112-64              30,264 — paper "51.2k"
========================  ============  =================================================================

The weight-tied counts cannot match: one tied block (what the paper describes, and what we build) gives the numbers
on the left; the paper's table evidently counts a larger tied block whose design it does not give (the values are a
third-party transcription, unverified). Reports show both numbers side by side.

ogbn-proteins models: GEN with max aggregation and a 2-layer MLP, 8-d edge features encoded once to D channels and
again per convolution, input ``[8 aggregated edge features | 8-way one-hot species]`` through the species encoder,
112 binary tasks. ``deq-112-*``: ``layers=112`` is the solver's iteration cap. ogbn-arxiv GAT rows (authors' DGL
code): 3 heads, conv encoder and conv head, BatchNorm, residual projections, no destination attention, and
``in_channels=168`` = 128 features + 40 reused labels ("label reuse"). ``revgat-5-{768,1068}-dgl``: the same model
on DGL with the authors' symmetric normalisation, edge dropout 0.3 (one permutation per forward pass, shared by the
groups) and shared dropout 0.75; same parameter counts (their input dropout 0.25 is not modelled).
"""
from __future__ import annotations

from typing import Any

from .network import DeepGNN, build_model

_PROTEINS = dict(operator="gen", in_channels=16, out_channels=112, edge_dim=8, encoder="species", aggr="max",
                 mlp_layers=2, norm="layer", groups=2)
_ARXIV = dict(in_channels=128, out_channels=40, groups=2, norm="layer")
_ARXIV_GEN = dict(aggr="softmax", learn_t=True, mlp_layers=1)
_ARXIV_GAT = dict(operator="gat", in_channels=168, out_channels=40, heads=3, norm="batch", encoder="conv",
                  head="conv", residual=True, attention_on_destination=False, bias=False, groups=2)
_PRODUCTS = dict(operator="sage", connection="rev", channels=160, in_channels=100, out_channels=47, groups=2,
                 norm="layer", dropout=0.5)


def _proteins(connection: str, layers: int, channels: int, dropout: float = 0.1) -> dict[str, Any]:
    return dict(_PROTEINS, connection=connection, layers=layers, channels=channels, dropout=dropout)


PRESETS: dict[str, dict[str, Any]] = {
    "revgnn-deep": _proteins("rev", 1001, 80, dropout=0.1),
    "revgnn-wide": _proteins("rev", 448, 224, dropout=0.2),
    "resgnn-112-64": _proteins("res", 112, 64),
    **{f"revgnn-112-{d}": _proteins("rev", 112, d) for d in (64, 80, 224)},
    **{f"wt-revgnn-112-{d}": _proteins("wt-rev", 112, d) for d in (64, 80, 224)},
    "wt-resgnn-112-64": _proteins("wt-res", 112, 64),
    **{f"deq-112-{d}": _proteins("deq", 112, d) for d in (64, 224)},
    "revgnn-products-112": dict(_PRODUCTS, layers=112),
    "revgnn-products-7": dict(_PRODUCTS, layers=7),
}
for _op, _extra in (("gcn", {}), ("sage", {}), ("gen", _ARXIV_GEN)):
    PRESETS[f"res{_op}-28-128"] = dict(_ARXIV, operator=_op, connection="res", layers=28, channels=128, **_extra)
    for _width in (128, 180):
        PRESETS[f"rev{_op}-28-{_width}"] = dict(_ARXIV, operator=_op, connection="rev", layers=28, channels=_width,
                                                **_extra)
PRESETS["resgat-5-768"] = dict(_ARXIV_GAT, connection="res", layers=5, channels=768)
PRESETS["revgat-5-768"] = dict(_ARXIV_GAT, connection="rev", layers=5, channels=768)
PRESETS["revgat-5-1068"] = dict(_ARXIV_GAT, connection="rev", layers=5, channels=1068)
# The authors' RevGAT as they ran it, on DGL: their symmetric normalisation, edge dropout 0.3 and shared dropout 0.75
# (parameter-free, so the counts equal the PyG rows'). Needs a native DGL (tox -e dgl).
_ARXIV_GAT_DGL = dict(_ARXIV_GAT, backend="dgl", symmetric_norm=True, edge_drop=0.3, dropout=0.75)
PRESETS["revgat-5-768-dgl"] = dict(_ARXIV_GAT_DGL, connection="rev", layers=5, channels=768)
PRESETS["revgat-5-1068-dgl"] = dict(_ARXIV_GAT_DGL, connection="rev", layers=5, channels=1068)


def list_presets() -> list[str]:
    return sorted(PRESETS)


def preset_config(name: str) -> dict[str, Any]:
    """The ``build_model`` keyword arguments of a preset (a copy)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(list_presets())}")
    return dict(PRESETS[name])


def preset(name: str, **overrides: Any) -> DeepGNN:
    """Build a preset, e.g. ``preset("revgnn-deep", layers=28)`` for a shallower copy."""
    return build_model(**{**preset_config(name), **overrides})
