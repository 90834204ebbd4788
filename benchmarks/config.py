"""Resolve a suite config: suite file + per-method configs + command-line overrides, validated.

Resolution order (later wins): ``configs/methods/<type>.py`` → the suite's ``method_cfgs.<name>`` →
``--cfg-options`` (mmengine ``key.sub=value`` convention). ``<name>`` is the row label; ``type``
(default: the name itself) is the registered method, so one class can run under several labels. An override must name a key that exists in
the resolved config: a typo is an error listing the closest valid keys, never a silently ignored
setting.
"""
from __future__ import annotations

import difflib
from pathlib import Path

from mmengine.config import Config

from benchmarks.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / 'configs'


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


def method_defaults(name: str) -> dict:
    """``configs/methods/<name>.py``'s ``method`` dict, or ``{}`` if the method has no config file."""
    path = CONFIG_DIR / 'methods' / f'{name}.py'
    if not path.is_file():
        return {}
    return dict(Config.fromfile(str(path)).method.to_dict())


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
            seed: int | None = None, data_root: str | None = None, teacher: str | None = None) -> Config:
    """The resolved config of a run (what is saved next to its results)."""
    cfg = Config.fromfile(str(suite_path(suite)))
    names = list(methods) if methods else list(cfg.get('methods', []))
    merged = {}
    for name in names:
        # a suite may run one registered class under several labels (ablation variants):
        # method_cfgs.<label>.type names the class; its configs/methods/<type>.py gives the defaults
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
        cfg.data.type = 'imagefolder'
        cfg.data.root = str(data_root)
    if teacher is not None:
        cfg.teacher.checkpoint = str(teacher)
    if options:
        validate_overrides(cfg, options)
        cfg.merge_from_dict(options)
    return cfg
