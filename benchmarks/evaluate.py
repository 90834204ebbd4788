"""Evaluate one backbone with the suite's protocol: features once, then every evaluation on them."""
from __future__ import annotations

from .evals.features import extract_features
from .evals.flops import complexity
from .evals.knn import knn_evaluate


def knn_protocol_name(knn_cfg: dict) -> str:
    ks = '/'.join(str(k) for k in knn_cfg['majority_ks'])
    return (f"kNN on frozen L2-normalised centre-view features: {ks}-NN majority vote (CompRess/UMBC protocol, "
            f"ties to the nearest class) and {knn_cfg['weighted_k']}-NN weighted vote with "
            f"τ={knn_cfg['temperature']} (InstDisc); final epoch, top-1 %")


def evaluate_backbone(backbone, train_set, val_set, evals_cfg: dict, image_size: int, device='cpu',
                      name: str = 'student') -> dict:
    """Metrics of ``backbone`` (None = raw pixels): kNN accuracies, params and GMACs."""
    bs = evals_cfg.get('batch_size', 256)
    if backbone is not None:
        backbone.to(device)
    train_f, train_y = extract_features(backbone, train_set, bs, device, desc=f'{name}: train features')
    val_f, val_y = extract_features(backbone, val_set, bs, device, desc=f'{name}: val features')
    knn = dict(evals_cfg['knn'])
    metrics = knn_evaluate(train_f, train_y, val_f, val_y, majority_ks=tuple(knn['majority_ks']),
                           weighted_k=knn['weighted_k'], temperature=knn['temperature'],
                           tie_break=knn.get('tie_break', 'nearest'))
    if backbone is not None:
        c = complexity(backbone, image_size)
        metrics.update(params_m=c['params_m'], gmacs=c['gmacs'])
        for size in evals_cfg.get('flops', {}).get('sizes', [224]):
            metrics[f'gmacs_{size}'] = complexity(backbone, size)['gmacs']
    return metrics
