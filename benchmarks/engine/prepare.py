"""The harness side of ``Method.prepare``: teacher features of the training set and a result cache.

A method's data-dependent setup (cluster classification's k-means, CRD's memory size) gets a
`methods.base.PrepareContext` built here. Teacher features are extracted once per run and feature
(centre view, dataset order) and shared by every method that asks; cached results are keyed by what
they depend on — the method's own key plus the data section, the image size and a fingerprint of
the teacher's weights — and stored as tensor-only files that load with ``weights_only=True``. In a
distributed run rank 0 computes them and broadcasts the result.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from methods.base import PrepareContext

from benchmarks.cachefill import fill, write_bytes
from benchmarks.code_version import PREPARE_SOURCES, code_version
from benchmarks.data.datasets import data_identity
from benchmarks.engine.distributed import broadcast_object, dist_info
from benchmarks.engine.features import extract_features
from benchmarks.data.synthetic import default_cache_dir


def teacher_fingerprint(teacher) -> str:
    """sha1 over the teacher's tensors (names, shapes, bytes): identifies the weights, not the file."""
    if teacher is None:
        return 'none'
    h = hashlib.sha1()
    for name, t in sorted(teacher.state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b'')
    return h.hexdigest()[:16]


class _FeatureOf(torch.nn.Module):
    def __init__(self, teacher, feature: str):
        super().__init__()
        object.__setattr__(self, 'teacher', teacher)
        self.feature = feature

    def forward(self, x):
        out = self.teacher(x)[self.feature]
        if out is None:
            raise ValueError(f'the teacher has no {self.feature!r} output')
        return out


def build_prepare_context(train_set, teacher, data_cfg: dict, seed: int, device, log=print,
                          cache_dir=None, batch_size: int = 256) -> PrepareContext:
    root = Path(cache_dir or default_cache_dir()) / 'prepared'
    features: dict[str, torch.Tensor] = {}
    fingerprint = {}

    def teacher_features(feature: str) -> torch.Tensor:
        if teacher is None:
            raise ValueError('this method asked for teacher features, but the run has no teacher')
        if feature not in features:
            f, _ = extract_features(_FeatureOf(teacher, feature), train_set, batch_size, device,
                                    desc=f'teacher {feature} features')
            features[feature] = torch.from_numpy(f)
        return features[feature]

    def cached(name: str, key: dict, compute):
        # one process computes (and caches), the others receive its result: a k-means run on each
        # process could give each a different clustering
        info = dist_info()
        if info.distributed:
            return broadcast_object(cached_here(name, key, compute) if info.is_main else None)
        return cached_here(name, key, compute)

    def cached_here(name: str, key: dict, compute):
        if 'teacher' not in fingerprint:
            fingerprint['teacher'] = teacher_fingerprint(teacher)
        # the teacher's outputs are rounded to its output dtype (teacher sharing): part of what a result depends on
        full = dict(key=key, data=data_identity(data_cfg), code=code_version(PREPARE_SOURCES),
                    teacher_output_dtype=str(getattr(teacher, 'output_dtype', None)), image_size=train_set.image_size, n=len(train_set),
                    teacher=fingerprint['teacher'])
        digest = hashlib.sha1(json.dumps(full, sort_keys=True, default=str).encode()).hexdigest()[:16]
        path = root / name / f'{digest}.pt'
        computed = {}

        def produce(tmp: Path):   # under the entry's lock: a second process waits, then reads this result
            computed['out'] = compute()
            torch.save(computed['out'], tmp)

        fill(path, produce, complete=lambda p: p.is_file(), log=log, what=f'the prepared {name} result')
        if 'out' not in computed:
            log(f'{name}: reusing {path}')
            return torch.load(path, map_location='cpu', weights_only=True)
        write_bytes(path.with_suffix('.json'), json.dumps(full, indent=1, sort_keys=True, default=str).encode())
        return computed['out']

    return PrepareContext(num_samples=len(train_set), teacher=teacher, teacher_features=teacher_features,
                          cached=cached, seed=seed, device=device, log=log, num_classes=len(train_set.classes))
