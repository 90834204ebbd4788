"""The selected evaluations of a suite, run on one network at a time.

``evals.suites`` in the config (``--evals`` on the command line) names registered evaluators
(`benchmarks.evals.base`); each reads its own section ``evals.<name>``. The train and val centre-view
features are extracted once per network and shared by every evaluator that uses them (kNN, cached
linear probe, retrieval, cluster alignment); only the augment-every-epoch linear probe and an external
retrieval set embed images again. ``backbone=None`` evaluates raw pixels (the floor row): the
evaluators that need no network, no cost columns.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from benchmarks.evals.base import EvalContext, Evaluator, get_evaluator, list_evaluators

DEFAULT_EVALS = ('knn', 'flops')


def parse_evals(text) -> list[str]:
    """``'knn,linear'`` or a list -> the names, checked against the registry (ValueError names the
    valid ones)."""
    names = [s.strip() for s in (text.split(',') if isinstance(text, str) else text) if s and s.strip()]
    valid = list_evaluators()
    unknown = [n for n in names if n not in valid]
    if unknown or not names:
        raise ValueError(f'unknown evaluation(s) {", ".join(unknown) or "(none given)"}; valid: {", ".join(valid)}.')
    return names


class EvalSuite:
    """The evaluators of ``evals_cfg['suites']`` in run order (`Evaluator.order`)."""

    def __init__(self, evals_cfg: dict):
        self.cfg = dict(evals_cfg)
        names = parse_evals(self.cfg.get('suites', list(DEFAULT_EVALS)))
        classes = sorted((get_evaluator(n) for n in names), key=lambda c: (c.order, c.name))
        self.evaluators: list[Evaluator] = [c(self.cfg.get(c.name, {}), self.cfg) for c in classes]

    @staticmethod
    def check(evals_cfg: dict) -> list[str]:
        """Every problem with the evaluation settings (names, then each evaluator's own checks)."""
        try:
            names = parse_evals(evals_cfg.get('suites', list(DEFAULT_EVALS)))
        except ValueError as exc:
            return [f'{exc} Pass them with --evals or evals.suites.']
        problems = []
        for name in names:
            cls = get_evaluator(name)
            problems += cls.check(dict(evals_cfg.get(name, {})), dict(evals_cfg))
        return problems

    @staticmethod
    def environment(evals_cfg: dict) -> list[str]:
        """What this machine lacks for the selected evaluations (after `check` found the settings fine)."""
        try:
            names = parse_evals(evals_cfg.get('suites', list(DEFAULT_EVALS)))
        except ValueError:
            return []   # reported by check
        problems = []
        for name in names:
            cls = get_evaluator(name)
            problems += cls.environment(dict(evals_cfg.get(name, {})), dict(evals_cfg))
        return problems

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.evaluators]

    def get(self, name: str) -> Evaluator | None:
        return next((e for e in self.evaluators if e.name == name), None)

    def exports(self, kind: str) -> bool:
        """Whether a network of row ``kind`` must be exported to a file for some evaluator."""
        return any(e.needs_export and e.applies(kind) for e in self.evaluators)

    def caption(self) -> str:
        """One clause per selected evaluation, for the leaderboard caption."""
        parts = [e.caption() for e in self.evaluators if e.caption()]
        return '; '.join(parts) + '; final epoch, %' if parts else 'cost columns only (no accuracy evaluation selected)'

    def setup(self, log: Callable = print) -> None:
        for e in self.evaluators:
            e.setup(log)

    def evaluate_features(self, train_f, train_y, val_f, val_y, num_classes: int, device='cpu',
                          seed: int = 0) -> dict:
        """The selected evaluations that read features, on features computed elsewhere
        (``[N, D]`` arrays or tensors and their labels); the others are left out."""
        class _Classes:  # what EvalContext.num_classes reads
            classes = range(num_classes)

        ctx = EvalContext(backbone=None, name='features', train_set=_Classes(), val_set=None, image_size=0,
                          device=device, seed=seed, _features=(train_f, train_y, val_f, val_y))
        metrics = {}
        for evaluator in self.evaluators:
            if evaluator.uses_features:
                metrics.update(evaluator.run(ctx))
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in metrics.items()}

    def evaluate(self, backbone, name: str, train_set, val_set, image_size: int, device='cpu', seed: int = 0,
                 retrieval_set=None, backbone_path: Path | None = None, kind: str = 'method', log: Callable = print,
                 cached: Callable | None = None, store: Callable | None = None) -> dict:
        """Metrics of ``backbone`` (None = raw pixels) for every selected evaluation.

        ``cached(evaluator_name) -> metrics or None`` and ``store(evaluator_name, metrics)`` let a run
        folder keep finished evaluations for a resumed run; an evaluator whose result did not succeed
        (`Evaluator.succeeded`) is not stored, so a rerun retries it.
        """
        from benchmarks.engine.features import extract_features  # torch: imported only when evaluating
        if backbone is not None:
            backbone.to(device)
        ctx = EvalContext(backbone=backbone, name=name, train_set=train_set, val_set=val_set, image_size=image_size,
                          device=device, seed=seed, retrieval_set=retrieval_set, backbone_path=backbone_path,
                          batch_size=self.cfg.get('batch_size', 256), kind=kind, extract=extract_features, log=log)
        metrics = {}
        for evaluator in self.evaluators:
            if (backbone is None and evaluator.needs_network) or not evaluator.applies(kind):
                continue
            if evaluator.needs_export and backbone_path is None:
                continue
            found = cached(evaluator.name) if cached else None
            if found is None:
                found = evaluator.run(ctx)
                found = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in found.items()}
                if store and evaluator.succeeded(found):
                    store(evaluator.name, found)
            metrics.update(found)
        return metrics
