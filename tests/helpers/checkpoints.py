"""Synthetic teacher checkpoints in the exact layouts of the public SSL releases (random weights).

`write_fake_checkpoint(layout, path, ...)` builds one of this project's backbones (seeded random
init, with randomised BatchNorm statistics so a checkpoint that loads the wrong buffers gives
different outputs) and writes it with the real file's nesting, prefixes and extra entries, as listed
in docs/methods.md#teacher-checkpoints: key-encoder copies, queues (``[dim, K]`` with a
small ``K``), queue pointers, prototypes, classifiers, optimizer/epoch/arch entries and, for CompRess
students, a pickled ``argparse.Namespace``. Tests use them to check detection and loading of every
layout without downloading the real (100+ MB) files; ``python -m tests.helpers.make_teacher_checkpoint``
writes them for demos.

Deviations from the real files (sizes only): any backbone/width instead of ResNet-50, a
``head_out``-d head instead of 128/256, queues of 64 entries, 30 SwAV prototypes, SEED's teacher of
the student's architecture, optimizer state for two parameters only.
"""
from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from benchmarks.teachers.specs import TEACHER_SPECS
from benchmarks.teachers.teacher import linear_head, swav_projection_head
from methods.backbones import build_backbone
from methods.heads import mlp_head
from methods.moco_v3 import mocov3_predictor, mocov3_projector

QUEUE_SIZE = 64
PROTOTYPES = 30
CLASSES = 1000  # the supervised fc of torchvision / converted SimCLR / BYOL files


class FakeTeacher(NamedTuple):
    """What was written: the backbone (eval mode) and the projection head the layout carries (or None)."""
    backbone: nn.Module
    head: nn.Module | None


def fake_layouts() -> list[str]:
    """Every layout `write_fake_checkpoint` can write: one per spec of `TEACHER_SPECS`."""
    return list(TEACHER_SPECS)


def _randomise(module: nn.Module, gen: torch.Generator) -> nn.Module:
    """Non-trivial BN affine parameters and running statistics (a fresh BN is the identity in eval
    mode, which would hide a checkpoint whose BN buffers were not loaded)."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            if m.affine:
                m.weight.data = 1 + 0.2 * torch.randn(m.weight.shape, generator=gen)
                m.bias.data = 0.1 * torch.randn(m.bias.shape, generator=gen)
            m.running_mean.data = 0.1 * torch.randn(m.running_mean.shape, generator=gen)
            m.running_var.data = 0.5 + torch.rand(m.running_var.shape, generator=gen)
            m.num_batches_tracked.fill_(1000)
    return module.eval()


def _prefixed(prefix: str, state: dict) -> dict:
    return {prefix + k: v.clone() for k, v in state.items()}


def _perturbed(module: nn.Module, gen: torch.Generator) -> nn.Module:
    """A momentum-encoder-like copy: same structure, slightly different weights."""
    other = copy.deepcopy(module)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=gen))
    return other


def _optimizer_state(modules, gen: torch.Generator) -> dict:
    """An SGD state dict as the official scripts save it (param groups + momentum buffers, the latter
    for two parameters only to keep files small)."""
    params = [p for m in modules for p in m.parameters()]
    opt = torch.optim.SGD(params, lr=0.03, momentum=0.9, weight_decay=1e-4)
    state = opt.state_dict()
    state['state'] = {i: {'momentum_buffer': 1e-3 * torch.randn(params[i].shape, generator=gen)} for i in range(2)}
    return state


def _queue(dim: int, gen: torch.Generator) -> torch.Tensor:
    return nn.functional.normalize(torch.randn(dim, QUEUE_SIZE, generator=gen), dim=0)


def _classifier(arch: str, feat_dim: int, gen: torch.Generator) -> dict:
    """torchvision's classifier keys: ``fc.*`` (ResNet, AlexNet here) or ``classifier.1.*`` (MobileNet-V2)."""
    prefix = 'classifier.1.' if arch == 'mobilenet_v2' else 'fc.'
    return {prefix + 'weight': 0.01 * torch.randn(CLASSES, feat_dim, generator=gen), prefix + 'bias': torch.zeros(CLASSES)}


def _student_fc(arch: str, feat_dim: int, head_out: int, gen: torch.Generator) -> dict:
    """CompRess students: ResNet-50 keeps ``fc = Linear(2048, 8192)`` (here ``head_out``); the others
    replace fc by ``nn.Sequential()`` and so store no fc keys (CompRess train_student.py)."""
    if arch != 'resnet50':
        return {}
    return {'fc.weight': 0.01 * torch.randn(head_out, feat_dim, generator=gen), 'fc.bias': torch.zeros(head_out)}


