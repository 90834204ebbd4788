"""Detection transfer with MMDetection: fine-tune a Faster R-CNN on a student backbone, report AP.

docs/methods.md#detection-transfer: students are judged the way MoCo/CompRess/SEED papers do it — a detector
whose backbone is initialised from the student, fine-tuned end to end and evaluated on PASCAL VOC07
test (after VOC07+12 trainval) or COCO val2017 (after train2017): AP50, AP (mean over IoU 0.50:0.95)
and AP75. This module runs that with MMDetection 3.3 (mmcv 2.1, mmengine) **in a subprocess** so a
crash, an out-of-memory or a missing mmcv build fails one cell, never the benchmark:

    python -m benchmarks.evals.detection --backbone results/<run>/<m>/backbone.pth \\
        --det-config configs/detection/voc0712_faster_rcnn_r18_fpn.py --data-root /data/VOCdevkit \\
        --work-dir results/<run>/<m>/detection [--trials 5] [--cfg-options key=value ...]

The detection config (configs/detection/*.py) is a normal mmdet config (it may ``_base_`` mmdet's own
configs through the ``mmdet::`` scheme) *without* the backbone, plus an optional top-level
``detection_head = 'fpn' | 'c4'`` ('fpn' when absent). The parts that receive the student are
generated here from the exported student's spec (``backbone.json`` next to ``backbone.pth``):

* ResNet-18/34/50 (every method's default student and each SlimCLR width, which exports as a plain
  ResNet), ``c = round(64 · width)``, expansion ``e`` (1, or 4 for ResNet-50): an mmdet ``ResNet`` of
  the same depth with ``base_channels = c``, style 'pytorch' (stride in the 3x3 conv, like torchvision).
  The keys are the student's own.
* MobileNet-V2 (FPN only): mmdet ``MobileNetV2(widen_factor=width, out_indices=(1, 2, 4, 7))`` (strides
  4-32); the student's torchvision ``features.*`` keys are renamed to mmdet's (`mobilenet_v2_key`). Only
  widths that both libraries build with the same channels are accepted (`mobilenet_v2_channels`: they
  round the last conv differently above width 1).

Heads. 'fpn' (configs/detection/*_fpn*.py, SlimCLR's framework): all four feature maps go to the FPN,
whose ``in_channels`` are set to the student's. 'c4' (configs/detection/*_c4.py; MoCo's R50-C4
protocol, ResNet students only): the backbone is ResNet stages 1-3 (one stride-16 map, 4·c·e channels,
for the RPN and RoIAlign) and the student's fourth stage (``layer4.*``) is the RoI head's shared head
(``WidthResLayer``: mmdet's C4 ``ResLayer`` with a ``base_channels`` argument), whose 8·c·e output
channels feed the box head.

The student's state dict is loaded into each part (``backbone`` and, for C4, ``roi_head.shared_head``)
after mmdet's weight initialisation (``LoadBackboneHook``), and for every part the missing / unexpected
key sets must both be empty — they are checked first, in bare modules, before any data is read, so a
mismatch fails within seconds with the keys named; a detector never silently trains from a partly
random backbone. The BN layers of student parts keep their statistics frozen (``norm_eval=True``,
affine parameters trained); MoCo's detectron2 runs use SyncBN instead (see the C4 config).

Unsupported (a clear ``DetectionError``): AlexNet students (no BN, no mmdet backbone), the small-input
(CIFAR) stem of either architecture, MobileNet-V2 with the C4 head.

Trials: ``--trials N`` fine-tunes N times with seeds seed … seed+N−1 and reports mean ± std (MoCo
reports the mean of 5 trials). Results go to ``<work-dir>/detection.json``; the mmdet log of every
trial stays in ``<work-dir>/trial<i>/``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.engine.run_folder import write_json
from benchmarks.evals.base import Column, Evaluator, register_evaluator

METRIC_KEYS = ('det_ap50', 'det_ap', 'det_ap75')
RESNET_DEPTHS = {'resnet18': 18, 'resnet34': 34, 'resnet50': 50, 'resnet101': 101, 'resnet152': 152}
HEADS = ('fpn', 'c4')
SHARED_HEAD = 'roi_head.shared_head'  # where the C4 detector keeps the student's fourth stage
# (expand ratio t, channels c, blocks n, stride s) of the seven inverted-residual stages: the table of
# both torchvision's and mmdet's MobileNetV2 (and of Sandler et al., Table 2)
MOBILENET_V2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                         (6, 160, 3, 2), (6, 320, 1, 1))
# mmdet MobileNetV2 out_indices for the FPN: layer2, layer3, layer5 and the last 1x1 conv (index 7),
# i.e. strides 4, 8, 16, 32 like ResNet's four stages (mmdet's own default)
MOBILENET_V2_OUT_INDICES = (1, 2, 4, 7)
REPO_ROOT = Path(__file__).resolve().parents[2]


class DetectionError(RuntimeError):
    """A detection run that cannot start or did not finish; the message says why."""


def _norm_cfg() -> dict:
    return dict(type='BN', requires_grad=True)


def _make_divisible(value: float, divisor: int = 8) -> int:
    """The TF-slim channel rounding that torchvision's ``_make_divisible`` and mmdet's ``make_divisible``
    both implement: nearest multiple of ``divisor`` (at least ``divisor``), never more than 10 % below."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def mobilenet_v2_channels(width: float, library: str) -> list[int]:
    """Output channels of [stem, stage 1..7, last 1x1 conv] of MobileNet-V2 at ``width`` as ``library``
    ('torchvision' or 'mmdet') builds it.

    Both round the stem and the stages with `_make_divisible` (and the expanded channels with
    ``int(round(in * t))``); they differ only in the last conv above width 1: torchvision
    (models/mobilenetv2.py) ``_make_divisible(1280 * max(1, width))``, mmdet (backbones/mobilenet_v2.py)
    ``int(1280 * width)`` for width > 1, else 1280.
    """
    stages = [_make_divisible(32 * width)] + [_make_divisible(c * width) for _, c, _, _ in MOBILENET_V2_SETTINGS]
    if library == 'torchvision':
        last = _make_divisible(1280 * max(1.0, width))
    elif library == 'mmdet':
        last = int(1280 * width) if width > 1.0 else 1280
    else:
        raise ValueError(f'library must be torchvision or mmdet, not {library!r}')
    return stages + [last]


