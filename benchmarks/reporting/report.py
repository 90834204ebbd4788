"""Every leaderboard table and plot of one run, or of several runs merged (`tools/report.py`).

``write_reports`` is what a finished run calls: `benchmarks.reporting.leaderboard.write_leaderboard` (markdown,
CSV, JSON, LaTeX, HTML) plus `benchmarks.reporting.plots.write_plots` into ``<out>/plots/``. ``load_runs`` reads run
folders back (``rows.json``, and the caption `write_leaderboard` stored in ``leaderboard.json``); with
several folders every row is labelled with its run, so the same methods under, say, two budgets sit side
by side in one comparison:

    python tools/report.py results/default-all-2
    python tools/report.py results/e10 results/e100 --labels 10ep,100ep --out results/budget-compare
"""
from __future__ import annotations

import json
from pathlib import Path

from benchmarks.errors import ConfigError
from benchmarks.reporting.row import ResultRow, RowSchemaError


class ReportError(ConfigError):
    """A run folder, its rows or the report options that cannot be used."""


def write_reports(rows, out_dir, caption: str = '', compare_to: str | None = None) -> dict:
    """Write every table and every plot ``rows`` can fill into ``out_dir``.

    Returns ``{name: Path}`` with names relative to ``out_dir`` (``'leaderboard.md'``, …,
    ``'plots/accuracy_vs_gmacs.png'``); a plot without data is not written and not listed.
    """
    from benchmarks.reporting.leaderboard import write_leaderboard
    from benchmarks.reporting.plots import write_plots

    out_dir = Path(out_dir)
    write_leaderboard(rows, out_dir, caption, compare_to)
    paths = {f'leaderboard.{ext}': out_dir / f'leaderboard.{ext}' for ext in ('md', 'csv', 'json', 'tex', 'html')}
    for path in write_plots(rows, out_dir / 'plots'):
        paths[f'plots/{path.name}'] = path
    return paths


def read_run(run_dir) -> tuple[list, str]:
    """``(rows, caption)`` of one run folder; raises `ReportError` (one paragraph: what, and the fix)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f'run folder {run_dir} does not exist (or is not a folder). Pass the folder a '
                          f'benchmark wrote, e.g. results/<suite>-<config digest>, which holds rows.json.')
    path = run_dir / 'rows.json'
    if not path.is_file():
        raise ReportError(f'{run_dir} has no rows.json, so there is nothing to report. Pass a run folder '
                          f'written by tools/bench.py or tools/evaluate.py (a run that has finished at least '
                          f'one row), not one of its method subfolders.')
    try:
        rows = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f'{path} is not valid JSON ({exc}); it was probably cut short by a crash or edited '
                          f'by hand. Restore it (rerunning tools/bench.py on the same --work-dir rewrites it) '
                          f'or remove the damaged part.') from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ReportError(f'{path} does not hold a JSON list of row objects (found '
                          f'{type(rows).__name__}); it is not a rows.json written by this benchmark. Pass the '
                          f'folder of a benchmark run.')
    try:
        rows = [ResultRow.from_dict(r).to_dict() for r in rows]
    except (RowSchemaError, TypeError, ValueError) as exc:
        raise ReportError(f'{path}: {exc}.') from None
    caption = ''
    board = run_dir / 'leaderboard.json'
    if board.is_file():  # the caption is optional: a report without one is still a report
        try:
            caption = json.loads(board.read_text()).get('caption', '') or ''
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            caption = ''
    return rows, str(caption)


def _labels(run_dirs, labels) -> list[str]:
    if labels is None:
        labels = [Path(d).resolve().name for d in run_dirs]
        if len(set(labels)) < len(labels):
            raise ReportError(f'the run folders {", ".join(map(str, run_dirs))} share a folder name, so their rows '
                              f'cannot be told apart. Give each run a label with --labels a,b,... .')
        return labels
    labels = [str(label).strip() for label in labels]
    if len(labels) != len(run_dirs) or not all(labels) or len(set(labels)) < len(labels):
        raise ReportError(f'--labels must give one distinct, non-empty label per run folder: {len(run_dirs)} '
                          f'folder(s), labels {labels}. Pass e.g. --labels ' +
                          ','.join(f'run{i + 1}' for i in range(len(run_dirs))) + '.')
    return labels


def load_runs(run_dirs, labels=None) -> tuple[list, str]:
    """Read one or several run folders into ``(rows, caption)``.

    One folder: its rows and caption unchanged. Several: each row is a copy with ``run`` = its run label
    (``labels``, default the folder name) and `` [label]`` appended to ``method``; the rows are ordered
    teachers, then methods grouped by name (first appearance, then run order: ``moco_v2 [a]``,
    ``moco_v2 [b]``, ``crd [a]`` …), then floors; the captions are joined as ``Run label: caption``
    paragraphs. Raises `ReportError` for a missing folder, a folder without ``rows.json``, a corrupt
    ``rows.json``, or labels that do not fit the folders.
    """
    run_dirs = [Path(d) for d in run_dirs]
    if not run_dirs:
        raise ReportError('no run folder given. Pass at least one folder written by tools/bench.py.')
    runs = [read_run(d) for d in run_dirs]
    if len(runs) == 1 and labels is None:
        return runs[0]
    names = _labels(run_dirs, labels)
    kinds = {'teacher': [], 'method': {}, 'floor': []}
    for label, (rows, _) in zip(names, runs):
        for r in rows:
            row = dict(r, run=label, method=f"{r.get('method', '?')} [{label}]")
            kind = r.get('kind', 'method')
            if kind == 'method':
                kinds['method'].setdefault(str(r.get('method', '?')), []).append(row)
            else:
                kinds.setdefault(kind, []).append(row)
    merged = kinds['teacher'] + [r for group in kinds['method'].values() for r in group]
    merged += [r for kind, rows in kinds.items() if kind not in ('teacher', 'method') for r in rows]
    caption = '\n\n'.join(f'**Run {label}**: {cap}' for label, (_, cap) in zip(names, runs) if cap)
    return merged, caption
