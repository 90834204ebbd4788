"""Initialisations that follow the official code: MoCo v3's zero_init_residual, SlimCLR's reset_parameters."""
import pytest
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from benchmarks.engine.runner import build_method
from methods.backbones import build_backbone
from methods.backbones.base import zero_init_residual
from methods.backbones.slimmable import SlimBottleneck, SlimmableLinear


def _last_bns(net):
    for m in net.modules():
        if isinstance(m, BasicBlock):
            yield m.bn2
        elif isinstance(m, Bottleneck):
            yield m.bn3


@pytest.mark.parametrize('arch', ['resnet18', 'resnet50'])
def test_zero_init_residual_zeroes_the_last_bn_of_every_branch(arch):
    net = build_backbone(arch, width=0.125)
    bns = list(_last_bns(net))
    assert bns and all(bn.weight.abs().sum() > 0 for bn in bns)
    zero_init_residual(net)
    assert all(bn.weight.abs().sum() == 0 for bn in bns)
    assert net.bn1.weight.abs().sum() > 0                    # only the branches' last BNs
    # what torchvision's zero_init_residual=True gives
    from torchvision.models import resnet18
    ref = resnet18(zero_init_residual=True)
    assert all(m.bn2.weight.abs().sum() == 0 for m in ref.modules() if isinstance(m, BasicBlock))


def test_moco_v3_starts_with_identity_residual_blocks_by_default():
    spec = dict(arch='resnet18', width=0.125, small_input=False)
    method = build_method('moco_v3', {}, spec, None)
    assert all(bn.weight.abs().sum() == 0 for bn in _last_bns(method.student))
    assert all(bn.weight.abs().sum() == 0 for bn in _last_bns(method.momentum_student))  # a copy of it
    plain = build_method('moco_v3', dict(zero_init_residual=False), spec, None)
    assert all(bn.weight.abs().sum() > 0 for bn in _last_bns(plain.student))


def test_slimclr_official_init_of_the_head():
    torch.manual_seed(0)
    spec = dict(arch='resnet18', width=0.125, small_input=False)
    method = build_method('slimclr', dict(queue_size=64, dim=32), spec, None)
    linears = [m for m in method.head.modules() if isinstance(m, SlimmableLinear)]
    assert len(linears) == 2
    for lin in linears:
        assert lin.weight.std().item() == pytest.approx(0.01, rel=0.15)
        assert lin.bias.abs().sum() == 0
    other = build_method('slimclr', dict(queue_size=64, dim=32, init='torchvision'), spec, None)
    assert other.head[0].weight.std().item() > 0.025   # PyTorch's default Linear: U(±1/√256), std 0.036


def test_slimclr_official_init_zeroes_bottleneck_bn3_at_every_width():
    spec = dict(arch='resnet50', width=0.0625, small_input=False)
    method = build_method('slimclr', dict(queue_size=64, dim=32, widths=(1.0, 0.5)), spec, None)
    blocks = [m for m in method.student.modules() if isinstance(m, SlimBottleneck)]
    assert blocks
    for b in blocks:
        assert all(bn.weight.abs().sum() == 0 for bn in b.bn3.bns)
        assert all(bn.weight.abs().sum() > 0 for bn in b.bn2.bns)
    with pytest.raises(ValueError, match="init must be one of"):
        build_method('slimclr', dict(init='xavier'), spec, None)