def write_fake_checkpoint(layout: str, path, arch: str = 'resnet18', width: float = 0.25, small_input: bool = False,
                          seed: int = 0, head_out: int = 16) -> FakeTeacher:
    """Write a random ``arch`` backbone in the file layout of teacher spec ``layout`` to ``path``.

    Returns the backbone and head written (eval mode), so a test can compare loaded weights and
    outputs. Head hidden sizes follow the originals relative to the feature dim ``D``: MoCo v2 and
    SwAV ``D -> D -> head_out``, MoCo v3 ``D -> 2D -> head_out``.
    """
    if layout not in TEACHER_SPECS:
        raise ValueError(f'unknown layout {layout!r}; valid: {", ".join(TEACHER_SPECS)}')
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    backbone = _randomise(build_backbone(arch, width=width, small_input=small_input), gen)
    d = backbone.feat_dim
    bb = backbone.state_dict()
    head = None

    if layout in ('moco_v1', 'moco_v2'):
        head = linear_head(d, None, head_out) if layout == 'moco_v1' else mlp_head(d, d, head_out)
        head.eval()
        key_backbone, key_head = _perturbed(backbone, gen), _perturbed(head, gen)
        sd = {**_prefixed('module.encoder_q.', bb), **_prefixed('module.encoder_q.fc.', head.state_dict()),
              **_prefixed('module.encoder_k.', key_backbone.state_dict()),
              **_prefixed('module.encoder_k.fc.', key_head.state_dict()),
              'module.queue': _queue(head_out, gen), 'module.queue_ptr': torch.zeros(1, dtype=torch.long)}
        obj = dict(epoch=200, arch=arch, state_dict=sd, optimizer=_optimizer_state([backbone, head], gen))
    elif layout == 'moco_v3':
        head = _randomise(mocov3_projector(d, 2 * d, head_out), gen)
        predictor = _randomise(mocov3_predictor(head_out, 2 * d), gen)
        sd = {**_prefixed('module.base_encoder.', bb), **_prefixed('module.base_encoder.fc.', head.state_dict()),
              **_prefixed('module.momentum_encoder.', _perturbed(backbone, gen).state_dict()),
              **_prefixed('module.momentum_encoder.fc.', _perturbed(head, gen).state_dict()),
              **_prefixed('module.predictor.', predictor.state_dict())}
        obj = dict(epoch=100, arch=arch, state_dict=sd, optimizer=_optimizer_state([backbone, head], gen),
                   scaler={'scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 2000,
                           '_growth_tracker': 0})
    elif layout == 'swav':
        head = _randomise(swav_projection_head(d, d, head_out), gen)
        obj = {**_prefixed('module.', bb), **_prefixed('module.projection_head.', head.state_dict()),
               'module.prototypes.weight': torch.randn(PROTOTYPES, head_out, generator=gen)}
    elif layout == 'simclr_v1_converted':
        obj = dict(state_dict={**bb, **_classifier(arch, d, gen)})
    elif layout == 'byol_converted':
        obj = {k: v for k, v in bb.items() if not k.endswith('num_batches_tracked')}
        obj.update(_classifier(arch, d, gen))
    elif layout == 'compress_student':
        opt = argparse.Namespace(student_arch=arch, teacher_arch='resnet50', queue_size=128000, temperature=0.04,
                                 learning_rate=0.01, epochs=130, batch_size=256, save_freq=2, model_path=str(path))
        obj = dict(opt=opt, model=_prefixed('module.', {**bb, **_student_fc(arch, d, head_out, gen)}),
                   optimizer=_optimizer_state([backbone], gen), epoch=130)
    elif layout == 'seed_student':
        student_mlp = mlp_head(d, d, head_out)
        teacher = _perturbed(backbone, gen)  # SEED's teacher is bigger; its keys are ignored either way
        sd = {**_prefixed('module.student.', bb), **_prefixed('module.student.fc.', student_mlp.state_dict()),
              **_prefixed('module.teacher.', teacher.state_dict()),
              **_prefixed('module.teacher.fc.', mlp_head(d, d, head_out).state_dict()),
              'module.queue': _queue(head_out, gen), 'module.queue_ptr': torch.zeros(1, dtype=torch.long)}
        obj = dict(epoch=200, arch=arch, state_dict=sd, optimizer=_optimizer_state([backbone, student_mlp], gen))
    else:  # torchvision: a classifier's raw state dict
        obj = {**bb, **_classifier(arch, d, gen)}

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)
    return FakeTeacher(backbone, head.eval() if head is not None else None)
