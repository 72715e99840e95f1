"""Figures, tables and the report of gnn1000, built from the harness's JSON records only.

``python -m plots build RESULTS_DIR [--out DIR]``; see :mod:`plots.report`. One figure or table is one module under
``plots/figures`` or ``plots/tables`` registering one builder in :mod:`plots.registry`.
"""
from .report import BuildResult, build_report

__all__ = ["BuildResult", "build_report"]
