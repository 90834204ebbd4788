"""Teachers: a frozen backbone (+ optional projection head) and safe checkpoint loading.

A teacher is always frozen, in eval mode, run under ``torch.inference_mode()`` and never wrapped
for DDP (methods hold it outside their module tree). Its outputs are ``dict(backbone=[N, D_b],
head=[N, D_h] or None)``; each method picks the feature it distils (CompRess: pooled backbone,
SEED: projection head; CompRess ``train_student.py``, SEED ``seed/builder.py``).

Checkpoints:
* this project's format (`save_teacher`), loaded as written;
* any public SSL checkpoint layout (docs/methods.md#teacher-checkpoints), described as data in
  `benchmarks.teachers.specs` (MoCo v1/v2/v3, SwAV, converted SimCLR/BYOL, CompRess/SEED students,
  plain torchvision state dicts), detected from the file or forced by name. The architecture is read
  from the weights unless given.

Loading always uses ``torch.load(weights_only=True)``; extra pickled classes (CompRess' argparse
``opt``) are unpickled only when the user allow-lists them. The loaded keys must match exactly: the
official CompRess loaders use ``strict=False`` unchecked and silently distil from a random teacher on
a prefix mismatch (``train_student.py``, ``eval_knn.py``); here a mismatch is an error naming the spec and keys.

Input normalisation: students always receive ImageNet-normalised inputs. A teacher trained on other
inputs (converted TF SimCLR: [0, 1] RGB, tonylins/simclr-converter) re-normalises them before its backbone.
"""
from __future__ import annotations

import contextlib
import importlib
import pickle
from pathlib import Path

import torch
from torch import nn

from methods.backbones import build_backbone, list_backbones
from methods.heads import mlp_head
from methods.moco_v3 import mocov3_projector

from benchmarks.cachefill import publish, temporary_sibling
from benchmarks.errors import TeacherError
from benchmarks.teachers.specs import (HEAD_LAYOUTS, INPUT_NORMS, TEACHER_SPECS, LayoutMismatch, TeacherSpec, detect_spec,
                            get_spec, guess_backbone_prefix, head_dims, head_kind_of, head_structure_problem,
                            infer_arch, list_teacher_specs, split_state)

TEACHER_FORMAT = 'ssl-compress-bench/teacher-v1'
PROJECT_SPEC = 'project'  # spec_name of teachers in this project's own format

__all__ = ['TEACHER_FORMAT', 'HEAD_BUILDERS', 'Teacher', 'TeacherFeatures', 'load_teacher', 'save_teacher',
           'safe_load', 'backbone_from_state', 'head_spec', 'list_teacher_specs', 'resolve_globals']


def _norm_tuple(input_norm) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(mean, std)`` from a name of `INPUT_NORMS`, a (mean, std) pair or a dict(mean=, std=)."""
    if input_norm is None:
        input_norm = 'imagenet'
    if isinstance(input_norm, str):
        if input_norm not in INPUT_NORMS:
            raise TeacherError(f'unknown teacher input normalisation {input_norm!r}; use one of {sorted(INPUT_NORMS)} '
                               f'or a (mean, std) pair of 3 floats each.')
        input_norm = INPUT_NORMS[input_norm]
    if isinstance(input_norm, dict):
        input_norm = (input_norm['mean'], input_norm['std'])
    mean, std = (tuple(float(v) for v in t) for t in input_norm)
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise TeacherError(f'teacher input normalisation needs 3 means and 3 positive stds, got {mean}, {std}.')
    return mean, std


def input_norm_name(input_norm) -> str | list:
    """The `INPUT_NORMS` name of ``(mean, std)``, or ``[mean, std]`` lists when it has none."""
    mean, std = _norm_tuple(input_norm)
    for name, (m, s) in INPUT_NORMS.items():
        if (mean, std) == (tuple(m), tuple(s)):
            return name
    return [list(mean), list(std)]


class Renormalise(nn.Module):
    """``x_t = (x * std_s + mean_s - mean_t) / std_t`` per channel: ImageNet-normalised student input
    ``x: [N, 3, H, W]`` to the teacher's own normalisation. Buffers are not persistent (they follow
    from the spec, not from trained state)."""

    def __init__(self, teacher_norm, student_norm='imagenet'):
        super().__init__()
        (mt, st), (ms, ss) = _norm_tuple(teacher_norm), _norm_tuple(student_norm)
        scale = torch.tensor([s / t for s, t in zip(ss, st)]).view(1, 3, 1, 1)
        shift = torch.tensor([(m - n) / t for m, n, t in zip(ms, mt, st)]).view(1, 3, 1, 1)
        self.register_buffer('scale', scale, persistent=False)
        self.register_buffer('shift', shift, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale.to(x.dtype) + self.shift.to(x.dtype)


class TeacherFeatures(nn.Module):
    """The teacher's backbone behind its input re-normalisation: takes ImageNet-normalised
    ``[N, 3, H, W]`` and returns ``[N, feat_dim]``, like any backbone (``.feat_dim``, ``.spec()``), so
    the evaluation suite can score the teacher row on the same inputs as the students."""

    def __init__(self, renorm: nn.Module, backbone: nn.Module):
        super().__init__()
        self.renorm, self.backbone = renorm, backbone
        self.feat_dim = backbone.feat_dim

    def train(self, mode: bool = True):
        """Stays in eval mode: the backbone is the frozen teacher's own (shared, not copied)."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(self.renorm(x))

    def spec(self) -> dict:
        return self.backbone.spec()


