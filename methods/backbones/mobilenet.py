"""MobileNet-V2 backbone (Sandler et al., "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018), wrapping torchvision's ``mobilenet_v2(width_mult=width).features``.

Keys are torchvision's ``features.*`` (the ``classifier`` is dropped). Shapes:
``[N, 3, H, W] -> [N, feat_dim]``, ``feat_dim`` = torchvision's ``last_channel``
(1280 for width <= 1.0, ``_make_divisible(1280 * width, 8)`` above).

Deviations: global ``adaptive_avg_pool2d`` (same as torchvision) so any H, W >= 32 works;
``small_input=True`` sets only the stem conv (``features.0.0``) stride to 1 -- all inverted
residual strides, including the second stage's stride 2, are kept -- so the total stride
drops from 32 to 16 and a 32 px image ends at 2x2 instead of 1x1. Weight shapes are
unchanged, so ImageNet weights still load into a small-input model.
"""
import torch
import torch.nn.functional as F
from torchvision.models.mobilenetv2 import MobileNetV2

from .base import BACKBONES, Backbone


class MobileNetV2Backbone(Backbone):
    def __init__(self, width: float = 1.0, small_input: bool = False):
        super().__init__('mobilenet_v2', width, small_input)
        ref = MobileNetV2(width_mult=width)
        self.features = ref.features
        self.feat_dim = ref.last_channel
        if small_input:
            self.features[0][0].stride = (1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1)


@BACKBONES.register_module()
def mobilenet_v2(width: float = 1.0, small_input: bool = False) -> MobileNetV2Backbone:
    return MobileNetV2Backbone(width, small_input)
