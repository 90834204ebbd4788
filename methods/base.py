"""The small contract every method meets.

A method is one `mmengine.model.BaseModel` subclass in one file of ``methods/``, registered with
``@METHODS.register_module(name=...)``; files in ``methods/`` are discovered, so dropping the file in
is all it takes (a method outside the package: ``tools/bench.py --import my_pkg.my_method``).

* ``__init__(student, teacher=None, data_preprocessor=None, **hyperparameters)``: its keyword
  arguments *are* the method's hyperparameters and their defaults (`Method.hyperparameters`); the
  harness binds the suite's values to them and records the bound values in every result row.
  ``student`` is a backbone spec (``dict(arch=..., width=..., small_input=...)``); ``teacher`` is the
  frozen teacher (``feat_dims`` tells its feature sizes) or None. The teacher is *not* registered as a
  submodule: it stays out of ``state_dict()``, ``parameters()``, ``.train()`` and DDP wrapping.
* ``loss(batch) -> dict``: named loss terms; the mmengine runner sums every key containing ``loss``.
  ``batch`` is ``dict(index=[N] long, views=[V] list of [N, 3, H, W] float (normalised), label=[N]
  long, teacher=[V] list of dict(backbone=[N, D_b], head=[N, D_h] or None) or None)``: the harness
  computes the teacher's outputs on every view (or takes them from the outputs other methods of the
  run already paid for) and hands them over in the batch, so a method never calls the teacher.
* ``trainable_parameters()``: what the optimiser updates (default: every parameter that requires grad).
* ``student_backbone()``: the module that evaluations and exports use (rebuilt from its ``spec()``).
* Queues and EMA encoders are modules/buffers, so checkpoints and DDP need nothing special.

Optional hooks (defaults do nothing):

* ``prepare(ctx, hparams) -> dict`` (classmethod): data-dependent setup that must run *before* the
  method is built, e.g. CRD's memory size (``ctx.num_samples``) or cluster classification's k-means
  on the teacher's features (``ctx.teacher_features``, cached with ``ctx.cached``). It returns extra
  constructor kwargs, named in the class attribute ``prepared`` (they are not hyperparameters); the
  harness times it and records the seconds in the result row.
* ``set_progress(iteration, max_iters)``: the runner calls it before every training step, so
  schedules that depend on training progress (SlimCLR's slow start, MoCo v3's momentum ramp) read
  ``self.progress`` in [0, 1] without knowing the budget.
* ``after_step()``: the runner calls it after every optimiser step, for updates the official code makes
  once the student's parameters have moved (CompRess's EMA key encoder, ``moment_update`` after
  ``optimizer.step()``). MoCo-style EMAs that the official code updates inside the forward, before the
  keys, stay in ``loss``.
* Bag partners: a method with ``partner_views = P > 0`` gets, as its last P views, views of another
  training image from the sample's bag (``prepare`` returns ``bags`` [num_samples, k]; the partner is
  drawn per (seed, epoch, sample)), so it can contrast a sample with its neighbours (BINGO).
* ``student_backbones() -> {label: backbone}``: a method that yields several students from one
  training (SlimCLR: one per width) returns each as a plain backbone; every one becomes its own
  leaderboard row. The default is ``{'': student_backbone()}``.

Class attributes describe the method for ``tools/bench.py --list`` and the runner: ``description``,
``paper``, ``needs_teacher``, ``num_views`` (augmented views per sample) and ``augmentation`` (the
name of the view recipe its paper uses; the suite may override it for all methods at once).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import torch
from mmengine.model import BaseModel

from .backbones import build_backbone

_CONTRACT_ARGS = ('self', 'student', 'teacher', 'data_preprocessor')


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _integer(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# Ranges of hyperparameters by naming convention, shared by every method (a method adds its own in
# `check_hyperparameters`): (matches name, what it must be, test). None passes where the default is None.
_RANGES = (
    (lambda k: k.endswith('temperature'), 'a number > 0', lambda v: _number(v) and v > 0),
    (lambda k: k.endswith('momentum'), 'a number in [0, 1]', lambda v: _number(v) and 0 <= v <= 1),
    (lambda k: k.endswith(('_size', 'dim', '_iters', '_splits', '_per_cluster', 'hidden')) or k.startswith('num_'),
     'an integer >= 1', lambda v: _integer(v) and v >= 1),
    (lambda k: k.endswith('weight'), 'a number >= 0', lambda v: _number(v) and v >= 0),
)


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
    * ``num_classes``: label classes of the training set (only a reference that trains on labels, such
      as ``supervised``, reads it; self-supervised methods never see labels).
    * ``seed``, ``device``, ``log``.
    """
    num_samples: int
    teacher: Any = None
    teacher_features: Callable[[str], torch.Tensor] | None = None
    cached: Callable[[str, dict, Callable[[], dict]], dict] | None = None
    seed: int = 0
    device: Any = 'cpu'
    log: Callable[[str], None] = print
    num_classes: int = 0


