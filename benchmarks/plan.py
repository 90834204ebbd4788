"""The plan stage: everything that can be wrong with a run's input, checked before any work, and the
run folder (what is finished, what is left).

Cheap checks come first: method names and hyperparameters against the registry, backbone names, the
evaluations' settings, data paths and sizes, the teacher file. Each raises a one-paragraph
`ConfigError` / `DataError` naming the problem and the fix.
"""
from __future__ import annotations

from pathlib import Path

from benchmarks.checks import (arch_problems, compare_to_problem, format_problems, method_problems, size_problems,
                               teacher_file_problems, training_set_size)
from benchmarks.config import results_dir
from benchmarks.engine.run_folder import RunFolder, diff_keys, digest, read_json, run_identity
from benchmarks.errors import ConfigError


def student_name(spec: dict) -> str:
    """``'resnet18 x0.125'`` (+ ``' small-stem'``): the network column of a row."""
    return f"{spec['arch']} x{spec['width']:g}" + (' small-stem' if spec.get('small_input') else '')


def validate_components(cfg) -> None:
    """Method names, hyperparameter names and values, ``--compare-to`` and backbone names (raises one
    `ConfigError` listing every problem; `benchmarks.checks.check_run_input` checks everything)."""
    problems = method_problems(cfg)
    ref = compare_to_problem(cfg)
    problems += [ref] if ref else []
    problems += arch_problems(cfg.student.to_dict(), 'student') + arch_problems(cfg.teacher.arch.to_dict(), 'teacher.arch')
    if problems:
        raise ConfigError(format_problems(problems))


def validate_evals(cfg) -> None:
    """Evaluation names, each evaluator's own settings (`benchmarks.evals.suite.EvalSuite.check`), then
    what this machine lacks for them (`EvalSuite.environment`)."""
    from benchmarks.evals.suite import EvalSuite, parse_evals
    problems = EvalSuite.check(cfg.evals.to_dict())
    problems = problems or EvalSuite.environment(cfg.evals.to_dict())
    if problems:
        raise ConfigError(format_problems(problems))
    cfg.evals.suites = parse_evals(cfg.evals.get('suites', ['knn', 'flops']))


def validate_inputs(cfg) -> None:
    """Paths, dataset layout and sizes, the evaluations and the teacher file (what tools/evaluate.py
    needs; tools/bench.py checks everything with `benchmarks.checks.check_run_input`)."""
    n_train = training_set_size(cfg)
    problems = size_problems(cfg, n_train)
    if problems:
        raise ConfigError(format_problems(problems))
    validate_evals(cfg)
    problems = teacher_file_problems(cfg)
    if problems:
        raise ConfigError(format_problems(problems))


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
