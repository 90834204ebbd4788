"""Evaluate one backbone with the suite's protocol: features once, then every selected evaluation.

The evaluations (``evals.suites`` in the config, ``--suites`` on the command line):

* ``knn``       majority vote k ∈ {1, 20} (CompRess) and 200-NN weighted vote (InstDisc), top-1/top-5
* ``linear``    linear probe on frozen features, protocol ``compress`` or ``moco`` (evals/linear.py);
                mode ``cached`` (centre-view features extracted once, the fast path) or ``augmented``
* ``retrieval`` Recall@1/2/4/8, class-disjoint (second half of the classes, each query against the
                others); on the suite's val split by default, or CUB-200-2011 / Cars-196 / an ImageFolder
* ``ca``        CompRess cluster alignment: k-means (k = classes) on train, Hungarian matching, val acc
* ``flops``     params and GMACs (fvcore, backbone only) at the suite resolution and ``flops.sizes``
* ``latency``   median forward time at batch 1 and 64 on the current device, throughput
* ``detection`` Faster R-CNN transfer with MMDetection in a subprocess (evals/detection.py), AP50/AP/AP75;
                it needs the exported backbone file, so `detection_metrics` runs it from the file

Train and val centre-view features are extracted once per backbone and shared by knn, linear, ca and
retrieval; only the augment-every-epoch linear probe and an external retrieval set embed images again.
``backbone=None`` evaluates raw pixels (the floor row): every feature-based evaluation, no cost columns.
"""
from __future__ import annotations

import numpy as np

EVALUATIONS = ('knn', 'linear', 'retrieval', 'ca', 'flops', 'latency', 'detection')
FEATURE_EVALS = ('knn', 'linear', 'retrieval', 'ca')


def parse_suites(text) -> list[str]:
    """``'knn,linear'`` or a list -> validated list of evaluation names (ValueError names the valid ones)."""
    names = [s.strip() for s in (text.split(',') if isinstance(text, str) else text) if s and s.strip()]
    unknown = [n for n in names if n not in EVALUATIONS]
    if unknown or not names:
        raise ValueError(f'unknown evaluation(s) {", ".join(unknown) or "(none given)"}; valid: {", ".join(EVALUATIONS)}.')
    return names


def knn_protocol_name(knn_cfg: dict) -> str:
    ks = '/'.join(str(k) for k in knn_cfg['majority_ks'])
    return (f"kNN on frozen L2-normalised centre-view features: {ks}-NN majority vote (CompRess/UMBC protocol, "
            f"ties to the nearest class) and {knn_cfg['weighted_k']}-NN weighted vote with "
            f"τ={knn_cfg['temperature']} (InstDisc)")


def protocol_caption(evals_cfg: dict) -> str:
    """One sentence per selected evaluation, for the leaderboard caption."""
    suites = list(evals_cfg.get('suites', ['knn', 'flops']))
    parts = []
    if 'knn' in suites:
        parts.append(knn_protocol_name(evals_cfg['knn']))
    if 'linear' in suites:
        lin = evals_cfg['linear']
        parts.append(f"linear probe: {lin['protocol']} protocol (research/methods.md §1.7/§6.1), "
                     f"{'centre-view features extracted once' if lin.get('mode', 'cached') == 'cached' else 'augmented every epoch'}"
                     f", epochs ×{lin.get('epochs_scale', 1.0):g}")
    if 'retrieval' in suites:
        ret = evals_cfg['retrieval']
        where = 'the val split' if ret.get('dataset', 'val_split') == 'val_split' else ret['dataset']
        parts.append(f"retrieval Recall@{'/'.join(str(k) for k in ret.get('ks', [1, 2, 4, 8]))} on {where}, "
                     f"second half of the classes, each query against the others (Oh Song et al. 2016)")
    if 'ca' in suites:
        parts.append('CA: k-means with k = classes on train features, Hungarian matching on train, val accuracy '
                     '(CompRess)')
    if 'latency' in suites:
        parts.append('latency: median forward time, batch 1 and 64')
    if 'detection' in suites:
        det = evals_cfg['detection']
        data = det.get('data_root') or f"embedded detection data ({det.get('format', 'voc')} layout)"
        parts.append(f"detection: {det['config'].split('/')[-1].removesuffix('.py')} (MMDetection) on {data}, "
                     f"AP50 / AP@[.5:.95], mean of {det.get('trials', 1)} trial(s)")
    return '; '.join(parts) + '; final epoch, %'


def evaluate_features(train_f, train_y, val_f, val_y, evals_cfg: dict, suites, device='cpu', seed: int = 0,
                      retrieval_features=None, num_classes: int | None = None) -> dict:
    """Every feature-based evaluation in ``suites`` on features extracted once. ``num_classes``: the
    dataset's class count (default: the largest label seen + 1)."""
    from benchmarks.evals.retrieval import class_disjoint_split, recall_at_k
    metrics = {}
    num_classes = num_classes or int(max(train_y.max(), val_y.max())) + 1
    if 'knn' in suites:
        from benchmarks.evals.knn import knn_evaluate
        knn = dict(evals_cfg['knn'])
        metrics.update(knn_evaluate(train_f, train_y, val_f, val_y, majority_ks=tuple(knn['majority_ks']),
                                    weighted_k=knn['weighted_k'], temperature=knn['temperature'],
                                    tie_break=knn.get('tie_break', 'nearest')))
    if 'linear' in suites and evals_cfg['linear'].get('mode', 'cached') == 'cached':
        from benchmarks.evals.linear import linear_probe
        lin = evals_cfg['linear']
        metrics.update(linear_probe(train_f, train_y, val_f, val_y, protocol=lin['protocol'],
                                    num_classes=num_classes, epochs_scale=lin.get('epochs_scale', 1.0), seed=seed,
                                    device=device))
    if 'retrieval' in suites:
        ret = evals_cfg['retrieval']
        if retrieval_features is None:  # the class-disjoint split of the suite's own val set
            _, idx = class_disjoint_split(val_y, num_classes)
            feats, labels = val_f[idx], val_y[idx]
        else:
            feats, labels = retrieval_features
        metrics.update(recall_at_k(feats, labels, ks=tuple(ret.get('ks', [1, 2, 4, 8]))))
    if 'ca' in suites:
        from benchmarks.evals.ca import cluster_alignment
        ca = evals_cfg.get('ca', {})
        metrics.update(cluster_alignment(train_f, train_y, val_f, val_y, num_clusters=ca.get('num_clusters'),
                                         niter=ca.get('niter', 20), seed=seed, num_classes=num_classes,
                                         nredo=ca.get('nredo', 1)))
    return metrics


