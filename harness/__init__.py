"""The gnn1000 harness: suites of configurations → isolated measured runs → JSON records.

Data flows one way: a TOML suite (:mod:`harness.spec`) expands into cells (:mod:`harness.cells`); the runner
(:mod:`harness.runner`) measures each cell in fresh processes (:mod:`harness.worker`, :mod:`harness.measurements`,
:mod:`harness.meter`) and writes one record per cell (:mod:`harness.records`); ``show`` and ``compare`` read records
only. The harness knows no operator or connection by name: it passes names to :mod:`models` and data set names to
:mod:`harness.datasets`.

Importing this package is cheap (no torch); the command line is ``python -m harness``.
"""
