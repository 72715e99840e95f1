"""Training protocols: full-batch and random-partition mini-batch training, multi-view evaluation, seeds.

>>> from harness.training import TrainConfig, train
>>> result = train(model, dataset, TrainConfig(epochs=200, lr=0.01, weight_decay=5e-4), "cpu")
>>> result.best_valid, result.test_at_best_valid
"""
from .config import TrainConfig, TrainResult
from .evaluate import multi_view_predictions
from .loop import EpochProgress, train
from .partition import random_node_partition
from .seeding import deterministic_algorithms, seed_everything
from .step import TrainStep, build_train_step
from .summary import MeanStd, SeedSummary, mean_std, summarize, train_seeds

__all__ = ["EpochProgress", "MeanStd", "SeedSummary", "TrainConfig", "TrainResult", "TrainStep", "build_train_step",
           "deterministic_algorithms", "mean_std", "multi_view_predictions", "random_node_partition",
           "seed_everything", "summarize", "train", "train_seeds"]
