"""AlexNet backbone, CompRess variant (Krizhevsky et al., NeurIPS 2012; layout as in
CompRess, Abbasi Koohpayegani et al., NeurIPS 2020, official code ``models/alexnet.py``).

No BatchNorm, no dropout. ``features`` follows torchvision's AlexNet (conv11 s4 p2 - ReLU -
maxpool3 s2 - conv5 p2 - ReLU - maxpool - 3x conv3 p1 with ReLU - maxpool) with channels
64-192-384-256-256, then ``AdaptiveAvgPool2d((6, 6))`` and
``feats = Linear(256*6*6, 4096) - ReLU - Linear(4096, 4096)``. The embedding given to the
losses is ``relu(feats(x))`` (fc7 after ReLU). Shapes: ``[N, 3, H, W] -> [N, feat_dim]``,
``feat_dim = round(4096 * width)``.

Deviations: width multiplier scales all conv channels and the 4096 hidden size (rounded);
``small_input=True`` replaces the first conv by 3x3 stride 1 padding 1 so 32-64 px inputs keep
their resolution. With the ImageNet stem (``small_input=False``) the three stride-2 max-pools
need H, W >= 63 px; use ``small_input=True`` below that.
"""
import torch
from torch import nn

from .base import BACKBONES, Backbone, scale


class AlexNetBackbone(Backbone):
    def __init__(self, width: float = 1.0, small_input: bool = False):
        super().__init__('alexnet', width, small_input)
        c1, c2, c3, c4, c5 = (scale(c, width) for c in (64, 192, 384, 256, 256))
        hidden = scale(4096, width)
        stem = (nn.Conv2d(3, c1, kernel_size=3, stride=1, padding=1) if small_input
                else nn.Conv2d(3, c1, kernel_size=11, stride=4, padding=2))
        self.features = nn.Sequential(
            stem, nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c1, c2, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c2, c3, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.feats = nn.Sequential(
            nn.Linear(c5 * 6 * 6, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, hidden))
        self.feat_dim = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return torch.relu(self.feats(x))


@BACKBONES.register_module()
def alexnet(width: float = 1.0, small_input: bool = False) -> AlexNetBackbone:
    return AlexNetBackbone(width, small_input)
