"""Detection transfer with MMDetection: fine-tune a Faster R-CNN on a student backbone, report AP.

research/methods.md §6.4: students are judged the way MoCo/CompRess/SEED papers do it — a detector
whose backbone is initialised from the student, fine-tuned end to end and evaluated on PASCAL VOC07
test (after VOC07+12 trainval) or COCO val2017 (after train2017): AP50, AP (mean over IoU 0.50:0.95)
and AP75. This module runs that with MMDetection 3.3 (mmcv 2.1, mmengine) **in a subprocess** so a
crash, an out-of-memory or a missing mmcv build fails one cell, never the benchmark:

    python -m benchmarks.evals.detection --backbone results/<run>/<m>/backbone.pth \\
        --det-config configs/detection/voc0712_faster_rcnn_r18_fpn.py --data-root /data/VOCdevkit \\
        --work-dir results/<run>/<m>/detection [--trials 5] [--cfg-options key=value ...]

The detection config (configs/detection/*.py) is a normal mmdet config (it may ``_base_`` mmdet's own
configs through the ``mmdet::`` scheme) *without* the backbone: the backbone section is generated
here from the exported student's spec (``backbone.json`` next to ``backbone.pth``): an mmdet
``ResNet`` of the same depth with ``base_channels = round(64 · width)``, style 'pytorch' (stride in
the 3x3 conv, like torchvision), and the FPN input channels to match. The student's state dict is
loaded into the detector's backbone after mmdet's weight initialisation (``LoadBackboneHook``), and
the missing / unexpected key sets must both be empty — they are checked first, in a bare backbone,
before any data is read, so a mismatch fails within seconds with the keys named; a detector never
silently trains from a random backbone.

Backbones: ResNet-18/34/50 students (every method's default student and each SlimCLR width, which
exports as a plain ResNet) with the standard stem. MobileNet-V2 / AlexNet students and the
small-input (CIFAR) stem are reported as unsupported (mmdet's MobileNetV2 uses other key names).

Trials: ``--trials N`` fine-tunes N times with seeds seed … seed+N−1 and reports mean ± std (MoCo
reports the mean of 5 trials). Results go to ``<work-dir>/detection.json``; the mmdet log of every
trial stays in ``<work-dir>/trial<i>/``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

METRIC_KEYS = ('det_ap50', 'det_ap', 'det_ap75')
RESNET_DEPTHS = {'resnet18': 18, 'resnet34': 34, 'resnet50': 50}
REPO_ROOT = Path(__file__).resolve().parents[2]


class DetectionError(RuntimeError):
    """A detection run that cannot start or did not finish; the message says why."""


def backbone_section(spec: dict) -> tuple[dict, list[int]]:
    """(mmdet backbone config, FPN input channels) for an exported student ``spec``."""
    arch = spec.get('arch')
    if arch not in RESNET_DEPTHS:
        raise DetectionError(f'detection transfer supports ResNet-18/34/50 students; {arch!r} is not supported '
                             f'(mmdet has no backbone with its state-dict layout).')
    if spec.get('small_input'):
        raise DetectionError('detection transfer needs the standard ResNet stem; this student uses the small-input '
                             '(CIFAR) stem (small_input=True), which mmdet ResNet does not have.')
    depth = RESNET_DEPTHS[arch]
    c = max(1, int(round(64 * float(spec.get('width', 1.0)))))
    expansion = 4 if depth == 50 else 1
    backbone = dict(type='ResNet', depth=depth, base_channels=c, stem_channels=c, num_stages=4,
                    out_indices=(0, 1, 2, 3), frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True),
                    norm_eval=True, style='pytorch', init_cfg=None)
    return backbone, [c * expansion * 2 ** i for i in range(4)]


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
    backbone, in_channels = backbone_section(spec)
    cfg.model.backbone = backbone
    if cfg.model.get('neck') is not None:
        cfg.model.neck.in_channels = in_channels
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


def check_backbone_keys(backbone_module, state: dict, path) -> None:
    """Load ``state`` into ``backbone_module``; missing and unexpected keys must both be empty."""
    result = backbone_module.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        miss, unexp = result.missing_keys, result.unexpected_keys
        raise DetectionError(
            f'{path} does not fit the detector backbone ({len(miss)} missing keys, e.g. {miss[:5]}; {len(unexp)} '
            f'unexpected, e.g. {unexp[:5]}). The spec in the .json next to it must describe the saved network; '
            f'a detector is never trained from a partly random backbone.')


def _load_backbone_hook(path, state):
    from mmengine.hooks import Hook

    class LoadBackboneHook(Hook):
        """Loads the student after mmdet's weight initialisation (which would overwrite it)."""
        priority = 'VERY_HIGH'

        def before_train(self, runner):
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            check_backbone_keys(model.backbone, state, path)

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
    from mmengine.runner import Runner

    register_all_modules()
    backbone_path, work_dir = Path(backbone_path), Path(work_dir)
    spec = spec or json.loads(backbone_path.with_suffix('.json').read_text())
    state = load_student_state(backbone_path)
    backbone_cfg, _ = backbone_section(spec)
    check_backbone_keys(MODELS.build(backbone_cfg), state, backbone_path)  # fail fast, before any data
    results = []
    for t in range(trials):
        cfg = build_config(det_config, spec, data_root, work_dir / f'trial{t}', seed + t, options)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            runner = Runner.from_cfg(cfg)
        runner.register_hook(_load_backbone_hook(backbone_path, state))
        runner.train()
        loss = runner.message_hub.get_scalar('train/loss').current()
        if not math.isfinite(loss):  # a diverged detector must not be reported as 0 AP
            raise DetectionError(f'detection fine-tuning diverged (training loss {loss}); lower the detection '
                                 f'learning rate in {det_config}.')
        raw = runner.test()
        results.append(dict(seed=seed + t, seconds=time.perf_counter() - start, **_metrics(raw)))
        print(f'trial {t}: ' + '  '.join(f'{k} {results[-1][k]:.1f}' for k in METRIC_KEYS), flush=True)
    summary = dict(trials=results, det_config=str(det_config), data_root=str(data_root), spec=spec,
                   torch_threads=torch.get_num_threads())
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
    cmd = [sys.executable, '-m', 'benchmarks.evals.detection', '--backbone', str(backbone_path), '--det-config',
           str(det_config), '--data-root', str(data_root), '--work-dir', str(work_dir), '--trials', str(trials),
           '--seed', str(seed)]
    if options:
        cmd += ['--cfg-options', *options]
    log = work_dir / 'detection.log'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get('PYTHONPATH', '')]))
    try:
        with open(log, 'w') as fh:
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=env, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return dict(det_status='failed', det_error=f'timed out after {timeout_s:.0f}s (log: {log})')
    result = work_dir / 'detection.json'
    if proc.returncode != 0 or not result.is_file():
        lines = [ln for ln in log.read_text(errors='replace').splitlines() if ln.strip()]
        reason = next((ln for ln in reversed(lines) if ln.startswith('error:')), lines[-1] if lines else 'no output')
        return dict(det_status='failed', det_error=f'{reason[:300]} (log: {log})')
    return dict(det_status='ok', **json.loads(result.read_text()))


def main(argv=None) -> int:
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(prog='python -m benchmarks.evals.detection', description=__doc__.split('\n\n')[0],
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
    out = Path(args.work_dir) / 'detection.json'
    tmp = out.with_name(out.name + '.tmp')
    tmp.write_text(json.dumps(summary, indent=1))
    os.replace(tmp, out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
