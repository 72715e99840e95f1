"""PyTorch Geometric implementations of the operators (imported for their registrations)."""
from . import gat, gcn, gen, sage  # noqa: F401
