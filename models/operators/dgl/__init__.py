"""DGL implementations of the operators (imported for their registrations, only when ``backend="dgl"`` is asked for).

DGL 2.1.0 ships C++ libraries for torch 2.0.0-2.2.1 only; the ``dgl`` tox env pins that stack
(constraints-dgl.txt). Under another torch, asking for ``backend="dgl"`` is one ImportError saying so.
"""
from __future__ import annotations

try:
    import dgl  # noqa: F401
except Exception as error:  # ImportError, or dgl's FileNotFoundError for a missing graphbolt library
    import torch

    raise ImportError(
        f"backend='dgl' needs a native DGL install (dgl 2.1.0 with torch 2.0-2.2.1, e.g. `tox -e dgl`); "
        f"importing dgl under torch {torch.__version__} failed: {error}") from error

from . import gat, gcn, gen, sage  # noqa: E402,F401
