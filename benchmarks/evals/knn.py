"""k-nearest-neighbour evaluation of frozen features.

Two families of rules are computed from a single exact faiss search:

* **Majority vote** (CompRess, Abbasi Koohpayegani et al., NeurIPS 2020; reference code
  ``UMBCvision/CompRess/eval_knn.py``): the unweighted vote among the ``k`` nearest training
  samples; ``k = 1`` is the "NN" column of the CompRess tables, ``k = 20`` the "20-NN" column.
* **Weighted vote** (InstDisc, Wu et al., CVPR 2018, "Unsupervised Feature Learning via
  Non-Parametric Instance Discrimination"; reference code ``zhirongw/lemniscate.pytorch``,
  ``test.py::kNN``): the top ``weighted_k`` (200) neighbours each add ``exp(s_i / T)`` to the
  score of their class, ``s_i`` the cosine similarity and ``T = 0.07``.
"""
from __future__ import annotations

import re
from typing import Iterable

import faiss
import numpy as np

from benchmarks.evals.arrays import l2_normalise, to_numpy

from benchmarks.evals.base import Column, Evaluator, register_evaluator

__all__ = ['knn_evaluate']

_TIE_BREAKS = ('nearest', 'smallest_label')


def _majority_predict(nbr_labels: np.ndarray, k: int, num_classes: int, tie_break: str) -> np.ndarray:
    """Unweighted vote among the first ``k`` columns of ``nbr_labels`` [B, >=k] -> predictions [B]."""
    b = nbr_labels.shape[0]
    lab = nbr_labels[:, :k]
    rows = np.repeat(np.arange(b), k)
    flat = rows * num_classes + lab.ravel()
    counts = np.bincount(flat, minlength=b * num_classes).reshape(b, num_classes)
    if tie_break == 'smallest_label':
        # np.argmax returns the first maximum, i.e. the smallest class id among the tied ones.
        return counts.argmax(axis=1)
    # 'nearest': rank of each class's best-placed neighbour; classes without a vote get k.
    first_rank = np.full((b, num_classes), k, dtype=np.int64)
    np.minimum.at(first_rank, (rows, lab.ravel()), np.tile(np.arange(k), b))
    # first_rank < k for every voted class, so (k + 1) * count dominates and the rank only
    # decides between classes with equal counts; unvoted classes score -k < any voted class.
    score = counts.astype(np.int64) * (k + 1) - first_rank
    return score.argmax(axis=1)


