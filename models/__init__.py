"""gnn1000 models: deep GNNs with residual, reversible, weight-tied and equilibrium connections.

>>> import models
>>> model = models.build_model("gcn", "rev", layers=28, channels=128, in_channels=128, out_channels=40)
>>> logits = model(x, edge_index)
"""
from .connections import CONNECTIONS
from .network import DeepGNN, build_model
from .operators import BACKENDS, OPERATORS
from .presets import PRESETS, list_presets, preset, preset_config

__all__ = ["BACKENDS", "CONNECTIONS", "DeepGNN", "OPERATORS", "PRESETS", "build_model", "list_presets", "preset",
           "preset_config"]
