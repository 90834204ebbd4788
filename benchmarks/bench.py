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
import sys
import time
from pathlib import Path

from mmengine.config import DictAction

from benchmarks.config import REPO_ROOT, resolve
from benchmarks.errors import ConfigError, DataError, TeacherError
from benchmarks.engine.run_folder import write_json, write_text

EXIT_BAD_INPUT = 2


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog='tools/bench.py',
        description='Train self-supervised compression methods under one budget and write a leaderboard '
                    '(results/<run>/leaderboard.{md,csv,json,tex,html} and plots/). Runs under torchrun or '
                    'tools/slurm_bench.sh for several processes; rerun the same command to resume.',
        epilog='examples:\n'
               '  tools/bench.py                                  # the default suite on the embedded data\n'
               '  tools/bench.py --methods compress_2q,moco_v2 --cfg-options budget.epochs=20\n'
               '  tools/bench.py --data-root /data/imagefolder --teacher moco_v2_800ep_pretrain.pth.tar\n'
               '  torchrun --nproc_per_node=8 tools/bench.py --cfg-options budget.amp=bf16\n'
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
    p.add_argument('--work-dir', default=None,
                   help='run folder (default: results/<suite>-<config digest>). Running the same command again '
                        'resumes it: finished methods and evaluations are kept, an interrupted training continues '
                        'from its last epoch checkpoint; a folder of another configuration is refused')
    p.add_argument('--seed', type=int, default=None, help="training seed (default: the suite's seed)")
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None, metavar='KEY=VALUE',
                   help='override config keys, mmengine style (e.g. budget.epochs=2 method_cfgs.compress_2q.temperature=0.02)')
    p.add_argument('--suites', default=None, metavar='LIST',
                   help='comma-separated evaluations: knn,linear,retrieval,ca,flops,latency,detection '
                        "(default: the config's evals.suites)")
    p.add_argument('--fail-fast', action='store_true',
                   help='stop at the first method that diverges or raises (default: record it as failed, run the rest)')
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
        if not cfg.data.get('root'):
            what = cfg.data.get('description') or 'an ImageFolder dataset with train/ and val/'
            raise DataError(f"the {cfg.get('suite', 'chosen')} suite trains on {what}, and no dataset folder was given. "
                            f'Pass it with --data-root DIR (the folder that contains train/ and val/).')
        root = Path(cfg.data.root)
        if not root.is_dir():
            raise DataError(f'--data-root {root} is not a directory. Pass the folder that contains train/ and val/.')
        # every image's header is checked now (policy data.verify_images / data.on_corrupt), not mid-training
        from benchmarks.data.imagefolder import check_options, verify_split
        checks = (cfg.data.get('verify_images', 'header'), cfg.data.get('on_corrupt', 'fail'))
        check_options(*checks)
        n_train = len(verify_split(root / 'train', *checks)[1])
        verify_split(root / 'val', *checks)
    else:
        from benchmarks.data.synthetic import SyntheticSpec
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
    from benchmarks.evals.suite import parse_suites
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
    from benchmarks.data.retrieval import build_retrieval_dataset
    return build_retrieval_dataset(ret['dataset'], ret['root'], ret.get('image_size') or image_size, cfg.seed)


def _student_name(spec: dict) -> str:
    return f"{spec['arch']} x{spec['width']:g}" + (' small-stem' if spec.get('small_input') else '')


def method_key(method_cfg: dict) -> str:
    """What identifies one method's training in a run folder: its resolved settings."""
    from benchmarks.engine.run_folder import digest
    return digest(method_cfg)


def evals_key(cfg) -> str:
    from benchmarks.engine.run_folder import digest
    return digest(dict(evals=cfg.evals.to_dict(), seed=cfg.seed))


def default_work_dir(cfg, suite: str) -> Path:
    """``results/<suite>-<digest of the run identity>``: the same command finds its own folder again
    (and resumes it); another configuration gets another folder."""
    from benchmarks.engine.run_folder import digest, run_identity
    return REPO_ROOT / 'results' / f'{suite}-{digest(run_identity(cfg.to_dict()))[:8]}'


