"""Public SSL checkpoint layouts (docs/methods.md#teacher-checkpoints): detection, exact loading, arch inference,
input re-normalisation and the errors that stop a half-loaded (random) teacher."""
import pytest
import torch
import torchvision

from benchmarks.errors import TeacherError
from benchmarks.teachers.specs import (INPUT_NORMS, TEACHER_SPECS, detect_spec, infer_arch, list_teacher_specs,
                                      mobilenet_width)
from benchmarks.teachers.teacher import Renormalise, Teacher, load_teacher, safe_load, save_teacher
from methods.backbones import build_backbone
from tests.helpers.checkpoints import fake_layouts, write_fake_checkpoint

ARCH = dict(arch='resnet18', width=0.125, small_input=False)
MEAN = torch.tensor(INPUT_NORMS['imagenet'][0]).view(1, 3, 1, 1)
STD = torch.tensor(INPUT_NORMS['imagenet'][1]).view(1, 3, 1, 1)
FORCED = {'simclr_v1_converted': 'simclr_v1_converted'}  # key-identical to torchvision: never detected
DETECTED = {'simclr_v1_converted': 'torchvision'}
GLOBALS = {'compress_student': ['argparse.Namespace']}


def _write(tmp_path, layout, **kw):
    path = tmp_path / f'{layout}.pth'
    return path, write_fake_checkpoint(layout, path, **{**ARCH, **kw})


def _load(path, layout, **kw):
    return load_teacher(path, spec=FORCED.get(layout), allow_globals=GLOBALS.get(layout, ()), **kw)


def test_every_spec_has_a_fake_layout_and_order_is_specific_first():
    assert fake_layouts() == list_teacher_specs() == list(TEACHER_SPECS)
    assert list_teacher_specs()[-1] == 'torchvision'  # the generic fallback comes last


@pytest.mark.parametrize('layout', fake_layouts())
def test_layout_is_detected_and_loads_exactly(tmp_path, layout):
    path, written = _write(tmp_path, layout, head_out=12)
    obj = safe_load(path, GLOBALS.get(layout, ()))
    assert detect_spec(obj, path).name == DETECTED.get(layout, layout)
    teacher = _load(path, layout)
    assert teacher.spec_name == layout and teacher.meta['spec'] == layout
    assert teacher.meta['arch'] == ARCH and teacher.meta['arch_inferred']
    # every written backbone tensor arrives unchanged (BYOL files carry no BN counters)
    loaded = teacher.backbone.state_dict()
    for key, value in written.backbone.state_dict().items():
        if not (layout == 'byol_converted' and key.endswith('num_batches_tracked')):
            assert torch.equal(loaded[key], value), key
    x = torch.randn(3, 3, 32, 32)
    out = teacher(x)
    with torch.no_grad():
        x_t = x * STD + MEAN if TEACHER_SPECS[layout].input_norm == 'unit' else x  # [0, 1] RGB for SimCLR
        f = written.backbone(x_t)
        assert torch.allclose(out['backbone'], f, atol=1e-5)
        if written.head is None:
            assert out['head'] is None and 'head' not in teacher.feat_dims
        else:
            assert teacher.head.state_dict().keys() == written.head.state_dict().keys()
            assert torch.allclose(out['head'], written.head(f), atol=1e-5)
            assert teacher.feat_dims == {'backbone': written.backbone.feat_dim, 'head': 12}


def test_ignored_keys_are_counted(tmp_path):
    path, _ = _write(tmp_path, 'moco_v2')
    teacher = load_teacher(path)
    n_key_encoder = len(build_backbone(**ARCH).state_dict()) + 4  # encoder_k backbone + its fc.0/fc.2
    assert teacher.meta['ignored_keys'] == n_key_encoder + 2      # + queue, queue_ptr
    assert teacher.meta['head_kind'] == 'mlp' and teacher.spec()['spec_name'] == 'moco_v2'


def test_resnet50_small_input_is_inferred_when_loading(tmp_path):
    path, written = _write(tmp_path, 'swav', arch='resnet50', width=0.125, small_input=True)
    teacher = load_teacher(path)
    assert teacher.backbone.spec() == dict(arch='resnet50', width=0.125, small_input=True)
    assert teacher.feat_dims['backbone'] == written.backbone.feat_dim == 256


def test_given_arch_is_used_as_is(tmp_path):
    path, _ = _write(tmp_path, 'moco_v1')
    with pytest.raises(TeacherError, match="'moco_v1'.*missing keys"):
        load_teacher(path, arch=dict(arch='resnet34', width=0.125))
    assert not load_teacher(path, arch=ARCH).meta['arch_inferred']


