"""Published numbers next to a run's own: the "ours vs paper" table of a paper-reproduction suite.

A paper suite (``configs/suites/paper_*.py``) carries, besides the runnable settings, the numbers the
paper published for that table (CompRess Table 1, SEED ResNet-18, SlimCLR-MoCo v2; their sources are
listed in docs/methods.md#paper-reproduction-suites)::

    paper = dict(
        title='...', source='...', protocol='...',
        gpu_hours='...' or dict(teacher='...', student='...'),     # only what the sources state
        results={row label: {metric field: value in %}},
        unverified=['label', 'label/metric', ...],                  # optional
    )

Row labels are the leaderboard's ``method`` column (``'teacher'`` for the teacher row, a method label
such as ``'compress_2q'``, ``'slimclr w0.25'`` for a SlimCLR width); metric fields are the row keys the
evaluations write (``linear_top1``, ``knn1_top1``, ``ca_top1`` ...). A label ending in
``'(paper only)'`` (the supervised rows) never matches a run row: no run trains a supervised model.

`paper_rows` aligns every published number with the run's value of the same label and metric;
`paper_table` renders the same data as markdown. Numbers are never invented: a value the run did not
produce (method not run, row failed, metric not evaluated, NaN) is ``None`` / '–', and the "ours"
column only ever holds values read from ``rows``.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

from tabulate import tabulate

from benchmarks.reporting.columns import metric_columns

__all__ = ['PAPER_ONLY', 'MISSING', 'paper_rows', 'paper_table', 'paper_caption']

PAPER_ONLY = '(paper only)'
MISSING = '–'
UNVERIFIED_MARK = '†'
_RUN_KINDS = ('teacher', 'method')   # the floor row has no published counterpart


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))


def _check_paper(paper) -> tuple[dict, set, set]:
    """Validated ``results`` plus the unverified labels and (label, metric) pairs of ``paper``."""
    if not isinstance(paper, Mapping) or not isinstance(paper.get('results'), Mapping):
        raise ValueError("the paper description has no 'results' mapping; a paper suite must define "
                         "paper = dict(title=..., source=..., protocol=..., results={label: {metric: value}}) "
                         "(see configs/suites/paper_*.py).")
    results = {}
    for label, metrics in paper['results'].items():
        if not isinstance(metrics, Mapping):
            raise ValueError(f'paper.results[{label!r}] must map metric fields to numbers, got '
                             f'{type(metrics).__name__}; write it as {{"linear_top1": 61.7, ...}}.')
        for field, value in metrics.items():
            if not _is_number(value):
                raise ValueError(f'paper.results[{label!r}][{field!r}] = {value!r} is not a finite number; '
                                 f'published values are percentages such as 61.7 (leave out what was not '
                                 f'published instead of writing None).')
        results[str(label)] = {str(f): float(v) for f, v in metrics.items()}
    whole, pairs = set(), set()
    for entry in paper.get('unverified', []) or []:
        label, _, field = str(entry).partition('/')
        if label not in results or (field and field not in results[label]):
            raise ValueError(f'paper.unverified names {entry!r}, which is not a label (or label/metric) of '
                             f'paper.results; valid labels: {", ".join(results)}. Fix the entry so the right '
                             f'number is marked unverified.')
        if field:
            pairs.add((label, field))
        else:
            whole.add(label)
    return results, whole, pairs


def _run_rows(rows) -> dict:
    """``{label: row}`` of the teacher and method rows, over seeds (the mean of a run's seeds,
    `benchmarks.reporting.aggregate`); a label twice means rows of several runs."""
    from benchmarks.reporting.aggregate import aggregate
    out = {}
    for r in aggregate(rows):
        if r.get('kind', 'method') not in _RUN_KINDS:
            continue
        label = str(r.get('method'))
        if label in out:
            raise ValueError(f'the rows hold two rows labelled {label!r} (several runs or seeds mixed); the paper '
                             f'comparison reads one run: pass the rows of a single rows.json.')
        out[label] = r
    return out


def _metric_fields(results: dict) -> tuple[list[str], dict]:
    """The published metric fields in the leaderboard's column order (kNN, linear, Recall@K, CA, so the
    order survives a config dump, which sorts keys), and field -> column header ('knn1_top1' -> '1-NN');
    fields the leaderboard does not know follow in first-appearance order under their own name."""
    seen = []
    for metrics in results.values():
        seen += [f for f in metrics if f not in seen]
    known = [(c.field, c.header) for c in metric_columns([{f: 0.0 for f in seen}]) if c.field in seen]
    fields = [f for f, _ in known] + [f for f in seen if f not in dict(known)]
    return fields, {f: dict(known).get(f, f) for f in fields}


def paper_rows(rows, paper) -> list[dict]:
    """One record per (row label, metric): the run's value next to the published one.

    Args:
        rows: a run's result rows (``rows.json``; dicts with ``kind``, ``method``, ``status`` and metric
            fields). Floor rows are ignored; two teacher/method rows with one label raise ValueError.
        paper: the suite's ``paper`` dict (module docstring).

    Returns:
        Records in table order: every ``paper.results`` label (teacher, then paper-only labels, then the
        rest, each group in paper order) and then every run label the paper does not have (run order),
        each with one record per metric field of ``paper.results`` (leaderboard column order). Keys:
        ``method``, ``metric``, ``header`` (leaderboard column name),
        ``ours`` (float from ``rows``, or None), ``paper`` (float, or None when not published), ``diff``
        (``ours - paper`` in percentage points, None unless both exist), ``unverified`` (bool),
        ``in_run`` (the label has a row in ``rows``), ``note`` ('' | 'paper only' | 'not in this run' |
        'failed: <error>' | 'not in paper').
    """
    results, whole, pairs = _check_paper(paper)
    run = _run_rows(rows)
    fields, headers = _metric_fields(results)
    # teacher and paper-only rows lead, as in the papers' tables; then the paper's order (a config dumped
    # by mmengine comes back with sorted keys, so the lead rows must not depend on it)
    lead = sorted(results, key=lambda label: 0 if label == 'teacher' else 1 if label.endswith(PAPER_ONLY) else 2)
    labels = lead + [label for label in run if label not in results]
    out = []
    for label in labels:
        paper_only = label.endswith(PAPER_ONLY)
        row = None if paper_only else run.get(label)
        failed = row is not None and row.get('status', 'ok') != 'ok'
        if paper_only:
            note = 'paper only'
        elif row is None:
            note = 'not in this run'
        elif failed:
            note = 'failed' + (f": {row['error']}" if row.get('error') else '')
        elif label not in results:
            note = 'not in paper'
        else:
            note = ''
        for field in fields:
            published = results.get(label, {}).get(field)
            value = row.get(field) if row is not None and not failed else None
            ours = float(value) if _is_number(value) else None
            out.append(dict(method=label, metric=field, header=headers[field], ours=ours, paper=published,
                            diff=(ours - published) if ours is not None and published is not None else None,
                            unverified=published is not None and (label in whole or (label, field) in pairs),
                            in_run=row is not None, note=note))
    return out


def paper_caption(paper) -> str:
    """The table's caption: which paper and table, its protocol, and how to read the comparison."""
    gpu = paper.get('gpu_hours', 'not reported')
    if isinstance(gpu, Mapping):
        gpu = '; '.join(f'{k}: {v}' for k, v in gpu.items())
    return (f"**Ours vs paper** — {paper.get('title', 'unnamed paper')} ({paper.get('source', 'no source given')}). "
            f"Paper protocol: {paper.get('protocol', 'not stated')}. Published numbers use the papers' protocols "
            f"(their data, training budgets and evaluation code); ours are this run's final-epoch numbers under "
            f"the suite's config, so Δ = ours − paper (percentage points) mixes method and setup differences. "
            f"'{MISSING}': not produced by this run, or not published. {UNVERIFIED_MARK}: called unverified in "
            f"docs/methods.md#unverified-statements. Paper GPU hours: {gpu}.")


def _cell(value, fmt: str) -> str:
    return MISSING if value is None else format(value, fmt)


def paper_table(rows, paper) -> str:
    """`paper_rows` as a markdown table with its caption: per metric, ours | paper | Δ columns."""
    records = paper_rows(rows, paper)
    fields = list(dict.fromkeys(r['metric'] for r in records))
    headers = {r['metric']: r['header'] for r in records}
    body, by_label = [], {}
    for r in records:
        by_label.setdefault(r['method'], []).append(r)
    for label, recs in by_label.items():
        cells = [label]
        for rec in recs:
            published = _cell(rec['paper'], '.1f') + (UNVERIFIED_MARK if rec['unverified'] else '')
            cells += [_cell(rec['ours'], '.1f'), published, _cell(rec['diff'], '+.1f')]
        body.append(cells + [recs[0]['note']])
    columns = ['Method'] + [f'{headers[f]} {part}' for f in fields for part in ('ours', 'paper', 'Δ')] + ['Note']
    table = tabulate(body, headers=columns, tablefmt='github', disable_numparse=True)
    return f'{paper_caption(paper)}\n\n{table}\n'
