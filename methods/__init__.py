"""The contenders. Every method module is imported here explicitly, so every registered name is
available as soon as ``methods`` is imported (no "unknown method" surprises from lazy imports)."""
from . import cluster, compress, crd, moco, moco_v3, regression, seed, slimclr  # noqa: F401
from .base import Method
from .registry import METHODS, get_method, list_methods

__all__ = ['METHODS', 'Method', 'get_method', 'list_methods']
