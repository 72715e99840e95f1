"""The gnn1000 harness: suites of configurations → isolated measured runs → JSON records.

Data flows one way: a TOML suite (:mod:`harness.spec`, over the typed cell and training configuration of
:mod:`harness.config`) expands into cells (:mod:`harness.cells`); the runner (:mod:`harness.runner`) measures each
cell in fresh processes (:mod:`harness.worker`, the :mod:`harness.measurements` package, :mod:`harness.meter`),
names failures with :mod:`harness.failures`, stamps each record with the code's fingerprint
(:mod:`harness.fingerprint`) and writes one record per cell (:mod:`harness.records`); ``show`` and ``compare`` read
records only. The harness knows no operator or connection by name: it passes names to :mod:`models` and data set names to
:mod:`harness.datasets`.

Importing this package is cheap (no torch); the command line is ``python -m harness``.
"""
