"""Result rows -> leaderboard files: markdown (printed and written), CSV, JSON, LaTeX, HTML.

The CSV/JSON keep everything (nested settings such as ``hparams`` and ``budget`` are JSON-encoded in
CSV cells); the tables people read (markdown here, LaTeX and HTML in `benchmarks.reporting.formats`)
show the columns a reader compares, grouped as accuracy / retrieval / detection / cost.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tabulate import tabulate

from benchmarks.engine.run_folder import write_text
from benchmarks.reporting.columns import evaluation_columns
from benchmarks.reporting.formats import html_document, latex_table
from benchmarks.reporting.row import ROW_FIELDS, row_dicts
from benchmarks.reporting.table import best_rule, build_table, sort_rows

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


def write_leaderboard(rows, out_dir, caption: str = '') -> str:
    """Write leaderboard.{md,csv,json,tex,html} into ``out_dir``; returns the markdown.

    Cheap (no plotting), so `benchmarks.bench` can call it after every row; the plots come from
    `benchmarks.reporting.report.write_reports`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = sort_rows(row_dicts(rows))
    md = markdown_table(rows, caption)
    write_text(out_dir / 'leaderboard.md', md)
    write_text(out_dir / 'leaderboard.tex', latex_table(rows, caption))
    write_text(out_dir / 'leaderboard.html', html_document(rows, caption))
    write_text(out_dir / 'leaderboard.json', json.dumps(dict(caption=caption, rows=rows), indent=1, default=str))
    buf = io.StringIO()
    metrics = [c.field for c in evaluation_columns(rows) if c.field not in ROW_FIELDS]
    fields = ROW_FIELDS[:6] + metrics + ROW_FIELDS[6:]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction='ignore')
    writer.writeheader()
    for r in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in r.items()})
    write_text(out_dir / 'leaderboard.csv', buf.getvalue())
    return md