def _mobilenet_v2_section(spec: dict, head: str) -> tuple[dict, list[int]]:
    if head != 'fpn':
        raise DetectionError(f"the {head!r} detection head needs a ResNet student (its fourth stage is the RoI "
                             f"head); use an FPN config for mobilenet_v2.")
    if spec.get('small_input'):
        raise DetectionError('detection transfer needs the standard MobileNet-V2 stem (stride 2); this student '
                             'uses the small-input stem (small_input=True), which mmdet MobileNetV2 does not have.')
    width = float(spec.get('width', 1.0))
    theirs, ours = mobilenet_v2_channels(width, 'mmdet'), mobilenet_v2_channels(width, 'torchvision')
    if theirs != ours:
        raise DetectionError(f'mobilenet_v2 width {width}: torchvision builds channels {ours}, mmdet {theirs} (they '
                             f'round the last 1x1 conv differently above width 1); the student cannot load into '
                             f"mmdet's MobileNetV2.")
    backbone = dict(type='MobileNetV2', widen_factor=width, out_indices=MOBILENET_V2_OUT_INDICES, frozen_stages=-1,
                    norm_cfg=_norm_cfg(), norm_eval=True, init_cfg=None)
    return backbone, [theirs[1 + i] for i in MOBILENET_V2_OUT_INDICES]


