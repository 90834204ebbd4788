"""Detection transfer with MMDetection: a real (tiny) fine-tune + evaluation on the embedded VOC and COCO data,
the backbone key check, and failure isolation in the benchmark."""
import json

import pytest
import torch

pytest.importorskip('mmdet', reason='detection needs scripts/install_detection.sh (make test runs it)')

from benchmarks.data.detection import DetectionSpec  # noqa: E402
from benchmarks.evals.detection import (DetectionError, backbone_section, build_config,  # noqa: E402
                                        run_detection_subprocess)
from methods.backbones import build_backbone  # noqa: E402
from tests.helpers.detection import TINY  # noqa: E402

CONFIGS = {'voc': 'configs/detection/embedded_voc_faster_rcnn_fpn.py',
           'coco': 'configs/detection/embedded_coco_faster_rcnn_fpn.py'}


def _export(folder, arch='resnet18', width=0.125):
    torch.manual_seed(0)
    b = build_backbone(arch, width=width)
    torch.save(b.state_dict(), folder / 'backbone.pth')
    (folder / 'backbone.json').write_text(json.dumps(b.spec()))
    return folder / 'backbone.pth'


@pytest.mark.slow
@pytest.mark.parametrize('fmt', ['voc', 'coco'])
def test_finetune_and_evaluate_a_detector_on_embedded_data(fmt, det_data, tmp_path):
    path = _export(tmp_path)
    out = run_detection_subprocess(path, CONFIGS[fmt], det_data / fmt, tmp_path / 'det', trials=1, seed=0,
                                   options=TINY, timeout_s=300)
    assert out['det_status'] == 'ok', out.get('det_error')
    for key in ('det_ap50', 'det_ap', 'det_ap75'):
        assert 0.0 <= out[key] <= 100.0
    assert (tmp_path / 'det' / 'detection.log').stat().st_size > 0
    assert (tmp_path / 'det' / 'trial0').is_dir()


def test_generated_backbone_section_matches_the_student():
    backbone, channels = backbone_section(dict(arch='resnet18', width=0.125, small_input=False))
    assert backbone['base_channels'] == 8 and channels == [8, 16, 32, 64]
    _, channels50 = backbone_section(dict(arch='resnet50', width=0.25, small_input=False))
    assert channels50 == [64, 128, 256, 512]
    with pytest.raises(DetectionError, match='alexnet'):
        backbone_section(dict(arch='alexnet', width=1.0))
    with pytest.raises(DetectionError, match='small-input'):
        backbone_section(dict(arch='resnet18', width=1.0, small_input=True))


def test_student_keys_load_exactly_into_mmdet_resnet():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    from benchmarks.evals.detection import check_backbone_keys
    register_all_modules()
    for arch, width in (('resnet18', 0.25), ('resnet50', 0.125)):
        student = build_backbone(arch, width=width)
        det_backbone = MODELS.build(backbone_section(student.spec())[0])
        check_backbone_keys(det_backbone, student.state_dict(), 'x.pth')
        for k, v in student.state_dict().items():
            assert torch.equal(det_backbone.state_dict()[k], v)
        # the same feature map: mmdet's last stage output pooled == the student's embedding
        student.eval(), det_backbone.eval()
        x = torch.randn(2, 3, 64, 64)
        with torch.no_grad():
            assert torch.allclose(det_backbone(x)[-1].mean(dim=(2, 3)), student(x), atol=1e-5)


@pytest.mark.slow
def test_a_mismatched_checkpoint_fails_fast_with_the_keys(det_data, tmp_path):
    path = _export(tmp_path)
    (tmp_path / 'backbone.json').write_text(json.dumps(dict(arch='resnet34', width=0.125, small_input=False)))
    out = run_detection_subprocess(path, CONFIGS['voc'], det_data / 'voc', tmp_path / 'det', options=TINY,
                                   timeout_s=120)
    assert out['det_status'] == 'failed' and 'missing keys' in out['det_error']


def test_paper_configs_resolve_with_a_data_root(tmp_path):
    spec = dict(arch='resnet18', width=1.0, small_input=False)
    for name in ('voc0712_faster_rcnn_r18_fpn', 'coco_faster_rcnn_r18_fpn_1x', 'coco_mask_rcnn_r18_fpn_1x'):
        cfg = build_config(f'configs/detection/{name}.py', spec, tmp_path, tmp_path / 'w')
        assert cfg.model.backbone.depth == 18 and cfg.model.neck.in_channels == [64, 128, 256, 512]
        assert str(tmp_path) in json.dumps(cfg.test_dataloader.to_dict())


