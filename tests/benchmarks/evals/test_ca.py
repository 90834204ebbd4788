"""Tests for benchmarks.evals.ca (CompRess cluster alignment): hand-worked matchings, a brute-force
reference for the Hungarian step, and the full pipeline on blobs."""
import itertools

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

from benchmarks.evals.ca import align_clusters, cluster_alignment, match_clusters
from methods.kmeans import faiss_kmeans


def _samples(*groups):
    """(cluster, class, count) triples -> (cluster ids, class ids)."""
    c = np.concatenate([np.full(n, ci) for ci, _, n in groups])
    y = np.concatenate([np.full(n, yi) for _, yi, n in groups])
    return c.astype(np.int64), y.astype(np.int64)


def test_hungarian_beats_greedy_by_hand():
    # Train: cluster 0 = 11 x class 0 + 9 x class 1  -> precision (0.55, 0.45, 0)
    #        cluster 1 =  5 x class 0 + 5 x class 2  -> precision (0.50, 0.00, 0.5)
    #        cluster 2 =  4 x class 2                -> precision (0.00, 0.00, 1.0)
    # Greedy (best remaining pair first): 2->2 (1.0), 0->0 (0.55), 1->1 (0.0): sum 1.55.
    # Hungarian: 2->2 (1.0), 1->0 (0.5), 0->1 (0.45): sum 1.95, the unique optimum
    # (the other four permutations sum to 1.05, 0.95, 0.55 and 0.45).
    tc, ty = _samples((0, 0, 11), (0, 1, 9), (1, 0, 5), (1, 2, 5), (2, 2, 4))
    assert match_clusters(tc, ty, 3, 3).tolist() == [1, 0, 2]
    # Val: cluster 0/class 1 x2 (right), cluster 0/class 0 (wrong), cluster 1/class 0 (right),
    #      cluster 2/class 2 (right), cluster 2/class 0 (wrong) -> 4/6.
    # (The greedy map would get 2/6 here and 15/34 on train.)
    vc, vy = _samples((0, 1, 2), (0, 0, 1), (1, 0, 1), (2, 2, 1), (2, 0, 1))
    res = align_clusters(tc, ty, vc, vy, 3, 3)
    # Train: 9 (cluster 0 as class 1) + 5 (cluster 1 as class 0) + 4 (cluster 2) = 18 of 34.
    assert res == {'ca_top1': 100.0 * 4 / 6, 'ca_train_top1': 100.0 * 18 / 34}


def test_cost_is_precision_not_overlap():
    # Cluster 0 = 60 x class 0 + 40 x class 1 -> precision (0.6, 0.4); cluster 1 = 2 x class 0
    # -> (1, 0). Precision sums: {0->0, 1->1} = 0.6, {0->1, 1->0} = 1.4, so the small pure
    # cluster takes class 0 (official rule) although matching by counts would give 60 vs 42.
    tc, ty = _samples((0, 0, 60), (0, 1, 40), (1, 0, 2))
    assert match_clusters(tc, ty, 2, 2).tolist() == [1, 0]
    vc, vy = _samples((0, 0, 1), (0, 1, 3))
    res = align_clusters(tc, ty, vc, vy, 2, 2)
    assert res == {'ca_top1': 75.0, 'ca_train_top1': 100.0 * 42 / 102}


def test_more_clusters_than_classes_leaves_a_cluster_unmatched():
    # Cluster 0 = 4 x class 0 (1, 0); cluster 1 = 1 x class 0 + 3 x class 1 (0.25, 0.75);
    # cluster 2 = 2 x class 0 + 2 x class 1 (0.5, 0.5). Best pairs: 0->0, 1->1 (1.75) against
    # 0->0, 2->1 (1.5) or 2->0, 1->1 (1.25). Cluster 2 is unmatched: its samples are wrong.
    tc, ty = _samples((0, 0, 4), (1, 0, 1), (1, 1, 3), (2, 0, 2), (2, 1, 2))
    assert match_clusters(tc, ty, 3, 2).tolist() == [0, 1, -1]
    vc, vy = _samples((0, 0, 1), (2, 1, 1))
    res = align_clusters(tc, ty, vc, vy, 3, 2)
    assert res == {'ca_top1': 50.0, 'ca_train_top1': 100.0 * 7 / 12}


def test_fewer_clusters_than_classes_leaves_a_class_unmatched():
    # Cluster 0 = 3 x class 0 + 1 x class 2 (0.75, 0, 0.25); cluster 1 = 2 x class 1 + 1 x class 2
    # (0, 2/3, 1/3). Best: 0->0, 1->1 (1.417); class 2 has no cluster, so its samples are wrong.
    tc, ty = _samples((0, 0, 3), (0, 2, 1), (1, 1, 2), (1, 2, 1))
    assert match_clusters(tc, ty, 2, 3).tolist() == [0, 1]
    vc, vy = _samples((0, 2, 1), (1, 1, 1))
    res = align_clusters(tc, ty, vc, vy, 2, 3)
    assert res == {'ca_top1': 50.0, 'ca_train_top1': 100.0 * 5 / 7}


def test_empty_cluster_costs_nothing():
    # Cluster 2 holds no training sample: its cost row is 0 (no division by zero), so it takes
    # the class left over by the non-empty clusters.
    tc, ty = _samples((0, 0, 2), (1, 1, 2), (0, 2, 1))
    assert match_clusters(tc, ty, 3, 3).tolist() == [0, 1, 2]
    res = align_clusters(tc, ty, [2, 0], [2, 0], 3, 3)
    assert res == {'ca_top1': 100.0, 'ca_train_top1': 80.0}


