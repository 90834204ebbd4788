"""Shared base class and registry for student/teacher backbones.

Every backbone maps ``x: Tensor[N, 3, H, W]`` to a pooled embedding ``Tensor[N, feat_dim]``
and carries enough metadata (``spec()``) to be rebuilt with
``build_backbone(**backbone.spec())``. Classifier heads are never part of a backbone: the
compression losses consume the embedding, and linear/kNN evaluation adds its own head.
"""
from mmengine.registry import Registry
from torch import nn

BACKBONES = Registry('backbone')


def scale(channels: int, width: float) -> int:
    """Channel count for a width multiplier; at least 1 so tiny widths still build."""
    return max(1, int(round(channels * width)))


class Backbone(nn.Module):
    """Base class: subclasses set ``feat_dim`` and implement ``forward`` -> ``[N, feat_dim]``."""

    feat_dim: int

    def __init__(self, arch: str, width: float = 1.0, small_input: bool = False):
        super().__init__()
        self.arch = arch
        self.width = float(width)
        self.small_input = bool(small_input)

    def spec(self) -> dict:
        return dict(arch=self.arch, width=self.width, small_input=self.small_input)

    def extra_repr(self) -> str:
        return f'arch={self.arch}, width={self.width}, small_input={self.small_input}, feat_dim={self.feat_dim}'


def torchvision_init(module: nn.Module) -> None:
    """torchvision's ResNet initialisation (kaiming-normal fan_out convs, BN weight 1 / bias 0), so
    from-scratch students start where the reference recipes start."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


def zero_init_residual(module: nn.Module) -> None:
    """Zero the weight of the last BN of every residual branch of torchvision blocks (``bn2`` of a
    ``BasicBlock``, ``bn3`` of a ``Bottleneck``), so each block starts as the identity: torchvision's
    ``resnet*(zero_init_residual=True)`` (Goyal et al., "Accurate, Large Minibatch SGD", 2017)."""
    from torchvision.models.resnet import BasicBlock, Bottleneck
    for m in module.modules():
        if isinstance(m, Bottleneck):
            nn.init.zeros_(m.bn3.weight)
        elif isinstance(m, BasicBlock):
            nn.init.zeros_(m.bn2.weight)