def evaluate_backbone(backbone, train_set, val_set, evals_cfg: dict, image_size: int, device='cpu',
                      name: str = 'student', retrieval_set=None, seed: int = 0) -> dict:
    """Metrics of ``backbone`` (None = raw pixels) for the evaluations in ``evals_cfg['suites']``.

    ``retrieval_set``: an external class-disjoint test set (CUB, Cars, ImageFolder) already restricted
    to its test classes; None = the suite's val split.
    """
    from benchmarks.engine.features import extract_features  # torch: imported only when evaluating
    suites = parse_suites(evals_cfg.get('suites', ['knn', 'flops']))
    bs = evals_cfg.get('batch_size', 256)
    if backbone is not None:
        backbone.to(device)
    metrics = {}
    if any(s in suites for s in FEATURE_EVALS):
        train_f, train_y = extract_features(backbone, train_set, bs, device, desc=f'{name}: train features')
        val_f, val_y = extract_features(backbone, val_set, bs, device, desc=f'{name}: val features')
        retrieval_features = None
        if 'retrieval' in suites and retrieval_set is not None:
            retrieval_features = extract_features(backbone, retrieval_set, bs, device,
                                                  desc=f'{name}: retrieval features')
        metrics.update(evaluate_features(train_f, train_y, val_f, val_y, evals_cfg, suites, device, seed,
                                         retrieval_features, num_classes=len(train_set.classes)))
    if 'linear' in suites and evals_cfg['linear'].get('mode', 'cached') == 'augmented':
        from benchmarks.evals.linear import linear_probe_augmented
        lin = evals_cfg['linear']
        if backbone is None:  # raw pixels through the augmented path: identity "backbone"
            metrics['linear_mode'] = 'augmented (skipped for raw pixels)'
        else:
            metrics.update(linear_probe_augmented(backbone, train_set, val_set, protocol=lin['protocol'],
                                                  num_classes=len(train_set.classes),
                                                  epochs_scale=lin.get('epochs_scale', 1.0),
                                                  recipe=lin.get('recipe', 'compress'), device=device, seed=seed))
    if backbone is not None and 'flops' in suites:
        from benchmarks.evals.flops import complexity
        c = complexity(backbone, image_size)
        metrics.update(params_m=c['params_m'], gmacs=c['gmacs'])
        for size in evals_cfg.get('flops', {}).get('sizes', [224]):
            metrics[f'gmacs_{size}'] = complexity(backbone, size)['gmacs']
    if backbone is not None and 'latency' in suites:
        from benchmarks.evals.latency import measure_latency
        lat = dict(evals_cfg.get('latency', {}))
        metrics.update(measure_latency(backbone, image_size, device, batch_sizes=tuple(lat.get('batch_sizes', (1, 64))),
                                       max_time_s=lat.get('max_time_s', 2.0)))
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in metrics.items()}


def detection_data_root(det_cfg: dict, cache_dir=None) -> str:
    """The dataset root of ``evals.detection``: ``data_root`` or, when None, the embedded detection set
    (generated once, in the layout ``format`` names: 'voc' or 'coco')."""
    if det_cfg.get('data_root'):
        return str(det_cfg['data_root'])
    from benchmarks.data.detection import DetectionSpec, materialise_detection
    spec = DetectionSpec(**dict(det_cfg.get('embedded', {})))
    return str(materialise_detection(spec, cache_dir) / det_cfg.get('format', 'voc'))


def detection_metrics(backbone_path, evals_cfg: dict, work_dir, seed: int = 0, data_root=None) -> dict:
    """Detection transfer of an exported backbone (its ``.json`` spec next to it), in a subprocess.

    Returns ``det_ap50/det_ap/det_ap75`` (+ ``_std`` over trials, ``det_seconds``) and ``det_status``
    'ok', or ``det_status='failed'`` with ``det_error``: a failed run never loses the other results.
    """
    from benchmarks.evals.detection import METRIC_KEYS, run_detection_subprocess
    det = dict(evals_cfg['detection'])
    try:
        root = data_root or detection_data_root(det)
    except Exception as exc:  # data generation problems fail this cell only, with the reason
        return dict(det_status='failed', det_error=f'detection data: {exc}')
    out = run_detection_subprocess(backbone_path, det['config'], root, work_dir, trials=det.get('trials', 1),
                                   seed=seed, options=list(det.get('options', [])), timeout_s=det.get('timeout_s'))
    keep = [*METRIC_KEYS, *(f'{k}_std' for k in METRIC_KEYS), 'det_seconds', 'det_status', 'det_error']
    return {k: out[k] for k in keep if k in out}
