"""A run folder that survives: one writer at a time, a fixed config, and resumable per-method state.

A benchmark of many methods runs for hours; killing it (SIGINT, SIGKILL, a crash, a node failure) and
running the same command again must continue, never redo finished work and never mix two configs:

* **lock** — ``<run>/.lock`` is held with ``flock`` for the whole run (released by the kernel even on
  SIGKILL); a second ``tools/bench.py`` on the same folder stops at once with the owner's pid.
* **identity** — ``<run>/run.json`` records a digest of the resolved config *without* the method list,
  the methods' own settings, the evaluation settings (those are checked per method and per
  evaluation, so methods can be added to a run and evaluations re-run) and the list of seeds (seeds
  can be added to a run), plus the version of the training and evaluation code. A different identity
  in an existing folder is refused with the differing keys.
* **per-method state** in ``<run>/<method>/``: mmengine epoch checkpoints (training resumes from the
  last one, RNG state included, see `benchmarks.engine.runner`), ``train.json`` (training finished: its cost
  and the exported students), ``metrics[_label].json`` (the evaluations of one student, keyed by the
  evaluation settings) and the detection run's own ``detection.json``.
* **rows** — ``rows.json`` holds finished rows; a method whose row is there with the same method
  settings and evaluation key is skipped. Failed rows are retried (a failure is not a result).

Every file is written to a temporary name and renamed (atomic on POSIX): a crash never leaves a
truncated JSON behind.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from benchmarks.cachefill import write_bytes
from benchmarks.errors import ConfigError

# config sections that may differ between invocations on the same run folder (checked finer-grained)
PER_METHOD_KEYS = ('methods', 'method_cfgs', 'evals', 'seeds', 'compare_to')
STATE_VERSION = 1


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically and durably (`benchmarks.cachefill.write_bytes`): a crash leaves the
    old file or the new one, never half of one."""
    write_bytes(Path(path), text.encode())


def write_json(path: Path, obj) -> None:
    """Write ``obj`` as JSON atomically (`write_text`)."""
    write_text(path, json.dumps(obj, indent=1, default=str))


def read_json(path: Path, default=None):
    """The JSON in ``path``, or ``default`` when it does not exist; a corrupt file is an error naming it."""
    path = Path(path)
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f'{path} is corrupt ({exc}); it is a state file of this run folder. Delete it to redo '
                          f'that step, or use a new --work-dir.') from exc


def digest(obj) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def run_identity(cfg_dict: dict) -> dict:
    """The part of a resolved config that fixes a run folder (see module doc), plus the version of the
    code that trains and evaluates (`benchmarks.code_version.RUN_SOURCES`): rows of other code are
    never mixed into a leaderboard."""
    from benchmarks.code_version import RUN_SOURCES, code_version
    return {**{k: v for k, v in cfg_dict.items() if k not in PER_METHOD_KEYS}, 'code_version': code_version(RUN_SOURCES)}


def _flat(d, prefix=''):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f'{prefix}{k}.'))
        else:
            out[f'{prefix}{k}'] = v
    return out


def diff_keys(old: dict, new: dict, limit: int = 6) -> str:
    a, b = _flat(old), _flat(new)
    keys = sorted(k for k in set(a) | set(b) if a.get(k, '<absent>') != b.get(k, '<absent>'))
    text = ', '.join(f'{k}: {a.get(k, "<absent>")!r} -> {b.get(k, "<absent>")!r}' for k in keys[:limit])
    return text + (f' (and {len(keys) - limit} more)' if len(keys) > limit else '')


class RunFolder:
    """The state of one run folder (see module doc). Only rank 0 of a distributed run creates one."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock_fd = None

    # --- one writer ----------------------------------------------------------------------------
    def lock(self) -> None:
        import fcntl
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / '.lock', os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 64).decode(errors='replace').strip() or 'unknown'
            os.close(fd)
            raise ConfigError(f'the run folder {self.path} is in use by another tools/bench.py (pid {owner}). Wait for '
                              f'it to finish (then run the same command to reuse its results), or pass another '
                              f'--work-dir.') from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    # --- one config ----------------------------------------------------------------------------
    def check_identity(self, cfg_dict: dict) -> bool:
        """Record the run identity, or check it against the recorded one. True when resuming."""
        ident = run_identity(cfg_dict)
        state = read_json(self.path / 'run.json')
        if state is None and (self.path / 'rows.json').is_file():
            raise ConfigError(f'{self.path} holds results but no run.json (written by an older version of this tool), so '
                              f'its configuration cannot be checked; pass another --work-dir.')
        if state is None:
            write_json(self.path / 'run.json', dict(version=STATE_VERSION, identity=digest(ident), config=ident))
            return False
        if state.get('version') != STATE_VERSION:
            raise ConfigError(f'the run folder {self.path} was written by a version of this tool whose run-folder state is '
                              f'version {state.get("version")!r}; this version reads version {STATE_VERSION} only, so '
                              f'its results cannot be resumed or mixed with new ones. Pass another --work-dir '
                              f'(tools/report.py still tabulates its rows.json if their row schema matches).')
        if state.get('identity') != digest(ident):
            raise ConfigError(
                f'the run folder {self.path} holds results of a different configuration ({diff_keys(state.get("config", {}), ident)}). '
                f'Mixing them would make the leaderboard meaningless: pass another --work-dir (or leave --work-dir out: '
                f'each configuration gets its own folder), or delete the folder to start over.')
        return True

    # --- rows ----------------------------------------------------------------------------------
    def load_rows(self) -> list:
        return read_json(self.path / 'rows.json', default=[])

    # --- per-method state ----------------------------------------------------------------------
    def method_dir(self, name: str) -> Path:
        return self.path / name

    def trained(self, name: str, method_key: str):
        """``train.json`` of a finished training with these method settings (else None)."""
        state = read_json(self.method_dir(name) / 'train.json')
        return state if state and state.get('method_key') == method_key else None

    def cached_metrics(self, name: str, suffix: str, evals_key: str):
        state = read_json(self.method_dir(name) / f'metrics{suffix}.json')
        return state['metrics'] if state and state.get('evals_key') == evals_key else None

    def save_metrics(self, name: str, suffix: str, evals_key: str, metrics: dict) -> None:
        write_json(self.method_dir(name) / f'metrics{suffix}.json', dict(evals_key=evals_key, metrics=metrics))
