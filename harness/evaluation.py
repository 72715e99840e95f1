"""Scoring predictions the way each data set is scored.

OGB data sets (and their synthetic twins, which carry the name of the data set they copy in ``ogb_name``) go through
``ogb.nodeproppred.Evaluator``: accuracy of the arg-max for multi-class, ROC-AUC averaged over the tasks that have both
classes for multi-label (logits are fine: ROC-AUC only ranks). Other data sets use the same definitions: plain accuracy
(Planetoid), and per-task ROC-AUC averaged over labelled rows and tasks with both classes (scikit-learn, as ogb does).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import Tensor

from harness.datasets.base import GraphDataset


@functools.cache
def ogb_evaluator(name: str):  # -> ogb.nodeproppred.Evaluator
    from ogb.nodeproppred import Evaluator

    return Evaluator(name)


def ogb_inputs(task: str, y: Tensor, logits: Tensor) -> dict[str, Tensor]:
    """``y_true``/``y_pred`` in ogb's node-prediction shapes ([n, 1] class ids, or [n, T] targets and scores)."""
    if task == "multiclass":
        return {"y_true": y.view(-1, 1), "y_pred": logits.argmax(dim=-1, keepdim=True)}
    return {"y_true": y, "y_pred": logits}


def accuracy(y: Tensor, logits: Tensor) -> float:
    return float((logits.argmax(dim=-1) == y.view(-1)).float().mean()) if y.numel() else math.nan


def mean_rocauc(y: Tensor, scores: Tensor) -> float:
    """Mean over tasks of ROC-AUC on the labelled (non-NaN) rows, over the tasks that have both classes."""
    from sklearn.metrics import roc_auc_score

    y_np, s_np = y.detach().cpu().numpy(), scores.detach().float().cpu().numpy()
    aucs = []
    for task in range(y_np.shape[1]):
        labelled = y_np[:, task] == y_np[:, task]
        if np.sum(y_np[labelled, task] == 1) > 0 and np.sum(y_np[labelled, task] == 0) > 0:
            aucs.append(roc_auc_score(y_np[labelled, task], s_np[labelled, task]))
    return float(np.mean(aucs)) if aucs else math.nan


def score(dataset: GraphDataset, logits: Tensor, index: Tensor) -> float:
    """The data set's metric of ``logits`` ([N, out], all nodes) on the nodes ``index``; NaN when undefined
    (no node, or no task with both classes)."""
    y, logits = dataset.data.y[index].cpu(), logits[index].detach().cpu()
    if index.numel() == 0:
        return math.nan
    if dataset.ogb_name is not None:
        try:
            result = ogb_evaluator(dataset.ogb_name).eval(ogb_inputs(dataset.task, y, logits))
        except RuntimeError as exc:  # "No positively labeled data available. Cannot compute ROC-AUC."
            if "No positively labeled" in str(exc):
                return math.nan
            raise
        return float(result[dataset.metric])
    if dataset.metric == "acc":
        return accuracy(y, logits)
    return mean_rocauc(y, logits)
