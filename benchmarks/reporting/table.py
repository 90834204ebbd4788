"""Result rows -> the `Table` every read format renders (markdown, LaTeX, HTML).

One `Table` is built by `build_table`, so the formats agree on columns (`benchmarks.reporting.columns`),
cell text and which cells are best: the best *method* value of each ranked column, compared as
printed; the teacher and the raw-pixel floor are references, never ranked.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from benchmarks.reporting.columns import HEAD_COLUMNS, column_groups

KIND_ORDER = {'teacher': 0, 'method': 1, 'floor': 2}


def _fmt(value, fmt):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '–'
    if not fmt:
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
    columns: list           # [Column]
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
    (``Column.better``), left out where fewer than two distinct values compete (nothing to choose
    between, e.g. one method, or the same GMACs for every student)."""
    out = {}
    for col in columns:
        f, fmt, direction = col.field, col.fmt, col.better
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
    if not fmt:
        return Cell(_fmt(value, None))
    if not _finite(value):
        return Cell(_MISSING, numeric=True)
    text = _fmt(value, fmt)
    spread = row.get(f'{field_name}_std')
    if field_name.startswith('det_') and _finite(spread) and spread > 0:  # mean ± std over trials
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
    columns = list(HEAD_COLUMNS) + [c for _, _, cols in groups for c in cols]
    best = best_values(rows, columns)
    out, notes, det_failed = [], [], []
    shared = any(r.get('shared_training') for r in rows)
    for r in rows:
        cells = [_cell(r, c.field, c.fmt, best) for c in columns]
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
    lower = [c.header for c in table.columns if c.better == 'min']
    return ('Bold: the best method per column (higher is better' +
            (f'; lower for {", ".join(lower)}' if lower else '') +
            '); the teacher and the raw-pixel floor are references, not ranked.')
