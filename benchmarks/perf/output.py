"""The result document of `tools/perf.py` and its Markdown summary.

JSON (``results/perf/<name>.json``), schema version `SCHEMA_VERSION`::

    schema_version, name, created_utc, command, git_commit, versions, machine, settings,
    elapsed_s, complete (False while measurements are still to run), errors: [measurement names that failed],
    targets: [{measurement, name, label, value, op, threshold, unit, met}],
    measurements: {name: {title, settings, figures: {id: figure}, targets, notes, elapsed_s,
                          loadavg_before, loadavg_after} | {title, error, traceback}}

with ``figure = {label, unit, median, min, max, n, values}`` (`common.figure`).
"""
from __future__ import annotations

import json
import math
import sys
from datetime import datetime, timezone
from pathlib import Path

SCHEMA_VERSION = 1


def build_document(results: dict, settings, machine: dict, names: list, elapsed_s: float,
                   complete: bool = True) -> dict:
    from benchmarks.engine.provenance import git_commit, versions
    targets = [dict(measurement=m, **t) for m, res in results.items() for t in res.get('targets', [])]
    return dict(schema_version=SCHEMA_VERSION, name=None, created_utc=datetime.now(timezone.utc).isoformat(),
                command=' '.join(sys.argv), git_commit=git_commit(), versions=versions(), machine=machine,
                settings=dict(settings.as_dict(), only=list(names)), elapsed_s=elapsed_s, complete=complete,
                errors=[m for m, res in results.items() if 'error' in res], targets=targets, measurements=results)


def fmt(v) -> str:
    """A number for a table: about 3 significant digits, no exponent below 1e6."""
    if v is None:
        return ''
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    a = abs(v)
    if a >= 1e6:
        return f'{v:.3g}'
    if a >= 100:
        return f'{v:.0f}'
    if a >= 10:
        return f'{v:.1f}'
    if a >= 1:
        return f'{v:.2f}'
    return f'{v:.3g}'


def _short(value, limit: int = 160) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit - 3] + '...'


def to_markdown(doc: dict) -> str:
    m = doc['machine']
    s = doc['settings']
    lines = [f'# Performance: {doc["name"]}', '',
             f'- machine: {m["cpu_model"]}, {m["usable_cores"]} usable of {m["logical_cores"]} cores, '
             f'torch threads {m["torch_threads"]}, OMP_NUM_THREADS={m.get("omp_num_threads")}, '
             f'OMP_WAIT_POLICY={m.get("omp_wait_policy")}'
             + (f', GPU {m["gpu"]}' if m.get('gpu') else ', no GPU used'),
             f'- load average at start (1/5/15 min): {", ".join(fmt(x) for x in m["loadavg_start"])} -- other work on '
             f'the machine makes every figure slower and noisier',
             f'- versions: {", ".join(f"{k} {v}" for k, v in doc["versions"].items())}; commit {doc["git_commit"]}',
             f'- settings: device {s["device"]}, repeats {s["repeats"]}, quick {s["quick"]}, measurements '
             f'{", ".join(s["only"])}; {doc["created_utc"]}; {fmt(doc["elapsed_s"])} s in all', '']
    if not doc.get('complete', True):
        done = ', '.join(doc['measurements'])
        lines += [f'**Incomplete: the run stopped or is still running; finished so far: {done}.**', '']
    if doc['errors']:
        lines += [f'**Failed measurements: {", ".join(doc["errors"])}** (error text below).', '']
    lines += ['## Targets', '', '| measurement | target | median | goal | met |', '|---|---|---:|---:|---|']
    for t in doc['targets']:
        lines.append(f'| {t["measurement"]} | {t["name"]} | {fmt(t["value"])} {t["unit"]} | {t["op"]} '
                     f'{fmt(t["threshold"])} {t["unit"]} | {"yes" if t["met"] else "**no**"} |')
    if not doc['targets']:
        lines.append('| (none measured) | | | | |')
    lines.append('')
    for name, res in doc['measurements'].items():
        lines += [f'## {name}: {res.get("title", "")}', '']
        if 'error' in res:
            lines += ['```', res['error'], '```', '']
            continue
        lines += [f'{fmt(res["elapsed_s"])} s; load average before {", ".join(fmt(x) for x in res["loadavg_before"])}, '
                  f'after {", ".join(fmt(x) for x in res["loadavg_after"])}', '',
                  '| figure | median | min | max | unit | n |', '|---|---:|---:|---:|---|---:|']
        for fig in res['figures'].values():
            lines.append(f'| {fig["label"]} | {fmt(fig["median"])} | {fmt(fig["min"])} | {fmt(fig["max"])} | '
                         f'{fig["unit"]} | {fig["n"]} |')
        lines.append('')
        lines += [f'- {note}' for note in res.get('notes', [])]
        scalars = {k: v for k, v in res.get('settings', {}).items() if k != 'workers'}
        lines += [f'- settings: `{_short(scalars, 400)}`', '']
    return '\n'.join(lines)


def write_outputs(doc: dict, out_dir, name: str) -> tuple[Path, Path]:
    """``out_dir/<name>.json`` and ``out_dir/<name>.md``; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc['name'] = name
    json_path, md_path = out_dir / f'{name}.json', out_dir / f'{name}.md'
    json_path.write_text(json.dumps(doc, indent=1, default=str))
    md_path.write_text(to_markdown(doc))
    return json_path, md_path