class Teacher(nn.Module):
    """Frozen feature extractor. ``feat_dims`` maps feature name -> dimension.

    ``input_norm``: the normalisation the backbone was trained with (`INPUT_NORMS` name or
    ``(mean, std)``; default ImageNet). Inputs are always ImageNet-normalised; when the two differ
    `forward` re-normalises them first. ``spec_name``: the checkpoint layout it was loaded with.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module | None = None, name: str = 'teacher',
                 source: str = '', meta: dict | None = None, input_norm=None, spec_name: str | None = None):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.name, self.source, self.spec_name = name, source, spec_name
        self.meta = dict(meta or {})  # how it was made (training recipe, images seen, wall time, spec)
        self.input_norm = _norm_tuple(input_norm)
        # no module at all when nothing changes: identical outputs and no extra work
        self.renorm = Renormalise(self.input_norm) if self.input_norm != INPUT_NORMS['imagenet'] else None
        self.feat_dims = {'backbone': backbone.feat_dim}
        if head is not None:
            self.feat_dims['head'] = [m for m in head.modules() if isinstance(m, nn.Linear)][-1].out_features
        for p in self.parameters():
            p.requires_grad_(False)
        super().train(False)
        # outputs rounded to output_dtype (the shared-output store's precision, with or without sharing)
        self.output_dtype = None
        self.images_forwarded = 0   # images this teacher actually ran on

    def train(self, mode: bool = True):
        """A teacher never leaves eval mode (BN running statistics, as in every official repo)."""
        return super().train(False)

    def set_output_dtype(self, dtype: torch.dtype | None) -> None:
        """Round every output to ``dtype`` (the shared-output store's), with or without sharing."""
        self.output_dtype = dtype

    def forward(self, x: torch.Tensor) -> dict:
        """``dict(backbone=[N, D_b], head=[N, D_h] or None)`` of an ImageNet-normalised batch [N, 3, H, W]."""
        self.images_forwarded += x.shape[0]
        with torch.inference_mode():
            if self.renorm is not None:
                x = self.renorm(x)
            f = self.backbone(x)
            h = self.head(f) if self.head is not None else None
            if self.output_dtype is not None:
                f = f.to(self.output_dtype).float()
                h = h.to(self.output_dtype).float() if h is not None else None
        # clone outside inference mode: losses may save these tensors for backward
        return dict(backbone=f.clone(), head=h.clone() if h is not None else None)

    def feature_extractor(self) -> nn.Module:
        """A module taking ImageNet-normalised input and returning the backbone feature
        ``[N, feat_dim]`` (with ``.feat_dim`` and ``.spec()``). It is the backbone itself when no
        re-normalisation is needed, so exports of it stay plain backbone state dicts."""
        return self.backbone if self.renorm is None else TeacherFeatures(self.renorm, self.backbone)

    def spec(self) -> dict:
        return dict(name=self.name, source=self.source, spec_name=self.spec_name,
                    input_norm=input_norm_name(self.input_norm), backbone=self.backbone.spec(),
                    feat_dims=self.feat_dims)


def linear_head(in_dim: int, hidden_dim: None, out_dim: int) -> nn.Linear:
    """MoCo v1's ``fc = Linear(in, out)`` (facebookresearch/moco ``moco/builder.py``); ``hidden_dim`` must be
    None (the builder signature is shared with the two-layer heads)."""
    if hidden_dim is not None:
        raise ValueError(f'a linear head has no hidden layer, got hidden_dim={hidden_dim}')
    return nn.Linear(in_dim, out_dim)


def swav_projection_head(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """SwAV's ``projection_head = Linear(in, hidden) - BN1d - ReLU - Linear(hidden, out)`` with Linear
    biases (keys ``0.*, 1.*, 3.*``; facebookresearch/swav ``src/resnet50.py``). SwAV L2-normalises the
    output afterwards (``normalize=True``); that is left to the distillation loss, as for every head here."""
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True),
                         nn.Linear(hidden_dim, out_dim))


