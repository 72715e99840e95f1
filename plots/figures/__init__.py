"""Figures of the report: one module per figure, each registering one builder (see :mod:`plots.registry`)."""
