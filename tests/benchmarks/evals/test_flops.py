"""Tests for benchmarks.evals.flops.complexity (fvcore params / GMACs)."""
import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from benchmarks.evals.flops import complexity


def test_resnet18_backbone_known_figures():
    model = resnet18(weights=None)
    model.fc = nn.Identity()
    model.train()
    res = complexity(model, 224)
    # Known fvcore figures for torchvision ResNet-18 without the fc head.
    assert res['params_m'] == pytest.approx(11.18, abs=0.01)
    assert res['gmacs'] == pytest.approx(1.819, abs=0.01)
    assert res['input_size'] == 224
    assert isinstance(res['unsupported_ops'], list)
    assert res['unsupported_ops'] == sorted(res['unsupported_ops'])
    assert model.training  # the caller's mode is untouched


def test_single_conv_exact_macs():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    res = complexity(conv, 16)
    # Each of the 16*16 output pixels of each of the 8 output channels needs 3*3*3 MACs.
    assert res['gmacs'] * 1e9 == pytest.approx(16 * 16 * 8 * 3 * 9, abs=1e-3)
    assert res['params_m'] * 1e6 == pytest.approx(8 * 3 * 9)
    assert res['unsupported_ops'] == []


@pytest.mark.parametrize('training', [True, False])
def test_training_flag_and_weights_unchanged(training):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5))
    model.train(training)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    complexity(model, 8)
    assert model.training is training
    assert all(m.training is training for m in model.modules())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_unsupported_ops_are_collected():
    class WithUnsupported(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 2, 1, bias=False)

        def forward(self, x):
            # cumsum has no fvcore handle, so it must be reported instead of logged.
            return torch.cumsum(self.conv(x), dim=1)

    res = complexity(WithUnsupported(), 4)
    assert res['gmacs'] * 1e9 == pytest.approx(4 * 4 * 2 * 3)
    assert any('cumsum' in op for op in res['unsupported_ops'])
