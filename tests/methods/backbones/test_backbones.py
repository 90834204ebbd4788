import pytest
import torch
from torch import nn
from torchvision import models as tvm

from methods.backbones import BACKBONES, Backbone, build_backbone, list_backbones

TV_REFS = {  # torchvision constructor, classifier key prefix
    'resnet18': (tvm.resnet18, 'fc.'),
    'resnet34': (tvm.resnet34, 'fc.'),
    'resnet50': (tvm.resnet50, 'fc.'),
    'mobilenet_v2': (tvm.mobilenet_v2, 'classifier.'),
}


def _nparams(m):
    return sum(p.numel() for p in m.parameters())


def test_registry_names():
    assert set(list_backbones()) == {'resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'mobilenet_v2', 'alexnet'}
    assert BACKBONES.name == 'backbone'


@pytest.mark.parametrize('small_input', [False, True])
@pytest.mark.parametrize('arch', list_backbones())
def test_output_shape(arch, small_input):
    torch.manual_seed(0)
    b = build_backbone(arch, small_input=small_input).eval()
    assert isinstance(b, Backbone)
    assert (b.arch, b.width, b.small_input) == (arch, 1.0, small_input)
    sizes = [64, 32] if small_input else [64]
    with torch.no_grad():
        for px in sizes:
            out = b(torch.randn(2, 3, px, px))
            assert out.shape == (2, b.feat_dim)
            assert torch.isfinite(out).all()


@pytest.mark.parametrize('arch', sorted(TV_REFS))
def test_matches_torchvision(arch):
    ctor, head = TV_REFS[arch]
    ref, ours = ctor(), build_backbone(arch)
    head_params = sum(p.numel() for n, p in ref.named_parameters() if n.startswith(head))
    assert _nparams(ours) == _nparams(ref) - head_params
    ref_keys = [k for k in ref.state_dict() if not k.startswith(head)]
    assert list(ours.state_dict()) == ref_keys
    assert not any(n.startswith(('fc', 'classifier')) for n, _ in ours.named_modules() if n)


def test_resnet18_loads_torchvision_weights():
    torch.manual_seed(0)
    ref = tvm.resnet18().eval()
    ours = build_backbone('resnet18').eval()
    ours.load_state_dict({k: v for k, v in ref.state_dict().items() if not k.startswith('fc.')},
                         strict=True)
    trunk = nn.Sequential(*list(ref.children())[:-1])  # up to and including avgpool
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), torch.flatten(trunk(x), 1))
    # and the other direction: exported backbone -> torchvision model, only fc missing
    missing, unexpected = tvm.resnet18().load_state_dict(ours.state_dict(), strict=False)
    assert set(missing) == {'fc.weight', 'fc.bias'} and not unexpected


def test_width_multiplier():
    full, half = build_backbone('resnet18'), build_backbone('resnet18', width=0.5)
    assert half.feat_dim == 256 and full.feat_dim == 512
    assert _nparams(half) < _nparams(full)
    assert build_backbone('resnet50', width=0.5).feat_dim == 1024
    assert build_backbone('alexnet', width=0.5).feat_dim == 2048


def test_unknown_arch():
    with pytest.raises(KeyError, match='resnet18'):
        build_backbone('nope')


@pytest.mark.parametrize('arch', list_backbones())
def test_spec_round_trip(arch):
    b = build_backbone(arch, width=0.5, small_input=True)
    assert b.spec() == dict(arch=arch, width=0.5, small_input=True)
    b2 = build_backbone(**b.spec())
    assert {k: v.shape for k, v in b.state_dict().items()} == \
        {k: v.shape for k, v in b2.state_dict().items()}