def _resnet_dims(spec: dict) -> tuple[int, int, int]:
    """(depth, stem/base channels c, block expansion e) of a ResNet student."""
    if spec.get('small_input'):
        raise DetectionError('detection transfer needs the standard ResNet stem; this student uses the small-input '
                             '(CIFAR) stem (small_input=True), which mmdet ResNet does not have.')
    depth = RESNET_DEPTHS[spec['arch']]
    return depth, max(1, int(round(64 * float(spec.get('width', 1.0))))), 4 if depth == 50 else 1


def _resnet_section(spec: dict, head: str) -> tuple[dict, list[int]]:
    depth, c, e = _resnet_dims(spec)
    backbone = dict(type='ResNet', depth=depth, base_channels=c, stem_channels=c, num_stages=4,
                    out_indices=(0, 1, 2, 3), frozen_stages=-1, norm_cfg=_norm_cfg(), norm_eval=True,
                    style='pytorch', init_cfg=None)
    if head == 'fpn':
        return backbone, [c * e * 2 ** i for i in range(4)]
    # C4: stages 1-3 (output stride 16); the fourth runs per RoI in the shared head
    backbone.update(num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2,))
    return backbone, [4 * c * e]


def backbone_section(spec: dict, head: str = 'fpn') -> tuple[dict, list[int]]:
    """(mmdet backbone config, channels of each feature map it outputs) for an exported student ``spec``.

    'fpn': four maps (strides 4-32) for the FPN; 'c4': ResNet stages 1-3, one stride-16 map (4·c·e channels).
    """
    arch = spec.get('arch')
    if arch == 'mobilenet_v2':
        return _mobilenet_v2_section(spec, head)
    if arch not in RESNET_DEPTHS:
        raise DetectionError(f'detection transfer supports ResNet-18/34/50 and MobileNet-V2 students; {arch!r} is '
                             f'not supported (mmdet has no backbone with its state-dict layout).')
    return _resnet_section(spec, head)


def shared_head_section(spec: dict) -> tuple[dict, int]:
    """(mmdet RoI shared-head config, its output channels 8·c·e): the student's fourth ResNet stage, run on
    each 14x14 RoI feature (the C4 detector's res5 head)."""
    if spec.get('arch') not in RESNET_DEPTHS:
        raise DetectionError(f"the C4 detection head needs a ResNet student, not {spec.get('arch')!r}.")
    depth, c, e = _resnet_dims(spec)
    head = dict(type='WidthResLayer', depth=depth, base_channels=c, stage=3, stride=2, dilation=1,
                style='pytorch', norm_cfg=_norm_cfg(), norm_eval=True, init_cfg=None)
    return head, 8 * c * e


def part_sections(spec: dict, head: str = 'fpn') -> dict[str, dict]:
    """{detector submodule path: its config} for every part that receives student weights."""
    parts = {'backbone': backbone_section(spec, head)[0]}
    if head == 'c4':
        parts[SHARED_HEAD] = shared_head_section(spec)[0]
    return parts


# torchvision InvertedResidual ``conv.*`` sub-keys -> mmdet InvertedResidual ConvModules
_BLOCK_EXPAND = {'conv.0.0': 'expand_conv.conv', 'conv.0.1': 'expand_conv.bn', 'conv.1.0': 'depthwise_conv.conv',
                 'conv.1.1': 'depthwise_conv.bn', 'conv.2': 'linear_conv.conv', 'conv.3': 'linear_conv.bn'}
_BLOCK_NO_EXPAND = {'conv.0.0': 'depthwise_conv.conv', 'conv.0.1': 'depthwise_conv.bn', 'conv.1': 'linear_conv.conv',
                    'conv.2': 'linear_conv.bn'}
_CONV_BN = {'0': 'conv', '1': 'bn'}


def _mobilenet_v2_blocks() -> list[tuple[int, int, bool]]:
    """(mmdet layer number, block index in it, has an expand conv) of torchvision ``features.1 .. features.17``."""
    return [(stage, j, t != 1) for stage, (t, _, n, _) in enumerate(MOBILENET_V2_SETTINGS, start=1) for j in range(n)]


