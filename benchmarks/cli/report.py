"""`tools/report.py` / ``sslcb-report``: regenerate tables and plots from run folders."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.reporting.report import ReportError, load_runs, write_reports

EXIT_BAD_INPUT = 2


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Regenerate the leaderboard tables (markdown, CSV, JSON, LaTeX booktabs, self-contained '
                    'HTML) and plots (accuracy vs GMACs/params with the Pareto front, training loss curves, '
                    'training cost; PNG at 150 dpi + SVG in <out>/plots/) from the rows.json of one or more '
                    'run folders. With several runs, their rows are merged into one comparison: each row is '
                    'labelled "<method> [<run label>]" so the same method under different runs sits side '
                    'by side, and the captions are joined.',
        epilog='examples:\n  python tools/report.py results/default-all-2\n'
               '  python tools/report.py results/e10 results/e100 --labels 10ep,100ep --out results/compare',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('runs', nargs='+', metavar='RUN_DIR', help='run folder(s) holding rows.json')
    parser.add_argument('--out', type=Path, default=None,
                        help='output folder (default: the run folder itself; required with several runs)')
    parser.add_argument('--labels', default=None,
                        help='comma-separated run labels, one per RUN_DIR (default: the folder names)')
    parser.add_argument('--compare-to', default=None, metavar='NAME',
                        help='the row every method row is compared with, seed by seed (paired t-test; default: '
                             'the from-scratch baseline of the same network and run); with several runs name '
                             "the row as the table shows it, e.g. 'moco_v2 [10ep]'")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    labels = args.labels.split(',') if args.labels is not None else None
    try:
        if len(args.runs) > 1 and args.out is None:
            raise ReportError(f'{len(args.runs)} run folders were given but no --out: a merged comparison '
                              f'belongs to none of them. Pass --out DIR for the merged tables and plots.')
        rows, caption = load_runs(args.runs, labels)
        if not rows:
            raise ReportError(f'{", ".join(args.runs)}: rows.json holds no rows yet, so there is nothing to '
                              f'report. Wait until the run has finished at least one method.')
        names = list(dict.fromkeys(str(r.get('method')) for r in rows if r.get('kind', 'method') == 'method'))
        if args.compare_to is not None and args.compare_to not in names:
            raise ReportError(f'--compare-to {args.compare_to!r} names no method row of these runs; the method rows '
                              f'are: {", ".join(names)}.')
    except ReportError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    out = args.out if args.out is not None else Path(args.runs[0])
    paths = write_reports(rows, out, caption, args.compare_to)
    print(f'{len(rows)} rows from {len(args.runs)} run(s) → {out}')
    for name in paths:
        print(f'  {name}')
    return 0