def _precision(counts):
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def _brute_force_best(counts):
    """Max summed precision over every one-to-one partial map of clusters to classes."""
    prec = _precision(counts)
    k, c = prec.shape
    best = -1.0
    if k <= c:
        for cols in itertools.permutations(range(c), k):
            best = max(best, sum(prec[i, j] for i, j in enumerate(cols)))
    else:
        for rows in itertools.permutations(range(k), c):
            best = max(best, sum(prec[i, j] for j, i in enumerate(rows)))
    return best


@pytest.mark.parametrize('k,c', [(4, 4), (3, 5), (5, 3)])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_matching_is_optimal_against_brute_force(k, c, seed):
    rng = np.random.default_rng(seed)
    n = 60
    tc, ty = rng.integers(0, k, n), rng.integers(0, c, n)
    mapping = match_clusters(tc, ty, k, c)
    matched = mapping[mapping >= 0]
    assert len(matched) == min(k, c) and len(set(matched.tolist())) == len(matched)
    counts = np.zeros((k, c))
    np.add.at(counts, (tc, ty), 1)
    prec = _precision(counts)
    got = sum(prec[i, mapping[i]] for i in range(k) if mapping[i] >= 0)
    assert got == pytest.approx(_brute_force_best(counts), abs=1e-12)


def _blobs(n_classes, std, seed, n=300, split=200):
    x, y = make_blobs(n_samples=n, n_features=16, centers=n_classes, cluster_std=std,
                      center_box=(-5.0, 5.0), random_state=seed)
    x = x.astype(np.float32)
    return x[:split], y[:split], x[split:], y[split:]


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_well_separated_blobs_score_100(seed):
    # With nredo=1 faiss's random initialisation merges blobs for some seeds (seed 1 gives 41 %,
    # see the nredo test); the lowest-inertia of 10 runs separates them.
    xtr, ytr, xva, yva = _blobs(5, 0.3, seed)
    res = cluster_alignment(xtr, ytr, xva, yva, seed=seed, nredo=10)
    assert res == {'ca_top1': 100.0, 'ca_train_top1': 100.0}


def test_matches_an_independent_pipeline():
    # Reference: the same faiss k-means, then numpy nearest-centroid for val and a brute-force
    # matching; overlapping blobs so that the score is far from 0 and 100.
    xtr, ytr, xva, yva = _blobs(4, 4.0, 7)
    res = cluster_alignment(xtr, ytr, xva, yva, seed=3)

    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    assign, cents = faiss_kmeans(torch.from_numpy(unit(xtr)), 4, niter=20, seed=3)
    tc, cents = assign.numpy(), cents.numpy().astype(np.float64)
    vc = ((unit(xva)[:, None, :] - cents[None]) ** 2).sum(-1).argmin(1)
    counts = np.zeros((4, 4))
    np.add.at(counts, (tc, ytr), 1)
    prec = _precision(counts)
    perm = max(itertools.permutations(range(4)), key=lambda p: sum(prec[i, p[i]] for i in range(4)))
    perm = np.array(perm)
    assert res['ca_top1'] == 100.0 * int(np.sum(perm[vc] == yva)) / len(yva)
    assert res['ca_train_top1'] == 100.0 * int(np.sum(perm[tc] == ytr)) / len(ytr)
    assert 30.0 < res['ca_top1'] < 95.0


def test_permuted_labels_scale_and_torch_inputs_do_not_change_the_score():
    xtr, ytr, xva, yva = _blobs(4, 4.0, 7)
    ref = cluster_alignment(xtr, ytr, xva, yva)
    assert all(isinstance(v, float) for v in ref.values()) and set(ref) == {'ca_top1', 'ca_train_top1'}
    perm = np.array([2, 0, 3, 1])
    assert cluster_alignment(xtr, perm[ytr], xva, perm[yva]) == ref
    assert cluster_alignment(3.0 * xtr, ytr, 0.5 * xva, yva) == ref
    assert cluster_alignment(torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(xva),
                             torch.from_numpy(yva), num_clusters=4, num_classes=4) == ref


def test_nredo_keeps_the_lowest_inertia_run():
    xtr, ytr, xva, yva = _blobs(5, 0.3, 1)
    unit = xtr / np.linalg.norm(xtr, axis=1, keepdims=True)
    runs = []
    for s in (1, 2, 3):
        a, cen = faiss_kmeans(torch.from_numpy(unit), 5, niter=20, seed=s)
        inertia = float(((unit - cen.numpy()[a.numpy()]) ** 2).sum())
        runs.append((inertia, s))
    best_seed = min(runs)[1]
    single = cluster_alignment(xtr, ytr, xva, yva, seed=1)
    best = cluster_alignment(xtr, ytr, xva, yva, seed=1, nredo=3)
    assert best == cluster_alignment(xtr, ytr, xva, yva, seed=best_seed)
    # The first seed is a bad local minimum (blobs merged), so the choice is not vacuous.
    assert best_seed != 1 and single['ca_top1'] < best['ca_top1'] == 100.0


def test_rectangular_k_runs_and_bad_inputs_raise():
    xtr, ytr, xva, yva = _blobs(4, 0.3, 0)
    # 8 clusters for 4 separated classes: each class splits in two, one half is unmatched.
    res = cluster_alignment(xtr, ytr, xva, yva, num_clusters=8)
    assert 0.0 < res['ca_train_top1'] < 100.0
    with pytest.raises(ValueError, match='lie in'):
        cluster_alignment(xtr, ytr, xva, yva, num_classes=3)
    with pytest.raises(ValueError, match='feature dims'):
        cluster_alignment(xtr, ytr, xva[:, :8], yva)
    with pytest.raises(ValueError, match='k-means needs'):
        cluster_alignment(xtr[:3], ytr[:3], xva, yva)
    with pytest.raises(ValueError, match='nredo'):
        cluster_alignment(xtr, ytr, xva, yva, nredo=0)
