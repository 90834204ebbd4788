"""k-means with faiss (the library CompRess's ``kmeans.py`` and ClusterFit use), torch in, torch out."""
from __future__ import annotations

import numpy as np
import torch


def faiss_kmeans(x: torch.Tensor, k: int, niter: int = 20, seed: int = 0,
                 max_points_per_centroid: int = 10_000_000) -> tuple[torch.Tensor, torch.Tensor]:
    """Cluster the rows of ``x`` [N, D] into ``k`` clusters (Euclidean, faiss ``Kmeans``).

    Returns ``(assignments LongTensor [N], centroids FloatTensor [k, D])``. ``max_points_per_centroid``
    defaults to CompRess's 1e7, i.e. faiss never subsamples the training points.
    """
    import faiss
    n, d = x.shape
    if not 1 <= k <= n:
        raise ValueError(f'k-means needs 1 <= k <= number of points, got k={k} for {n} points')
    data = np.ascontiguousarray(x.detach().float().cpu().numpy())
    km = faiss.Kmeans(d, k, niter=niter, seed=seed, verbose=False, min_points_per_centroid=1,
                      max_points_per_centroid=max_points_per_centroid)
    km.train(data)
    _, assign = km.index.search(data, 1)
    return torch.from_numpy(assign[:, 0].astype(np.int64)), torch.from_numpy(km.centroids.copy())
