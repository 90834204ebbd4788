"""`tools/bench.py`: train every selected method under one budget, evaluate, write the leaderboard.

    python tools/bench.py --methods compress_2q,moco_v2 [--config default] [--data-root DIR]
                          [--teacher PATH] [--work-dir DIR] [--seed N] [--cfg-options a.b=c ...]

Everything that can be wrong with the input (unknown method or suite, missing paths, an empty
dataset, an unreadable teacher, an override naming no key, a bank larger than the dataset) is checked
before any data is generated or any model trained, and reported as one paragraph (exit code 2).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from mmengine.config import DictAction

from .config import REPO_ROOT, resolve
from .errors import ConfigError, DataError, TeacherError

EXIT_BAD_INPUT = 2


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog='tools/bench.py',
        description='Train self-supervised compression methods under one budget and write a leaderboard '
                    '(results/<run>/leaderboard.{md,csv,json}).',
        epilog='examples:\n'
               '  tools/bench.py                                  # the default suite on the embedded data\n'
               '  tools/bench.py --methods compress_2q,moco_v2 --cfg-options budget.epochs=20\n'
               '  tools/bench.py --data-root /data/imagefolder --teacher teacher.pth\n'
               'Method hyperparameters: configs/methods/<name>.py; every key: --print-config.',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--methods', default=None,
                   help="comma-separated method names, or 'all'; default: the suite's list (see --list)")
    p.add_argument('--list', action='store_true', help='list the registered methods and exit')
    p.add_argument('--config', default='default',
                   help='suite name in configs/suites/ or a path to a .py config (default: default)')
    p.add_argument('--data-root', default=None,
                   help='an ImageFolder dataset root with train/ and val/ (default: the embedded generated data)')
    p.add_argument('--teacher', default=None,
                   help='teacher checkpoint (MoCo v1/v2/v3, SwAV, BYOL-/SimCLR-converted, CompRess/SEED students, '
                        'torchvision or this project\'s format; layout and architecture read from the file); '
                        'default: train a MoCo v2 teacher on the suite data once and cache it')
    p.add_argument('--teacher-spec', default=None, metavar='NAME',
                   help='force the checkpoint layout instead of detecting it (tools/make_teacher_checkpoint.py --list); '
                        'needed for SimCLR-converted files ([0,1] input): simclr_v1_converted')
    p.add_argument('--teacher-allow-globals', default=None, metavar='LIST',
                   help='comma-separated pickled classes you trust in the teacher file, e.g. argparse.Namespace '
                        '(CompRess student releases); nothing else is ever unpickled')
    p.add_argument('--work-dir', default=None, help='run folder (default: results/<suite>-<timestamp>)')
    p.add_argument('--seed', type=int, default=None, help="training seed (default: the suite's seed)")
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None, metavar='KEY=VALUE',
                   help='override config keys, mmengine style (e.g. budget.epochs=2 method_cfgs.compress_2q.temperature=0.02)')
    p.add_argument('--suites', default=None, metavar='LIST',
                   help='comma-separated evaluations: knn,linear,retrieval,ca,flops,latency,detection '
                        "(default: the config's evals.suites)")
    p.add_argument('--print-config', action='store_true', help='print the resolved config and exit')
    return p.parse_args(argv)


def print_method_list(out=None) -> None:
    from tabulate import tabulate

    from methods import get_method, list_methods
    rows = []
    for name in list_methods():
        cls = get_method(name)
        rows.append([name, 'yes' if cls.needs_teacher else 'no', cls.description, cls.paper])
    (out or sys.stdout).write(tabulate(rows, headers=['method', 'teacher', 'description', 'paper'],
                                       tablefmt='simple') + '\n')


def _parse_methods(text):
    if text is None:
        return None
    if text.strip() == 'all':
        from methods import list_methods
        return list_methods()
    names = [n.strip() for n in text.split(',') if n.strip()]
    if not names:
        raise ConfigError('--methods is empty; give at least one method name or "all".')
    return names


def validate_components(cfg) -> None:
    """Method and backbone names against the registries (imports torch, so it runs second)."""
    from methods import list_methods
    from methods.backbones import list_backbones
    unknown = [m for m in cfg.methods if cfg.method_cfgs[m]['type'] not in list_methods()]
    if unknown:
        raise ConfigError(f'unknown method(s) {", ".join(unknown)}; registered methods: {", ".join(list_methods())} '
                          f"(or 'all', or a variant label defined in the suite's method_cfgs with a type). "
                          f'See tools/bench.py --list.')
    for where, arch in (('student', cfg.student), ('teacher.arch', cfg.teacher.arch)):
        if arch['arch'] not in list_backbones():
            raise ConfigError(f"{where}.arch={arch['arch']!r} is not a known backbone; valid: {', '.join(list_backbones())}.")


def validate_inputs(cfg) -> None:
    """Paths, dataset layout and sizes: checked before anything heavy is even imported."""
    if cfg.data.type == 'imagefolder':
        from .imagefolder import scan_imagefolder
        if not cfg.data.get('root'):
            what = cfg.data.get('description') or 'an ImageFolder dataset with train/ and val/'
            raise DataError(f"the {cfg.get('suite', 'chosen')} suite trains on {what}, and no dataset folder was given. "
                            f'Pass it with --data-root DIR (the folder that contains train/ and val/).')
        root = Path(cfg.data.root)
        if not root.is_dir():
            raise DataError(f'--data-root {root} is not a directory. Pass the folder that contains train/ and val/.')
        n_train = len(scan_imagefolder(root / 'train')[1])
        scan_imagefolder(root / 'val')
    else:
        from .synthetic import SyntheticSpec
        spec = SyntheticSpec(**{k: v for k, v in cfg.data.items() if k in SyntheticSpec.__dataclass_fields__})
        n_train = spec.num_classes * spec.train_per_class
    if cfg.budget.batch_size > n_train:
        raise ConfigError(f'budget.batch_size={cfg.budget.batch_size} exceeds the {n_train} training images.')
    # sizes that only make sense below the training-set size (checked here, before any training)
    limits = {'queue_size': (n_train, 'the bank would hold stale copies of the same images'),
              'bank_size': (n_train, 'the bank would hold stale copies of the same images'),
              'num_negatives': (n_train - 1, 'negatives are other training images'),
              'num_clusters': (n_train, 'k-means needs at least one image per cluster')}
    for name, hp in cfg.method_cfgs.items():
        for key, (limit, why) in limits.items():
            if hp.get(key) is not None and hp[key] > limit:
                raise ConfigError(f'method_cfgs.{name}.{key}={hp[key]} is too large for the training set ({n_train} '
                                  f'images): {why}. Set it to at most {limit} with --cfg-options '
                                  f'method_cfgs.{name}.{key}=N.')
    validate_evals(cfg)
    if cfg.teacher.checkpoint and not Path(cfg.teacher.checkpoint).is_file():
        raise ConfigError(f'--teacher {cfg.teacher.checkpoint} does not exist. Pass an existing checkpoint, or '
                          f'leave --teacher out to train and cache a MoCo v2 teacher on the suite data.')
    if cfg.teacher.get('required') and not cfg.teacher.checkpoint:
        what = cfg.teacher.get('description') or 'a teacher checkpoint'
        raise ConfigError(f"the {cfg.get('suite', 'chosen')} suite distils from {what}; pass that file with "
                          f"--teacher PATH (this suite does not train a stand-in teacher).")


def check_teacher_features(cfg, teacher) -> None:
    """Every method asking for the teacher's projection head gets a teacher that has one."""
    from methods import get_method
    for name in cfg.methods:
        hp = cfg.method_cfgs[name]
        if (get_method(hp.type).needs_teacher and hp.get('teacher_feature') is not None
                and hp.teacher_feature not in teacher.feat_dims):
            raise ConfigError(
                f"method_cfgs.{name}.teacher_feature={hp.teacher_feature!r}, but the teacher {teacher.name} only has "
                f"{', '.join(sorted(teacher.feat_dims))} features (its checkpoint carries no projection head). Distil "
                f"the pooled backbone with --cfg-options method_cfgs.{name}.teacher_feature=backbone, or use a "
                f"checkpoint with its head (MoCo v1/v2/v3, SwAV).")


