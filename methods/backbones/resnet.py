"""ResNet-18/34/50 backbones (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016).

Built from torchvision's ``BasicBlock``/``Bottleneck`` and ``ResNet._make_layer`` so that at
``width=1.0, small_input=False`` the ``state_dict`` keys are exactly torchvision's minus
``fc.weight``/``fc.bias``: an exported backbone loads into ``torchvision.models.resnet18()``
with ``strict=False`` (missing == fc) and into mmdet's ``ResNet``.

Shapes: ``[N, 3, H, W] -> [N, feat_dim]`` with ``feat_dim = 8 * c`` (BasicBlock) or
``32 * c`` (Bottleneck), ``c = round(64 * width)``.

Deviations from torchvision / the CompRess reference code:
  * ``AdaptiveAvgPool2d(1)`` instead of CompRess' ``AvgPool2d(7)``, which tied that ResNet to
    224 px input; any H, W >= 32 works here.
  * width multiplier scales every stage: ``round(64 * width) * (1, 2, 4, 8)``.
  * ``small_input=True`` uses the CIFAR stem (3x3 stride-1 ``conv1``, ``maxpool`` ->
    ``nn.Identity``) so 32-64 px images are not downsampled 4x before ``layer1``; module names
    are kept so checkpoints stay structurally comparable.
"""
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

from .base import BACKBONES, Backbone, scale, torchvision_init


class ResNetBackbone(Backbone):
    # torchvision's layer builder only reads inplanes/dilation/groups/base_width/_norm_layer,
    # so reusing it keeps block construction (and key names) identical to torchvision.
    _make_layer = ResNet._make_layer

    def __init__(self, arch, block, layers, width=1.0, small_input=False):
        super().__init__(arch, width, small_input)
        c = scale(64, width)
        self._norm_layer = nn.BatchNorm2d
        self.dilation, self.groups, self.base_width = 1, 1, 64
        self.inplanes = c
        if small_input:
            self.conv1 = nn.Conv2d(3, c, kernel_size=3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(3, c, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block, c, layers[0])
        self.layer2 = self._make_layer(block, 2 * c, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 4 * c, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 8 * c, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.feat_dim = self.inplanes  # channels actually produced by layer4
        torchvision_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


@BACKBONES.register_module()
def resnet18(width: float = 1.0, small_input: bool = False) -> ResNetBackbone:
    return ResNetBackbone('resnet18', BasicBlock, [2, 2, 2, 2], width, small_input)


@BACKBONES.register_module()
def resnet34(width: float = 1.0, small_input: bool = False) -> ResNetBackbone:
    return ResNetBackbone('resnet34', BasicBlock, [3, 4, 6, 3], width, small_input)


@BACKBONES.register_module()
def resnet50(width: float = 1.0, small_input: bool = False) -> ResNetBackbone:
    return ResNetBackbone('resnet50', Bottleneck, [3, 4, 6, 3], width, small_input)


@BACKBONES.register_module()
def resnet101(width: float = 1.0, small_input: bool = False) -> ResNetBackbone:
    return ResNetBackbone('resnet101', Bottleneck, [3, 4, 23, 3], width, small_input)


@BACKBONES.register_module()
def resnet152(width: float = 1.0, small_input: bool = False) -> ResNetBackbone:
    return ResNetBackbone('resnet152', Bottleneck, [3, 8, 36, 3], width, small_input)