def setup_teacher_sharing(cfg, teacher, num_samples: int, image_size: int, device, world_size: int):
    """Round the teacher's outputs to ``teacher.output_dtype`` and, with ``teacher.share_outputs``,
    give it the run's output cache (benchmarks/teachers/outputs.py); returns the cache or None."""
    from benchmarks.teachers.outputs import DTYPES, TeacherOutputCache, cache_key
    dtype = cfg.teacher.get('output_dtype')
    teacher.set_output_dtype(DTYPES[dtype] if dtype else None)
    if not cfg.teacher.get('share_outputs', False):
        return None
    budget = cfg.budget.to_dict()
    folder = None
    if cfg.teacher.get('share_storage', 'memory') == 'disk':
        from benchmarks.data.datasets import data_identity
        from benchmarks.engine.prepare import teacher_fingerprint
        from benchmarks.data.synthetic import default_cache_dir
        folder = default_cache_dir() / 'teacher_outputs' / cache_key(
            teacher_fingerprint(teacher), data_identity(cfg.data.to_dict()), cfg.seed, image_size, budget, world_size)
    return TeacherOutputCache(num_samples, budget.get('views_per_image') or budget['epochs'], teacher.feat_dims,
                              dtype or 'float16', cfg.teacher.get('share_storage', 'memory'), device, folder)


def check_run_folder(cfg, work_dir: Path):
    """Lock the run folder and check it against this config before any work (rank 0 only).
    Returns the locked `RunFolder`."""
    from benchmarks.engine.run_folder import RunFolder, diff_keys, read_json
    folder = RunFolder(work_dir)
    folder.lock()
    try:
        folder.check_identity(cfg.to_dict())
        for name in cfg.methods:
            stored = read_json(folder.method_dir(name) / 'method.json')
            mcfg = cfg.method_cfgs[name].to_dict()
            if stored and stored.get('method_key') != method_key(mcfg):
                raise ConfigError(
                    f"method_cfgs.{name} differs from the settings this run folder trained {name} with "
                    f"({diff_keys(stored.get('method_cfg', {}), mcfg)}). Pass another --work-dir (or leave it out), "
                    f"run the variant under another label (method_cfgs.<label>.type={mcfg['type']}), or delete "
                    f"{folder.method_dir(name)} to retrain it.")
    except Exception:
        folder.unlock()
        raise
    return folder


def _plan(cfg, folder, old_rows, ekey) -> dict:
    """What each method still needs: 'skip' (rows of every student are there), 'eval' (trained, some
    evaluation missing) or 'train' (resuming from its last checkpoint when there is one)."""
    plan = {}
    for name in cfg.methods:
        mkey = method_key(cfg.method_cfgs[name].to_dict())
        trained = folder.trained(name, mkey) if folder else None
        if trained is None:
            plan[name] = 'train'
            continue
        done = {r.get('student_label') for r in old_rows if r.get('method_name') == name and r.get('status') == 'ok'
                and r.get('method_key') == mkey and r.get('evals_key') == ekey}
        plan[name] = 'skip' if set(trained['students']) <= done else 'eval'
    return plan