def validate_evals(cfg) -> None:
    """Evaluation names and the retrieval dataset path (pure checks, no torch)."""
    from .evaluate import parse_suites
    try:
        cfg.evals.suites = parse_suites(cfg.evals.get('suites', ['knn', 'flops']))
    except ValueError as exc:
        raise ConfigError(f'{exc} Pass them with --suites or evals.suites.') from None
    if 'detection' in cfg.evals.suites:
        import importlib.util
        missing = [m for m in ('mmcv', 'mmdet', 'pycocotools') if importlib.util.find_spec(m) is None]
        if missing:
            raise ConfigError(f'the detection evaluation needs {", ".join(missing)}, which are not installed. Run '
                              f'scripts/install_detection.sh (builds mmcv 2.1.0 once, ~12 min on 2 cores, then '
                              f'cached) or leave detection out with --suites.')
        det = cfg.evals.detection
        if not Path(det.config).is_file() and not (REPO_ROOT / det.config).is_file():
            raise ConfigError(f'evals.detection.config={det.config!r} does not exist; see configs/detection/.')
        if not det.get('data_root') and not Path(det.config).name.startswith('embedded_'):
            raise ConfigError(f'evals.detection.config={det.config!r} is a paper protocol and needs its dataset: pass '
                              f'the VOCdevkit / COCO folder with --det-data-root DIR (tools/evaluate.py) or '
                              f'evals.detection.data_root=DIR; only configs/detection/embedded_*.py run on the '
                              f'embedded data.')
        if det.get('data_root') and not Path(det.data_root).is_dir():
            raise ConfigError(f'evals.detection.data_root={det.data_root!r} is not a directory (the VOCdevkit or '
                              f'COCO folder); leave it None for the embedded detection data.')
    ret = cfg.evals.get('retrieval', {})
    kinds = ('val_split', 'cub200', 'cars196', 'imagefolder')
    if 'retrieval' in cfg.evals.suites and ret.get('dataset', 'val_split') != 'val_split':
        if ret['dataset'] not in kinds:
            raise ConfigError(f"evals.retrieval.dataset={ret['dataset']!r} is not one of {', '.join(kinds)}.")
        if not ret.get('root') or not Path(ret['root']).is_dir():
            raise ConfigError(f"evals.retrieval.root={ret.get('root')!r} is not a directory; pass the "
                              f"{ret['dataset']} folder with --cfg-options evals.retrieval.root=DIR.")