def knn_evaluate(train_feats, train_labels, val_feats, val_labels, *,
                 majority_ks: Iterable[int] = (1, 20), weighted_k: int | None = 200,
                 temperature: float = 0.07, num_classes: int | None = None,
                 tie_break: str = 'nearest', batch_size: int = 4096) -> dict[str, float]:
    """k-NN accuracies of frozen features (majority vote for several k, and InstDisc weighted vote).

    Args:
        train_feats: ``[N_train, D]`` float features (numpy array or torch tensor).
        train_labels: ``[N_train]`` integer class ids in ``[0, num_classes)``.
        val_feats: ``[N_val, D]`` float features.
        val_labels: ``[N_val]`` integer class ids.
        majority_ks: the ``k`` values of the unweighted majority vote (may be empty).
        weighted_k: neighbours of the weighted vote; ``None`` skips that rule.
        temperature: ``T`` of the weighted vote.
        num_classes: defaults to ``max(label) + 1`` over both label arrays.
        tie_break: how a majority vote with several top classes is resolved (see below).
        batch_size: validation queries searched per faiss call, to bound the ``[B, k]`` buffers.

    Returns:
        ``{'knn{k}_top1': ...}`` for every ``k`` in ``majority_ks`` and, unless ``weighted_k`` is
        ``None``, ``'knn{weighted_k}w_top1'`` and ``'knn{weighted_k}w_top5'``; all values are
        accuracies in percent (0-100) as Python floats.

    Features are L2-normalised (float32) inside the function and searched exactly with
    ``faiss.IndexFlatIP``. On unit vectors ``||a - b||^2 = 2 - 2 a.b``, so ranking by inner
    product (cosine similarity) is identical to ranking by Euclidean distance. One search for
    ``max(k)`` neighbours feeds every rule: the k nearest are a prefix of the max(k) nearest.

    Rules:

    1. Majority vote, ``knn{k}_top1`` (CompRess / UMBC ``eval_knn.py``): each of the ``k``
       nearest training samples casts one vote for its label; ``k = 1`` is plain nearest
       neighbour. The reference code breaks vote ties at random; here they are deterministic:
       ``tie_break='nearest'`` (default) picks, among the tied classes, the one whose best-ranked
       neighbour comes first; ``tie_break='smallest_label'`` picks the smallest class id, which is
       what scikit-learn's ``KNeighborsClassifier`` does.
    2. Weighted vote, ``knn{weighted_k}w_top1`` / ``_top5`` (InstDisc, Wu et al. CVPR 2018,
       lemniscate.pytorch ``test.py::kNN``): over the ``weighted_k`` nearest neighbours, class
       ``c`` scores ``sum_i exp(s_i / T) * 1[y_i = c]`` with ``s_i`` the cosine similarity.
       Top-1 is the highest-scoring class (ties: smallest class id); top-5 counts a hit when the
       true class is among the 5 highest scores, and is 100 when there are fewer than 5 classes.

    Raises:
        ValueError: on shape mismatches, an unknown ``tie_break``, non-positive ``k``, labels
            outside ``[0, num_classes)``, or any ``k`` larger than the number of training samples.
    """
    if tie_break not in _TIE_BREAKS:
        raise ValueError(f'tie_break must be one of {_TIE_BREAKS}, got {tie_break!r}')
    majority_ks = [int(k) for k in majority_ks]
    all_ks = list(majority_ks) + ([int(weighted_k)] if weighted_k is not None else [])
    if not all_ks:
        raise ValueError('nothing to evaluate: majority_ks is empty and weighted_k is None')
    if min(all_ks) < 1:
        raise ValueError(f'every k must be >= 1, got majority_ks={majority_ks}, weighted_k={weighted_k}')
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')

    xtr = to_numpy(train_feats, np.float32)
    xva = to_numpy(val_feats, np.float32)
    ytr = to_numpy(train_labels, np.int64).reshape(-1)
    yva = to_numpy(val_labels, np.int64).reshape(-1)
    if xtr.ndim != 2 or xva.ndim != 2:
        raise ValueError(f'features must be 2-D [N, D], got {xtr.shape} and {xva.shape}')
    if xtr.shape[1] != xva.shape[1]:
        raise ValueError(f'feature dims differ: train D={xtr.shape[1]}, val D={xva.shape[1]}')
    if len(xtr) != len(ytr) or len(xva) != len(yva):
        raise ValueError(f'features/labels length mismatch: train {len(xtr)} vs {len(ytr)}, '
                         f'val {len(xva)} vs {len(yva)}')
    n_train, n_val = len(xtr), len(xva)
    if n_val == 0:
        raise ValueError('val set is empty')
    kmax = max(all_ks)
    if kmax > n_train:
        raise ValueError(f'k={kmax} exceeds the number of training samples ({n_train}); '
                         f'lower majority_ks / weighted_k')

    lo = min(ytr.min(), yva.min())
    hi = max(ytr.max(), yva.max())
    if num_classes is None:
        num_classes = int(hi) + 1
    if lo < 0 or hi >= num_classes:
        raise ValueError(f'labels must lie in [0, {num_classes}), found range [{lo}, {hi}]')

    xtr = l2_normalise(xtr)
    xva = l2_normalise(xva)
    index = faiss.IndexFlatIP(xtr.shape[1])
    index.add(xtr)

    maj_correct = {k: 0 for k in majority_ks}
    w_top1 = w_top5 = 0
    for start in range(0, n_val, batch_size):
        q = xva[start:start + batch_size]
        y = yva[start:start + batch_size]
        b = len(q)
        sims, idx = index.search(q, kmax)            # [B, kmax], best first
        nbr_labels = ytr[idx]                          # [B, kmax]

        for k in majority_ks:
            pred = _majority_predict(nbr_labels, k, num_classes, tie_break)
            maj_correct[k] += int((pred == y).sum())

        if weighted_k is not None:
            wk = int(weighted_k)
            # float64: exp(1 / 0.07) ~ 1.6e6, and float32 sums would create spurious score ties.
            w = np.exp(sims[:, :wk].astype(np.float64) / temperature)
            flat = np.repeat(np.arange(b), wk) * num_classes + nbr_labels[:, :wk].ravel()
            scores = np.bincount(flat, weights=w.ravel(), minlength=b * num_classes)
            scores = scores.reshape(b, num_classes)
            w_top1 += int((scores.argmax(axis=1) == y).sum())
            if num_classes >= 5:
                # Stable sort on -score keeps smaller class ids first among equal scores.
                top5 = np.argsort(-scores, axis=1, kind='stable')[:, :5]
                w_top5 += int((top5 == y[:, None]).any(axis=1).sum())

    out: dict[str, float] = {}
    for k in majority_ks:
        out[f'knn{k}_top1'] = 100.0 * maj_correct[k] / n_val
    if weighted_k is not None:
        out[f'knn{weighted_k}w_top1'] = 100.0 * w_top1 / n_val
        out[f'knn{weighted_k}w_top5'] = 100.0 * w_top5 / n_val if num_classes >= 5 else 100.0
    return {key: float(v) for key, v in out.items()}