def _suite(tmp_path, **detection):
    from benchmarks.config import CONFIG_DIR
    path = tmp_path / 'suite.py'
    det = dict(options=TINY, embedded=dict(train_images=8, val_images=4, image_size=64), **detection)
    path.write_text(f"_base_ = ['{CONFIG_DIR / 'suites' / 'default.py'}']\nevals = dict(detection={det!r})\n")
    return path


@pytest.mark.slow
def test_bench_rows_carry_detection_and_a_failed_run_is_isolated(tmp_path, cache_dir):
    from benchmarks.cli.bench import main
    from tests.helpers.bench import BASE_OPTS
    opts = [o for o in BASE_OPTS if not o.startswith('evals.suites')] + ['evals.suites=[knn,flops,detection]']
    assert main(['--config', str(_suite(tmp_path)), '--work-dir', str(tmp_path / 'ok'), '--methods', 'compress_2q',
                 '--cfg-options', *opts, 'method_cfgs.compress_2q.bank_size=64']) == 0
    row = next(r for r in json.loads((tmp_path / 'ok' / 'rows.json').read_text()) if r['method'] == 'compress_2q')
    assert row['det_status'] == 'ok' and 0 <= row['det_ap50'] <= 100 and 'knn20_top1' in row
    assert (tmp_path / 'ok' / 'compress_2q' / 'detection' / 'detection.log').is_file()
    md = (tmp_path / 'ok' / 'leaderboard.md').read_text()
    assert 'AP50' in md and 'detection:' in md
    # a detection run that fails (no annotations under its data root) marks its cells, nothing else is lost
    empty = tmp_path / 'empty_voc'
    empty.mkdir()
    assert main(['--config', str(_suite(tmp_path, data_root=str(empty))), '--work-dir', str(tmp_path / 'bad'),
                 '--methods', 'compress_2q', '--cfg-options', *opts, 'method_cfgs.compress_2q.bank_size=64']) == 0
    row = next(r for r in json.loads((tmp_path / 'bad' / 'rows.json').read_text()) if r['method'] == 'compress_2q')
    assert row['det_status'] == 'failed' and row['det_error'] and row['knn20_top1'] >= 0
    assert 'failed' in (tmp_path / 'bad' / 'leaderboard.md').read_text()


VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow')


def _fake_vocdevkit(root):
    """A VOCdevkit layout (VOC2007 + VOC2012, VOC class names) made from the embedded detection data."""
    import re
    import shutil

    from benchmarks.data.detection import write_voc
    spec = DetectionSpec(train_images=6, val_images=3, image_size=128)
    write_voc(spec, root)
    names = dict(zip(spec.class_names, VOC_CLASSES))
    for xml in (root / 'VOC2007' / 'Annotations').glob('*.xml'):
        xml.write_text(re.sub(r'<name>(\w+)</name>', lambda m: f'<name>{names[m.group(1)]}</name>', xml.read_text()))
    shutil.copytree(root / 'VOC2007', root / 'VOC2012')
    return root


@pytest.mark.slow
def test_paper_voc0712_config_runs_on_a_vocdevkit_layout(tmp_path):
    root = _fake_vocdevkit(tmp_path / 'VOCdevkit')
    path = _export(tmp_path)
    # the paper protocol (07+12 trainval -> 07 test, VOC metric), shrunk to one epoch of small images
    small = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=2', 'train_dataloader.dataset.times=1',
             'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
             'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
             'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
             'train_dataloader.dataset.dataset.datasets.0.pipeline.2.scale=(160,128)',
             'train_dataloader.dataset.dataset.datasets.1.pipeline.2.scale=(160,128)',
             'test_dataloader.dataset.pipeline.1.scale=(160,128)']
    out = run_detection_subprocess(path, 'configs/detection/voc0712_faster_rcnn_r18_fpn.py', root, tmp_path / 'det',
                                   options=small, timeout_s=600)
    assert out['det_status'] == 'ok', out.get('det_error')
    assert 0 <= out['det_ap50'] <= 100 and 0 <= out['det_ap'] <= out['det_ap50']
