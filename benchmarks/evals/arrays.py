"""Array helpers every evaluation shares: numpy conversion and L2 normalisation of feature rows."""
from __future__ import annotations

import numpy as np


def to_numpy(x, dtype) -> np.ndarray:
    """A contiguous numpy array of ``dtype`` from a numpy array or a torch tensor (duck-typed, so
    callers holding numpy need not import torch)."""
    if hasattr(x, 'detach') and hasattr(x, 'cpu'):
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(x), dtype=dtype)


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm, float32. A zero vector has no direction: it stays zero
    (similarity 0 to everything) instead of becoming NaN, which faiss would rank arbitrarily."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)
