"""Result rows -> leaderboard files: markdown (printed and written), CSV, JSON, LaTeX, HTML.

The CSV/JSON keep everything, one row per network over its seeds (`benchmarks.reporting.aggregate`:
mean, ``_ci95``, ``_std``, every per-seed value in ``_seeds``, the paired comparison with the reference
row in ``_vs_ref*``; nested settings such as ``hparams`` and ``budget`` are JSON-encoded in CSV cells);
the tables people read (markdown here, LaTeX and HTML in `benchmarks.reporting.formats`) show the columns
a reader compares, grouped as accuracy / retrieval / detection / cost. ``rows.json`` keeps the rows of
every seed.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tabulate import tabulate

from benchmarks.engine.run_folder import write_text
from benchmarks.reporting.aggregate import add_paired, aggregate
from benchmarks.reporting.columns import TEACHER_COST_COLUMNS, evaluation_columns
from benchmarks.reporting.cost import with_teacher_cost
from benchmarks.reporting.formats import html_document, latex_table
from benchmarks.reporting.row import ROW_FIELDS, row_dicts
from benchmarks.reporting.table import best_rule, build_table, sort_rows

# per-metric companions of the CSV, in this order after each metric (those the rows have)
_COMPANIONS = ('_ci95', '_std', '_seeds', '_vs_ref', '_vs_ref_ci95', '_vs_ref_p', '_vs_ref_n')

def _md_escape(text: str) -> str:
    """One line of cell text: a newline (tracebacks in errors) would end the markdown row."""
    return ' '.join(str(text).split()).replace('|', '\\|')


def markdown_table(rows, caption: str = '', compare_to: str | None = None) -> str:
    """A GitHub-markdown table of ``rows`` (teacher first, then methods in run order, floor last).

    GitHub markdown has no grouped header row, so a line above the table names the groups and their
    columns; best values are **bold**; failed rows say so in their first cell and in a note below.
    """
    table = build_table(rows, caption, compare_to)
    body = []
    for row in table.rows:
        cells = [_md_escape(c.text) if not c.best else f'**{_md_escape(c.text)}**' for c in row.cells]
        if row.failed:  # the cell shows the start of the error; the note under the table has all of it
            error = _md_escape(row.error)
            cells[0] += f" (failed: {error[:160] + ' …' if len(error) > 160 else error})"
        body.append(cells)
    align = ['right' if c.fmt else 'left' for c in table.columns]
    text = tabulate(body, headers=[_md_escape(c.header) for c in table.columns], tablefmt='pipe',
                    colalign=align, disable_numparse=True)
    spans, i = [], 0
    for _, header, span in table.groups:
        if header:
            cols = [c.header for c in table.columns[i:i + span]]
            spans.append(f'**{header}**: ' + (', '.join(cols) if len(cols) <= 3 else f'{cols[0]} … {cols[-1]}'))
        i += span
    legend = 'Columns — ' + ' · '.join(spans) + '. ' + best_rule(table)
    notes = ''.join(f'\n{" ".join(n.split())}\n' for n in table.notes)  # one paragraph each
    head = f'{caption}\n\n' if caption else ''
    return f'{head}{legend}\n\n{text}\n{notes}'


def write_leaderboard(rows, out_dir, caption: str = '', compare_to: str | None = None) -> str:
    """Write leaderboard.{md,csv,json,tex,html} into ``out_dir``; returns the markdown.

    ``rows``: per-seed rows (``rows.json``); the files hold them aggregated over seeds, method rows
    compared with ``compare_to`` (default: the from-scratch baseline of the same network). Cheap (no
    plotting), so `benchmarks.bench` can call it after every row; the plots come from
    `benchmarks.reporting.report.write_reports`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = sort_rows(row_dicts(rows))
    md = markdown_table(rows, caption, compare_to)
    write_text(out_dir / 'leaderboard.md', md)
    write_text(out_dir / 'leaderboard.tex', latex_table(rows, caption, compare_to=compare_to))
    write_text(out_dir / 'leaderboard.html', html_document(rows, caption, compare_to=compare_to))
    metrics = [c.field for c in evaluation_columns(rows) if c.field not in ROW_FIELDS]
    agg = sort_rows(aggregate(with_teacher_cost(rows)))
    costs = [c.field for c in TEACHER_COST_COLUMNS if any(r.get(c.field) is not None for r in agg)]
    agg = add_paired(agg, metrics + ['train_time_s'], compare_to)
    write_text(out_dir / 'leaderboard.json', json.dumps(dict(caption=caption, rows=agg), indent=1, default=str))
    buf = io.StringIO()
    present = {k for r in agg for k in r}
    metrics = [m + suffix for m in metrics for suffix in ('',) + _COMPANIONS if m + suffix in present]
    fields = ROW_FIELDS[:6] + ['n_seeds', 'seeds', 'reference'] + metrics + costs + ROW_FIELDS[6:]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction='ignore')
    writer.writeheader()
    for r in agg:
        writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in r.items()})
    write_text(out_dir / 'leaderboard.csv', buf.getvalue())
    return md
