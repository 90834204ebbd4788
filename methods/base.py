"""The small contract every method meets (DESIGN.md, "The method contract").

A method is one `mmengine.model.BaseModel` subclass registered in `methods.registry.METHODS`:

* ``__init__(student, teacher=None, data_preprocessor=None, **hparams)``: ``student`` is a backbone
  spec (``dict(arch=..., width=..., small_input=...)``); ``teacher`` is a frozen, eval-mode
  `benchmarks.teachers.teacher.Teacher` (or None for methods that need none). The teacher is *not* registered
  as a submodule: it stays out of ``state_dict()``, ``parameters()``, ``.train()`` and DDP wrapping.
* ``loss(batch) -> dict``: named loss terms; the mmengine runner sums every key containing ``loss``.
  ``batch`` is ``dict(index=[N] long, views=list of [N,3,H,W] float (normalised), label=[N] long)``.
* ``trainable_parameters()``: what the optimiser updates (default: every parameter that requires grad).
* ``student_backbone()``: the module that evaluations and exports use (rebuilt from its ``spec()``).
* Queues and EMA encoders are modules/buffers, so checkpoints and DDP need nothing special.

Optional hooks (defaults do nothing):

* ``prepare(ctx, hparams) -> dict`` (classmethod): data-dependent setup that must run *before* the
  method is built, e.g. CRD's memory size (``ctx.num_samples``) or cluster classification's k-means
  on the teacher's features (``ctx.teacher_features``, cached with ``ctx.cached``). It returns extra
  constructor kwargs; the harness times it and records the seconds in the result row.
* ``set_progress(iteration, max_iters)``: the runner calls it before every training step, so
  schedules that depend on training progress (SlimCLR's slow start, MoCo v3's momentum ramp) read
  ``self.progress`` in [0, 1] without knowing the budget.
* ``student_backbones() -> {label: backbone}``: a method that yields several students from one
  training (SlimCLR: one per width) returns each as a plain backbone; every one becomes its own
  leaderboard row. The default is ``{'': student_backbone()}``.

Class attributes describe the method for ``tools/bench.py --list`` and the runner: ``description``,
``paper``, ``needs_teacher``, ``num_views`` (augmented views per sample) and ``augmentation`` (the
name of the view recipe its paper uses; the suite may override it for all methods at once).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from mmengine.model import BaseModel

from .backbones import build_backbone


@dataclass
class PrepareContext:
    """What ``Method.prepare`` may use (built by the harness; methods never import it).

    * ``num_samples``: training-set size (dataset indices are ``0 .. num_samples-1``).
    * ``teacher``: the frozen teacher or None.
    * ``teacher_features(feature) -> Tensor [num_samples, D]``: the teacher's ``feature``
      ('backbone' or 'head') of every training image's centre view, in dataset order.
    * ``cached(name, key: dict, compute: () -> dict[str, Tensor]) -> dict[str, Tensor]``: return the
      stored result for (name, key) or compute, store and return it (tensors only, loaded with
      ``weights_only=True``). ``key`` must identify everything the result depends on.
    * ``seed``, ``device``, ``log``.
    """
    num_samples: int
    teacher: Any = None
    teacher_features: Callable[[str], torch.Tensor] | None = None
    cached: Callable[[str, dict, Callable[[], dict]], dict] | None = None
    seed: int = 0
    device: Any = 'cpu'
    log: Callable[[str], None] = print


class Method(BaseModel):
    description: str = ''
    paper: str = ''
    needs_teacher: bool = True
    num_views: int = 1
    augmentation: str = 'compress'
    # DDP must look for parameters that got no gradient this step (a method whose loss skips some of
    # its modules for part of training, e.g. SlimCLR's sub-width BNs during slow start); costs a graph walk
    ddp_find_unused_parameters: bool = False

    def __init__(self, student: dict, teacher=None, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        if self.needs_teacher and teacher is None:
            raise ValueError(f'{type(self).__name__} distils from a teacher, but none was given')
        self.student = build_backbone(**student)
        # object.__setattr__ keeps the teacher out of the module tree (see module docstring)
        object.__setattr__(self, 'teacher', teacher)
        self.progress = 0.0  # fraction of training done, set by the runner through set_progress

    @classmethod
    def prepare(cls, ctx: PrepareContext, hparams: dict) -> dict:
        """Data-dependent setup before construction; returns extra constructor kwargs (see module doc)."""
        return {}

    def set_progress(self, iteration: int, max_iters: int) -> None:
        self.progress = min(1.0, iteration / max(1, max_iters))

    # --- contract ---------------------------------------------------------------------------------
    def loss(self, batch: dict) -> dict:
        raise NotImplementedError

    def student_backbone(self):
        return self.student

    def student_backbones(self) -> dict:
        """``{label: plain backbone}`` of every student this training produced (see module doc)."""
        return {'': self.student_backbone()}

    def trainable_parameters(self):
        return [p for p in self.parameters() if p.requires_grad]

    def hparams(self) -> dict:
        """The effective method hyperparameters, recorded in every result row."""
        return dict(getattr(self, '_hparams', {}))

    # --- mmengine plumbing ------------------------------------------------------------------------
    def forward(self, index=None, views=None, label=None, mode: str = 'loss'):
        if mode == 'loss':
            # the harness may share the teacher's outputs between methods: it needs to know which
            # samples and views a teacher call is about (benchmarks/teachers/outputs.py)
            bind = getattr(self.teacher, 'bind_batch', None)
            if bind is None:
                return self.loss(dict(index=index, views=views, label=label))
            bind(index, views)
            try:
                return self.loss(dict(index=index, views=views, label=label))
            finally:
                bind(None)
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
