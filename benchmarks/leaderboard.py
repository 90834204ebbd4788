"""Result rows → leaderboard tables (markdown, CSV, JSON) with tabulate.

A row is a flat dict with a fixed schema (`ROW_FIELDS` plus the metric keys of the suite's
evaluations, e.g. ``knn20_top1``); nested settings (``hparams``, ``budget``)
stay dicts in JSON and are JSON-encoded in CSV cells. The markdown table shows the columns a reader
compares; the CSV/JSON keep everything.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from pathlib import Path

from tabulate import tabulate

ROW_FIELDS = [
    'kind', 'method', 'student', 'teacher', 'status', 'error',
    'params_m', 'gmacs', 'gmacs_224', 'image_size',
    'images_seen', 'train_time_s', 'teacher_time_s', 'peak_mem_mb', 'final_loss',
    'augmentation', 'seed', 'hparams', 'budget', 'device', 'git_commit', 'versions',
]

# (field, header, format) of the markdown table; the metric columns come from the rows themselves
HEAD_COLUMNS = [('method', 'Method', None), ('student', 'Network', None)]
COST_COLUMNS = [
    ('params_m', 'Params (M)', '.2f'),
    ('gmacs', 'GMACs', '.3f'),
    ('gmacs_224', 'GMACs @224', '.3f'),
    ('images_seen', 'Images seen', ',d'),
    ('train_time_s', 'Train (s)', '.0f'),
]
_KNN = re.compile(r'^knn(\d+)(w?)_top([15])$')
_RECALL = re.compile(r'^retrieval_r(\d+)$')
_LATENCY = re.compile(r'^latency_b(\d+)_ms$')
_THROUGHPUT = re.compile(r'^throughput_b(\d+)$')


def knn_columns(rows, top5: bool = True) -> list:
    """kNN columns present in ``rows``: majority-vote k ascending, then weighted k (top-1, top-5)."""
    found = {m.groups() for r in rows for m in [_KNN.match(k) for k in r] if m}
    cols = []
    for k, weighted, top in sorted(found, key=lambda g: (g[1] == 'w', int(g[0]), g[2])):
        if top == '5' and not top5:
            continue
        header = f'{k}-NN' + (' w' if weighted else '') + (' top-5' if top == '5' else '')
        cols.append((f'knn{k}{weighted}_top{top}', header, '.1f'))
    return cols


def _numbered(rows, pattern, header, fmt) -> list:
    found = sorted({int(m.group(1)) for r in rows for m in [pattern.match(k) for k in r] if m})
    return [(pattern.pattern.strip('^$').replace('(\\d+)', str(n)), header.format(n), fmt) for n in found]


def metric_columns(rows, top5: bool = True) -> list:
    """Accuracy / retrieval columns present in ``rows``, in reading order: kNN, linear, Recall@K, CA."""
    cols = knn_columns(rows, top5)
    present = {k for r in rows for k in r}
    if 'linear_top1' in present:
        cols.append(('linear_top1', 'Linear', '.1f'))
        if top5:
            cols.append(('linear_top5', 'Linear top-5', '.1f'))
    cols += _numbered(rows, _RECALL, 'R@{}', '.1f')
    if 'ca_top1' in present:
        cols.append(('ca_top1', 'CA', '.1f'))
    if 'det_status' in present:  # detection transfer: a failed run shows as 'failed' in its cells
        cols += [('det_ap50', 'AP50', '.1f'), ('det_ap', 'AP', '.1f')]
        if top5:  # the CSV/JSON carry AP75 and the spread over trials too
            cols += [('det_ap75', 'AP75', '.1f'), ('det_ap50_std', 'AP50 std', '.2f'), ('det_ap_std', 'AP std', '.2f')]
    return cols


def cost_columns(rows) -> list:
    """Cost columns present in ``rows``: params, GMACs, latency, throughput, images seen, train time."""
    present = {k for r in rows for k in r}
    cols = [c for c in COST_COLUMNS[:3] if c[0] in present]
    cols += _numbered(rows, _LATENCY, 'ms @b{}', '.2f')
    cols += _numbered(rows, _THROUGHPUT, 'img/s @b{}', ',.0f')
    return cols + COST_COLUMNS[3:]


def table_columns(rows) -> list:
    """The markdown table's columns (top-5 numbers stay in the CSV/JSON)."""
    return HEAD_COLUMNS + metric_columns(rows, top5=False) + cost_columns(rows)

KIND_ORDER = {'teacher': 0, 'method': 1, 'floor': 2}


def _fmt(value, fmt):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '–'
    if fmt is None:
        return str(value)
    try:
        return format(value, fmt)
    except (TypeError, ValueError):
        return str(value)


def sort_rows(rows):
    return sorted(rows, key=lambda r: (KIND_ORDER.get(r.get('kind'), 9),))


def markdown_table(rows, caption: str = '') -> str:
    """A GitHub-markdown table of ``rows`` (teacher first, then methods in run order, floor last)."""
    body = []
    columns = table_columns(rows)
    for r in sort_rows(rows):
        cells = [('failed' if f.startswith('det_') and r.get('det_status') == 'failed' else _fmt(r.get(f), fmt))
                 for f, _, fmt in columns]
        if r.get('status', 'ok') != 'ok':
            cells[0] += f" (failed: {r.get('error', '')})"
        body.append(cells)
    table = tabulate(body, headers=[h for _, h, _ in columns], tablefmt='github', disable_numparse=True)
    return f'{caption}\n\n{table}\n' if caption else table + '\n'


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(text)
    os.replace(tmp, path)


def write_leaderboard(rows, out_dir, caption: str = '') -> str:
    """Write leaderboard.{md,csv,json} into ``out_dir``; returns the markdown."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = sort_rows(rows)
    md = markdown_table(rows, caption)
    _atomic_write(out_dir / 'leaderboard.md', md)
    _atomic_write(out_dir / 'leaderboard.json', json.dumps(dict(caption=caption, rows=rows), indent=1, default=str))
    buf = io.StringIO()
    extra = [f for f, _, _ in metric_columns(rows) + cost_columns(rows) if f not in ROW_FIELDS]
    fields = ROW_FIELDS[:6] + extra + ROW_FIELDS[6:]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction='ignore')
    writer.writeheader()
    for r in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in r.items()})
    _atomic_write(out_dir / 'leaderboard.csv', buf.getvalue())
    return md
