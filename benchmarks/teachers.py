"""Teachers: a frozen backbone (+ optional projection head) and safe checkpoint loading.

A teacher is always frozen, in eval mode, run under ``torch.inference_mode()`` and never wrapped
for DDP (methods hold it outside their module tree). Its outputs are ``dict(backbone=[N, D_b],
head=[N, D_h] or None)``; each method picks the feature it distils (CompRess: pooled backbone).

Checkpoints load with ``torch.load(weights_only=True)`` only, and the loaded keys must match exactly
(after stripping known prefixes and dropping classifier keys): the official CompRess loaders use
``strict=False`` unchecked and silently distil from a random teacher on a prefix mismatch
(research/methods.md §1.9); here a mismatch is an error that names the keys.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from methods.backbones import build_backbone
from methods.heads import mlp_head
from methods.moco_v3 import mocov3_projector

from .errors import TeacherError

TEACHER_FORMAT = 'ssl-compress-bench/teacher-v1'


class Teacher(nn.Module):
    """Frozen feature extractor. ``feat_dims`` maps feature name -> dimension."""

    def __init__(self, backbone: nn.Module, head: nn.Module | None = None, name: str = 'teacher',
                 source: str = '', meta: dict | None = None):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.name, self.source = name, source
        self.meta = dict(meta or {})  # how it was made (training recipe, images seen, wall time)
        self.feat_dims = {'backbone': backbone.feat_dim}
        if head is not None:
            self.feat_dims['head'] = [m for m in head.modules() if isinstance(m, nn.Linear)][-1].out_features
        for p in self.parameters():
            p.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True):
        """A teacher never leaves eval mode (BN running statistics, as in every official repo)."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> dict:
        with torch.inference_mode():
            f = self.backbone(x)
            h = self.head(f) if self.head is not None else None
        # clone outside inference mode: losses may save these tensors for backward
        return dict(backbone=f.clone(), head=h.clone() if h is not None else None)

    def spec(self) -> dict:
        return dict(name=self.name, source=self.source, backbone=self.backbone.spec(), feat_dims=self.feat_dims)


# projection heads a trained teacher can carry: kind -> builder(in_dim, hidden_dim, out_dim)
HEAD_BUILDERS = {'mlp': mlp_head, 'mocov3_projector': mocov3_projector}


def head_spec(head: nn.Module) -> dict:
    """``dict(kind, dims=[in, hidden, out])`` of a MoCo v2 MLP head or a MoCo v3 projector."""
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    kind = 'mocov3_projector' if any(isinstance(m, nn.BatchNorm1d) for m in head.modules()) else 'mlp'
    if len(linears) != 2:
        raise ValueError(f'cannot store a teacher head with {len(linears)} Linear layers; known kinds: {sorted(HEAD_BUILDERS)}')
    return dict(kind=kind, dims=[linears[0].in_features, linears[0].out_features, linears[1].out_features])


def save_teacher(path: Path, backbone: nn.Module, head: nn.Module | None, meta: dict) -> None:
    """Write a teacher in this project's format (plain tensors and builtins: loads with weights_only)."""
    spec = head_spec(head) if head is not None else None
    obj = dict(format=TEACHER_FORMAT, backbone_spec=backbone.spec(), backbone=backbone.state_dict(),
               head=head.state_dict() if head is not None else None,
               head_dims=spec['dims'] if spec else None, head_kind=spec['kind'] if spec else None,
               meta=meta)
    tmp = Path(str(path) + '.tmp')
    torch.save(obj, tmp)
    tmp.replace(path)


def safe_load(path) -> object:
    """``torch.load(path, weights_only=True)`` with a clear error instead of unsafe unpickling."""
    path = Path(path)
    if not path.is_file():
        raise TeacherError(f'teacher checkpoint {path} does not exist; pass an existing file to --teacher '
                           f'or leave it out to train (and cache) a MoCo v2 teacher on the suite data.')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as exc:
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except Exception:  # not a zip checkpoint (legacy format or not a checkpoint at all)
            unsafe = []
        if not unsafe:
            raise TeacherError(f'{path} is not a readable PyTorch checkpoint (torch.load could not unpickle it); '
                               f'check that the file is complete and was written by torch.save.') from exc
        raise TeacherError(
            f'{path} cannot be loaded with weights_only=True because it pickles non-tensor objects {unsafe}. '
            f'If you trust the file, re-save its state dict as plain tensors '
            f'(torch.save(ckpt["state_dict"], new_path)) and pass the new file.') from exc
    except Exception as exc:
        raise TeacherError(f'{path} is not a readable PyTorch checkpoint: {exc}') from exc


def _check_keys(model: nn.Module, state: dict, what: str, path, error=TeacherError,
                hint: str = 'teacher.arch/width/small_input in the config') -> None:
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        miss, unexp = result.missing_keys, result.unexpected_keys
        raise error(
            f'{path}: the {what} keys do not match the expected architecture '
            f'({len(miss)} missing, e.g. {miss[:5]}; {len(unexp)} unexpected, e.g. {unexp[:5]}). '
            f'Check the architecture ({hint}) and the checkpoint prefix; a mismatched network would '
            f'silently produce random features.')


def _state_dict_of(obj) -> dict:
    for key in ('state_dict', 'model'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            return obj[key]
    return obj


def load_teacher(path, arch: dict | None = None) -> Teacher:
    """Load a teacher from ``path``.

    * this project's teacher format (written by `save_teacher`): backbone + head, exact keys;
    * a plain backbone state dict (torchvision key names, optionally under ``state_dict``/``model``
      and/or with a ``module.`` prefix; ``fc.*``/``classifier.*`` are dropped) for the architecture
      ``arch = dict(arch=..., width=..., small_input=...)``; every other key must match.
    """
    obj = safe_load(path)
    if isinstance(obj, dict) and obj.get('format') == TEACHER_FORMAT:
        backbone = build_backbone(**obj['backbone_spec'])
        _check_keys(backbone, obj['backbone'], 'backbone', path)
        head = None
        if obj.get('head') is not None:
            kind = obj.get('head_kind') or 'mlp'  # files written before MoCo v3 teachers hold an MLP head
            if kind not in HEAD_BUILDERS:
                raise TeacherError(f'{path}: unknown teacher head kind {kind!r}; known: {sorted(HEAD_BUILDERS)}.')
            head = HEAD_BUILDERS[kind](*obj['head_dims'])
            _check_keys(head, obj['head'], 'head', path)
        meta = obj.get('meta') or {}
        return Teacher(backbone, head, name=meta.get('name', 'teacher'), source=str(path), meta=meta)
    if arch is None:
        raise TeacherError(f'{path} is a plain state dict; say which architecture it holds with teacher.arch.')
    backbone = backbone_from_state(obj, arch, path)
    return Teacher(backbone, None, name=f"{arch['arch']} ({Path(path).name})", source=str(path))


def backbone_from_state(obj, arch: dict, path, error=TeacherError,
                        hint: str = 'teacher.arch/width/small_input in the config') -> nn.Module:
    """A backbone of ``arch`` from a plain (torchvision-named) state dict, optionally under
    ``state_dict``/``model`` and/or with a ``module.`` prefix; ``fc.*``/``classifier.*`` are dropped and
    every other key must match exactly."""
    state = _state_dict_of(obj)
    if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
        raise error(f'{path} does not contain a state dict of tensors.')
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    state = {k: v for k, v in state.items() if not k.startswith(('fc.', 'classifier.'))}
    backbone = build_backbone(**arch)
    _check_keys(backbone, state, 'backbone', path, error, hint)
    return backbone
