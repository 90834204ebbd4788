"""The plan stage: everything that can be wrong with a run's input, checked before any work, and the
run folder (what is finished, what is left).

Cheap checks come first: method names and hyperparameters against the registry, backbone names, the
evaluations' settings, data paths and sizes, the teacher file. Each raises a one-paragraph
`ConfigError` / `DataError` naming the problem and the fix.
"""
from __future__ import annotations

from pathlib import Path

from benchmarks.config import results_dir
from benchmarks.engine.run_folder import RunFolder, diff_keys, digest, read_json, run_identity
from benchmarks.errors import ConfigError, DataError


def student_name(spec: dict) -> str:
    """``'resnet18 x0.125'`` (+ ``' small-stem'``): the network column of a row."""
    return f"{spec['arch']} x{spec['width']:g}" + (' small-stem' if spec.get('small_input') else '')


def validate_components(cfg) -> None:
    """Method names and hyperparameters against the registry, backbone names against theirs."""
    from methods import get_method, list_methods
    from methods.backbones import list_backbones
    unknown = [m for m in cfg.methods if cfg.method_cfgs[m]['type'] not in list_methods()]
    if unknown:
        raise ConfigError(f'unknown method(s) {", ".join(unknown)}; registered methods: {", ".join(list_methods())} '
                          f"(or 'all', or a variant label defined in the suite's method_cfgs with a type). "
                          f'See tools/bench.py --list.')
    for name in cfg.methods:
        given = {k: v for k, v in cfg.method_cfgs[name].items() if k != 'type'}
        try:
            get_method(cfg.method_cfgs[name]['type']).bind_hyperparameters(given)
        except ValueError as exc:
            raise ConfigError(f'method_cfgs.{name}: {exc}. Fix the name in the suite config or --cfg-options.') from None
    ref = cfg.get('compare_to')
    if ref is not None and not any(ref == m or str(ref).startswith(f'{m} ') for m in cfg.methods):
        raise ConfigError(f'--compare-to {ref!r} is not a method of this run ({", ".join(cfg.methods)}); name one of '
                          f"them (a row label such as 'slimclr w0.25' works too), or leave it out to compare with "
                          f'the from-scratch baseline.')
    for where, arch in (('student', cfg.student), ('teacher.arch', cfg.teacher.arch)):
        if arch['arch'] not in list_backbones():
            raise ConfigError(f"{where}.arch={arch['arch']!r} is not a known backbone; valid: {', '.join(list_backbones())}.")


def validate_evals(cfg) -> None:
    """Evaluation names and each evaluator's own settings (`benchmarks.evals.suite.EvalSuite.check`)."""
    from benchmarks.evals.suite import EvalSuite, parse_evals
    problems = EvalSuite.check(cfg.evals.to_dict())
    if problems:
        raise ConfigError(' '.join(problems))
    cfg.evals.suites = parse_evals(cfg.evals.get('suites', ['knn', 'flops']))


def training_set_size(cfg) -> int:
    """Images in the training split; ImageFolder images are checked now (``data.verify_images``,
    ``data.on_corrupt``), not mid-training."""
    if cfg.data.type == 'imagefolder':
        if not cfg.data.get('root'):
            what = cfg.data.get('description') or 'an ImageFolder dataset with train/ and val/'
            raise DataError(f"the {cfg.get('suite', 'chosen')} suite trains on {what}, and no dataset folder was given. "
                            f'Pass it with --data-root DIR (the folder that contains train/ and val/).')
        root = Path(cfg.data.root)
        if not root.is_dir():
            raise DataError(f'--data-root {root} is not a directory. Pass the folder that contains train/ and val/.')
        from benchmarks.data.imagefolder import check_options, verify_split
        checks = (cfg.data.get('verify_images', 'header'), cfg.data.get('on_corrupt', 'fail'))
        check_options(*checks)
        n_train = len(verify_split(root / 'train', *checks)[1])
        verify_split(root / 'val', *checks)
        return n_train
    from benchmarks.data.synthetic import SyntheticSpec
    spec = SyntheticSpec(**{k: v for k, v in cfg.data.items() if k in SyntheticSpec.__dataclass_fields__})
    return spec.num_classes * spec.train_per_class


def validate_inputs(cfg) -> None:
    """Paths, dataset layout and sizes, the evaluations and the teacher file."""
    n_train = training_set_size(cfg)
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


def method_key(method_cfg: dict) -> str:
    """What identifies one method's training in a run folder: its resolved settings."""
    return digest(method_cfg)


def evals_key(cfg, seed: int | None = None) -> str:
    """What identifies a finished evaluation: the evaluation settings and the seed it ran with."""
    return digest(dict(evals=cfg.evals.to_dict(), seed=cfg.seed if seed is None else seed))


def default_work_dir(cfg, suite: str) -> Path:
    """``results/<suite>-<digest of the run identity>``: the same command finds its own folder again
    (and resumes it); another configuration gets another folder."""
    return results_dir() / f'{suite}-{digest(run_identity(cfg.to_dict()))[:8]}'


def check_run_folder(cfg, work_dir: Path) -> RunFolder:
    """Lock the run folder and check it against this config before any work (rank 0 only)."""
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


def seed_dir(work_dir: Path, cfg, seed: int) -> Path:
    """Where the per-method state of one seed lives: the run folder itself for the base seed
    (``cfg.seed``, so a one-seed run has the plain layout), ``<run>/seed<N>/`` for every other seed."""
    return Path(work_dir) if seed == cfg.seed else Path(work_dir) / f'seed{seed}'


def remaining_work(cfg, folder, old_rows, ekey, seed: int | None = None) -> dict:
    """What each method still needs at ``seed`` (default ``cfg.seed``): 'skip' (rows of every student
    are there), 'eval' (trained, some evaluation missing) or 'train' (resuming from its last checkpoint
    when there is one). ``folder``: the seed's `RunFolder` (`seed_dir`)."""
    seed = cfg.seed if seed is None else seed
    plan = {}
    for name in cfg.methods:
        mkey = method_key(cfg.method_cfgs[name].to_dict())
        trained = folder.trained(name, mkey) if folder else None
        if trained is None:
            plan[name] = 'train'
            continue
        done = {r.get('student_label') for r in old_rows if r.get('method_name') == name and r.get('status') == 'ok'
                and r.get('method_key') == mkey and r.get('evals_key') == ekey and r.get('seed', seed) == seed}
        plan[name] = 'skip' if set(trained['students']) <= done else 'eval'
    return plan
