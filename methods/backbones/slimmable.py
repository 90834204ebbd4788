"""Slimmable ResNet-18/34/50 with switchable batch norm (SlimCLR, docs/methods.md#slimclr).

One set of weights holds several networks of different widths (Yu et al., "Slimmable Neural
Networks", ICLR 2019; used by Zhao et al., "Slimmable Networks for Contrastive Self-supervised
Learning", IJCV 2024, code ``models/backbones/s_resnet.py`` / ``slimmable_ops.py``):

* every convolution is shared: the sub-network of relative width ``w`` uses the first output and
  input channels, ``weight[:out_w, :in_w]`` (the stem always reads the 3 image channels);
* batch norm is *switchable*: each width has its own private ``BatchNorm2d`` (affine parameters
  and running statistics), ``<name>.bns.<i>`` with ``i`` the index of the width in ``widths``.

Channel counts at relative width ``w`` are exactly those of the plain
``build_backbone(arch, width=width * w, small_input)`` (``scale(64, width * w) * (1, 2, 4, 8)``,
times 4 after Bottleneck blocks), and module names mirror ``ResNetBackbone`` (``conv1``, ``bn1``,
``layer1..4``, blocks' ``conv1/bn1/conv2/bn2[/conv3/bn3]/downsample.0/.1``), so ``export(w)``
gives a plain ``ResNetBackbone`` whose outputs equal the slimmable network's at that width.

Deviation from the official code: its channel counts are ``int(c * w)`` of the full-width counts;
here they follow ``scale`` of the harness's width multiplier so each exported sub-network is the
same architecture as a plain student of that width (needed for comparable leaderboard rows).

Shapes: ``forward: [N, 3, H, W] -> [N, feat_dim]``, ``feat_dim = feat_dim_at(active_width)``.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F

from .base import Backbone, scale, torchvision_init


class WidthSwitch:
    """Mixin for layers whose behaviour depends on the active width, index ``width_idx`` into ``widths``."""

    width_idx: int = 0


def set_width_index(module: nn.Module, index: int) -> None:
    """Point every slimmable/switchable layer inside ``module`` at the width with this index."""
    for m in module.modules():
        if isinstance(m, WidthSwitch):
            m.width_idx = index


class SlimmableConv2d(nn.Conv2d, WidthSwitch):
    """A bias-free conv holding the widest kernel; width ``i`` uses ``weight[:out[i], :in[i]]``."""

    def __init__(self, in_channels_list, out_channels_list, kernel_size, stride=1, padding=0):
        super().__init__(max(in_channels_list), max(out_channels_list), kernel_size, stride=stride,
                         padding=padding, bias=False)
        self.in_channels_list, self.out_channels_list = list(in_channels_list), list(out_channels_list)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c_in, c_out = self.in_channels_list[self.width_idx], self.out_channels_list[self.width_idx]
        if x.shape[1] != c_in:
            raise ValueError(f'slimmable conv at width index {self.width_idx} expects {c_in} input channels, '
                             f'got {x.shape[1]}')
        return self._conv_forward(x, self.weight[:c_out, :c_in], None)


class SwitchableBatchNorm2d(nn.Module, WidthSwitch):
    """One private ``BatchNorm2d`` per width (``bns[i]`` has ``num_features_list[i]`` channels)."""

    def __init__(self, num_features_list):
        super().__init__()
        self.num_features_list = list(num_features_list)
        self.bns = nn.ModuleList(nn.BatchNorm2d(c) for c in self.num_features_list)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bns[self.width_idx](x)


class SwitchableBatchNorm1d(nn.Module, WidthSwitch):
    """One private ``BatchNorm1d`` per width (``bns[i]`` has ``num_features_list[i]`` features), for
    slimmable MLP heads; ``affine=False`` for the last BN of a MoCo v3 projector."""

    def __init__(self, num_features_list, affine: bool = True):
        super().__init__()
        self.num_features_list = list(num_features_list)
        self.bns = nn.ModuleList(nn.BatchNorm1d(c, affine=affine) for c in self.num_features_list)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bns[self.width_idx](x)


class SlimmableLinear(nn.Linear, WidthSwitch):
    """A linear layer sharing one weight across widths (for slimmable MLP heads).

    The input is sliced to ``x.shape[1]`` features (``weight[:, :x.shape[1]]``); the output has
    ``out_features[width_idx]`` features when ``out_features`` is a per-width list, else the fixed
    ``out_features``. ``[N, d_in <= in_features] -> [N, d_out]``.
    """

    def __init__(self, in_features: int, out_features, bias: bool = True):
        per_width = isinstance(out_features, (list, tuple))
        super().__init__(in_features, max(out_features) if per_width else int(out_features), bias=bias)
        self.out_features_list = [int(o) for o in out_features] if per_width else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d_in = x.shape[1]
        if d_in > self.in_features:
            raise ValueError(f'slimmable linear holds {self.in_features} input features, got {d_in}')
        d_out = self.out_features_list[self.width_idx] if self.out_features_list else self.out_features
        bias = self.bias[:d_out] if self.bias is not None else None
        return F.linear(x, self.weight[:d_out, :d_in], bias)


class SlimBasicBlock(nn.Module):
    """torchvision ``BasicBlock`` with slimmable convs and switchable BN; channel args are per-width lists."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        out = [p * self.expansion for p in planes]
        self.conv1 = SlimmableConv2d(inplanes, planes, 3, stride=stride, padding=1)
        self.bn1 = SwitchableBatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = SlimmableConv2d(planes, out, 3, padding=1)
        self.bn2 = SwitchableBatchNorm2d(out)
        self.downsample = _downsample(inplanes, out, stride)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + identity)


