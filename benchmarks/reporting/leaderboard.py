"""Result rows → leaderboard tables (markdown, CSV, JSON, LaTeX, HTML).

A row is a flat dict with a fixed schema (`ROW_FIELDS` plus the metric keys of the suite's
evaluations, e.g. ``knn20_top1``); nested settings (``hparams``, ``budget``)
stay dicts in JSON and are JSON-encoded in CSV cells. The CSV/JSON keep everything; the tables people
read (markdown here, LaTeX and HTML in `benchmarks.reporting.formats`) show the columns a reader compares,
grouped as accuracy / retrieval / detection / cost, with the best *method* value of each column in bold.

All three read tables are rendered from one `Table` built by `build_table`, so they agree on columns,
cell text and which cells are best. Every row field is optional: an older ``rows.json`` (no
``loss_curve``, ``epoch_times_s``, ``shared_training``, detection columns) renders the same way.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from tabulate import tabulate

from benchmarks.engine.run_folder import write_text

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


# (key, header) of the column groups of the tables people read, in reading order
GROUPS = [('accuracy', 'Accuracy (%)'), ('retrieval', 'Retrieval (%)'), ('detection', 'Detection AP (%)'),
          ('cost', 'Cost')]
_HIGHER = re.compile(r'^(knn\d+w?_top[15]|linear_top[15]|ca_top1|retrieval_r\d+|det_ap(50|75)?|throughput_b\d+)$')
_LOWER = re.compile(r'^(params_m|gmacs|gmacs_224|latency_b\d+_ms|train_time_s|prepare_time_s|teacher_time_s)$')


def column_group(field_name: str) -> str | None:
    """The group of a table column: 'accuracy' (kNN, linear, CA), 'retrieval' (R@K), 'detection'
    (AP50/AP/AP75), 'cost' (params, GMACs, latency, throughput, images seen, time), None for the
    head columns (method, network)."""
    if field_name in ('method', 'student'):
        return None
    if _RECALL.match(field_name):
        return 'retrieval'
    if field_name.startswith('det_'):
        return 'detection'
    if _KNN.match(field_name) or field_name.startswith(('linear_', 'ca_')):
        return 'accuracy'
    return 'cost'


def better(field_name: str) -> str | None:
    """'max' when a higher value is better (accuracy, retrieval, detection AP, throughput), 'min' when
    lower is (params, GMACs, latency, time), None for columns that rank nothing (images seen: matched by
    the budget; spreads over trials)."""
    if _HIGHER.match(field_name):
        return 'max'
    if _LOWER.match(field_name):
        return 'min'
    return None


def column_groups(rows) -> list[tuple[str, str, list]]:
    """``[(group key, group header, columns)]`` of the tables people read, empty groups left out.

    The columns are `metric_columns` (top-1 only) and `cost_columns`, regrouped so each group is
    contiguous (CA joins kNN and linear under accuracy); detection adds AP75 when the rows carry it
    (the field's reports give AP50/AP/AP75, research/methods.md §6.4).
    """
    metrics = metric_columns(rows, top5=False)
    present = {k for r in rows for k in r}
    if any(f == 'det_ap' for f, _, _ in metrics) and 'det_ap75' in present:
        metrics.append(('det_ap75', 'AP75', '.1f'))
    by_group = {key: [] for key, _ in GROUPS}
    for col in metrics + cost_columns(rows):
        by_group[column_group(col[0])].append(col)
    return [(key, header, by_group[key]) for key, header in GROUPS if by_group[key]]


def table_columns(rows) -> list:
    """The read tables' columns (top-5 numbers stay in the CSV/JSON), grouped as `column_groups`."""
    return HEAD_COLUMNS + [c for _, _, cols in column_groups(rows) for c in cols]

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


@dataclass
class Cell:
    """One rendered cell: ``text`` as every format shows it (before format-specific escaping)."""
    text: str
    numeric: bool = False   # right-aligned
    best: bool = False      # the best method value of its column: bold
    title: str = ''         # why a cell says 'failed' (the detection error): tooltip / note


@dataclass
class TableRow:
    kind: str               # 'teacher' | 'method' | 'floor' (references: teacher, floor)
    label: str              # the method name as shown (with the shared-training mark)
    failed: bool
    error: str
    cells: list             # one `Cell` per column, head columns included


@dataclass
class Table:
    """What every read table shows: columns with their groups, rows with cell text and best marks.

    ``groups``: ``[(key, header, span)]`` covering every column, the head columns (method, network)
    as ``('', '', 2)``; ``notes``: footnotes (shared trainings, failed rows, detection failures).
    """
    caption: str
    columns: list           # [(field, header, format)]
    groups: list
    rows: list
    notes: list = field(default_factory=list)

    @property
    def group_starts(self) -> set:
        """Column indices where a group begins (a visual separator goes there)."""
        starts, i = set(), 0
        for _, _, span in self.groups:
            starts.add(i)
            i += span
        return starts


SHARED_MARK = '†'
_MISSING = '–'


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _shown(value, fmt) -> float:
    """The value as the table prints it (``format`` rounding, thousands separators removed): best marks
    compare what the reader sees, so two cells that print the same number are both bold or neither."""
    return float(_fmt(value, fmt).replace(',', ''))


def _det_failed(row, field_name) -> bool:
    return field_name.startswith('det_') and row.get('det_status') == 'failed'


def _contender(row) -> bool:
    """Method rows that finished compete for 'best'; teacher and raw-pixel floor rows are references."""
    return row.get('kind', 'method') == 'method' and row.get('status', 'ok') == 'ok'


def best_values(rows, columns) -> dict:
    """``{field: best shown value}`` over the contending rows (`_contender`) for every ranked column
    (`better`), left out where fewer than two distinct values compete (nothing to choose between, e.g.
    one method, or the same GMACs for every student)."""
    out = {}
    for f, _, fmt in columns:
        direction = better(f)
        if direction is None:
            continue
        values = {_shown(r[f], fmt) for r in rows
                  if _contender(r) and _finite(r.get(f)) and not _det_failed(r, f)}
        if len(values) >= 2:
            out[f] = max(values) if direction == 'max' else min(values)
    return out


def _cell(row, field_name, fmt, best) -> Cell:
    if _det_failed(row, field_name):
        return Cell('failed', numeric=True, title=str(row.get('det_error', '')))
    value = row.get(field_name)
    if fmt is None:
        return Cell(_fmt(value, None))
    if not _finite(value):
        return Cell(_MISSING, numeric=True)
    text = _fmt(value, fmt)
    spread = row.get(f'{field_name}_std')
    if field_name.startswith('det_') and _finite(spread) and spread > 0:  # mean ± std over trials (§6.4)
        text += f' ± {_fmt(spread, fmt)}'
    is_best = field_name in best and _contender(row) and _shown(value, fmt) == best[field_name]
    return Cell(text, numeric=True, best=is_best)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith(('.', '!', '?')) else text + '.'


def build_table(rows, caption: str = '') -> Table:
    """The `Table` of ``rows`` (teacher first, then methods in run order, floor last).

    Args:
        rows: result rows (dicts); every field is optional. ``status`` != 'ok' marks a failed row (its
            ``error`` goes into a note); ``shared_training`` marks students of one training with
            `SHARED_MARK`; ``det_status == 'failed'`` makes the detection cells say 'failed'.
        caption: the evaluation protocol and budget (as `benchmarks.bench` writes it).
    """
    rows = sort_rows(rows)
    groups = column_groups(rows)
    columns = HEAD_COLUMNS + [c for _, _, cols in groups for c in cols]
    best = best_values(rows, columns)
    out, notes, det_failed = [], [], []
    shared = any(r.get('shared_training') for r in rows)
    for r in rows:
        cells = [_cell(r, f, fmt, best) for f, _, fmt in columns]
        label = cells[0].text + (f' {SHARED_MARK}' if r.get('shared_training') else '')
        cells[0].text = label
        failed = r.get('status', 'ok') != 'ok'
        error = str(r.get('error', '') or '')
        if failed:
            notes.append(_sentence(f'{label} failed: {error or "no error recorded"}'))
        if r.get('det_status') == 'failed':
            det_failed.append(f"{label}: {str(r.get('det_error', '') or 'no error recorded').rstrip('.')}")
        out.append(TableRow(kind=r.get('kind', 'method'), label=label, failed=failed, error=error, cells=cells))
    if shared:
        notes.insert(0, f'{SHARED_MARK} several students of one training (e.g. SlimCLR widths): images seen and '
                        'train time are that one training\'s, shared by them, not per student.')
    if det_failed:
        notes.append('Detection failed for ' + '; '.join(det_failed) + '.')
    return Table(caption=caption, columns=columns, rows=out, notes=notes,
                 groups=[('', '', len(HEAD_COLUMNS))] + [(k, h, len(cols)) for k, h, cols in groups])


def best_rule(table: Table) -> str:
    """One sentence on how the best values are marked (shared by every format)."""
    lower = [h for (f, h, _) in table.columns if better(f) == 'min']
    return ('Bold: the best method per column (higher is better' +
            (f'; lower for {", ".join(lower)}' if lower else '') +
            '); the teacher and the raw-pixel floor are references, not ranked.')


def _md_escape(text: str) -> str:
    """One line of cell text: a newline (tracebacks in errors) would end the markdown row."""
    return ' '.join(str(text).split()).replace('|', '\\|')


def markdown_table(rows, caption: str = '') -> str:
    """A GitHub-markdown table of ``rows`` (teacher first, then methods in run order, floor last).

    GitHub markdown has no grouped header row, so a line above the table names the groups and their
    columns; best values are **bold**; failed rows say so in their first cell and in a note below.
    """
    table = build_table(rows, caption)
    body = []
    for row in table.rows:
        cells = [_md_escape(c.text) if not c.best else f'**{_md_escape(c.text)}**' for c in row.cells]
        if row.failed:  # the cell shows the start of the error; the note under the table has all of it
            error = _md_escape(row.error)
            cells[0] += f" (failed: {error[:160] + ' …' if len(error) > 160 else error})"
        body.append(cells)
    align = ['left' if fmt is None else 'right' for _, _, fmt in table.columns]
    text = tabulate(body, headers=[_md_escape(h) for _, h, _ in table.columns], tablefmt='pipe',
                    colalign=align, disable_numparse=True)
    spans, i = [], 0
    for _, header, span in table.groups:
        if header:
            cols = [h for _, h, _ in table.columns[i:i + span]]
            spans.append(f'**{header}**: ' + (', '.join(cols) if len(cols) <= 3 else f'{cols[0]} … {cols[-1]}'))
        i += span
    legend = 'Columns — ' + ' · '.join(spans) + '. ' + best_rule(table)
    notes = ''.join(f'\n{" ".join(n.split())}\n' for n in table.notes)  # one paragraph each
    head = f'{caption}\n\n' if caption else ''
    return f'{head}{legend}\n\n{text}\n{notes}'



def write_leaderboard(rows, out_dir, caption: str = '') -> str:
    """Write leaderboard.{md,csv,json,tex,html} into ``out_dir``; returns the markdown.

    Cheap (no plotting), so `benchmarks.bench` can call it after every row; the plots come from
    `benchmarks.reporting.report.write_reports`.
    """
    from benchmarks.reporting.formats import html_document, latex_table

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = sort_rows(rows)
    md = markdown_table(rows, caption)
    write_text(out_dir / 'leaderboard.md', md)
    write_text(out_dir / 'leaderboard.tex', latex_table(rows, caption))
    write_text(out_dir / 'leaderboard.html', html_document(rows, caption))
    write_text(out_dir / 'leaderboard.json', json.dumps(dict(caption=caption, rows=rows), indent=1, default=str))
    buf = io.StringIO()
    extra = [f for f, _, _ in metric_columns(rows) + cost_columns(rows) if f not in ROW_FIELDS]
    fields = ROW_FIELDS[:6] + extra + ROW_FIELDS[6:]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction='ignore')
    writer.writeheader()
    for r in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in r.items()})
    write_text(out_dir / 'leaderboard.csv', buf.getvalue())
    return md
