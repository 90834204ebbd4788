"""Resolve a suite config: suite file + per-method configs + command-line overrides, validated.

Resolution order (later wins): the method's ``__init__`` defaults → the suite's ``method_cfgs.<name>`` →
``--cfg-options`` (mmengine ``key.sub=value`` convention). ``<name>`` is the row label; ``type``
(default: the name itself) is the registered method, so one class can run under several labels. An override must name a key that exists in
the resolved config: a typo is an error listing the closest valid keys, never a silently ignored
setting.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

from mmengine.config import Config

from benchmarks.errors import ConfigError

# A checkout (editable install, tools/*.py) has configs/ and results/ next to the packages. An installed
# wheel ships configs/ as package data at benchmarks/_configs (setup.py maps that package onto configs/),
# and REPO_ROOT is then site-packages: never write there.
REPO_ROOT = Path(__file__).resolve().parent.parent
FROM_CHECKOUT = (REPO_ROOT / 'pyproject.toml').is_file() and (REPO_ROOT / 'configs' / 'suites').is_dir()
CONFIG_DIR = REPO_ROOT / 'configs' if FROM_CHECKOUT else Path(__file__).resolve().parent / '_configs'


def results_dir() -> Path:
    """Where runs go by default: ``$SSLCB_RESULTS`` if set, else ``<checkout>/results`` when running from
    a checkout, else ``./results`` under the working directory (an installed package)."""
    env = os.environ.get('SSLCB_RESULTS')
    if env:
        return Path(env).expanduser()
    return REPO_ROOT / 'results' if FROM_CHECKOUT else Path.cwd() / 'results'


def suite_path(name_or_path: str) -> Path:
    """A suite name (``default``) or a path to a config file."""
    p = Path(name_or_path)
    if p.suffix == '.py':
        if not p.is_file():
            raise ConfigError(f'config file {p} does not exist.')
        return p
    candidate = CONFIG_DIR / 'suites' / f'{name_or_path}.py'
    if not candidate.is_file():
        valid = sorted(f.stem for f in (CONFIG_DIR / 'suites').glob('*.py'))
        raise ConfigError(f'unknown suite {name_or_path!r}; valid suites: {", ".join(valid)} (or pass a .py config path).')
    return candidate


def find_config(path) -> Path | None:
    """A config file named absolute, relative to the working directory, or relative to the project
    (``configs/detection/x.py``, as the suites write it); None when it is nowhere."""
    p = Path(path)
    if p.is_file():
        return p
    parts = p.parts[1:] if p.parts and p.parts[0] == 'configs' else p.parts
    candidate = CONFIG_DIR.joinpath(*parts) if parts else None
    return candidate if candidate is not None and candidate.is_file() else None


def method_defaults(name: str) -> dict:
    """The hyperparameters of the registered method ``name`` with their defaults (its ``__init__``
    signature, `methods.Method.hyperparameters`); a name that is not registered gives ``{}`` (reported
    by the plan stage with the list of valid names)."""
    from methods import METHODS
    cls = METHODS.get(name)
    return cls.hyperparameters() if cls is not None else {}


def flatten_keys(d, prefix='') -> list[str]:
    out = []
    for k, v in d.items():
        key = f'{prefix}{k}'
        out.append(key)
        if isinstance(v, dict):
            out.extend(flatten_keys(v, key + '.'))
    return out


def validate_overrides(cfg: Config, options: dict) -> None:
    """Every ``a.b.c`` in ``options`` must already exist in ``cfg``."""
    valid = flatten_keys(cfg.to_dict())
    valid_set = set(valid)
    for key in options:
        if key in valid_set:
            continue
        close = difflib.get_close_matches(key, valid, n=3, cutoff=0.6)
        hint = f' Did you mean {", ".join(close)}?' if close else ''
        raise ConfigError(f'--cfg-options names {key!r}, which is not a key of the resolved config.{hint} '
                          f'Run with --print-config to see every key.')


def resolve(suite: str, methods: list[str] | None = None, options: dict | None = None,
            seed: int | None = None, data_root: str | None = None, teacher: str | None = None,
            seeds: list[int] | None = None) -> Config:
    """The resolved config of a run (what is saved next to its results).

    ``seed`` is the run's base seed (the teacher's training, the raw-pixel floor); ``seeds`` the seeds
    every method is trained and evaluated with (default ``[seed]``, see `resolve_seeds`)."""
    cfg = Config.fromfile(str(suite_path(suite)))
    names = list(methods) if methods else list(cfg.get('methods', []))
    merged = {}
    for name in names:
        # a suite may run one registered class under several labels (ablation variants):
        # method_cfgs.<label>.type names the class; its __init__ signature gives the defaults
        suite_m = dict(cfg.get('method_cfgs', {}).get(name, {}))
        kind = suite_m.pop('type', name)
        m = method_defaults(kind)
        m.pop('type', None)
        m.update(suite_m)
        merged[name] = dict(type=kind, **m)
    cfg.methods = names
    cfg.method_cfgs = merged
    if seed is not None:
        cfg.seed = seed
    if data_root is not None:
        if cfg.data.get('type', 'embedded') == 'embedded':  # a suite of another kind (cifar100, ...) keeps it
            cfg.data.type = 'imagefolder'
        cfg.data.root = str(data_root)
    if teacher is not None:
        cfg.teacher.checkpoint = str(teacher)
    if options:
        validate_overrides(cfg, options)
        cfg.merge_from_dict(options)
    if seeds is not None:
        cfg.seeds = list(seeds)
    cfg.seeds = resolve_seeds(cfg.get('seeds'), cfg.seed)
    return cfg


def resolve_seeds(seeds, base: int) -> list[int]:
    """The seeds of a run: ``None`` -> ``[base]``; otherwise distinct integers, in the given order."""
    from benchmarks.errors import ConfigError
    if seeds is None:
        return [int(base)]
    if isinstance(seeds, (int, str)):
        seeds = [seeds]
    out = []
    for s in seeds:
        try:
            value = int(str(s).strip())
        except ValueError:
            raise ConfigError(f'seeds must be integers, got {s!r} in {list(seeds)}; pass e.g. --seeds 0,1,2.') from None
        if value < 0:
            raise ConfigError(f'seeds must be non-negative integers, got {value}; pass e.g. --seeds 0,1,2.')
        if value in out:
            raise ConfigError(f'seed {value} is listed twice in seeds {list(seeds)}; each seed trains every method once.')
        out.append(value)
    if not out:
        raise ConfigError('seeds is empty; give at least one seed, e.g. --seeds 0,1,2.')
    return out