def run(cfg, work_dir: Path, log=print, teacher=None, fail_fast: bool = False, folder=None) -> list[dict]:
    """Run a resolved, validated config; returns the result rows (also written to ``work_dir``).

    ``teacher``: the ``teacher.checkpoint`` teacher when the caller has loaded it already. ``folder``:
    the locked `benchmarks.engine.run_folder.RunFolder` (rank 0; made here when None). Finished methods and
    evaluations in the folder are reused, an interrupted training resumes from its last checkpoint,
    and a method that diverges or raises becomes a failed row while the others run (``fail_fast``
    re-raises instead)."""
    import traceback

    import torch
    from tqdm import tqdm

    from methods import get_method
    from methods.backbones import build_backbone

    from benchmarks.data.datasets import build_datasets
    from benchmarks.engine.distributed import barrier, broadcast_object, dist_info
    from benchmarks.evals.suite import detection_data_root, detection_metrics, evaluate_backbone, protocol_caption
    from benchmarks.reporting.leaderboard import metric_columns, write_leaderboard
    from benchmarks.engine.prepare import build_prepare_context
    from benchmarks.engine.provenance import device_name, git_commit, versions
    from benchmarks.engine.run_folder import read_json
    from benchmarks.engine.runner import resolve_device, train_method
    from benchmarks.teachers.cache import obtain_teacher

    info = dist_info()
    if not info.is_main:  # the other processes train; rank 0 alone evaluates, logs and writes
        def log(*_a, **_k):
            return None
    work_dir.mkdir(parents=True, exist_ok=True)
    if info.is_main and folder is None:
        folder = check_run_folder(cfg, work_dir)
    ekey = evals_key(cfg)
    old_rows = folder.load_rows() if info.is_main else []
    plan = broadcast_object(_plan(cfg, folder, old_rows, ekey) if info.is_main else None)
    if info.is_main:
        cfg.dump(str(work_dir / 'config.py'))
        skipped = [n for n, p in plan.items() if p == 'skip']
        if skipped or any(p == 'eval' for p in plan.values()) or old_rows:
            log(f'resuming {work_dir}: {len(skipped)} of {len(plan)} methods already finished'
                + (f' ({", ".join(skipped)})' if skipped else ''))
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    train_set, val_set = build_datasets(cfg.data.to_dict(), ['center'], cfg.seed)
    image_size = train_set.image_size
    retrieval_set = build_retrieval_set(cfg, image_size)  # before training: a bad path fails now
    evals = cfg.evals.to_dict()

    def record_skipped():  # data.on_corrupt='skip': the images left out (before and during training)
        if info.is_main and cfg.data.type == 'imagefolder':
            from benchmarks.data.imagefolder import write_skipped_images
            n = write_skipped_images(work_dir / 'skipped_images.txt', train_set.skipped, val_set.skipped,
                                     train_set.failed_images(), val_set.failed_images())
            if n:
                log(f'{n} unreadable image(s) left out (data.on_corrupt=skip): listed in {work_dir / "skipped_images.txt"}')
    record_skipped()

    detect = 'detection' in evals['suites']
    if detect:  # generate (or find) the detection data now: a problem shows before any training
        evals['detection']['config'] = str(REPO_ROOT / evals['detection']['config']) \
            if not Path(evals['detection']['config']).is_file() else evals['detection']['config']
        det_root = detection_data_root(evals['detection'])

    def evaluate(backbone, name, backbone_path=None, cache=None):
        """Metrics of one student; ``cache=(method, suffix)`` reuses (and records) finished evaluations."""
        metrics = folder.cached_metrics(*cache, ekey) if cache else None
        if metrics is None:
            metrics = evaluate_backbone(backbone, train_set, val_set, evals, image_size, device, name,
                                        retrieval_set=retrieval_set, seed=cfg.seed)
            if cache:
                folder.save_metrics(*cache, ekey, metrics)
        if detect and backbone_path is not None:
            det = folder.cached_metrics(cache[0], cache[1] + '.detection', ekey) if cache else None
            if det is None:
                log(f'[{name}] detection transfer ({Path(evals["detection"]["config"]).stem})')
                det = detection_metrics(backbone_path, evals, Path(backbone_path).parent /
                                        f'detection{Path(backbone_path).stem[len("backbone"):]}', cfg.seed, det_root)
                if cache and det.get('det_status') == 'ok':
                    folder.save_metrics(cache[0], cache[1] + '.detection', ekey, det)
            metrics = {**metrics, **det}
        return metrics
    config_dict = cfg.to_dict()
    common = dict(seed=cfg.seed, image_size=image_size, device=device_name(device), git_commit=git_commit(),
                  versions=versions(), world_size=info.world_size, evals_key=ekey, config=config_dict)
    budget = cfg.budget.to_dict()
    caption = (f"**{cfg.get('suite', 'custom')}** suite — {protocol_caption(evals)}. Data: "
               f"{'embedded shapes' if cfg.data.type == 'embedded' else cfg.data.root} "
               f"({len(train_set)} train / {len(val_set)} val, {image_size} px). Budget: {budget['epochs']} epochs, "
               f"batch {budget['batch_size']}, {budget['optimizer']['type']} lr {budget['optimizer']['lr']}, "
               f"{budget['schedule']['type']} schedule, seed {cfg.seed}. GMACs at {image_size} px unless noted.")
    # the leaderboard's rows: this run's, in config order, plus rows of other methods the folder holds
    results = {'teacher': [], 'floor': []}
    results.update({name: [] for name in cfg.methods})

    def reusable(name):
        return [r for r in old_rows if r.get('status') == 'ok' and r.get('evals_key') == ekey and (
            r.get('method_name', r.get('kind')) == name)]

    def flush():
        if not info.is_main:
            return
        others = [r for r in old_rows if r.get('kind') == 'method' and r.get('method_name') not in results]
        rows = results['teacher'] + [r for n in cfg.methods for r in results[n]] + others + results['floor']
        write_json(work_dir / 'rows.json', rows)
        write_leaderboard(rows, work_dir, caption)
        if cfg.get('paper'):  # paper reproduction suites: our numbers next to the published ones
            from benchmarks.reporting.paper import paper_table
            write_text(work_dir / 'paper_comparison.md', paper_table(rows, cfg.paper.to_dict()))
        return rows

    # one overall bar (stages: teacher evaluation, each method's training + evaluation, the floor)
    stages = tqdm(total=2 + 2 * len(cfg.methods), desc='benchmark', unit='stage', position=0, dynamic_ncols=True,
                  disable=not info.is_main, leave=False)
    if info.is_main and log is print:
        def log(*a, **_k):  # noqa: F811  (printed above the bars)
            tqdm.write(' '.join(str(x) for x in a))

    needs_teacher = any(get_method(cfg.method_cfgs[m].type).needs_teacher for m in cfg.methods)
    teacher_row = reusable('teacher')
    loaded, teacher, teacher_time = teacher, None, 0.0
    if (needs_teacher and any(p != 'skip' for p in plan.values())) or \
            ((needs_teacher or cfg.teacher.checkpoint) and not teacher_row):
        teacher, teacher_time = obtain_teacher(cfg, train_set, log=log, loaded=loaded)
        log(f'teacher: {teacher.name} ({teacher.source})')
    if teacher_row:
        results['teacher'] = teacher_row
    elif teacher is not None and info.is_main:
        teacher_file = None
        if detect and evals['detection'].get('teacher', True):  # the teacher's backbone, exported likewise
            (work_dir / 'teacher').mkdir(exist_ok=True)
            teacher_file = work_dir / 'teacher' / 'backbone.pth'
            torch.save(teacher.backbone.state_dict(), teacher_file)
            write_json(teacher_file.with_suffix('.json'), teacher.backbone.spec())
        # feature_extractor: the backbone behind the teacher's own input normalisation ([0,1] for SimCLR)
        metrics = evaluate(teacher.feature_extractor(), 'teacher', teacher_file)
        # cost of making the teacher (recorded in the teacher file when it was trained, also when cached)
        results['teacher'] = [dict(kind='teacher', method='teacher', method_name='teacher',
                                   student=_student_name(teacher.backbone.spec()), teacher=teacher.name, status='ok',
                                   teacher_time_s=teacher_time, images_seen=teacher.meta.get('images_seen'),
                                   train_time_s=teacher.meta.get('wall_time_s'), hparams=teacher.meta.get('train'),
                                   teacher_spec=teacher.spec_name, teacher_input_norm=teacher.meta.get('input_norm'),
                                   **metrics, **common)]
    flush()
    stages.update(1)

    cache = None
    if teacher is not None:
        cache = setup_teacher_sharing(cfg, teacher, len(train_set), image_size, device, info.world_size)
        if cache is not None:
            log(f'teacher sharing: outputs on the training stream computed once per augmentation recipe and reused '
                f'({cache.storage}, {str(cache.dtype).removeprefix("torch.")}, {cache.slots} slot(s) per image)')

    # one prepare context per run (with / without the teacher): the teacher's features of the training
    # set are extracted at most once, however many methods ask for them
    contexts = {flag: build_prepare_context(train_set, teacher if flag else None, cfg.data.to_dict(), cfg.seed,
                                            device, log=log) for flag in (False, True)}
    for name in cfg.methods:
        method_cfg = cfg.method_cfgs[name].to_dict()
        mkey = method_key(method_cfg)
        cls = get_method(method_cfg['type'])
        aug = cfg.augmentation or cls.augmentation
        mdir = work_dir / name
        if plan[name] == 'skip':
            results[name] = [r for r in old_rows if r.get('method_name') == name and r.get('status') == 'ok']
            log(f'[{name}] already finished in this run folder: reusing its rows')
            stages.update(2)
            continue
        identity = dict(kind='method', method_name=name, method_type=method_cfg['type'], method_key=mkey,
                        teacher=teacher.name if cls.needs_teacher else 'none', augmentation=aug, budget=budget)
        try:
            if plan[name] == 'train':
                if info.is_main:
                    mdir.mkdir(parents=True, exist_ok=True)
                    write_json(mdir / 'method.json', dict(method_key=mkey, method_cfg=method_cfg))
                views = train_set.with_recipes([aug] * cls.num_views)
                if teacher is not None:  # this method's stream in the shared cache; its own forward count
                    teacher.attach_cache(cache, recipe=f'{aug}@{image_size}')
                    forwarded, hits = teacher.images_forwarded, cache.cached_images if cache else 0
                start = time.perf_counter()
                prepared = cls.prepare(contexts[cls.needs_teacher], method_cfg)
                prepare_time = time.perf_counter() - start
                resumed = (mdir / 'last_checkpoint').is_file()
                log(f'[{name}] training {_student_name(cfg.student)} for {budget["epochs"]} epochs ({aug} views)'
                    + (' — resuming from its last checkpoint' if resumed else ''))
                result = train_method(name, method_cfg, cfg.student.to_dict(), teacher if cls.needs_teacher else None,
                                      views, budget, mdir, cfg.seed, cfg.device, desc=name, prepared=prepared,
                                      resume=True)
                stages.update(1)
                if not info.is_main:
                    barrier()  # wait while rank 0 evaluates this method, then train the next one together
                    continue
                students = result.method.student_backbones()
                for label, backbone in students.items():
                    suffix = f'_{label}' if label else ''
                    torch.save(backbone.state_dict(), mdir / f'backbone{suffix}.pth')
                    write_json(mdir / f'backbone{suffix}.json', backbone.spec())
                teacher_counts = {}
                if teacher is not None and cls.needs_teacher:
                    teacher_counts = dict(teacher_forward_images=teacher.images_forwarded - forwarded,
                                          teacher_cached_images=(cache.cached_images - hits) if cache else 0)
                trained = dict(method_key=mkey, students=list(students), images_seen=result.images_seen,
                               num_views=cls.num_views, **teacher_counts,
                               train_time_s=result.wall_time_s, prepare_time_s=prepare_time,
                               iterations=result.iterations, peak_mem_mb=result.peak_mem_mb,
                               final_loss=result.final_loss, loss_curve=[list(p) for p in result.loss_curve],
                               epoch_times_s=[round(t, 3) for t in result.epoch_times], hparams=result.method.hparams())
                write_json(mdir / 'train.json', trained)  # training finished: a rerun only evaluates
            else:
                stages.update(1)
                if not info.is_main:
                    barrier()
                    continue
                trained, students = read_json(mdir / 'train.json'), None
                log(f'[{name}] already trained in this run folder: evaluating')
            for label in trained['students']:
                suffix = f'_{label}' if label else ''
                row_name = f'{name} {label}' if label else name
                if students is not None:
                    backbone = students[label]
                else:  # the exported student, exactly as evaluated the first time
                    backbone = build_backbone(**read_json(mdir / f'backbone{suffix}.json'))
                    backbone.load_state_dict(torch.load(mdir / f'backbone{suffix}.pth', map_location='cpu',
                                                        weights_only=True))
                metrics = evaluate(backbone, row_name, mdir / f'backbone{suffix}.pth', cache=(name, suffix))
                # several students from one training (SlimCLR widths) share that training's cost
                row = dict(identity, method=row_name, student_label=label, student=_student_name(backbone.spec()),
                           status='ok', images_seen=trained['images_seen'], train_time_s=trained['train_time_s'],
                           epoch_times_s=trained['epoch_times_s'], prepare_time_s=trained['prepare_time_s'],
                           shared_training=len(trained['students']) > 1, peak_mem_mb=trained['peak_mem_mb'],
                           final_loss=trained['final_loss'], loss_curve=trained['loss_curve'],
                           hparams=trained['hparams'], num_views=trained.get('num_views'),
                           **{k: trained[k] for k in ('teacher_forward_images', 'teacher_cached_images')
                              if k in trained}, **metrics, **common)
                results[name] = [r for r in results[name] if r.get('student_label') != label] + [row]
                flush()
                knn = "  ".join(f"{h} {metrics[f]:.1f}" for f, h, _ in metric_columns([metrics], top5=False)
                                if f in metrics)
                if metrics.get('det_status') == 'failed':
                    knn += f"  detection failed: {metrics.get('det_error', '')}"
                cost = f"  params {metrics['params_m']:.2f} M  GMACs {metrics['gmacs']:.3f}" if 'params_m' in metrics else ''
                log(f"[{row_name}] done in {trained['train_time_s'] + trained['prepare_time_s']:.0f}s: {knn}{cost}")
            stages.update(1)
        except Exception as exc:  # noqa: BLE001  (one method's failure must not cost the others' results)
            if fail_fast:
                raise
            reason = f'{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ""}'[:300]
            if info.is_main:
                mdir.mkdir(parents=True, exist_ok=True)
                (mdir / 'error.log').write_text(traceback.format_exc())
                results[name] = [dict(identity, method=name, student=_student_name(cfg.student), status='failed',
                                      error=reason, **common)]
                flush()
            log(f'[{name}] FAILED: {reason} (traceback in {mdir / "error.log"}); continuing with the other methods')
            stages.update(2)
        barrier()

    if not info.is_main:
        return []
    if cfg.evals.get('raw_pixel_floor', True):
        results['floor'] = reusable('floor') or [dict(kind='floor', method='raw pixels', method_name='floor',
                                                     student='–', teacher='none', status='ok',
                                                     **evaluate(None, 'raw pixels'), **common)]
    rows = flush()
    record_skipped()
    from benchmarks.reporting.report import write_reports
    write_reports(rows, work_dir, caption)  # every table format and the plots (tools/report.py redoes them)
    stages.update(1)
    stages.close()
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
        from benchmarks.engine.distributed import init_distributed
        from benchmarks.engine.runner import check_budget
        info = init_distributed(cfg.device)
        check_budget(cfg.budget.to_dict(), cfg.device, info.world_size)
        teacher = None
        if cfg.teacher.checkpoint:  # layout, keys and architecture checked now, before any data or training
            from benchmarks.teachers.cache import load_checkpoint_teacher
            teacher = load_checkpoint_teacher(cfg)
            check_teacher_features(cfg, teacher)
    except (ConfigError, DataError, TeacherError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    from benchmarks.engine.distributed import broadcast_object
    suite = cfg.get('suite', Path(args.config).stem)
    # every process must agree on the run folder; rank 0 locks it and checks it against this config
    work_dir = Path(broadcast_object(str(args.work_dir) if args.work_dir else str(default_work_dir(cfg, suite))))
    folder, problem = None, None
    if info.is_main:
        try:
            folder = check_run_folder(cfg, work_dir)
        except ConfigError as exc:
            problem = str(exc)
    problem = broadcast_object(problem)
    if problem:
        if info.is_main:
            print(f'error: {problem}', file=sys.stderr)
        return EXIT_BAD_INPUT
    start = time.perf_counter()
    try:
        run(cfg, work_dir, teacher=teacher, fail_fast=args.fail_fast, folder=folder)
    except (DataError, TeacherError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:
        if not args.fail_fast:
            raise
        print(f'error: {type(exc).__name__}: {exc} (stopped by --fail-fast; finished methods are kept in {work_dir}, '
              f'run again without --fail-fast to record failures and go on)', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f'\ninterrupted. Finished methods and the last epoch checkpoint of the running one are kept in '
              f'{work_dir}; run the same command again to continue.', file=sys.stderr)
        return 130
    finally:
        if folder is not None:
            folder.unlock()
    if not info.is_main:
        return 0
    print()
    print((work_dir / 'leaderboard.md').read_text())
    failed = [r['method'] for r in json.loads((work_dir / 'rows.json').read_text()) if r.get('status') == 'failed']
    if failed:
        print(f'failed: {", ".join(failed)} (reasons in the table; tracebacks in <method>/error.log). Run the same '
              f'command again to retry them.')
    print(f'results: {work_dir} (total {time.perf_counter() - start:.0f}s)')
    return 0