def build_retrieval_set(cfg, image_size: int):
    """The external retrieval test set of ``evals.retrieval`` (None = the suite's val split)."""
    ret = cfg.evals.get('retrieval', {})
    if 'retrieval' not in cfg.evals.suites or ret.get('dataset', 'val_split') == 'val_split':
        return None
    from .retrieval_data import build_retrieval_dataset
    return build_retrieval_dataset(ret['dataset'], ret['root'], ret.get('image_size') or image_size, cfg.seed)


def _student_name(spec: dict) -> str:
    return f"{spec['arch']} x{spec['width']:g}" + (' small-stem' if spec.get('small_input') else '')


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)


def run(cfg, work_dir: Path, log=print, teacher=None) -> list[dict]:
    """Run a resolved, validated config; returns the result rows (also written to ``work_dir``).
    ``teacher``: the ``teacher.checkpoint`` teacher when the caller has loaded it already."""
    import torch

    from methods import get_method

    from .data import build_datasets
    from .evaluate import detection_data_root, detection_metrics, evaluate_backbone, protocol_caption
    from .leaderboard import metric_columns, write_leaderboard
    from .prepare import build_prepare_context
    from .provenance import device_name, git_commit, versions
    from .runner import resolve_device, train_method
    from .teacher_cache import obtain_teacher

    from .distributed import barrier, dist_info
    info = dist_info()
    if not info.is_main:  # the other processes train; rank 0 alone evaluates, logs and writes
        def log(*_a, **_k):
            return None
    work_dir.mkdir(parents=True, exist_ok=True)
    if info.is_main:
        cfg.dump(str(work_dir / 'config.py'))
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    train_set, val_set = build_datasets(cfg.data.to_dict(), ['center'], cfg.seed)
    image_size = train_set.image_size
    retrieval_set = build_retrieval_set(cfg, image_size)  # before training: a bad path fails now
    evals = cfg.evals.to_dict()

    detect = 'detection' in evals['suites']
    if detect:  # generate (or find) the detection data now: a problem shows before any training
        evals['detection']['config'] = str(REPO_ROOT / evals['detection']['config']) \
            if not Path(evals['detection']['config']).is_file() else evals['detection']['config']
        det_root = detection_data_root(evals['detection'])

    def evaluate(backbone, name, backbone_path=None):
        metrics = evaluate_backbone(backbone, train_set, val_set, evals, image_size, device, name,
                                    retrieval_set=retrieval_set, seed=cfg.seed)
        if detect and backbone_path is not None:
            log(f'[{name}] detection transfer ({Path(evals["detection"]["config"]).stem})')
            metrics.update(detection_metrics(backbone_path, evals, Path(backbone_path).parent /
                                             f'detection{Path(backbone_path).stem[len("backbone"):]}', cfg.seed,
                                             det_root))
        return metrics
    common = dict(seed=cfg.seed, image_size=image_size, device=device_name(device), git_commit=git_commit(),
                  versions=versions(), world_size=info.world_size)
    budget = cfg.budget.to_dict()
    rows = []
    caption = (f"**{cfg.get('suite', 'custom')}** suite — {protocol_caption(evals)}. Data: "
               f"{'embedded shapes' if cfg.data.type == 'embedded' else cfg.data.root} "
               f"({len(train_set)} train / {len(val_set)} val, {image_size} px). Budget: {budget['epochs']} epochs, "
               f"batch {budget['batch_size']}, {budget['optimizer']['type']} lr {budget['optimizer']['lr']}, "
               f"{budget['schedule']['type']} schedule, seed {cfg.seed}. GMACs at {image_size} px unless noted.")

    def flush():
        _write_json(work_dir / 'rows.json', rows)
        write_leaderboard(rows, work_dir, caption)
        if cfg.get('paper'):  # paper reproduction suites: our numbers next to the published ones
            from .paper_compare import paper_table
            (work_dir / 'paper_comparison.md').write_text(paper_table(rows, cfg.paper.to_dict()))

    loaded, teacher, teacher_time = teacher, None, 0.0
    if any(get_method(cfg.method_cfgs[m].type).needs_teacher for m in cfg.methods) or cfg.teacher.checkpoint:
        teacher, teacher_time = obtain_teacher(cfg, train_set, log=log, loaded=loaded)
        log(f'teacher: {teacher.name} ({teacher.source})')
    if teacher is not None and info.is_main:
        teacher_file = None
        if detect and evals['detection'].get('teacher', True):  # the teacher's backbone, exported likewise
            (work_dir / 'teacher').mkdir(exist_ok=True)
            teacher_file = work_dir / 'teacher' / 'backbone.pth'
            torch.save(teacher.backbone.state_dict(), teacher_file)
            _write_json(teacher_file.with_suffix('.json'), teacher.backbone.spec())
        # feature_extractor: the backbone behind the teacher's own input normalisation ([0,1] for SimCLR)
        metrics = evaluate(teacher.feature_extractor(), 'teacher', teacher_file)
        # cost of making the teacher (recorded in the teacher file when it was trained, also when cached)
        rows.append(dict(kind='teacher', method='teacher', student=_student_name(teacher.backbone.spec()),
                         teacher=teacher.name, status='ok', teacher_time_s=teacher_time,
                         images_seen=teacher.meta.get('images_seen'), train_time_s=teacher.meta.get('wall_time_s'),
                         hparams=teacher.meta.get('train'), teacher_spec=teacher.spec_name,
                         teacher_input_norm=teacher.meta.get('input_norm'), **metrics, **common))
        flush()

    # one prepare context per run (with / without the teacher): the teacher's features of the training
    # set are extracted at most once, however many methods ask for them
    contexts = {flag: build_prepare_context(train_set, teacher if flag else None, cfg.data.to_dict(), cfg.seed,
                                            device, log=log) for flag in (False, True)}
    for name in cfg.methods:
        method_cfg = cfg.method_cfgs[name].to_dict()
        cls = get_method(method_cfg['type'])
        aug = cfg.augmentation or cls.augmentation
        views = train_set.with_recipes([aug] * cls.num_views)
        start = time.perf_counter()
        prepared = cls.prepare(contexts[cls.needs_teacher], method_cfg)
        prepare_time = time.perf_counter() - start
        log(f'[{name}] training {_student_name(cfg.student)} for {budget["epochs"]} epochs ({aug} views)')
        result = train_method(name, method_cfg, cfg.student.to_dict(), teacher if cls.needs_teacher else None,
                              views, budget, work_dir / name, cfg.seed, cfg.device, desc=name, prepared=prepared)
        if not info.is_main:
            barrier()  # wait while rank 0 evaluates this method, then train the next one together
            continue
        students = result.method.student_backbones()
        for label, backbone in students.items():
            row_name = f'{name} {label}' if label else name
            suffix = f'_{label}' if label else ''
            torch.save(backbone.state_dict(), work_dir / name / f'backbone{suffix}.pth')
            _write_json(work_dir / name / f'backbone{suffix}.json', backbone.spec())
            metrics = evaluate(backbone, row_name, work_dir / name / f'backbone{suffix}.pth')
            # several students from one training (SlimCLR widths) share that training's cost
            row = dict(kind='method', method=row_name, method_type=method_cfg['type'],
                       student=_student_name(backbone.spec()),
                       teacher=teacher.name if cls.needs_teacher else 'none', status='ok',
                       images_seen=result.images_seen, train_time_s=result.wall_time_s,
                       epoch_times_s=[round(t, 3) for t in result.epoch_times],
                       prepare_time_s=prepare_time, shared_training=len(students) > 1,
                       peak_mem_mb=result.peak_mem_mb, final_loss=result.final_loss, augmentation=aug,
                       hparams=result.method.hparams(), budget=budget, **metrics, **common)
            rows.append(row)
            flush()
            knn = "  ".join(f"{h} {metrics[f]:.1f}" for f, h, _ in metric_columns([metrics], top5=False)
                            if f in metrics)
            if metrics.get('det_status') == 'failed':
                knn += f"  detection failed: {metrics.get('det_error', '')}"
            cost = f"  params {metrics['params_m']:.2f} M  GMACs {metrics['gmacs']:.3f}" if 'params_m' in metrics else ''
            log(f"[{row_name}] done in {result.wall_time_s + prepare_time:.0f}s: {knn}{cost}")
        barrier()

    if not info.is_main:
        return rows
    if cfg.evals.get('raw_pixel_floor', True):
        metrics = evaluate(None, 'raw pixels')
        rows.append(dict(kind='floor', method='raw pixels', student='–', teacher='none', status='ok',
                         **metrics, **common))
    flush()
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list:
        print_method_list()
        return 0
    try:
        methods = _parse_methods(args.methods)
        cfg = resolve(args.config, methods=methods, options=args.cfg_options, seed=args.seed,
                      data_root=args.data_root, teacher=args.teacher)
        if args.teacher_spec is not None:
            cfg.teacher.spec = args.teacher_spec
        if args.teacher_allow_globals is not None:
            cfg.teacher.allow_globals = [g.strip() for g in args.teacher_allow_globals.split(',') if g.strip()]
        if args.suites is not None:
            cfg.evals.suites = args.suites
        if args.print_config:
            print(cfg.pretty_text)
            return 0
        validate_inputs(cfg)
        validate_components(cfg)
        from .distributed import init_distributed
        from .runner import check_budget
        info = init_distributed(cfg.device)
        check_budget(cfg.budget.to_dict(), cfg.device, info.world_size)
        teacher = None
        if cfg.teacher.checkpoint:  # layout, keys and architecture checked now, before any data or training
            from .teacher_cache import load_checkpoint_teacher
            teacher = load_checkpoint_teacher(cfg)
            check_teacher_features(cfg, teacher)
    except (ConfigError, DataError, TeacherError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    from .distributed import broadcast_object
    suite = cfg.get('suite', Path(args.config).stem)
    # every process must agree on the run folder (its timestamp is rank 0's)
    work_dir = Path(broadcast_object(str(args.work_dir) if args.work_dir else str(
        REPO_ROOT / 'results' / f"{suite}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")))
    start = time.perf_counter()
    try:
        run(cfg, work_dir, teacher=teacher)
    except (DataError, TeacherError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    if not info.is_main:
        return 0
    print()
    print((work_dir / 'leaderboard.md').read_text())
    print(f'results: {work_dir} (total {time.perf_counter() - start:.0f}s)')
    return 0