def mobilenet_v2_key(key: str) -> str:
    """torchvision MobileNet-V2 ``features.*`` key -> mmdet ``MobileNetV2`` key.

    ``features.0.{0,1}`` (stem conv, BN) -> ``conv1.{conv,bn}``; ``features.18.{0,1}`` -> ``conv2.{conv,bn}``;
    block ``features.i`` (i = 1..17, in stage order) -> ``layer<s>.<j>`` with ``conv.*`` renamed to
    ``expand_conv`` / ``depthwise_conv`` / ``linear_conv`` ``.conv`` / ``.bn`` (the first stage, expand ratio 1,
    has no expand conv, so its indices shift by one). The parameter name (weight, running_mean ...) is kept.
    """
    blocks = _mobilenet_v2_blocks()
    m = re.fullmatch(r'features\.(\d+)\.(.+)\.([a-z_]+)', key)
    if m:
        i, module, param = int(m[1]), m[2], m[3]
        if i in (0, len(blocks) + 1) and module in _CONV_BN:
            return f"{'conv1' if i == 0 else 'conv2'}.{_CONV_BN[module]}.{param}"
        if 1 <= i <= len(blocks):
            stage, j, expand = blocks[i - 1]
            table = _BLOCK_EXPAND if expand else _BLOCK_NO_EXPAND
            if module in table:
                return f'layer{stage}.{j}.{table[module]}.{param}'
    raise DetectionError(f'{key!r} is not a key of a torchvision MobileNet-V2 features module.')


def mobilenet_v2_to_mmdet(state: dict) -> dict:
    """A torchvision MobileNet-V2 ``features.*`` state dict with mmdet ``MobileNetV2`` key names (same tensors)."""
    return {mobilenet_v2_key(k): v for k, v in state.items()}


def student_parts(spec: dict, state: dict, head: str = 'fpn') -> dict[str, dict]:
    """The student's state dict as the detector's parts load it: ``{'backbone': ...}`` (MobileNet-V2 keys
    renamed to mmdet's) plus, for the C4 head, ``{'roi_head.shared_head': the layer4.* keys}``."""
    if spec.get('arch') == 'mobilenet_v2':
        return {'backbone': mobilenet_v2_to_mmdet(state)}
    if head == 'c4':
        res5 = {k: v for k, v in state.items() if k.startswith('layer4.')}
        return {'backbone': {k: v for k, v in state.items() if k not in res5}, SHARED_HEAD: res5}
    return {'backbone': dict(state)}


def detection_head(cfg) -> str:
    """The config's ``detection_head`` ('fpn' when absent; configs/detection/*_c4.py declare 'c4')."""
    head = cfg.get('detection_head', 'fpn')
    if head not in HEADS:
        raise DetectionError(f'detection_head = {head!r} in the detection config; expected one of {HEADS}.')
    return head


def register_student_modules() -> None:
    """Register ``WidthResLayer`` in mmdet's model registry (idempotent; needs mmdet)."""
    from mmdet.models.backbones import ResNet
    from mmdet.models.layers import ResLayer as StageLayer
    from mmdet.models.roi_heads.shared_heads import ResLayer
    from mmdet.registry import MODELS
    from mmengine.model import BaseModule
    if 'WidthResLayer' in MODELS.module_dict:
        return

    class WidthResLayer(ResLayer):
        """mmdet's C4 shared head (roi_heads/shared_heads/res_layer.py) with ``base_channels``: mmdet
        hard-codes 64, so a width-scaled student's fourth stage has other shapes. Same module and key
        names (``layer<stage+1>.*``); identical to ``ResLayer`` at ``base_channels=64``."""

        def __init__(self, depth, base_channels=64, stage=3, stride=2, dilation=1, style='pytorch',
                     norm_cfg=_norm_cfg(), norm_eval=True, with_cp=False, init_cfg=None):
            BaseModule.__init__(self, init_cfg)  # ResLayer.__init__ would build the 64-channel stage
            self.norm_eval, self.norm_cfg, self.stage, self.fp16_enabled = norm_eval, norm_cfg, stage, False
            block, stage_blocks = ResNet.arch_settings[depth]
            inplanes, planes = base_channels * 2 ** (stage - 1) * block.expansion, base_channels * 2 ** stage
            self.add_module(f'layer{stage + 1}', StageLayer(
                block, inplanes, planes, stage_blocks[stage], stride=stride, dilation=dilation, style=style,
                with_cp=with_cp, norm_cfg=norm_cfg))

    MODELS.register_module(module=WidthResLayer)


