"""Detection transfer for MobileNet-V2 students (torchvision -> mmdet key mapping, FPN) and the C4 head
(ResNet stages 1-3 as backbone, the fourth stage as the RoI shared head): exact loading checked against the
student's own forward pass, the generated configs, and a real (tiny) fine-tune + evaluation of each."""
import json

import pytest
import torch
from torch import nn

pytest.importorskip('mmdet', reason='detection needs scripts/install_detection.sh (make test runs it)')

from benchmarks.evals.detection import (REPO_ROOT, SHARED_HEAD, DetectionError, backbone_section,  # noqa: E402
                                        build_config, check_backbone_keys, mobilenet_v2_channels, mobilenet_v2_key,
                                        part_sections, register_student_modules, run_detection_subprocess,
                                        student_parts)
from methods.backbones import build_backbone  # noqa: E402
from tests.helpers.detection import TINY  # noqa: E402

EMBEDDED = {'fpn': 'configs/detection/embedded_voc_faster_rcnn_fpn.py',
            'c4': 'configs/detection/embedded_voc_faster_rcnn_c4.py'}


@pytest.fixture(scope='module')
def mm_models():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    register_student_modules()
    return MODELS


def _student(arch, width, seed=0):
    """A random student whose BN layers have non-trivial statistics and affine parameters (a fresh BN is
    the identity-like 0/1, which would hide a swapped or unloaded BN)."""
    torch.manual_seed(seed)
    student = build_backbone(arch, width=width)
    for m in student.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1), m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5), m.bias.data.normal_(0, 0.1)
    return student.eval()


def _export(folder, arch, width):
    student = _student(arch, width)
    torch.save(student.state_dict(), folder / 'backbone.pth')
    (folder / 'backbone.json').write_text(json.dumps(student.spec()))
    return folder / 'backbone.pth'


def test_mobilenet_v2_key_mapping():
    pairs = {'features.0.0.weight': 'conv1.conv.weight',
             'features.0.1.running_mean': 'conv1.bn.running_mean',
             'features.1.conv.0.0.weight': 'layer1.0.depthwise_conv.conv.weight',  # stage 1: no expand conv
             'features.1.conv.1.weight': 'layer1.0.linear_conv.conv.weight',
             'features.1.conv.2.bias': 'layer1.0.linear_conv.bn.bias',
             'features.3.conv.0.1.running_var': 'layer2.1.expand_conv.bn.running_var',
             'features.4.conv.1.0.weight': 'layer3.0.depthwise_conv.conv.weight',
             'features.14.conv.3.num_batches_tracked': 'layer6.0.linear_conv.bn.num_batches_tracked',
             'features.17.conv.2.weight': 'layer7.0.linear_conv.conv.weight',
             'features.18.1.weight': 'conv2.bn.weight'}
    for tv, mm in pairs.items():
        assert mobilenet_v2_key(tv) == mm
    for bad in ('classifier.1.weight', 'features.19.0.weight', 'features.1.conv.3.weight', 'features.0.2.weight'):
        with pytest.raises(DetectionError, match='MobileNet-V2'):
            mobilenet_v2_key(bad)


def _stage_channels_torchvision(features):
    """[stem, last block of each of the 7 stages, last conv] output channels of torchvision's features."""
    ends = [1, 2, 4, 7, 11, 14, 17]  # features index of each stage's last block (1, 2, 3, 4, 3, 3, 1 blocks)
    return [features[0].out_channels] + [features[i].out_channels for i in ends] + [features[18].out_channels]


def _stage_channels_mmdet(model):
    return ([model.conv1.conv.out_channels] + [getattr(model, f'layer{i}')[-1].linear_conv.conv.out_channels
                                              for i in range(1, 8)] + [model.conv2.conv.out_channels])


