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


def faiss_knn_bags(x: torch.Tensor, k: int) -> torch.Tensor:
    """Each row's ``k`` nearest other rows by inner product (exact, faiss ``IndexFlatIP``; cosine on unit
    rows): LongTensor [N, k], nearest first.

    The row itself is removed by index, not by dropping the first result (as BINGO's ``clustering.py``
    does): with duplicate rows the first result can be another row."""
    import faiss
    n, d = x.shape
    if not 1 <= k < n:
        raise ValueError(f'bags of k neighbours need 1 <= k < number of rows, got k={k} for {n} rows')
    data = np.ascontiguousarray(x.detach().float().cpu().numpy())
    index = faiss.IndexFlatIP(d)
    index.add(data)
    _, found = index.search(data, k + 1)
    own = found == np.arange(n)[:, None]
    # rows where the sample itself is not among the k + 1 results (ties) drop their last result instead
    own[~own.any(axis=1), -1] = True
    return torch.from_numpy(found[~own].reshape(n, k).astype(np.int64))