def test_wrong_prefix_with_forced_spec_names_missing_keys_and_spec(tmp_path):
    path, _ = _write(tmp_path, 'moco_v2')
    with pytest.raises(TeacherError) as err:
        load_teacher(path, spec='seed_student')
    # torch fills BN counters absent from a metadata-less dict itself, so they are not reported
    msg, n_keys = str(err.value), sum(not k.endswith('num_batches_tracked') for k in build_backbone(**ARCH).state_dict())
    assert "teacher spec 'seed_student'" in msg and f'missing keys {n_keys} (conv1.weight' in msg
    assert 'module.encoder_q.conv1.weight' in msg and "seems to be under 'module.encoder_q.'" in msg
    # a forced head kind that does not fit is an error too, not a silently dropped head
    with pytest.raises(TeacherError, match="'moco_v1'.*not a linear head"):
        load_teacher(path, spec='moco_v1')


def test_forced_spec_without_any_backbone_is_an_error(tmp_path):
    torch.save({'state_dict': {'encoder.blocks.0.weight': torch.ones(2)}}, tmp_path / 'odd.pth')
    with pytest.raises(TeacherError, match="'moco_v2' finds no backbone weights: no key starts with 'module.encoder_q.'"):
        load_teacher(tmp_path / 'odd.pth', spec='moco_v2')


def test_unknown_layout_lists_every_spec_tried(tmp_path):
    torch.save({'state_dict': {'module.vit.patch_embed.weight': torch.ones(4, 3)}}, tmp_path / 'vit.pth')
    with pytest.raises(TeacherError) as err:
        load_teacher(tmp_path / 'vit.pth')
    msg = str(err.value)
    for name in TEACHER_SPECS:
        assert f'\n  {name}: ' in msg, name
    assert "moco_v2: no key starts with 'module.encoder_q.'" in msg
    assert 'compress_student: no top-level key' in msg and '--teacher-spec NAME' in msg


def test_leftover_keys_block_detection_and_forced_loading(tmp_path):
    path, _ = _write(tmp_path, 'moco_v2')
    obj = safe_load(path)
    obj['state_dict']['module.extra_bank'] = torch.zeros(4, 4)
    torch.save(obj, tmp_path / 'extra.pth')
    with pytest.raises(TeacherError, match=r'moco_v2: 1 key\(s\) fit no part of the layout, e.g. module.extra_bank'):
        load_teacher(tmp_path / 'extra.pth')
    with pytest.raises(TeacherError, match=r'missing keys 0; unexpected keys 1 \(module.extra_bank\)'):
        load_teacher(tmp_path / 'extra.pth', spec='moco_v2')