def test_mobilenet_v2_channel_rules_match_both_libraries(mm_models):
    from torchvision.models.mobilenetv2 import MobileNetV2
    for width in (0.35, 0.5, 1.0, 1.4, 1.01):
        tv = _stage_channels_torchvision(MobileNetV2(width_mult=width).features)
        mm = _stage_channels_mmdet(mm_models.build(dict(type='MobileNetV2', widen_factor=width)))
        assert mobilenet_v2_channels(width, 'torchvision') == tv and mobilenet_v2_channels(width, 'mmdet') == mm
    # 1.01: torchvision rounds the last conv to 1296, mmdet truncates to 1292 -> refused up front
    with pytest.raises(DetectionError, match='1296'):
        backbone_section(dict(arch='mobilenet_v2', width=1.01, small_input=False))
    assert backbone_section(dict(arch='mobilenet_v2', width=1.4, small_input=False))[1] == [32, 48, 136, 1792]


@pytest.mark.parametrize('width', [1.0, 0.5])
def test_mobilenet_v2_student_loads_exactly_into_mmdet(width, mm_models):
    student = _student('mobilenet_v2', width)
    state = student.state_dict()
    backbone_cfg, channels = backbone_section(student.spec())
    det = mm_models.build(backbone_cfg)
    det.eval()  # mmdet's MobileNetV2.train() returns None, so no chaining
    parts = student_parts(student.spec(), state)
    assert list(parts) == ['backbone'] and len(parts['backbone']) == len(state)
    check_backbone_keys(det, parts['backbone'], 'x.pth')  # zero missing, zero unexpected
    det_state = det.state_dict()
    for k, v in state.items():
        assert torch.equal(det_state[mobilenet_v2_key(k)], v), k
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        maps = det(x)
        assert [m.shape[1:] for m in maps] == [(c, 64 // s, 64 // s) for c, s in zip(channels, (4, 8, 16, 32))]
        assert torch.allclose(maps[-1].mean(dim=(2, 3)), student(x), atol=1e-5)


@pytest.mark.parametrize('arch', ['resnet18', 'resnet50'])
def test_c4_resnet_student_loads_exactly_into_backbone_and_shared_head(arch, mm_models):
    student = _student(arch, 0.125)
    spec, state = student.spec(), student.state_dict()
    parts = student_parts(spec, state, 'c4')
    assert sorted(parts) == ['backbone', SHARED_HEAD]
    assert all(k.startswith('layer4.') for k in parts[SHARED_HEAD]) and len(parts[SHARED_HEAD]) > 0
    assert len(parts['backbone']) + len(parts[SHARED_HEAD]) == len(state)
    modules = {part: mm_models.build(cfg) for part, cfg in part_sections(spec, 'c4').items()}
    for part, module in modules.items():
        module.eval()
        result = module.load_state_dict(parts[part], strict=False)
        assert result.missing_keys == [] and result.unexpected_keys == [], part
        check_backbone_keys(module, parts[part], 'x.pth', part)
        assert all(torch.equal(module.state_dict()[k], v) for k, v in parts[part].items())
    e = 4 if arch == 'resnet50' else 1
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        (c4,) = modules['backbone'](x)
        res5 = modules[SHARED_HEAD](c4)
    assert c4.shape[1:] == (4 * 8 * e, 4, 4) and res5.shape[1:] == (8 * 8 * e, 2, 2)
    assert torch.allclose(res5.mean(dim=(2, 3)), student(x), atol=1e-5)


def test_c4_parts_of_another_depth_fail_with_the_keys(mm_models):
    parts = student_parts(dict(arch='resnet18', width=0.125), _student('resnet18', 0.125).state_dict(), 'c4')
    sections = part_sections(dict(arch='resnet34', width=0.125, small_input=False), 'c4')
    with pytest.raises(DetectionError, match=r'roi_head.shared_head \(\d+ missing keys'):
        check_backbone_keys(mm_models.build(sections[SHARED_HEAD]), parts[SHARED_HEAD], 'x.pth', SHARED_HEAD)
    wider = part_sections(dict(arch='resnet18', width=0.25, small_input=False), 'c4')
    with pytest.raises(DetectionError, match='size mismatch'):
        check_backbone_keys(mm_models.build(wider['backbone']), parts['backbone'], 'x.pth')


def test_width_res_layer_is_mmdets_res_layer_at_base_width(mm_models):
    for depth in (18, 50):
        ours = mm_models.build(dict(type='WidthResLayer', depth=depth, base_channels=64)).state_dict()
        theirs = mm_models.build(dict(type='ResLayer', depth=depth, style='pytorch')).state_dict()
        assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}


def test_generated_c4_and_mobilenet_configs(tmp_path):
    cfg = build_config(EMBEDDED['c4'], dict(arch='resnet18', width=0.125, small_input=False), tmp_path, tmp_path)
    m = cfg.model
    assert cfg.detection_head == 'c4' and m.backbone.num_stages == 3 and m.backbone.out_indices == (2,)
    assert m.rpn_head.in_channels == 32 and m.roi_head.bbox_roi_extractor.out_channels == 32
    assert m.roi_head.shared_head.base_channels == 8 and m.roi_head.bbox_head.in_channels == 64
    assert m.data_preprocessor.bgr_to_rgb and m.data_preprocessor.std[0] == 58.395
    paper = build_config('configs/detection/voc0712_faster_rcnn_r50_c4.py', dict(arch='resnet50', width=1.0),
                         tmp_path, tmp_path)
    assert (paper.model.rpn_head.in_channels, paper.model.roi_head.bbox_head.in_channels) == (1024, 2048)
    assert paper.train_cfg.max_iters == 24000 and paper.param_scheduler[1].milestones == [18000, 22000]
    assert paper.model.data_preprocessor.bgr_to_rgb and str(tmp_path) in json.dumps(paper.train_dataloader.to_dict())
    mobile = build_config(EMBEDDED['fpn'], dict(arch='mobilenet_v2', width=1.0, small_input=False), tmp_path,
                          tmp_path)
    assert mobile.model.backbone.type == 'MobileNetV2' and mobile.model.neck.in_channels == [24, 32, 96, 1280]
    # a config that is not a C4 model cannot be declared 'c4', and heads are named
    wrong = tmp_path / 'wrong_c4.py'
    wrong.write_text(f"_base_ = ['{REPO_ROOT / EMBEDDED['fpn']}']\ndetection_head = 'c4'\n")
    with pytest.raises(DetectionError, match='roi_head.shared_head'):
        build_config(wrong, dict(arch='resnet18', width=0.125), tmp_path, tmp_path)
    (tmp_path / 'bad_head.py').write_text(wrong.read_text().replace("'c4'", "'retina'"))
    with pytest.raises(DetectionError, match='retina'):
        build_config(tmp_path / 'bad_head.py', dict(arch='resnet18', width=0.125), tmp_path, tmp_path)


def test_unsupported_students_are_refused_with_a_reason():
    with pytest.raises(DetectionError, match='small-input'):
        backbone_section(dict(arch='mobilenet_v2', width=1.0, small_input=True))
    with pytest.raises(DetectionError, match='ResNet student'):
        backbone_section(dict(arch='mobilenet_v2', width=1.0), head='c4')
    with pytest.raises(DetectionError, match='alexnet'):
        backbone_section(dict(arch='alexnet', width=1.0))
    with pytest.raises(DetectionError, match='small-input'):
        part_sections(dict(arch='resnet18', width=1.0, small_input=True), 'c4')


@pytest.mark.slow
@pytest.mark.parametrize('arch,head', [('mobilenet_v2', 'fpn'), ('resnet18', 'c4')])
def test_finetune_and_evaluate(arch, head, det_data, tmp_path):
    path = _export(tmp_path, arch, 0.5 if arch == 'mobilenet_v2' else 0.125)
    out = run_detection_subprocess(path, EMBEDDED[head], det_data / 'voc', tmp_path / 'det', trials=1, seed=0,
                                   options=TINY, timeout_s=300)
    assert out['det_status'] == 'ok', out.get('det_error')
    assert out['spec']['arch'] == arch and all(0.0 <= out[k] <= 100.0 for k in ('det_ap50', 'det_ap', 'det_ap75'))
    log = (tmp_path / 'det' / 'detection.log').read_text()
    loaded = ['backbone', SHARED_HEAD] if head == 'c4' else ['backbone']
    assert all(f'tensors loaded into model.{part}' in log for part in loaded)
