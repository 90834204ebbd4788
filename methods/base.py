"""The small contract every method meets (DESIGN.md, "The method contract").

A method is one `mmengine.model.BaseModel` subclass registered in `methods.registry.METHODS`:

* ``__init__(student, teacher=None, data_preprocessor=None, **hparams)``: ``student`` is a backbone
  spec (``dict(arch=..., width=..., small_input=...)``); ``teacher`` is a frozen, eval-mode
  `benchmarks.teachers.Teacher` (or None for methods that need none). The teacher is *not* registered
  as a submodule: it stays out of ``state_dict()``, ``parameters()``, ``.train()`` and DDP wrapping.
* ``loss(batch) -> dict``: named loss terms; the mmengine runner sums every key containing ``loss``.
  ``batch`` is ``dict(index=[N] long, views=list of [N,3,H,W] float (normalised), label=[N] long)``.
* ``trainable_parameters()``: what the optimiser updates (default: every parameter that requires grad).
* ``student_backbone()``: the module that evaluations and exports use; ``student_spec()`` rebuilds it.
* Queues and EMA encoders are modules/buffers, so checkpoints and DDP need nothing special.

Class attributes describe the method for ``tools/bench.py --list`` and the runner: ``description``,
``paper``, ``needs_teacher``, ``num_views`` (augmented views per sample) and ``augmentation`` (the
name of the view recipe its paper uses; the suite may override it for all methods at once).
"""
from __future__ import annotations

import torch
from mmengine.model import BaseModel

from .backbones import build_backbone


class Method(BaseModel):
    description: str = ''
    paper: str = ''
    needs_teacher: bool = True
    num_views: int = 1
    augmentation: str = 'compress'

    def __init__(self, student: dict, teacher=None, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        if self.needs_teacher and teacher is None:
            raise ValueError(f'{type(self).__name__} distils from a teacher, but none was given')
        self.student = build_backbone(**student)
        # object.__setattr__ keeps the teacher out of the module tree (see module docstring)
        object.__setattr__(self, 'teacher', teacher)

    # --- contract ---------------------------------------------------------------------------------
    def loss(self, batch: dict) -> dict:
        raise NotImplementedError

    def student_backbone(self):
        return self.student

    def student_spec(self) -> dict:
        return self.student.spec()

    def trainable_parameters(self):
        return [p for p in self.parameters() if p.requires_grad]

    def hparams(self) -> dict:
        """The effective method hyperparameters, recorded in every result row."""
        return dict(getattr(self, '_hparams', {}))

    # --- mmengine plumbing ------------------------------------------------------------------------
    def forward(self, index=None, views=None, label=None, mode: str = 'loss'):
        if mode == 'loss':
            return self.loss(dict(index=index, views=views, label=label))
        if mode == 'tensor':
            return self.student(views[0])
        raise ValueError(f'unsupported mode {mode!r}')

    def teacher_features(self, x: torch.Tensor) -> dict:
        """Teacher outputs for a normalised batch: dict(backbone=[N, D_t], head=[N, D_h] or None)."""
        return self.teacher(x)

    def teacher_dim(self, feature: str) -> int:
        """Dimension of the teacher's ``feature`` ('backbone' or 'head'), with a clear error if absent."""
        if feature not in self.teacher.feat_dims:
            raise ValueError(f'{type(self).__name__} distils the teacher feature {feature!r}, but the teacher '
                             f'{self.teacher.name!r} only has {sorted(self.teacher.feat_dims)}; set '
                             f"teacher_feature='backbone' in method_cfgs or use a teacher with a projection head.")
        return self.teacher.feat_dims[feature]