# projection heads a teacher can carry: kind (teacher_specs.HEAD_LAYOUTS) -> builder(in_dim, hidden_dim, out_dim)
HEAD_BUILDERS = {'linear': linear_head, 'mlp': mlp_head, 'mocov3_projector': mocov3_projector,
                 'swav_projection': swav_projection_head}
assert set(HEAD_BUILDERS) == set(HEAD_LAYOUTS), 'every head layout needs a builder'


def head_spec(head: nn.Module) -> dict:
    """``dict(kind, dims=[in, hidden, out])`` of a head of one of the `HEAD_BUILDERS` kinds, read from
    its state dict (hidden is None for 'linear')."""
    state = head.state_dict()
    kind = head_kind_of(state)
    if kind is None:
        raise ValueError(f'cannot store a teacher head with state keys {sorted(state)[:8]}; known kinds: '
                         f'{sorted(HEAD_BUILDERS)}')
    return dict(kind=kind, dims=list(head_dims(kind, state)))


def save_teacher(path: Path, backbone: nn.Module, head: nn.Module | None, meta: dict, input_norm=None) -> None:
    """Write a teacher in this project's format (plain tensors and builtins: loads with weights_only).
    ``input_norm`` (default ImageNet) is stored so a re-saved SimCLR teacher keeps its [0, 1] input."""
    spec = head_spec(head) if head is not None else None
    mean, std = _norm_tuple(input_norm)
    obj = dict(format=TEACHER_FORMAT, backbone_spec=backbone.spec(), backbone=backbone.state_dict(),
               head=head.state_dict() if head is not None else None,
               head_dims=spec['dims'] if spec else None, head_kind=spec['kind'] if spec else None,
               input_norm=dict(mean=list(mean), std=list(std)), meta=meta)
    tmp = temporary_sibling(path)
    try:
        torch.save(obj, tmp)
        publish(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------
# safe loading

_ALLOW_HINT = ('--teacher-allow-globals {names} on the command line or teacher.allow_globals={lst} in the config')


def resolve_globals(names) -> list:
    """The objects named by importable ``'module.QualName'`` strings (e.g. ``'argparse.Namespace'``)."""
    objs = []
    for name in names or ():
        parts = str(name).split('.')
        obj = None
        for i in range(len(parts) - 1, 0, -1):
            try:
                obj = importlib.import_module('.'.join(parts[:i]))
            except ImportError:
                continue
            try:
                for attr in parts[i:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                obj = None
            break
        if obj is None:
            raise TeacherError(f'teacher.allow_globals entry {name!r} cannot be imported; give importable '
                               f'"module.QualName" strings exactly as the checkpoint error lists them '
                               f'(e.g. argparse.Namespace).')
        objs.append(obj)
    return objs


def safe_load(path, allow_globals=()) -> object:
    """``torch.load(path, weights_only=True)`` with a clear error instead of unsafe unpickling.

    ``allow_globals``: importable names (``'argparse.Namespace'``) the user trusts in this file; they
    are allow-listed with ``torch.serialization.safe_globals`` and nothing else is. There is no
    fallback to ``weights_only=False``.
    """
    path = Path(path)
    if not path.is_file():
        raise TeacherError(f'teacher checkpoint {path} does not exist; pass an existing file to --teacher '
                           f'or leave it out to train (and cache) a MoCo v2 teacher on the suite data.')
    allowed = resolve_globals(allow_globals)
    with torch.serialization.safe_globals(allowed):
        try:
            return torch.load(path, map_location='cpu', weights_only=True)
        except pickle.UnpicklingError as exc:
            try:
                unsafe = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
            except Exception:  # not a zip checkpoint (legacy format or not a checkpoint at all)
                unsafe = []
            if not unsafe:
                raise TeacherError(f'{path} is not a readable PyTorch checkpoint (torch.load could not unpickle '
                                   f'it); check that the file is complete and was written by torch.save.') from exc
            hint = _ALLOW_HINT.format(names=','.join(unsafe), lst=unsafe)
            raise TeacherError(
                f'{path} cannot be loaded with weights_only=True because it pickles non-tensor objects {unsafe}'
                + (f' (allowed so far: {list(allow_globals)})' if allow_globals else '') +
                f'. If you trust the file, allow exactly these with {hint}; or re-save its state dict as plain '
                f'tensors (torch.save(ckpt["state_dict"], new_path)) and pass the new file.') from exc
        except Exception as exc:
            raise TeacherError(f'{path} is not a readable PyTorch checkpoint: {exc}') from exc


# ---------------------------------------------------------------------------------------------------
# loading


def _keys_text(keys, n: int = 5) -> str:
    keys = list(keys)
    return f'{len(keys)} ({", ".join(keys[:n])}{", ..." if len(keys) > n else ""})' if keys else '0'


def _load_exact(model: nn.Module, state: dict, what: str, path, spec: TeacherSpec | None, leftover=(),
                tolerate=lambda key: False, error=TeacherError,
                hint: str = 'teacher.checkpoint_arch=dict(arch=..., width=..., small_input=...) in the config',
                note: str = '') -> None:
    """``load_state_dict(strict=False)`` and demand no missing key (except ``tolerate``d ones) and no
    unexpected key (``leftover``: file keys that fit no part of the spec's layout count as unexpected)."""
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not tolerate(k)]
    unexpected = list(result.unexpected_keys) + list(leftover)
    if missing or unexpected:
        tried = f"with teacher spec '{spec.name}' " if spec is not None else ''
        fix = (f'Check the checkpoint prefix (this spec reads the backbone under '
               f'{" or ".join(repr(p) for p in spec.backbone_prefixes)}), pass --teacher-spec NAME (teacher.spec; one '
               f'of {", ".join(TEACHER_SPECS)}) for another layout, or set the architecture ({hint})'
               if spec is not None else f'Check the architecture ({hint}) and the checkpoint prefix')
        raise error(
            f'{path}: loading the {what} {tried}failed: missing keys {_keys_text(missing)}; unexpected keys '
            f'{_keys_text(unexpected)}.{note} {fix}; a mismatched network would silently produce random features.')


def load_teacher(path, arch: dict | None = None, spec: str | TeacherSpec | None = None,
                 allow_globals=()) -> Teacher:
    """Load a frozen `Teacher` from ``path``.

    * this project's format (`save_teacher`): backbone + head as written (``arch`` unused; forcing a
      ``spec`` on such a file is an error);
    * otherwise the checkpoint layout ``spec`` (a name of `TEACHER_SPECS`) or, when None, the one
      `detect_spec` finds. ``arch`` = ``dict(arch, width, small_input)`` is used as given; None reads
      it from the weights (`infer_arch`). Backbone and head must load with no missing key (beyond
      the spec's ``expected_missing``) and no unexpected or unexplained key.

    ``allow_globals``: importable names of pickled classes the user trusts in this file
    (``['argparse.Namespace']`` for CompRess students). Raises `TeacherError` with the fix.
    """
    if spec is not None and not isinstance(spec, TeacherSpec):
        spec = get_spec(spec)  # unknown names fail before the file is read
    obj = safe_load(path, allow_globals)
    if isinstance(obj, dict) and obj.get('format') == TEACHER_FORMAT:
        if spec is not None:
            raise TeacherError(f'{path} is a teacher in this project\'s own format, which needs no layout spec; '
                               f'drop --teacher-spec {spec.name} (teacher.spec) to load it.')
        return _load_project_teacher(obj, path)
    spec = spec if spec is not None else detect_spec(obj, path)
    try:
        split = split_state(spec, obj)
    except LayoutMismatch as exc:
        raise TeacherError(f"{path} does not have the layout of teacher spec '{spec.name}': {exc}. Pass the "
                           f"--teacher-spec NAME (teacher.spec) matching the file, one of {', '.join(TEACHER_SPECS)}, "
                           f"or leave it out to detect the layout.") from exc
    inferred, where = arch is None, ''
    # a wrong prefix leaves the stem deeper than expected (or outside it): say where the backbone is
    candidates = split.backbone or {k: split.state[k] for k in split.leftover}
    guess = guess_backbone_prefix(candidates)
    if guess:
        where = f" The file's backbone seems to be under {(split.backbone_prefix if split.backbone else '') + guess!r}."
    if arch is None:
        try:
            arch = infer_arch(split.backbone)
        except TeacherError as exc:
            if guess:  # infer from where the backbone really is, so the error below names the missing keys
                with contextlib.suppress(TeacherError):
                    arch = infer_arch({k[len(guess):]: v for k, v in candidates.items() if k.startswith(guess)})
            if arch is None and not split.backbone:
                raise TeacherError(
                    f"{path}: teacher spec '{spec.name}' finds no backbone weights: no key starts with "
                    f"{' or '.join(repr(p) for p in spec.backbone_prefixes)}; the file's keys fitting no part of this "
                    f"layout are {_keys_text(split.leftover)}.{where} Pass --teacher-spec NAME (teacher.spec; one of "
                    f"{', '.join(TEACHER_SPECS)}) matching the file, or leave it out to detect the layout.") from exc
            if arch is None:
                raise TeacherError(f"{path} (teacher spec '{spec.name}'): {exc}") from exc
    if not isinstance(arch, dict) or arch.get('arch') not in list_backbones():
        raise TeacherError(f"teacher architecture {arch!r} is not known; set teacher.checkpoint_arch=dict(arch=NAME, width=W, "
                           f"small_input=False) with NAME one of {', '.join(list_backbones())}.")
    backbone = build_backbone(**arch)
    arch = backbone.spec()
    _load_exact(backbone, split.backbone, 'backbone', path, spec, split.leftover, spec.is_expected_missing,
                note=where)
    head = None
    if spec.head_kind is not None:
        head = _build_head(spec, split.head, backbone.feat_dim, path)
    meta = dict(name=f"{arch['arch']} x{arch['width']:g} ({spec.name}: {Path(path).name})", spec=spec.name,
                spec_source=spec.source, input_norm=spec.input_norm, arch=arch, arch_inferred=inferred,
                ignored_keys=len(split.ignored) + len(split.dropped), head_kind=spec.head_kind, feature=spec.feature)
    return Teacher(backbone.eval(), head, name=meta['name'], source=str(path), meta=meta,
                   input_norm=spec.input_norm, spec_name=spec.name)


def _build_head(spec: TeacherSpec, state: dict, feat_dim: int, path) -> nn.Module:
    problem = head_structure_problem(spec.head_kind, state)
    if problem is not None:
        raise TeacherError(
            f"{path}: the projection head of teacher spec '{spec.name}' under {spec.head_prefix!r} does not load: "
            f"{problem}. Pass --teacher-spec NAME (teacher.spec; one of {', '.join(TEACHER_SPECS)}) matching the file.")
    dims = head_dims(spec.head_kind, state)
    if dims[0] != feat_dim:
        raise TeacherError(f"{path}: the {spec.head_kind} head of teacher spec '{spec.name}' takes {dims[0]}-d input "
                           f"but the backbone gives {feat_dim}-d features; the head belongs to another architecture "
                           f"(check teacher.checkpoint_arch).")
    head = HEAD_BUILDERS[spec.head_kind](*dims)
    # BN counters are unused in eval mode and optional in the head layouts
    _load_exact(head, state, f'{spec.head_kind} head', path, spec,
                tolerate=lambda k: k.endswith('num_batches_tracked') or spec.is_expected_missing(k))
    return head.eval()


def _load_project_teacher(obj: dict, path) -> Teacher:
    backbone = build_backbone(**obj['backbone_spec'])
    _load_exact(backbone, obj['backbone'], 'backbone', path, None)
    head = None
    if obj.get('head') is not None:
        kind = obj.get('head_kind') or 'mlp'  # files written before MoCo v3 teachers hold an MLP head
        if kind not in HEAD_BUILDERS:
            raise TeacherError(f'{path}: unknown teacher head kind {kind!r}; known: {sorted(HEAD_BUILDERS)}.')
        head = HEAD_BUILDERS[kind](*obj['head_dims'])
        _load_exact(head, obj['head'], 'head', path, None)
    meta = dict(obj.get('meta') or {})
    input_norm = obj.get('input_norm')  # absent in files written before input normalisation was stored
    meta.setdefault('spec', PROJECT_SPEC)
    return Teacher(backbone, head, name=meta.get('name', 'teacher'), source=str(path), meta=meta,
                   input_norm=input_norm, spec_name=PROJECT_SPEC)


def backbone_from_state(obj, arch: dict, path, error=TeacherError,
                        hint: str = 'teacher.arch/width/small_input in the config') -> nn.Module:
    """A backbone of ``arch`` from a plain (torchvision-named) state dict, optionally under
    ``state_dict``/``model`` and/or with a ``module.`` prefix (the 'torchvision' spec);
    ``fc.*``/``classifier.*`` are dropped and every other key must match exactly."""
    spec = TEACHER_SPECS['torchvision']
    try:
        split = split_state(spec, obj)
    except LayoutMismatch as exc:
        raise error(f'{path} does not contain a state dict of tensors ({exc}).') from exc
    backbone = build_backbone(**arch)
    _load_exact(backbone, split.backbone, 'backbone', path, None, split.leftover, error=error, hint=hint)
    return backbone
