"""Tables of the report: one module per table, each registering one builder (see :mod:`plots.registry`)."""
