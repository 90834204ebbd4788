"""Image retrieval Recall@K of frozen features, under the class-disjoint protocol.

Protocol (Oh Song, Xiang, Jegelka, Savarese, "Deep Metric Learning via Lifted Structured Feature
Embedding", CVPR 2016; docs/methods.md#retrieval; reference code ``rksltnl/Deep-Metric-Learning-CVPR16``,
whose evaluation the metric-learning repos that report CUB/Cars Recall@K follow):

* the classes, sorted by id, are cut in two: the first half is the train part, the second half the
  test part (`class_disjoint_split`); CUB-200-2011: classes 1-100 / 101-200 (5,864 / 5,924 images),
  Cars-196: 1-98 / 99-196 (8,054 / 8,131). The datasets' official train/test splits are ignored;
* every test image is a query against all *other* test images (the query itself is excluded);
* Recall@K is the percentage of queries with at least one image of their own class among their
  K nearest neighbours, K in {1, 2, 4, 8}.

For the frozen self-supervised features of this harness, features are the (centre-view, penultimate)
features of `benchmarks.engine.features.extract_features`, L2-normalised here, and compared by inner
product (cosine similarity), which ranks exactly as the Euclidean distance of the reference code
does on unit vectors. Deviation: nothing is trained on the train part; it is only excluded from the
test set (whether CompRess fine-tuned on it is unverified, docs/methods.md#retrieval).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from benchmarks.data.splits import class_disjoint_split
from benchmarks.evals.arrays import l2_normalise, to_numpy
from benchmarks.evals.base import Evaluator, numbered_columns, register_evaluator

__all__ = ['recall_at_k', 'class_disjoint_split', 'RECALL_KS']

RECALL_KS = (1, 2, 4, 8)
# Elements of one [block, N] similarity block (float32: 128 MiB); bounds memory for any N.
_BLOCK_ELEMENTS = 1 << 25


def recall_at_k(features, labels, ks: Iterable[int] = RECALL_KS, *,
                block_size: int | None = None) -> dict[str, float]:
    """Recall@K of every sample queried against all the others (class-disjoint retrieval protocol).

    Args:
        features: ``[N, D]`` float features of the test part (numpy array or torch tensor); they
            are L2-normalised (float32) here, so their scale does not matter.
        labels: ``[N]`` integer class ids (any integers; only equality is used).
        ks: the K values; each must be >= 1. A K >= N - 1 retrieves every other sample.
        block_size: queries per similarity block; ``None`` picks the largest block whose
            ``[block, N]`` float32 similarity matrix holds 2**25 elements (128 MiB), so ~50k queries
            never build an N x N matrix.

    Returns:
        ``{'retrieval_r{K}': recall}`` for every K in ``ks`` (e.g. ``'retrieval_r1'``), Python
        floats in percent (0-100): 100 * (#queries with a same-class sample among their K nearest) / N.

    Self-exclusion and ties:

    * The query is excluded **by index**, not by similarity: another sample with the very same
      features (a duplicate image) is still a neighbour, ranked first with similarity 1.
    * Neighbours are ranked by decreasing cosine similarity, and samples of **equal** similarity by
      increasing index (a stable sort on ``-similarity``). Exact duplicates get bitwise-equal
      similarities (each duplicate's column is copied from its first copy), so the rule holds for
      them whatever the BLAS; distinct vectors whose float32 similarities differ by
      rounding only (~1e-7) are ordered as the float32 product says, as any faiss search would.
    * A query whose class has no other sample can never hit; it counts as a miss.

    The ranking is never sorted: with ``s*`` the best same-class similarity of a query and ``j*``
    the smallest index reaching it, the rank of the first same-class neighbour is the number of
    other-class samples ranked before ``j*`` (similarity > s*, or = s* with index < j*), and the
    query hits at K iff that rank < K. One pass over each block serves every K.

    Raises:
        ValueError: on shape mismatches, non-finite features, fewer than 2 samples, an empty ``ks``
            or a K < 1, or ``block_size < 1``.
    """
    ks = [int(k) for k in ks]
    if not ks:
        raise ValueError('ks is empty; pass the K values of Recall@K, e.g. (1, 2, 4, 8)')
    if min(ks) < 1:
        raise ValueError(f'every K must be >= 1, got {ks}')
    if block_size is not None and block_size < 1:
        raise ValueError(f'block_size must be >= 1, got {block_size}')
    x = to_numpy(features, np.float32)
    y = to_numpy(labels, np.int64).reshape(-1)
    if x.ndim != 2:
        raise ValueError(f'features must be 2-D [N, D], got shape {x.shape}')
    if len(x) != len(y):
        raise ValueError(f'features/labels length mismatch: {len(x)} vs {len(y)}')
    n = len(x)
    if n < 2:
        raise ValueError(f'retrieval needs at least 2 samples (a query and another sample), got {n}')
    if not np.isfinite(x).all():
        raise ValueError('features contain NaN or infinite values')

    x = l2_normalise(x)
    # A BLAS may round the same dot product differently at different matrix positions; copying
    # each duplicated row's similarity column from its first copy makes exact duplicates tie
    # exactly, so the index rule decides between them.
    _, first_copy, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)
    canon = first_copy[inverse.reshape(-1)]
    dups = np.flatnonzero(canon != np.arange(n))
    if block_size is None:
        block_size = max(1, _BLOCK_ELEMENTS // n)
    cols = np.arange(n)

    hits = np.zeros(len(ks), dtype=np.int64)
    kcol = np.asarray(ks)[None, :]
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        b = stop - start
        rows = np.arange(b)
        sims = x[start:stop] @ x.T                                      # [B, N]
        if dups.size:
            sims[:, dups] = sims[:, canon[dups]]
        same = y[start:stop, None] == y[None, :]                        # [B, N]
        same[rows, start + rows] = False                                 # the query itself
        sims[rows, start + rows] = -np.inf                               # ... is nobody's neighbour

        best = np.where(same, sims, -np.inf).max(axis=1)                 # s*  [B]
        found = best > -np.inf                                           # a same-class sample exists
        at_best = sims == best[:, None]
        first = np.argmax(at_best & same, axis=1)                        # j*  [B]
        before = (sims > best[:, None]) | (at_best & (cols[None, :] < first[:, None]))
        rank = np.count_nonzero(before & ~same, axis=1)                  # self: sims = -inf, never before
        hits += np.count_nonzero(found[:, None] & (rank[:, None] < kcol), axis=0)

    return {f'retrieval_r{k}': float(100.0 * int(h) / n) for k, h in zip(ks, hits)}


RETRIEVAL_DATASETS = ('val_split', 'cub200', 'cars196', 'imagefolder')


@register_evaluator('retrieval')
class RetrievalEvaluator(Evaluator):
    """Class-disjoint Recall@K: the second half of the classes, each query against all the others;
    on the suite's val split, or on an external test set (``dataset`` + ``root``) embedded here."""

    order = 30
    uses_features = True
    needs_network = False

    @classmethod
    def check(cls, cfg, evals_cfg):
        from pathlib import Path
        dataset = cfg.get('dataset', 'val_split')
        if dataset == 'val_split':
            return []
        if dataset not in RETRIEVAL_DATASETS:
            return [f"evals.retrieval.dataset={dataset!r} is not one of {', '.join(RETRIEVAL_DATASETS)}."]
        if not cfg.get('root') or not Path(cfg['root']).is_dir():
            return [f"evals.retrieval.root={cfg.get('root')!r} is not a directory; pass the {dataset} folder with "
                    f"--cfg-options evals.retrieval.root=DIR."]
        return []

    @classmethod
    def columns(cls, keys):
        return numbered_columns(keys, r'retrieval_r(\d+)', 'R@{}', fmt='.1f', group='retrieval', better='max')

    def caption(self):
        where = ('the evaluation split' if self.cfg.get('dataset', 'val_split') == 'val_split'
                 else self.cfg['dataset'])
        return (f"retrieval Recall@{'/'.join(str(k) for k in self.cfg.get('ks', [1, 2, 4, 8]))} on {where}, "
                f"second half of the classes, each query against the others (Oh Song et al. 2016)")

    def run(self, ctx):
        if ctx.retrieval_set is None:  # the class-disjoint split of the suite's own val set
            _, _, val_f, val_y = ctx.features()
            _, idx = class_disjoint_split(val_y, ctx.num_classes)
            feats, labels = val_f[idx], val_y[idx]
        else:
            feats, labels = ctx.embed(ctx.retrieval_set, 'retrieval')
        return recall_at_k(feats, labels, ks=tuple(self.cfg.get('ks', [1, 2, 4, 8])))
