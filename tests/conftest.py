"""Shared fixtures: a private cache folder so tests never touch (or depend on) the user's cache."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope='session')
def cache_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp('sslcb_cache')
    old = os.environ.get('SSLCB_CACHE')
    os.environ['SSLCB_CACHE'] = str(path)
    yield path
    if old is None:
        os.environ.pop('SSLCB_CACHE', None)
    else:
        os.environ['SSLCB_CACHE'] = old


@pytest.fixture(scope='session')
def tiny_teacher():
    """A random frozen ResNet-18 x0.125 teacher with a MoCo-style head."""
    import torch

    from benchmarks.teachers.teacher import Teacher
    from methods.backbones import build_backbone
    from methods.heads import mlp_head
    torch.manual_seed(0)
    backbone = build_backbone('resnet18', width=0.125)
    return Teacher(backbone, mlp_head(backbone.feat_dim, backbone.feat_dim, 16), name='tiny')


def prepare_context(teacher, n=8, seed=0):
    """A `PrepareContext` over ``n`` fake training samples (random teacher features, no disk cache),
    for building methods outside the harness the way `tools/bench.py` does."""
    import torch

    from methods.base import PrepareContext

    def features(name):
        g = torch.Generator().manual_seed(seed)
        return torch.randn(n, teacher.feat_dims[name], generator=g)

    return PrepareContext(num_samples=n, teacher=teacher, teacher_features=features,
                          cached=lambda name, key, compute: compute(), seed=seed, log=lambda msg: None)
