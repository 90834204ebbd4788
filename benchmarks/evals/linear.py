"""Linear probe on frozen features: a single ``Linear(D, num_classes)`` head trained with SGD.

Two named protocols (docs/methods.md#linear-probe), the dict ``PROTOCOLS``:

* ``'compress'`` (CompRess, Abbasi Koohpayegani et al., NeurIPS 2020; reference code
  ``UMBCvision/CompRess/eval_linear.py``): head = ``Normalize (L2) -> FullBatchNorm -> Linear``.
  FullBatchNorm is a fixed, non-trainable standardisation ``(x - mean) / sqrt(var + 1e-5)`` with
  the per-dimension mean and (unbiased, ``torch.var_mean``) variance of the L2-normalised
  centre-view *train* features, computed once. SGD lr 0.01, momentum 0.9, weight decay 1e-4,
  batch 256, 40 epochs, lr x0.1 at epochs 15 and 30 (the official ``--lr_schedule 15,30,40`` also
  lists 40, the end of training, which changes nothing). ``nn.Linear``'s default initialisation.
* ``'moco'`` (MoCo v1/v2, He et al. CVPR 2020 / Chen et al. arXiv 2003.04297, also used by SEED,
  Fang et al. ICLR 2021; reference code ``facebookresearch/moco/main_lincls.py``): raw avgpool
  features, weight ~ N(0, 0.01), bias 0; SGD lr 30, momentum 0.9, weight decay 0, batch 256,
  100 epochs, lr x0.1 at epochs 60 and 80.

Two ways to feed the head, sharing one training core (`_train_head`, which asks a provider for
the ``[N, D]`` training features of each epoch):

* `linear_probe` ("cached", the suite's fast path): centre-view features extracted once
  (`benchmarks.engine.features.extract_features`) and reused every epoch. Deviation from both
  reference codes, which re-augment the training images (RRC + flip) every epoch.
* `linear_probe_augmented` ("augmented", the official recipe): every epoch the frozen backbone
  embeds a freshly augmented view of every training image, seeded per ``(epoch, index)``.

Deviations common to both paths: the number of epochs can be scaled by the suite's budget
(``epochs_scale``, milestones scaled alike); the final-epoch accuracy is reported, never the best
epoch (CompRess tracks ``best_acc1``); a zero feature vector is left at zero by the L2
normalisation instead of becoming NaN; the augmented path embeds all of an epoch's views and then
draws the shuffled mini-batches from them, instead of augmenting inside each mini-batch (same
views-per-sample-per-epoch, same shuffling distribution).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from benchmarks.data.batch_views import made_views
from benchmarks.data.datasets import ViewsPreprocessor
from benchmarks.engine.features import extract_features
from benchmarks.evals.base import Column, Evaluator, register_evaluator

__all__ = ['PROTOCOLS', 'FeatureTransform', 'scaled_schedule', 'lr_per_epoch', 'linear_probe',
           'linear_probe_augmented']

PROTOCOLS: dict[str, dict] = {
    'compress': dict(l2_normalise=True, standardise=True, init='default', lr=0.01, momentum=0.9,
                     weight_decay=1e-4, batch_size=256, epochs=40, milestones=(15, 30), gamma=0.1),
    'moco': dict(l2_normalise=False, standardise=False, init='normal_0.01', lr=30.0, momentum=0.9,
                 weight_decay=0.0, batch_size=256, epochs=100, milestones=(60, 80), gamma=0.1),
}

_STANDARDISE_EPS = 1e-5     # FullBatchNorm's eps in CompRess eval_linear.py
_EVAL_CHUNK = 8192          # val rows per logits block, bounds the [B, num_classes] buffer


def _protocol(name: str) -> dict:
    if name not in PROTOCOLS:
        raise ValueError(f'unknown linear protocol {name!r}; valid names: {", ".join(PROTOCOLS)}')
    return PROTOCOLS[name]


def _round_half_up(x: float) -> int:
    # Python's round() sends 2.5 to 2 (banker's rounding); a schedule should not depend on parity.
    return int(math.floor(x + 0.5))


def scaled_schedule(protocol: str, epochs_scale: float = 1.0) -> tuple[int, tuple[int, ...]]:
    """``(epochs, milestones)`` of ``protocol`` with both scaled by ``epochs_scale``.

    ``epochs = max(1, round(E * s))``; each milestone becomes ``max(1, round(m * s))`` (a drop at
    epoch 0 would silently lower the base lr) and is dropped when it is ``>= epochs`` (it would
    never act). Rounding is half-up. Two milestones that round to the same epoch both stay, so
    the lr of the last phase is the protocol's last-phase lr whatever the scale.
    """
    if not epochs_scale > 0:
        raise ValueError(f'epochs_scale must be > 0, got {epochs_scale}')
    cfg = _protocol(protocol)
    epochs = max(1, _round_half_up(cfg['epochs'] * epochs_scale))
    milestones = tuple(m for m in (max(1, _round_half_up(m * epochs_scale)) for m in cfg['milestones'])
                       if m < epochs)
    return epochs, milestones


def lr_per_epoch(protocol: str, epochs_scale: float = 1.0) -> list[float]:
    """The learning rate used during each epoch ``0 .. epochs-1`` (step decay, as MultiStepLR).

    Epoch ``e`` uses ``lr * gamma ** #{milestones m : m <= e}``: CompRess steps MultiStepLR after
    each epoch, MoCo's ``adjust_learning_rate`` multiplies by 0.1 for every ``epoch >= m``;
    both give this.
    """
    cfg = _protocol(protocol)
    epochs, milestones = scaled_schedule(protocol, epochs_scale)
    return [cfg['lr'] * cfg['gamma'] ** sum(m <= e for m in milestones) for e in range(epochs)]


class FeatureTransform:
    """The fixed map from backbone features ``[N, D]`` to the head's input ``[N, D]``.

    ``'compress'``: ``x / ||x||_2`` then ``(x - mean) * inv_std`` with ``mean``, ``var`` of the
    L2-normalised train features (``var`` unbiased, as ``torch.var_mean`` in the reference code)
    and ``inv_std = 1 / sqrt(var + 1e-5)``. ``'moco'``: identity. Never trained, never refitted on
    other data: the val features go through the train statistics.
    """

    def __init__(self, l2_normalise: bool, mean: torch.Tensor | None = None,
                 inv_std: torch.Tensor | None = None):
        self.l2_normalise = l2_normalise
        self.mean = mean
        self.inv_std = inv_std

    @classmethod
    def fit(cls, train_feats: torch.Tensor, protocol: str) -> 'FeatureTransform':
        """Fit on the (centre-view) train features ``[N, D]`` of ``protocol``."""
        cfg = _protocol(protocol)
        if not cfg['standardise']:
            return cls(cfg['l2_normalise'])
        if len(train_feats) < 2:
            raise ValueError('standardisation needs at least 2 training samples (unbiased variance)')
        x = cls(cfg['l2_normalise'])(train_feats)
        var, mean = torch.var_mean(x, dim=0)
        return cls(cfg['l2_normalise'], mean, torch.rsqrt(var + _STANDARDISE_EPS))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.l2_normalise:
            x = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
        if self.mean is not None:
            x = (x - self.mean) * self.inv_std
        return x


def _init_head(cfg: dict, dim: int, num_classes: int, gen: torch.Generator):
    """(weight [C, D], bias [C]) drawn from ``gen`` so that the global RNG is left alone."""
    if cfg['init'] == 'normal_0.01':
        weight = torch.randn(num_classes, dim, generator=gen) * 0.01
        bias = torch.zeros(num_classes)
    else:
        # nn.Linear's default: kaiming_uniform(a=sqrt(5)) on the weight and the bias both reduce
        # to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        bound = 1.0 / math.sqrt(dim)
        weight = (torch.rand(num_classes, dim, generator=gen) * 2 - 1) * bound
        bias = (torch.rand(num_classes, generator=gen) * 2 - 1) * bound
    return weight, bias


@torch.no_grad()
def _accuracies(weight, bias, val_x, val_y, num_classes: int) -> tuple[float, float]:
    top1 = top5 = 0
    for start in range(0, len(val_x), _EVAL_CHUNK):
        logits = F.linear(val_x[start:start + _EVAL_CHUNK], weight, bias)
        y = val_y[start:start + _EVAL_CHUNK]
        top1 += int((logits.argmax(dim=1) == y).sum())
        if num_classes >= 5:
            top5 += int((logits.topk(5, dim=1).indices == y[:, None]).any(dim=1).sum())
    n = len(val_x)
    # With fewer than 5 classes the true class is always among the top 5 (as in knn.py).
    return 100.0 * top1 / n, (100.0 * top5 / n if num_classes >= 5 else 100.0)


def _train_head(epoch_features: Callable[[int], torch.Tensor], train_y: torch.Tensor,
                val_x: torch.Tensor, val_y: torch.Tensor, *, protocol: str, num_classes: int,
                epochs_scale: float, seed: int, batch_size: int | None, device) -> dict:
    """The training core of both paths.

    ``epoch_features(e)`` returns the head inputs ``[N, D]`` (already through `FeatureTransform`)
    of the training set for epoch ``e``, on ``device``, rows in dataset order; ``train_y`` [N] and
    the val inputs ``val_x`` [M, D] / ``val_y`` [M] live on ``device`` too. Returns the metrics of
    the head after the final epoch.
    """
    cfg = _protocol(protocol)
    epochs, milestones = scaled_schedule(protocol, epochs_scale)
    lrs = lr_per_epoch(protocol, epochs_scale)
    bs = int(batch_size or cfg['batch_size'])
    if bs < 1:
        raise ValueError(f'batch_size must be >= 1, got {bs}')
    n, dim = len(train_y), val_x.shape[1]

    gen = torch.Generator().manual_seed(seed)   # head init and shuffling; CPU so it is device-free
    weight, bias = _init_head(cfg, dim, num_classes, gen)
    weight = weight.to(device).requires_grad_()
    bias = bias.to(device).requires_grad_()
    # Weight decay on the bias too: both reference codes pass all head parameters to SGD.
    opt = torch.optim.SGD([weight, bias], lr=cfg['lr'], momentum=cfg['momentum'],
                          weight_decay=cfg['weight_decay'])
    for epoch in range(epochs):
        x = epoch_features(epoch)
        if x.shape != (n, dim):
            raise ValueError(f'epoch {epoch}: features {tuple(x.shape)}, expected {(n, dim)}')
        for group in opt.param_groups:
            group['lr'] = lrs[epoch]
        perm = torch.randperm(n, generator=gen).to(device)
        # The last, smaller batch is kept (DataLoader drop_last=False in both reference codes).
        for start in range(0, n, bs):
            idx = perm[start:start + bs]
            loss = F.cross_entropy(F.linear(x[idx], weight, bias), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    if not (torch.isfinite(weight).all() and torch.isfinite(bias).all()):
        raise FloatingPointError(f'the {protocol!r} linear head diverged (non-finite weights); '
                                 f'its lr {cfg["lr"]} does not suit these features')
    top1, top5 = _accuracies(weight.detach(), bias.detach(), val_x, val_y, num_classes)
    return {'linear_top1': float(top1), 'linear_top5': float(top5), 'linear_protocol': protocol,
            'linear_epochs': int(epochs), 'linear_milestones': ','.join(map(str, milestones)),
            'linear_batch_size': bs}


def _as_tensor(x, dtype, device) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().to(device=device, dtype=dtype)
    return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)


def _check_labels(train_y: torch.Tensor, val_y: torch.Tensor, num_classes: int | None) -> int:
    lo = int(min(train_y.min(), val_y.min()))
    hi = int(max(train_y.max(), val_y.max()))
    if num_classes is None:
        num_classes = hi + 1
    if lo < 0 or hi >= num_classes:
        raise ValueError(f'labels must lie in [0, {num_classes}), found range [{lo}, {hi}]')
    return int(num_classes)


def linear_probe(train_f, train_y, val_f, val_y, protocol: str = 'compress',
                 num_classes: int | None = None, epochs_scale: float = 1.0, seed: int = 0,
                 device='cpu', batch_size: int | None = None) -> dict:
    """Linear probe on features extracted once (``linear_mode='cached'``).

    Args:
        train_f: ``[N, D]`` float features (numpy or torch), e.g. centre-view features from
            `benchmarks.engine.features.extract_features`.
        train_y: ``[N]`` integer labels in ``[0, num_classes)``.
        val_f: ``[M, D]`` float features; ``val_y``: ``[M]`` labels.
        protocol: a key of `PROTOCOLS` (``'compress'`` or ``'moco'``).
        num_classes: defaults to ``max(label) + 1`` over both label arrays.
        epochs_scale: multiplies the protocol's epochs and milestones (`scaled_schedule`).
        seed: seeds the head initialisation and the mini-batch shuffling (a private generator).
        device: where the whole feature matrix and the head live during training.
        batch_size: overrides the protocol's batch size (the lr is not rescaled).

    Returns:
        ``linear_top1`` and ``linear_top5`` (val accuracy of the final-epoch head, percent;
        ``linear_top5`` is 100.0 when there are fewer than 5 classes), ``linear_protocol`` (str),
        ``linear_epochs`` (int, effective), ``linear_milestones`` (str, effective lr-drop epochs
        joined by commas, '' when none), ``linear_batch_size`` (int) and ``linear_mode`` =
        ``'cached'``.
    """
    _protocol(protocol)
    xtr = _as_tensor(train_f, torch.float32, device)
    xva = _as_tensor(val_f, torch.float32, device)
    ytr = _as_tensor(train_y, torch.int64, device).reshape(-1)
    yva = _as_tensor(val_y, torch.int64, device).reshape(-1)
    if xtr.ndim != 2 or xva.ndim != 2 or xtr.shape[1] != xva.shape[1]:
        raise ValueError(f'features must be 2-D with equal widths, got {tuple(xtr.shape)} and '
                         f'{tuple(xva.shape)}')
    if len(xtr) != len(ytr) or len(xva) != len(yva) or len(xva) == 0 or len(xtr) == 0:
        raise ValueError(f'features/labels mismatch or empty: train {len(xtr)}/{len(ytr)}, '
                         f'val {len(xva)}/{len(yva)}')
    num_classes = _check_labels(ytr, yva, num_classes)
    transform = FeatureTransform.fit(xtr, protocol)
    xtr, xva = transform(xtr), transform(xva)   # rebinding frees the raw copies at ImageNet scale
    out = _train_head(lambda epoch: xtr, ytr, xva, yva, protocol=protocol,
                      num_classes=num_classes, epochs_scale=epochs_scale, seed=seed,
                      batch_size=batch_size, device=device)
    out['linear_mode'] = 'cached'
    return out


def _embed_views(backbone, dataset, epoch: int, pre: ViewsPreprocessor, batch_size: int, device,
                 num_workers: int) -> torch.Tensor:
    """``[N, D]`` embeddings of view 0 of every sample of ``dataset`` at ``epoch``, dataset order.

    Keys ``(epoch, i)`` (as `benchmarks.data.datasets.EpochIndexSampler` yields) make the dataset (or its
    batched collate) seed each view with ``(dataset.seed, epoch, i, 0)``: new views every epoch,
    the same views on every run.
    """
    keys = [(epoch, i) for i in range(len(dataset))]
    loader = DataLoader(dataset, batch_size=batch_size, sampler=keys, num_workers=num_workers,
                        collate_fn=dataset.collate_fn())
    chunks, rows = [], []
    with torch.inference_mode():
        for index, views, _ in loader:
            chunks.append(backbone(pre.normalise(made_views(views, device)[0])).float())
            rows.append(index)
    feats = torch.cat(chunks).clone()   # clone: a normal tensor, usable by autograd outside inference mode
    out = torch.empty_like(feats)
    out[torch.cat(rows).to(device)] = feats
    return out


def linear_probe_augmented(backbone, train_set, val_set, protocol: str = 'compress',
                           num_classes: int | None = None, epochs_scale: float = 1.0,
                           recipe: str = 'compress', batch_size: int | None = None, device='cpu',
                           seed: int = 0, embed_batch_size: int = 256,
                           num_workers: int = 0) -> dict:
    """Linear probe re-embedding a fresh augmented view of every training image each epoch
    (``linear_mode='augmented'``, the reference codes' recipe).

    Args:
        backbone: maps a normalised ``[B, 3, H, W]`` batch to ``[B, D]``; run in eval mode under
            ``torch.inference_mode`` and left as it was (parameters, BN buffers, ``training``).
        train_set, val_set: `benchmarks.data.datasets.ViewDataset` s. Training views use ``recipe``
            (`benchmarks.data.views`; ``'compress'`` = RRC + flip, CompRess/MoCo's linear-eval
            augmentation), seeded by ``train_set.seed`` per ``(epoch, index)``; val uses centre views.
        recipe: the training view recipe.
        batch_size: the head's SGD batch (protocol default 256); ``embed_batch_size`` is the
            backbone's inference batch and ``num_workers`` the loaders' workers.
        protocol, num_classes, epochs_scale, seed, device: as in `linear_probe`;
            ``num_classes`` defaults to ``len(train_set.classes)``.

    Returns:
        The keys of `linear_probe`, with ``linear_mode='augmented'``.

    The ``'compress'`` standardisation statistics come from centre-view train features, computed
    once before training (as ``eval_linear.py`` does), not from the augmented views.
    """
    _protocol(protocol)
    if num_classes is None:
        num_classes = len(train_set.classes)
    was_training = backbone.training
    backbone.eval()
    try:
        pre = ViewsPreprocessor().to(device)
        val_f, val_y = extract_features(backbone, val_set, embed_batch_size, device, 'linear val',
                                        num_workers)
        xva = torch.from_numpy(val_f).to(device)
        yva = torch.from_numpy(val_y).to(device)
        ytr = torch.as_tensor(np.asarray(train_set.labels), dtype=torch.int64, device=device)
        num_classes = _check_labels(ytr, yva, num_classes)
        cfg = _protocol(protocol)
        if cfg['standardise']:
            centre_f, _ = extract_features(backbone, train_set, embed_batch_size, device,
                                           'linear train stats', num_workers)
            transform = FeatureTransform.fit(torch.from_numpy(centre_f).to(device), protocol)
        else:
            transform = FeatureTransform(cfg['l2_normalise'])
        augmented = train_set.with_recipes([recipe])

        def epoch_features(epoch: int) -> torch.Tensor:
            return transform(_embed_views(backbone, augmented, epoch, pre, embed_batch_size, device,
                                          num_workers))

        out = _train_head(epoch_features, ytr, transform(xva), yva, protocol=protocol,
                          num_classes=num_classes, epochs_scale=epochs_scale, seed=seed,
                          batch_size=batch_size, device=device)
    finally:
        backbone.train(was_training)
    out['linear_mode'] = 'augmented'
    return out



PROTOCOL_SOURCES = {'compress': 'CompRess eval_linear.py', 'moco': 'MoCo main_lincls.py'}
MODES = ('cached', 'augmented')


@register_evaluator('linear')
class LinearProbeEvaluator(Evaluator):
    """Linear probe on frozen features, final epoch: ``protocol`` 'compress' or 'moco'; ``mode``
    'cached' (centre-view features extracted once, the fast path) or 'augmented' (a fresh ``recipe``
    view of every training image each epoch, as the reference codes do)."""

    order = 20
    needs_network = False

    @property
    def uses_features(self):
        return self.cfg.get('mode', 'cached') == 'cached'

    @classmethod
    def check(cls, cfg, evals_cfg):
        problems = []
        if cfg.get('protocol', 'compress') not in PROTOCOLS:
            problems.append(f"evals.linear.protocol={cfg.get('protocol')!r} is not one of {', '.join(PROTOCOLS)}.")
        if cfg.get('mode', 'cached') not in MODES:
            problems.append(f"evals.linear.mode={cfg.get('mode')!r} is not one of {', '.join(MODES)}.")
        scale = cfg.get('epochs_scale', 1.0)
        if not isinstance(scale, (int, float)) or scale <= 0:
            problems.append(f'evals.linear.epochs_scale={scale!r} must be a positive number.')
        return problems

    @classmethod
    def columns(cls, keys):
        return [Column(f, h, '.1f', 'accuracy', 'max', detail=f.endswith('top5'))
                for f, h in (('linear_top1', 'Linear'), ('linear_top5', 'Linear top-5')) if f in keys]

    def caption(self):
        protocol = self.cfg['protocol']
        how = ('centre-view features extracted once' if self.cfg.get('mode', 'cached') == 'cached'
               else 'augmented every epoch')
        return (f"linear probe: {protocol} protocol ({PROTOCOL_SOURCES.get(protocol, protocol)}), {how}, "
                f"epochs ×{self.cfg.get('epochs_scale', 1.0):g}")

    def run(self, ctx):
        protocol, scale = self.cfg['protocol'], self.cfg.get('epochs_scale', 1.0)
        if self.uses_features:
            train_f, train_y, val_f, val_y = ctx.features()
            return linear_probe(train_f, train_y, val_f, val_y, protocol=protocol, num_classes=ctx.num_classes,
                                epochs_scale=scale, seed=ctx.seed, device=ctx.device)
        if ctx.backbone is None:  # raw pixels have no network to embed fresh views with
            return dict(linear_mode='augmented (skipped for raw pixels)')
        return linear_probe_augmented(ctx.backbone, ctx.train_set, ctx.val_set, protocol=protocol,
                                      num_classes=ctx.num_classes, epochs_scale=scale,
                                      recipe=self.cfg.get('recipe', 'compress'), device=ctx.device, seed=ctx.seed)
