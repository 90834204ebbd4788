"""`tools/evaluate.py`: the suite's evaluations on any backbone checkpoint, trained here or not.

    python tools/evaluate.py --backbone results/<run>/<method>/backbone.pth [--data-root DIR]
                             [--evals linear,knn,retrieval] [--config default] [--cfg-options ...]
    python tools/evaluate.py --backbone resnet18.pth --arch resnet18 [--width 1.0] [--small-input]

The architecture comes from the ``.json`` next to an exported backbone (``backbone.pth`` →
``backbone.json``, written by tools/bench.py) or from ``--arch/--width/--small-input`` for a plain
(torchvision-named) state dict, optionally nested under ``state_dict``/``model`` with a ``module.``
prefix; ``fc.*``/``classifier.*`` are ignored and every other key must match (a mismatch is an error
naming the keys, never a silently random network). Data, evaluation protocol and seed come from the
suite config (``--config``), exactly as in a benchmark run, so the numbers are comparable with its
leaderboard. Results: ``<out>/rows.json`` and ``leaderboard.{md,csv,json}``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

from mmengine.config import DictAction

from benchmarks.config import resolve, results_dir
from benchmarks.errors import CheckpointError, ConfigError, DataError, TeacherError

EXIT_BAD_INPUT = 2


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Evaluate a backbone checkpoint with the suite protocol (kNN, linear probe, retrieval, '
                    'cluster alignment, params/GMACs, latency) and write a leaderboard.',
        epilog='examples:\n'
               '  tools/evaluate.py --backbone results/run/compress_2q/backbone.pth --evals linear,knn,retrieval\n'
               '  tools/evaluate.py --backbone r18.pth --arch resnet18 --data-root /data/imagefolder\n'
               '  tools/evaluate.py --backbone b.pth --evals retrieval --cfg-options '
               'evals.retrieval.dataset=cub200 evals.retrieval.root=/data/CUB_200_2011',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--backbone', required=True, help='backbone state dict (.pth)')
    p.add_argument('--arch', default=None, help='architecture of a plain state dict (e.g. resnet18); default: '
                                                'the .json written next to an exported backbone')
    p.add_argument('--width', type=float, default=1.0, help='width multiplier with --arch (default 1.0)')
    p.add_argument('--small-input', action='store_true', help='CIFAR-style stem with --arch')
    p.add_argument('--config', default='default', help='suite whose data and evaluation protocol to use')
    p.add_argument('--data-root', default=None,
                   help='the dataset folder: an ImageFolder root with train/ and val/ for the default suite (default: '
                        'embedded data), or the files of the --config suite\'s data.type (e.g. the folder holding '
                        'cifar-100-python/ for cifar100_resnet18)')
    p.add_argument('--evals', default=None, metavar='LIST',
                   help="comma-separated evaluations: knn,linear,retrieval,ca,flops,latency,detection (default: the config's)")
    p.add_argument('--det-config', default=None,
                   help='detection config for --evals detection (default: evals.detection.config, the embedded '
                        'data); e.g. configs/detection/voc0712_faster_rcnn_r18_fpn.py')
    p.add_argument('--det-data-root', default=None,
                   help='detection dataset root (VOCdevkit or COCO folder) for --det-config; default: embedded data')
    p.add_argument('--det-trials', type=int, default=None, help='detection fine-tunes to average (MoCo: 5)')
    p.add_argument('--name', default=None, help='row name (default: the checkpoint path)')
    p.add_argument('--out', default=None, help='output folder (default: results/eval-<name>-<timestamp>)')
    p.add_argument('--seed', type=int, default=None)
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None, metavar='KEY=VALUE')
    p.add_argument('--suites', default=None, metavar='LIST', help='deprecated alias of --evals (removed in 0.3)')
    args = p.parse_args(argv)
    if args.suites is not None:
        print('warning: --suites is deprecated and will be removed; use --evals (same values).', file=sys.stderr)
        args.evals = args.evals or args.suites
    return args


def backbone_spec(args) -> dict:
    path = Path(args.backbone)
    if not path.is_file():
        raise CheckpointError(f'--backbone {path} does not exist. Pass a backbone .pth file (tools/bench.py writes '
                              f'results/<run>/<method>/backbone.pth).')
    if args.arch:
        return dict(arch=args.arch, width=args.width, small_input=args.small_input)
    sidecar = path.with_suffix('.json')
    if not sidecar.is_file():
        raise CheckpointError(f'{path} has no {sidecar.name} next to it saying its architecture; pass --arch (and '
                              f'--width/--small-input) for a plain state dict.')
    return json.loads(sidecar.read_text())


def load_backbone(path, spec: dict):
    from methods.backbones import list_backbones

    from benchmarks.teachers.teacher import TEACHER_FORMAT, backbone_from_state, safe_load
    if spec['arch'] not in list_backbones():
        raise CheckpointError(f"architecture {spec['arch']!r} is not known; valid: {', '.join(list_backbones())}.")
    obj = safe_load(path)
    if isinstance(obj, dict) and obj.get('format') == TEACHER_FORMAT:  # a teacher file: evaluate its backbone
        obj = obj['backbone']
    return backbone_from_state(obj, spec, path, CheckpointError, '--arch/--width/--small-input or the .json sidecar')


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        from benchmarks.plan import validate_inputs
        spec = backbone_spec(args)
        cfg = resolve(args.config, options=args.cfg_options, seed=args.seed, data_root=args.data_root)
        cfg.methods, cfg.method_cfgs = [], {}  # nothing is trained here
        if args.evals is not None:
            cfg.evals.suites = args.evals
        for key, value in (('config', args.det_config), ('data_root', args.det_data_root),
                           ('trials', args.det_trials)):
            if value is not None:
                cfg.evals.detection[key] = value
        validate_inputs(cfg)  # data paths, evaluation names, retrieval dataset
        backbone = load_backbone(args.backbone, spec)
    except (ConfigError, DataError, TeacherError, CheckpointError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    name = args.name or str(args.backbone)
    stem = Path(args.backbone).parent.name + '-' + Path(args.backbone).stem
    out = Path(args.out) if args.out else results_dir() / f"eval-{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    start = time.perf_counter()
    try:
        rows = evaluate_checkpoint(cfg, backbone, name, out)
    except (DataError, TeacherError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    print((out / 'leaderboard.md').read_text())
    print(f'results: {out} ({time.perf_counter() - start:.0f}s)')
    return 0 if rows else 1


def evaluate_checkpoint(cfg, backbone, name: str, out: Path) -> list[dict]:
    """Every selected evaluation of one network on the suite's data; writes ``out/rows.json`` and the
    leaderboard files, returns the rows."""
    import torch

    from benchmarks.bench import BenchRun
    from benchmarks.data.sources import build_datasets
    from benchmarks.engine.provenance import device_name, git_commit, versions
    from benchmarks.engine.run_folder import write_json
    from benchmarks.engine.runner import resolve_device
    from benchmarks.evals.suite import EvalSuite
    from benchmarks.plan import student_name
    from benchmarks.reporting.leaderboard import write_leaderboard
    from benchmarks.reporting.row import ResultRow

    out.mkdir(parents=True, exist_ok=True)
    cfg.dump(str(out / 'config.py'))
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    _, val_set, train_set, data_text = build_datasets(cfg.data.to_dict(), ['center'], cfg.seed)  # probes fit on the probe split
    suite = EvalSuite(cfg.evals.to_dict())
    retrieval_set = BenchRun.external_retrieval_set(cfg, suite, train_set.image_size)
    path = None
    if suite.exports('method'):  # the detector loads a plain exported backbone: write the (checked) network so
        path = out / 'backbone.pth'
        torch.save(backbone.state_dict(), path)
        write_json(path.with_suffix('.json'), backbone.spec())
    suite.setup()
    metrics = suite.evaluate(backbone, name, train_set, val_set, train_set.image_size, device, cfg.seed,
                             retrieval_set=retrieval_set, backbone_path=path, kind='method',
                             log=lambda msg: print(msg, flush=True))
    rows = [ResultRow(kind='method', method=name, student=student_name(backbone.spec()), teacher='–',
                      seed=cfg.seed, image_size=train_set.image_size, device=device_name(device),
                      git_commit=git_commit(), versions=versions(), metrics=metrics).to_dict()]
    write_json(out / 'rows.json', rows)
    caption = (f"Evaluation of {name} — {suite.caption()}. Data: "
               + (f"embedded shapes ({len(train_set)} train / {len(val_set)} val, {train_set.image_size} px)."
                  if cfg.data.type == 'embedded' else f'{data_text}; {train_set.image_size} px.'))
    write_leaderboard(rows, out, caption)
    return rows
