"""Helpers shared by the tests (test files import from here, never from each other or from conftest.py).

    tests.helpers                       ROOT, tiny students/batches, numpy references, prepare_context
    tests.helpers.bench                 BASE_OPTS: --cfg-options for test-sized tools/bench.py runs
    tests.helpers.data                  TINY synthetic spec, write_imagefolder
    tests.helpers.native_data           CIFAR / STL-10 / Tiny-ImageNet / ImageNet files in their own formats
    tests.helpers.detection             TINY: --det-cfg-options for a two-iteration detection fine-tune
    tests.helpers.checkpoints           synthetic teacher checkpoints in every public layout
    tests.helpers.make_teacher_checkpoint   CLI over checkpoints (python -m tests.helpers.make_teacher_checkpoint)
    tests/helpers/dist_worker.py, resume_worker.py, fake_slurm/srun   scripts the tests run in subprocesses
"""
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]  # the repository root
HELPERS = Path(__file__).resolve().parent   # this folder (the worker scripts, fake_slurm/)

# the student every method test builds: ResNet-18 x0.125, ImageNet stem
STUDENT = dict(arch='resnet18', width=0.125, small_input=False)


def random_batch(n_views=1, n=8, size=32, seed=0):
    """A training batch as the data pipeline yields it: [indices, [uint8 views], labels]."""
    import torch
    g = torch.Generator().manual_seed(seed)
    views = [torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g) for _ in range(n_views)]
    return [torch.arange(n), views, torch.zeros(n, dtype=torch.long)]


def unit_rows(x):
    """The rows of a numpy array scaled to unit L2 norm."""
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def softmax(v):
    """Numerically stable softmax of a numpy vector."""
    e = np.exp(v - v.max())
    return e / e.sum()


def unit_circle(deg):
    """Points on the unit circle at the given angles (degrees), float32 [n, 2]."""
    r = np.deg2rad(np.asarray(deg, dtype=np.float64))
    return np.stack([np.cos(r), np.sin(r)], axis=1).astype(np.float32)


def prepare_context(teacher, n=8, seed=0, num_classes=10):
    """A `PrepareContext` over ``n`` fake training samples (random teacher features, no disk cache),
    for building methods outside the harness the way `tools/bench.py` does."""
    import torch

    from methods.base import PrepareContext

    def features(name):
        g = torch.Generator().manual_seed(seed)
        return torch.randn(n, teacher.feat_dims[name], generator=g)

    return PrepareContext(num_samples=n, teacher=teacher, teacher_features=features,
                          cached=lambda name, key, compute: compute(), seed=seed, log=lambda msg: None,
                          num_classes=num_classes)