def test_batchnorm_free_files_are_not_taken_for_byol(tmp_path):
    # BYOL's signature is "BN statistics but no BN counters"; an AlexNet has no BN at all
    path, written = _write(tmp_path, 'torchvision', arch='alexnet', width=0.125, small_input=True)
    teacher = load_teacher(path)
    assert teacher.spec_name == 'torchvision' and teacher.backbone.spec() == dict(arch='alexnet', width=0.125,
                                                                                   small_input=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(teacher(x)['backbone'], written.backbone(x), atol=1e-5)


def _meta_state(arch, width, small_input):
    with torch.device('meta'):
        return build_backbone(arch, width=width, small_input=small_input).state_dict()


def _shapes(state):
    return {k: tuple(v.shape) for k, v in state.items()}


@pytest.mark.parametrize('arch', ['resnet18', 'resnet34', 'resnet50', 'alexnet'])
@pytest.mark.parametrize('small_input', [False, True])
def test_infer_arch_round_trips_over_widths(arch, small_input):
    for width in (0.125, 0.25, 0.3, 0.5, 1.0):
        state = _meta_state(arch, width, small_input)
        got = infer_arch(state)
        assert got['arch'] == arch and got['small_input'] == small_input
        if width != 0.3:  # 0.3 is not representable in 64 (ResNet) channels: any width giving them is right
            assert got['width'] == width
        assert _shapes(_meta_state(**got)) == _shapes(state), (arch, width)


@pytest.mark.parametrize('width', [0.35, 0.5, 0.75, 1.0, 1.4])
def test_mobilenet_width_is_exact_but_small_input_is_asked_for(width):
    state = _meta_state('mobilenet_v2', width, False)
    found = mobilenet_width(state)
    assert _shapes(_meta_state('mobilenet_v2', found, False)) == _shapes(state)
    with pytest.raises(TeacherError, match=f'width={found:g}, small_input=False or True'):
        infer_arch(state)


def test_mobilenet_teacher_loads_with_given_arch(tmp_path):
    arch = dict(arch='mobilenet_v2', width=0.35, small_input=True)
    path, written = _write(tmp_path, 'torchvision', **arch)
    with pytest.raises(TeacherError, match='mobilenet_v2'):
        load_teacher(path)
    teacher = load_teacher(path, arch=arch)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(teacher(x)['backbone'], written.backbone(x), atol=1e-5)


def test_resnet101_and_152_teachers_are_read_from_their_weights():
    """The deeper teachers of DisCo/BINGO/SEED (torchvision key layout) build here at any width."""
    from methods.backbones import build_backbone
    with torch.device('meta'):
        r101 = torchvision.models.resnet101().state_dict()
        r152 = torchvision.models.resnet152().state_dict()
    assert infer_arch(r101)['arch'] == 'resnet101' and infer_arch(r152)['arch'] == 'resnet152'
    assert infer_arch(r152)['width'] == 1.0
    ours = build_backbone('resnet152', width=0.125)
    assert infer_arch(ours.state_dict()) == dict(arch='resnet152', width=0.125, small_input=False)
    with torch.device('meta'):
        full = build_backbone('resnet101')
    assert set(full.state_dict()) == {k for k in r101 if not k.startswith('fc.')}
    assert full.feat_dim == 2048


def test_unsupported_architectures_are_clear_errors():
    with torch.device('meta'):
        r101 = torchvision.models.resnet101().state_dict()
        wide = torchvision.models.wide_resnet50_2().state_dict()
    three = {k: v for k, v in r101.items() if not any(k.startswith(f'layer3.{i}.') for i in range(3, 23))}
    with pytest.raises(TeacherError, match=r'bottleneck blocks \[3, 4, 3, 3\], which is not one of'):
        infer_arch(three)
    with pytest.raises(TeacherError, match='wide_resnet50_2.*teacher.checkpoint_arch'):
        infer_arch(wide)
    with pytest.raises(TeacherError, match='cannot tell the teacher architecture.*teacher.checkpoint_arch'):
        infer_arch({'blocks.0.weight': torch.ones(1)})


def test_unknown_spec_name_fails_before_reading(tmp_path):
    with pytest.raises(TeacherError, match='unknown teacher spec .moco_v4.*moco_v3, moco_v2'):
        load_teacher(tmp_path / 'not_even_there.pth', spec='moco_v4')


def test_unsafe_globals_need_an_explicit_allow_list(tmp_path):
    path, written = _write(tmp_path, 'compress_student')
    with pytest.raises(TeacherError) as err:
        load_teacher(path)
    msg = str(err.value)
    assert "['argparse.Namespace']" in msg and '--teacher-allow-globals argparse.Namespace' in msg
    assert "teacher.allow_globals=['argparse.Namespace']" in msg and 'weights_only=True' in msg
    teacher = load_teacher(path, allow_globals=['argparse.Namespace'])
    assert torch.equal(teacher.backbone.conv1.weight, written.backbone.conv1.weight)
    assert safe_load(path, ['argparse.Namespace'])['opt'].student_arch == 'resnet18'
    with pytest.raises(TeacherError, match="'nowhere_module.Thing' cannot be imported"):
        load_teacher(path, allow_globals=['nowhere_module.Thing'])


def test_corrupt_file_is_a_clear_error(tmp_path):
    path, _ = _write(tmp_path, 'moco_v2')
    data = path.read_bytes()
    (tmp_path / 'cut.pth').write_bytes(data[: len(data) // 2])
    with pytest.raises(TeacherError, match='not a readable PyTorch checkpoint'):
        load_teacher(tmp_path / 'cut.pth')


def test_renormalisation_and_feature_extractor(tmp_path):
    custom = ((0.5, 0.4, 0.3), (0.2, 0.25, 0.5))
    renorm = Renormalise(custom)
    x = torch.randn(2, 3, 4, 4)
    expected = (x * STD + MEAN - torch.tensor(custom[0]).view(1, 3, 1, 1)) / torch.tensor(custom[1]).view(1, 3, 1, 1)
    assert torch.allclose(renorm(x), expected, atol=1e-6)
    assert renorm.state_dict() == {}  # follows from the spec, never saved

    path, written = _write(tmp_path, 'simclr_v1_converted')
    teacher = load_teacher(path, spec='simclr_v1_converted')
    assert teacher.spec()['input_norm'] == 'unit' and teacher.meta['input_norm'] == 'unit'
    features = teacher.feature_extractor()
    assert features.feat_dim == written.backbone.feat_dim and features.spec() == ARCH
    features.train()
    assert not features.training and not teacher.backbone.training
    with torch.no_grad():
        x = torch.randn(2, 3, 32, 32)
        assert torch.allclose(features(x), written.backbone(x * STD + MEAN), atol=1e-5)
    # re-saved in this project's format, the teacher keeps its input normalisation
    save_teacher(tmp_path / 'own.pth', teacher.backbone, None, dict(name='simclr'), input_norm=teacher.input_norm)
    again = load_teacher(tmp_path / 'own.pth')
    assert again.spec()['input_norm'] == 'unit' and again.spec_name == 'project'
    # an ImageNet-normalised teacher needs no wrapper: its extractor is the backbone itself
    imagenet = Teacher(build_backbone(**ARCH))
    assert imagenet.feature_extractor() is imagenet.backbone and imagenet.spec()['input_norm'] == 'imagenet'


@pytest.mark.parametrize('layout', ['moco_v1', 'swav'])
def test_loaded_heads_round_trip_through_the_project_format(tmp_path, layout):
    path, written = _write(tmp_path, layout)
    teacher = load_teacher(path)
    save_teacher(tmp_path / 'own.pth', teacher.backbone, teacher.head, dict(name=layout))
    again = load_teacher(tmp_path / 'own.pth')
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(again(x)['head'], teacher(x)['head'])
    with pytest.raises(TeacherError, match='own format.*drop --teacher-spec moco_v2'):
        load_teacher(tmp_path / 'own.pth', spec='moco_v2')


def test_imagenet_constants_match_the_data_pipeline():
    from benchmarks.data.datasets import IMAGENET_MEAN, IMAGENET_STD
    assert INPUT_NORMS['imagenet'] == (IMAGENET_MEAN, IMAGENET_STD)


def test_cli_writes_a_detectable_checkpoint(tmp_path, capsys):
    from tests.helpers import make_teacher_checkpoint as cli
    assert cli.main(['--list']) == 0 and 'simclr_v1_converted' in capsys.readouterr().out
    out = tmp_path / 'm3.pth'
    assert cli.main(['--layout', 'moco_v3', '--arch', 'resnet18', '--width', '0.125', '--small-input',
                     '--out', str(out)]) == 0
    teacher = load_teacher(out)
    assert teacher.spec_name == 'moco_v3' and teacher.backbone.spec()['small_input']
    assert cli.main(['--layout', 'moco_v9', '--out', str(out)]) == 2


def test_swav_rn50w2_key_layout_is_resnet50_width_2():
    """SwAV's RN50-w2 (facebookresearch/swav src/resnet50.py, widen=2: width_per_group 64 x 2 in the stem and
    every stage, so stage outputs 512/1024/2048/4096) is this project's resnet50 at width 2: the same key names
    and shapes, read back as that architecture, and the 4096 -> 8192 -> 128 projection head of the published
    file (swav_RN50w2_400ep_pretrain.pth.tar). Built on the meta device: no 94 M-parameter tensors are allocated."""
    with torch.device('meta'):
        backbone = build_backbone('resnet50', width=2.0)
    shapes = {k: tuple(v.shape) for k, v in backbone.state_dict().items()}
    swav_w2 = {   # written out from SwAV's ResNet(Bottleneck, [3, 4, 6, 3], widen=2)
        'conv1.weight': (128, 3, 7, 7), 'bn1.weight': (128,),
        'layer1.0.conv1.weight': (128, 128, 1, 1), 'layer1.0.conv2.weight': (128, 128, 3, 3),
        'layer1.0.conv3.weight': (512, 128, 1, 1), 'layer1.0.downsample.0.weight': (512, 128, 1, 1),
        'layer2.0.conv1.weight': (256, 512, 1, 1), 'layer2.3.conv3.weight': (1024, 256, 1, 1),
        'layer3.5.conv2.weight': (512, 512, 3, 3), 'layer4.0.downsample.0.weight': (4096, 2048, 1, 1),
        'layer4.2.conv3.weight': (4096, 1024, 1, 1), 'layer4.2.bn3.running_var': (4096,),
    }
    for key, shape in swav_w2.items():
        assert shapes[key] == shape, key
    assert sum(k.startswith('layer') and k.endswith('conv1.weight') for k in shapes) == 3 + 4 + 6 + 3
    assert backbone.feat_dim == 4096
    assert infer_arch(backbone.state_dict()) == dict(arch='resnet50', width=2.0, small_input=False)
    from benchmarks.teachers.teacher import swav_projection_head
    with torch.device('meta'):
        head = swav_projection_head(4096, 8192, 128)
    assert [tuple(p.shape) for p in head.state_dict().values() if p.dim() == 2] == [(8192, 4096), (128, 8192)]