class SlimBottleneck(nn.Module):
    """torchvision ``Bottleneck`` (stride on the 3x3 conv, ResNet v1.5), slimmable."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        out = [p * self.expansion for p in planes]
        self.conv1 = SlimmableConv2d(inplanes, planes, 1)
        self.bn1 = SwitchableBatchNorm2d(planes)
        self.conv2 = SlimmableConv2d(planes, planes, 3, stride=stride, padding=1)
        self.bn2 = SwitchableBatchNorm2d(planes)
        self.conv3 = SlimmableConv2d(planes, out, 1)
        self.bn3 = SwitchableBatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(inplanes, out, stride)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + identity)


def _downsample(inplanes, out, stride):
    # Every count is a fixed multiple of the stem width at each width, so "in != out" is decided
    # identically at every width, and identically to torchvision's rule for the exported plain net.
    if stride == 1 and inplanes == out:
        return None
    return nn.Sequential(SlimmableConv2d(inplanes, out, 1, stride=stride), SwitchableBatchNorm2d(out))


_ARCHS = {
    'resnet18': (SlimBasicBlock, (2, 2, 2, 2)),
    'resnet34': (SlimBasicBlock, (3, 4, 6, 3)),
    'resnet50': (SlimBottleneck, (3, 4, 6, 3)),
}


class SlimmableResNet(Backbone):
    """Slimmable ResNet whose full-width network is ``build_backbone(arch, width, small_input)``.

    ``widths`` are relative widths in (0, 1] and must include 1.0; they are kept sorted largest
    first (index 0 is the full network). The active width (default 1.0) selects the sub-network
    that ``forward`` runs: ``set_width(w)`` or ``with net.at_width(w): ...``.
    """

    def __init__(self, arch: str, width: float = 1.0, widths=(1.0, 0.75, 0.5, 0.25), small_input: bool = False):
        if arch not in _ARCHS:
            raise ValueError(f'slimmable backbones exist for {sorted(_ARCHS)}, not {arch!r}')
        super().__init__(arch, width, small_input)
        ws = sorted({float(w) for w in widths}, reverse=True)
        if not ws or ws[0] != 1.0 or ws[-1] <= 0:
            raise ValueError(f'widths must be relative widths in (0, 1] including 1.0, got {list(widths)}')
        self._widths = tuple(ws)
        block, layers = _ARCHS[arch]
        stem = [scale(64, self.width * w) for w in ws]
        assert all(c <= stem[0] for c in stem), 'a sub-network must not be wider than the full network'
        if small_input:
            self.conv1 = SlimmableConv2d([3] * len(ws), stem, 3, stride=1, padding=1)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = SlimmableConv2d([3] * len(ws), stem, 7, stride=2, padding=3)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.bn1 = SwitchableBatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        inplanes = stem
        for stage, n_blocks in enumerate(layers):
            planes = [c * 2 ** stage for c in stem]
            blocks = []
            for b in range(n_blocks):
                blocks.append(block(inplanes, planes, stride=2 if stage > 0 and b == 0 else 1))
                inplanes = [p * block.expansion for p in planes]
            setattr(self, f'layer{stage + 1}', nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self._feat_dims = tuple(inplanes)
        torchvision_init(self)  # as ResNetBackbone (fan_out of the full kernel)
        self._active = 1.0
        self.set_width(1.0)

    # --- widths -----------------------------------------------------------------------------------
    @property
    def widths(self) -> tuple:
        return self._widths

    @property
    def active_width(self) -> float:
        return self._active

    @property
    def feat_dim(self) -> int:
        return self.feat_dim_at(self._active)

    def width_index(self, w: float) -> int:
        for i, v in enumerate(self._widths):
            if abs(v - float(w)) < 1e-9:
                return i
        raise ValueError(f'width {w!r} is not one of this slimmable network\'s widths {list(self._widths)}')

    def feat_dim_at(self, w: float) -> int:
        return self._feat_dims[self.width_index(w)]

    def set_width(self, w: float) -> None:
        i = self.width_index(w)
        set_width_index(self, i)
        self._active = self._widths[i]

    @contextmanager
    def at_width(self, w: float):
        """Run the sub-network of width ``w`` inside the block; the previous width is restored after."""
        previous = self._active
        self.set_width(w)
        try:
            yield self
        finally:
            self.set_width(previous)

    # --- forward / export -------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def absolute_width(self, w: float) -> float:
        """The plain width multiplier of the sub-network of relative width ``w`` (``width * w``)."""
        return round(self.width * self._widths[self.width_index(w)], 12)

    def export(self, w: float) -> nn.Module:
        """The width-``w`` sub-network as a plain ``ResNetBackbone`` (sliced convs, width-``w`` BN).

        Built with ``build_backbone(arch, width=width * w, small_input)`` and loaded with
        ``strict=True``; same device/dtype and train/eval mode as this network.
        """
        from . import build_backbone  # late: the package __init__ may import this module
        i = self.width_index(w)
        plain = build_backbone(self.arch, width=self.absolute_width(w), small_input=self.small_input)
        state = {}
        for name, m in self.named_modules():
            prefix = f'{name}.' if name else ''
            if isinstance(m, SlimmableConv2d):
                state[prefix + 'weight'] = m.weight.detach()[:m.out_channels_list[i], :m.in_channels_list[i]]
            elif isinstance(m, SwitchableBatchNorm2d):
                for k, v in m.bns[i].state_dict().items():
                    state[prefix + k] = v.detach()
        plain.load_state_dict(state, strict=True)
        return plain.to(self.conv1.weight).train(self.training)

    def spec(self) -> dict:
        return dict(super().spec(), widths=list(self._widths))

    def extra_repr(self) -> str:
        return f'{super().extra_repr()}, widths={list(self._widths)}, active_width={self._active}'
