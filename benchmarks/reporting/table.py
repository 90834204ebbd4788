"""Result rows -> the `Table` every read format renders (markdown, LaTeX, HTML).

One `Table` is built by `build_table`, so the formats agree on columns (`benchmarks.reporting.columns`),
cell text and which cells are best. Rows of several seeds are first aggregated
(`benchmarks.reporting.aggregate`): a cell is ``mean ± h`` (h: half-width of the 95 % Student-t
interval over the seeds; the ``n`` column says how many), and method rows are compared seed by seed
with a reference row (▲ / ▼: significantly better / worse, paired t-test p < 0.05). The best *method*
value of each ranked column is bold, and so is every method whose interval overlaps the best one's
(a tie is shown as a tie); with one seed, values are compared as printed. The teacher, the
random-init student and the raw-pixel floor are references, never ranked.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from benchmarks.evals.base import Column
from benchmarks.reporting.aggregate import add_paired, aggregate
from benchmarks.reporting.columns import HEAD_COLUMNS, column_groups
from benchmarks.reporting.cost import with_teacher_cost
from benchmarks.stats import ALPHA, Interval, overlaps_best

KIND_ORDER = {'teacher': 0, 'method': 1, 'random_init': 2, 'floor': 3}
SEEDS_COLUMN = Column('n_seeds', 'n', 'd', '', None)
BETTER_MARK, WORSE_MARK = '▲', '▼'


def _fmt(value, fmt):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '–'
    if not fmt:
        return str(value)
    if fmt.endswith('d') and isinstance(value, float) and math.isfinite(value):
        value = round(value)   # a count averaged over seeds (e.g. teacher forwards that a cache saved in some)
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
    kind: str               # 'teacher' | 'method' | 'random_init' | 'floor' (all but 'method' are references)
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
LABELS_MARK = '‡'
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
    """Method rows that finished compete for 'best'; the teacher, the floors and rows trained on labels
    (the supervised reference) are references."""
    return row.get('kind', 'method') == 'method' and row.get('status', 'ok') == 'ok' and not row.get('uses_labels')


def _candidate(row, f, fmt) -> Interval:
    """What 'best' compares: mean ± h over seeds, or (one seed) the value as printed, so two cells that
    print the same number are both bold or neither."""
    half = row.get(f'{f}_ci95')
    if row.get('n_seeds', 1) > 1 and _finite(half):
        return Interval(float(row[f]), float(half), None, row['n_seeds'], [])
    return Interval(_shown(row[f], fmt), None, None, 1, [])


def best_rows(rows, columns) -> dict:
    """``{field: {index of a best row}}`` for every ranked column (``Column.better``): the contending
    rows (`_contender`) with the best mean and every one whose interval overlaps it
    (`benchmarks.stats.overlaps_best`); left out where fewer than two distinct values compete (nothing
    to choose between, e.g. one method, or the same GMACs for every student)."""
    out = {}
    for col in columns:
        f, direction = col.field, col.better
        if direction is None:
            continue
        cands = {i: _candidate(r, f, col.fmt) for i, r in enumerate(rows)
                 if _contender(r) and _finite(r.get(f)) and not _det_failed(r, f)}
        if len({c.mean for c in cands.values()}) >= 2:
            out[f] = overlaps_best(cands, direction)
    return out


def _marker(row, col) -> str:
    """▲ / ▼ when the paired comparison with the reference row is significant (p < `ALPHA`)."""
    p, diff = row.get(f'{col.field}_vs_ref_p'), row.get(f'{col.field}_vs_ref')
    if col.better is None or not _finite(p) or p >= ALPHA or not _finite(diff) or diff == 0:
        return ''
    return BETTER_MARK if (diff > 0) == (col.better == 'max') else WORSE_MARK


def _cell(row, col, is_best) -> Cell:
    field_name, fmt = col.field, col.fmt
    if _det_failed(row, field_name):
        return Cell('failed', numeric=True, title=str(row.get('det_error', '')))
    value = row.get(field_name)
    if not fmt:
        return Cell(_fmt(value, None))
    if not _finite(value):
        return Cell(_MISSING, numeric=True)
    text = _fmt(value, fmt)
    half = row.get(f'{field_name}_ci95')
    if _finite(half) and half > 0:  # over seeds, or over a single seed's detection trials
        text += f' ± {_fmt(half, fmt)}'
    return Cell(text + _marker(row, col), numeric=True, best=is_best and _contender(row))


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith(('.', '!', '?')) else text + '.'


def build_table(rows, caption: str = '', compare_to: str | None = None) -> Table:
    """The `Table` of ``rows`` (teacher first, then methods in run order, floor last).

    Args:
        rows: result rows (dicts); every field is optional. ``status`` != 'ok' marks a failed row (its
            ``error`` goes into a note); ``shared_training`` marks students of one training with
            `SHARED_MARK`; ``det_status == 'failed'`` makes the detection cells say 'failed'.
        caption: the evaluation protocol and budget (as `benchmarks.bench` writes it).
        compare_to: the reference row of the paired comparisons (default: the from-scratch baseline of
            the same network, `benchmarks.reporting.aggregate.default_reference`).
    """
    rows = sort_rows(aggregate(with_teacher_cost(rows)))
    groups = column_groups(rows)
    head = list(HEAD_COLUMNS) + ([SEEDS_COLUMN] if any(r.get('n_seeds', 1) > 1 for r in rows) else [])
    columns = head + [c for _, _, cols in groups for c in cols]
    rows = add_paired(rows, [c.field for c in columns if c.better is not None], compare_to)
    best = best_rows(rows, columns)
    out, notes, det_failed = [], [], []
    shared = any(r.get('shared_training') for r in rows)
    for i, r in enumerate(rows):
        cells = [_cell(r, c, i in best.get(c.field, ())) for c in columns]
        label = cells[0].text + (f' {SHARED_MARK}' if r.get('shared_training') else '') + \
            (f' {LABELS_MARK}' if r.get('uses_labels') else '')
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
    if any(r.get('uses_labels') for r in rows):
        notes.append(f'{LABELS_MARK} trained with the labels of the training set (cross-entropy): a reference for '
                     'what labels buy under the same budget, not ranked and not compared.')
    if det_failed:
        notes.append('Detection failed for ' + '; '.join(det_failed) + '.')
    return Table(caption=caption, columns=columns, rows=out, notes=notes,
                 groups=[('', '', len(head))] + [(k, h, len(cols)) for k, h, cols in groups])


def best_rule(table: Table) -> str:
    """How cells and best values read (shared by every format)."""
    lower = [c.header for c in table.columns if c.better == 'min']
    seeds = any(c.field == 'n_seeds' for c in table.columns)
    spread = ('Cells over several seeds are mean ± half-width of the 95 % Student-t interval (n seeds); ▲ / ▼: '
              'significantly better / worse than the reference row (paired t-test over seeds, p < 0.05; '
              'none with n < 3). ' if seeds else '')
    return (spread + 'Bold: the best method per column (higher is better' +
            (f'; lower for {", ".join(lower)}' if lower else '') +
            ('), and every method whose interval overlaps it' if seeds else ')') +
            '; the teacher, the random-init student, the raw-pixel floor and rows trained on labels are '
            'references, not ranked.')
