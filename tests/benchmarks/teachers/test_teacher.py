"""Teacher checkpoints: our format, plain state dicts, and the errors that prevent a random teacher."""
import argparse

import pytest
import torch
import torchvision

from benchmarks.errors import TeacherError
from benchmarks.teachers.teacher import load_teacher, save_teacher
from methods.backbones import build_backbone
from methods.heads import mlp_head

ARCH = dict(arch='resnet18', width=1.0, small_input=False)


def test_own_format_round_trip(tmp_path):
    torch.manual_seed(0)
    backbone = build_backbone('resnet18', width=0.125)
    head = mlp_head(backbone.feat_dim, backbone.feat_dim, 16)
    save_teacher(tmp_path / 't.pth', backbone, head, dict(name='mine', images_seen=10))
    teacher = load_teacher(tmp_path / 't.pth')
    assert teacher.name == 'mine' and teacher.meta['images_seen'] == 10
    assert teacher.feat_dims == {'backbone': backbone.feat_dim, 'head': 16}
    x = torch.randn(2, 3, 32, 32)
    backbone.eval()
    assert torch.allclose(teacher(x)['backbone'], backbone(x))
    teacher.train()
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())


def test_plain_torchvision_state_dict_with_module_prefix(tmp_path):
    ref = torchvision.models.resnet18()
    state = {'module.' + k: v for k, v in ref.state_dict().items()}   # DataParallel-style, with fc
    torch.save({'state_dict': state, 'epoch': 3}, tmp_path / 'tv.pth')
    teacher = load_teacher(tmp_path / 'tv.pth', ARCH)
    assert torch.equal(teacher.backbone.conv1.weight, ref.conv1.weight)


def test_wrong_prefix_is_an_error_naming_the_keys(tmp_path):
    # these keys are a valid MoCo v1 layout (linear fc head), so they are only wrong for a forced spec
    ref = torchvision.models.resnet18()
    state = {'module.encoder_q.' + k: v for k, v in ref.state_dict().items()}
    torch.save({'state_dict': state}, tmp_path / 'moco.pth')
    assert load_teacher(tmp_path / 'moco.pth', ARCH).spec_name == 'moco_v1'
    with pytest.raises(TeacherError, match='missing') as err:
        load_teacher(tmp_path / 'moco.pth', ARCH, spec='torchvision')
    assert 'encoder_q' in str(err.value) and 'conv1.weight' in str(err.value) and "'torchvision'" in str(err.value)


def test_wrong_architecture_is_an_error(tmp_path):
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / 'r18.pth')
    with pytest.raises(TeacherError):
        load_teacher(tmp_path / 'r18.pth', dict(arch='resnet34', width=1.0, small_input=False))


def test_missing_file_and_unsafe_pickle(tmp_path):
    with pytest.raises(TeacherError, match='does not exist'):
        load_teacher(tmp_path / 'nope.pth', ARCH)
    torch.save({'state_dict': {}, 'args': argparse.Namespace(lr=0.1)}, tmp_path / 'unsafe.pth')
    with pytest.raises(TeacherError, match='weights_only=True') as err:
        load_teacher(tmp_path / 'unsafe.pth', ARCH)
    assert 'Namespace' in str(err.value)
    (tmp_path / 'garbage.pth').write_bytes(b'not a checkpoint')
    with pytest.raises(TeacherError, match='not a readable'):
        load_teacher(tmp_path / 'garbage.pth', ARCH)


def test_moco_v3_projector_head_round_trips(tmp_path):
    from methods.moco_v3 import mocov3_projector
    torch.manual_seed(0)
    backbone = build_backbone('resnet18', width=0.125)
    head = mocov3_projector(backbone.feat_dim, 32, 16).eval()
    save_teacher(tmp_path / 't.pth', backbone, head, dict(name='v3'))
    teacher = load_teacher(tmp_path / 't.pth')
    assert teacher.feat_dims == {'backbone': backbone.feat_dim, 'head': 16}
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(teacher(x)['head'], head(backbone.eval()(x)), atol=1e-6)