class Method(BaseModel):
    description: str = ''
    paper: str = ''
    needs_teacher: bool = True
    num_views: int = 1
    augmentation: str = 'compress'
    # DDP must look for parameters that got no gradient this step (a method whose loss skips some of
    # its modules for part of training, e.g. SlimCLR's sub-width BNs during slow start); costs a graph walk
    ddp_find_unused_parameters: bool = False
    # constructor arguments that `prepare` computes (not hyperparameters: never set in a config)
    prepared: tuple = ()
    # the valid values of string hyperparameters, checked before any work (`check_hyperparameters`)
    choices: dict = {'teacher_feature': ('backbone', 'head')}
    # whether loss() reads batch['teacher'] (False: the teacher is used in `prepare` only, e.g. cc, and
    # the harness computes no teacher outputs for the training batches)
    uses_teacher_outputs: bool = True
    # whether training reads batch['label'] (a supervised reference): its rows are marked and never ranked
    uses_labels: bool = False
    # the view numbers whose teacher outputs loss() reads (None: every view); the others are None in the batch
    # and cost no teacher forward
    teacher_views: tuple | None = None
    # how many of the num_views views (the last ones) show a *bag partner* of the sample instead of the sample
    # (BINGO): prepare() must then return 'bags', [num_samples, k] dataset indices, and the harness draws
    # each sample's partner from its bag per epoch (benchmarks/data/datasets.py `ViewDataset.with_partners`)
    partner_views: int = 0

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

    def after_step(self) -> None:
        """Called by the runner after every optimiser step (see module doc); default: nothing."""

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

    @classmethod
    def check_hyperparameters(cls, values: dict) -> list[str]:
        """Problems with the bound hyperparameter ``values`` (`bind_hyperparameters`), one sentence each
        ([] when there are none), found without building anything, so a run refuses bad values before
        any data or training: the type of each value against its default's (a number where the default
        is a number, a bool where it is a bool, ...), the ranges of `_RANGES` (temperatures > 0,
        momenta in [0, 1], sizes and dimensions integers >= 1, loss weights >= 0) and `choices`."""
        defaults = cls.hyperparameters()
        problems = []
        for name, value in values.items():
            default = defaults.get(name)
            if value is None and default is None:
                continue
            expected = None
            if isinstance(default, bool):
                expected = ('true or false', isinstance(value, bool))
            elif _integer(default):
                expected = ('an integer', _integer(value))
            elif isinstance(default, float):
                expected = ('a number', _number(value))
            elif isinstance(default, str):
                expected = ('a string', isinstance(value, str))
            elif isinstance(default, (tuple, list)):
                expected = ('a list', isinstance(value, (tuple, list)))
            if expected is not None and not expected[1]:
                problems.append(f'{name}={value!r} must be {expected[0]} (default {default!r})')
                continue
            if name in cls.choices and value not in cls.choices[name]:
                problems.append(f'{name}={value!r} must be one of {", ".join(repr(c) for c in cls.choices[name])}')
                continue
            for matches, what, ok in _RANGES:
                if matches(name) and not isinstance(default, (str, bool, tuple, list)) and not ok(value):
                    problems.append(f'{name}={value!r} must be {what}')
                    break
        return problems

    @classmethod
    def hyperparameters(cls) -> dict:
        """``{name: default}`` of every hyperparameter: the keyword arguments of ``__init__`` after
        ``student, teacher, data_preprocessor``, through the class hierarchy (a subclass that only
        changes some defaults and passes ``**kwargs`` on inherits the rest). The signature is the only
        place a default is written; the harness records the bound values in every result row."""
        chain = []  # the __init__s that define hyperparameters, most derived first
        for klass in cls.__mro__:
            init = klass.__dict__.get('__init__')
            if init is None or klass is Method:
                continue
            params = inspect.signature(init).parameters
            chain.append(params)
            if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                break
        out = {}
        for params in reversed(chain):  # the base's order, each default from the most derived class
            for name, p in params.items():
                if name in _CONTRACT_ARGS or name in cls.prepared or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                    continue
                out[name] = None if p.default is p.empty else p.default
        return out

    @classmethod
    def bind_hyperparameters(cls, given: dict) -> dict:
        """The defaults overlaid with ``given``; an unknown name is a ValueError naming the valid ones
        (a typo in a config never becomes a silently ignored setting)."""
        defaults = cls.hyperparameters()
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            raise ValueError(f'{cls.__name__} has no hyperparameter(s) {", ".join(unknown)}; its hyperparameters: '
                             f'{", ".join(defaults)}')
        return {**defaults, **given}

    # --- mmengine plumbing ------------------------------------------------------------------------
    def forward(self, index=None, views=None, label=None, teacher=None, mode: str = 'loss'):
        if mode == 'loss':
            return self.loss(dict(index=index, views=views, label=label, teacher=teacher))
        if mode == 'tensor':
            return self.student(views[0])
        raise ValueError(f'unsupported mode {mode!r}')

    def teacher_dim(self, feature: str) -> int:
        """Dimension of the teacher's ``feature`` ('backbone' or 'head'), with a clear error if absent."""
        if feature not in self.teacher.feat_dims:
            raise ValueError(f'{type(self).__name__} distils the teacher feature {feature!r}, but the teacher '
                             f'{self.teacher.name!r} only has {sorted(self.teacher.feat_dims)}; set '
                             f"teacher_feature='backbone' in method_cfgs or use a teacher with a projection head.")
        return self.teacher.feat_dims[feature]