_KNN_KEY = re.compile(r'^knn(\d+)(w?)_top([15])$')


@register_evaluator('knn')
class KNNEvaluator(Evaluator):
    """k-NN on frozen L2-normalised centre-view features: majority vote for each of ``majority_ks``
    (CompRess) and the ``weighted_k``-NN weighted vote with ``temperature`` (InstDisc), top-1/top-5."""

    order = 10
    uses_features = True
    needs_network = False

    @classmethod
    def check(cls, cfg, evals_cfg):
        problems = []
        ks = cfg.get('majority_ks', [])
        if not all(isinstance(k, int) and k >= 1 for k in ks):
            problems.append(f'evals.knn.majority_ks={ks!r} must be positive integers.')
        if cfg.get('tie_break', 'nearest') not in _TIE_BREAKS:
            problems.append(f"evals.knn.tie_break={cfg.get('tie_break')!r} is not one of {', '.join(_TIE_BREAKS)}.")
        return problems

    @classmethod
    def columns(cls, keys):
        found = {m.groups() for k in keys for m in [_KNN_KEY.match(k)] if m}
        out = []
        for k, weighted, top in sorted(found, key=lambda g: (g[1] == 'w', int(g[0]), g[2])):
            header = f'{k}-NN' + (' w' if weighted else '') + (' top-5' if top == '5' else '')
            out.append(Column(f'knn{k}{weighted}_top{top}', header, '.1f', 'accuracy', 'max', detail=top == '5'))
        return out

    def caption(self):
        ks = '/'.join(str(k) for k in self.cfg['majority_ks'])
        return (f"kNN on frozen L2-normalised centre-view features: {ks}-NN majority vote (CompRess/UMBC protocol, "
                f"ties to the nearest class) and {self.cfg['weighted_k']}-NN weighted vote with "
                f"τ={self.cfg['temperature']} (InstDisc)")

    def run(self, ctx):
        train_f, train_y, val_f, val_y = ctx.features()
        return knn_evaluate(train_f, train_y, val_f, val_y, majority_ks=tuple(self.cfg['majority_ks']),
                            weighted_k=self.cfg['weighted_k'], temperature=self.cfg['temperature'],
                            tie_break=self.cfg.get('tie_break', 'nearest'))