def _set_c4_head(model, spec: dict, feature_channels: int) -> None:
    """Generated shared head + the channels of the RPN, RoI extractor and box head for a C4 detector."""
    if model.get('neck') is not None or model.get('roi_head', {}).get('shared_head') is None:
        raise DetectionError("detection_head = 'c4' needs a model without a neck and with roi_head.shared_head "
                             "(mmdet's faster-rcnn_r50-caffe-c4).")
    shared, out_channels = shared_head_section(spec)
    model.roi_head.shared_head = shared
    model.rpn_head.in_channels = feature_channels
    model.roi_head.bbox_roi_extractor.out_channels = feature_channels
    model.roi_head.bbox_head.in_channels = out_channels


def _set_data_root(node, root: str) -> None:
    """Set ``data_root`` on every dataset dict (also inside Repeat/ConcatDataset wrappers)."""
    if isinstance(node, dict):
        if str(node.get('type', '')).endswith(('VOCDataset', 'CocoDataset')) or 'ann_file' in node:
            node['data_root'] = root
        for v in node.values():
            _set_data_root(v, root)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _set_data_root(v, root)


def build_config(det_config, spec: dict, data_root, work_dir, seed: int = 0, options: dict | None = None):
    """The runnable mmdet config: ``det_config`` + the generated backbone + data root + work dir."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(det_config))
    head = detection_head(cfg)
    backbone, channels = backbone_section(spec, head)
    cfg.model.backbone = backbone
    if head == 'c4':
        _set_c4_head(cfg.model, spec, channels[0])
    elif cfg.model.get('neck') is not None:
        cfg.model.neck.in_channels = channels
    root = str(Path(data_root).resolve()) + '/'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key) is not None:
            d = cfg[key].to_dict()
            _set_data_root(d, root)
            cfg[key] = d
    for key in ('val_evaluator', 'test_evaluator'):  # COCO evaluators read the annotation file themselves
        ev = cfg.get(key)
        if ev is not None and ev.get('ann_file') and not os.path.isabs(ev['ann_file']):
            ev['ann_file'] = root + ev['ann_file']
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.launcher = 'none'
    if options:
        cfg.merge_from_dict(options)
    return cfg


def load_student_state(path) -> dict:
    import torch
    state = torch.load(path, map_location='cpu', weights_only=True)
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise DetectionError(f'{path} is not a plain backbone state dict (tools/bench.py writes backbone.pth).')
    return state


def check_backbone_keys(backbone_module, state: dict, path, part: str = 'backbone') -> None:
    """Load ``state`` into ``backbone_module`` (the detector's ``part``); missing and unexpected keys must
    both be empty and every shape must match."""
    try:
        result = backbone_module.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # torch reports shape mismatches this way, even with strict=False
        raise DetectionError(f'{path} does not fit the detector {part}: {str(exc)[:400]}') from exc
    if result.missing_keys or result.unexpected_keys:
        miss, unexp = result.missing_keys, result.unexpected_keys
        raise DetectionError(
            f'{path} does not fit the detector {part} ({len(miss)} missing keys, e.g. {miss[:5]}; {len(unexp)} '
            f'unexpected, e.g. {unexp[:5]}). The spec in the .json next to it must describe the saved network; '
            f'a detector is never trained from a partly random backbone.')


def _load_backbone_hook(path, parts: dict[str, dict]):
    """Hook loading each ``{submodule path: state dict}`` of `student_parts` into the detector."""
    from mmengine.hooks import Hook

    class LoadBackboneHook(Hook):
        """Loads the student after mmdet's weight initialisation (which would overwrite it)."""
        priority = 'VERY_HIGH'

        def before_train(self, runner):
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            for part, state in parts.items():
                check_backbone_keys(model.get_submodule(part), state, path, part)
                print(f'{path}: {len(state)} tensors loaded into model.{part}', flush=True)

    return LoadBackboneHook()


def _metrics(raw: dict) -> dict:
    """mmdet metric dict -> det_ap50 / det_ap / det_ap75 in %."""
    def pick(*names):
        for n in names:
            if n in raw:
                return float(raw[n]) * 100
        raise DetectionError(f'the evaluator returned {sorted(raw)}; expected one of {names}')
    return dict(det_ap50=pick('pascal_voc/AP50', 'coco/bbox_mAP_50'),
                det_ap=pick('pascal_voc/mAP', 'coco/bbox_mAP'),
                det_ap75=pick('pascal_voc/AP75', 'coco/bbox_mAP_75'))


def run_trials(backbone_path, det_config, data_root, work_dir, trials: int = 1, seed: int = 0,
               options: dict | None = None, spec: dict | None = None) -> dict:
    """Fine-tune + evaluate ``trials`` times (in this process); returns the summary written to detection.json."""
    import contextlib
    import io

    import torch
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.runner import Runner

    register_all_modules()
    register_student_modules()
    backbone_path, work_dir = Path(backbone_path), Path(work_dir)
    spec = spec or json.loads(backbone_path.with_suffix('.json').read_text())
    head = detection_head(Config.fromfile(str(det_config)))
    parts = student_parts(spec, load_student_state(backbone_path), head)
    for part, section in part_sections(spec, head).items():  # fail fast, before any data
        check_backbone_keys(MODELS.build(section), parts[part], backbone_path, part)
    results = []
    for t in range(trials):
        cfg = build_config(det_config, spec, data_root, work_dir / f'trial{t}', seed + t, options)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            runner = Runner.from_cfg(cfg)
        runner.register_hook(_load_backbone_hook(backbone_path, parts))
        runner.train()
        loss = runner.message_hub.get_scalar('train/loss').current()
        if not math.isfinite(loss):  # a diverged detector must not be reported as 0 AP
            raise DetectionError(f'detection fine-tuning diverged (training loss {loss}); lower the detection '
                                 f'learning rate in {det_config}.')
        raw = runner.test()
        results.append(dict(seed=seed + t, seconds=time.perf_counter() - start, **_metrics(raw)))
        print(f'trial {t}: ' + '  '.join(f'{k} {results[-1][k]:.1f}' for k in METRIC_KEYS), flush=True)
    summary = dict(trials=results, det_config=str(det_config), detection_head=head, data_root=str(data_root),
                   spec=spec, torch_threads=torch.get_num_threads())
    for k in METRIC_KEYS:
        vals = [r[k] for r in results]
        mean = sum(vals) / len(vals)
        summary[k] = mean
        summary[f'{k}_std'] = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
    summary['det_seconds'] = sum(r['seconds'] for r in results)
    return summary


def run_detection_subprocess(backbone_path, det_config, data_root, work_dir, trials: int = 1, seed: int = 0,
                             options: list[str] | None = None, timeout_s: float | None = None) -> dict:
    """Run this module in a fresh Python; returns its summary, or ``dict(det_status='failed', det_error=...)``.

    The subprocess's output (progress and the mmdet log) is kept in ``<work_dir>/detection.log``.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    from benchmarks.config import find_config
    # -P: the working directory (left as it is, relative paths stay valid) must not shadow the package on
    # PYTHONPATH; a project-relative config (configs/detection/x.py) is passed as the file it names
    cmd = [sys.executable, '-P', '-m', 'benchmarks.evals.detection_worker', '--backbone', str(backbone_path), '--det-config',
           str(find_config(det_config) or det_config), '--data-root', str(data_root), '--work-dir', str(work_dir), '--trials', str(trials),
           '--seed', str(seed)]
    if options:
        cmd += ['--cfg-options', *options]
    log = work_dir / 'detection.log'
    # the folder holding the `benchmarks` package this process imported (the checkout or site-packages)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get('PYTHONPATH', '')]))
    try:
        with open(log, 'w') as fh:
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return dict(det_status='failed', det_error=f'timed out after {timeout_s:.0f}s (log: {log})')
    result = work_dir / 'detection.json'
    if proc.returncode != 0 or not result.is_file():
        lines = [ln for ln in log.read_text(errors='replace').splitlines() if ln.strip()]
        reason = next((ln for ln in reversed(lines) if ln.startswith('error:')), lines[-1] if lines else 'no output')
        return dict(det_status='failed', det_error=f'{reason[:300]} (log: {log})')
    return dict(det_status='ok', **json.loads(result.read_text()))


def detection_data_root(det_cfg: dict, cache_dir=None) -> str:
    """The dataset root of ``evals.detection``: ``data_root`` or, when None, the embedded detection set
    (generated once, in the layout ``format`` names: 'voc' or 'coco')."""
    if det_cfg.get('data_root'):
        return str(det_cfg['data_root'])
    from benchmarks.data.detection import DetectionSpec, materialise_detection
    spec = DetectionSpec(**dict(det_cfg.get('embedded', {})))
    return str(materialise_detection(spec, cache_dir) / det_cfg.get('format', 'voc'))


@register_evaluator('detection')
class DetectionEvaluator(Evaluator):
    """Detection transfer: fine-tune an MMDetection detector (``config``) on the exported backbone in
    a subprocess, ``trials`` times, and report AP50 / AP@[.5:.95] / AP75 on its test split (mean and
    spread). A failed run records ``det_status='failed'`` and its reason; the other results stay."""

    order = 70
    needs_export = True

    @classmethod
    def environment(cls, cfg, evals_cfg):
        import importlib.util
        missing = [m for m in ('mmcv', 'mmdet', 'pycocotools') if importlib.util.find_spec(m) is None]
        if missing:
            return [f'the detection evaluation needs {", ".join(missing)}, which are not installed. Run '
                    f'scripts/install_detection.sh (builds mmcv 2.1.0 once, ~12 min on 2 cores, then cached) '
                    f'or leave detection out with --evals.']
        return []

    @classmethod
    def check(cls, cfg, evals_cfg):
        from benchmarks.config import find_config
        problems = []
        if find_config(cfg['config']) is None:
            problems.append(f"evals.detection.config={cfg['config']!r} does not exist; see configs/detection/.")
        elif not cfg.get('data_root') and not Path(cfg['config']).name.startswith('embedded_'):
            problems.append(f"evals.detection.config={cfg['config']!r} is a paper protocol and needs its dataset: "
                            f'pass the VOCdevkit / COCO folder with --det-data-root DIR (tools/evaluate.py) or '
                            f'evals.detection.data_root=DIR; only configs/detection/embedded_*.py run on the '
                            f'embedded data.')
        if cfg.get('data_root') and not Path(cfg['data_root']).is_dir():
            problems.append(f"evals.detection.data_root={cfg['data_root']!r} is not a directory (the VOCdevkit or "
                            f'COCO folder); leave it None for the embedded detection data.')
        return problems

    @classmethod
    def columns(cls, keys):
        if 'det_status' not in keys:  # detection ran: a failed run shows as 'failed' in its cells
            return []
        cols = [Column('det_ap50', 'AP50', '.1f', 'detection', 'max'), Column('det_ap', 'AP', '.1f', 'detection', 'max')]
        if 'det_ap75' in keys:
            cols.append(Column('det_ap75', 'AP75', '.1f', 'detection', 'max'))
        return cols + [Column('det_ap50_std', 'AP50 std', '.2f', 'detection', None, detail=True),
                       Column('det_ap_std', 'AP std', '.2f', 'detection', None, detail=True)]

    def __init__(self, cfg=None, evals_cfg=None):
        super().__init__(cfg, evals_cfg)
        from benchmarks.config import find_config
        found = find_config(self.cfg['config'])
        self.config_file = str(found) if found is not None else self.cfg['config']
        self.data_root = None

    def caption(self):
        data = self.cfg.get('data_root') or f"embedded detection data ({self.cfg.get('format', 'voc')} layout)"
        return (f"detection: {Path(self.cfg['config']).stem} (MMDetection) on {data}, "
                f"AP50 / AP@[.5:.95], mean of {self.cfg.get('trials', 1)} trial(s)"
                + (' (one seed: ± is the 95 % interval over the trials)' if self.cfg.get('trials', 1) > 1 else ''))

    def applies(self, kind: str) -> bool:
        """The teacher row is fine-tuned only with ``evals.detection.teacher`` (it costs a student's run)."""
        return kind != 'teacher' or bool(self.cfg.get('teacher', True))

    def setup(self, log=print):
        # the embedded detection data is generated (or found) now: a problem shows before any training
        self.data_root = detection_data_root(self.cfg)

    def run(self, ctx):
        if ctx.backbone_path is None:
            return {}
        path = Path(ctx.backbone_path)
        ctx.log(f'[{ctx.name}] detection transfer ({Path(self.config_file).stem})')
        try:
            root = self.data_root or detection_data_root(self.cfg)
        except Exception as exc:  # noqa: BLE001  (data generation problems fail this cell only, with the reason)
            return dict(det_status='failed', det_error=f'detection data: {exc}')
        out = run_detection_subprocess(path, self.config_file, root, path.parent / f'detection{path.stem[len("backbone"):]}',
                                       trials=self.cfg.get('trials', 1), seed=ctx.seed,
                                       options=list(self.cfg.get('options', [])), timeout_s=self.cfg.get('timeout_s'))
        keep = [*METRIC_KEYS, *(f'{k}_std' for k in METRIC_KEYS), 'det_seconds', 'det_status', 'det_error']
        metrics = {k: out[k] for k in keep if k in out}
        if isinstance(out.get('trials'), list) and len(out['trials']) > 1:
            metrics['det_trials'] = len(out['trials'])  # the tables show mean ± 95 % interval over trials
        return metrics

    def succeeded(self, metrics):
        return metrics.get('det_status') == 'ok'


def main(argv=None) -> int:
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(prog='python -m benchmarks.evals.detection_worker', description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--backbone', required=True, help='exported backbone .pth (its .json spec next to it)')
    p.add_argument('--det-config', required=True, help='detection config (configs/detection/*.py)')
    p.add_argument('--data-root', required=True, help='dataset root (VOCdevkit or a COCO folder)')
    p.add_argument('--work-dir', required=True)
    p.add_argument('--trials', type=int, default=1)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None)
    args = p.parse_args(argv)
    try:
        for what, path in (('--backbone', args.backbone), ('--det-config', args.det_config)):
            if not Path(path).is_file():
                raise DetectionError(f'{what} {path} does not exist.')
        if not Path(args.data_root).is_dir():
            raise DetectionError(f'--data-root {args.data_root} is not a directory.')
        summary = run_trials(args.backbone, args.det_config, args.data_root, args.work_dir, args.trials, args.seed,
                             args.cfg_options)
    except (DetectionError, FileNotFoundError, ImportError) as exc:
        print(f'error: {exc}', file=sys.stderr, flush=True)
        return 2
    write_json(Path(args.work_dir) / 'detection.json', summary)
    return 0
