"""Student/teacher backbones with one feature API: ``forward(x) -> [N, feat_dim]``.

Usage: ``build_backbone('resnet18', width=0.5, small_input=True)``; rebuild any backbone
with ``build_backbone(**backbone.spec())``.
"""
from torch import nn

from . import alexnet, mobilenet, resnet  # noqa: F401  (imported to register the builders)
from .base import BACKBONES, Backbone

__all__ = ['BACKBONES', 'Backbone', 'build_backbone', 'list_backbones']


def list_backbones() -> list[str]:
    return sorted(BACKBONES.module_dict)


def build_backbone(arch: str, width: float = 1.0, small_input: bool = False) -> nn.Module:
    if arch not in BACKBONES.module_dict:
        raise KeyError(f'unknown backbone {arch!r}; valid names: {", ".join(list_backbones())}')
    return BACKBONES.module_dict[arch](width=width, small_input=small_input)
