"""Command line of `tools/perf.py` (kept here so the tests can call `main` in-process too)."""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.perf import MEASUREMENTS, PerfError, PerfSettings, parse_only, run_perf
from benchmarks.config import results_dir
from benchmarks.perf.output import fmt, write_outputs


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog='tools/perf.py',
        description='Measure the harness: runner overhead, data loading, evaluation speed, scaling and CPU '
                    'threading. Writes <out-dir>/<name>.json and <name>.md. A full CPU run takes about '
                    '10 minutes on 2 idle cores; --quick takes seconds (tiny sizes, for tests).')
    p.add_argument('--only', default=None,
                   help=f'comma-separated measurements (default: all): {", ".join(MEASUREMENTS)}')
    p.add_argument('--quick', action='store_true', help='tiny sizes and step counts (tests, smoke checks)')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'],
                   help='cpu: 32 px, batch 64, ResNet-18 x0.125 / x0.5; cuda: 224 px, batch 256, ResNet-18 / 50')
    p.add_argument('--repeats', type=int, default=3, help='R: repeats behind every median/min/max (default 3)')
    p.add_argument('--threads', type=int, default=None, help='torch intra-op threads (default: torch\'s choice)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--name', default=None, help='output file stem (default perf-<device>[-quick])')
    p.add_argument('--out-dir', default=str(results_dir() / 'perf'))
    p.add_argument('--work-dir', default=None, help='scratch folder (default: a temporary one, removed at the end)')
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    name = args.name or f'perf-{args.device}{"-quick" if args.quick else ""}'
    scratch = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix='sslcb-perf-'))
    try:
        names = parse_only(args.only)
        settings = PerfSettings(device=args.device, quick=args.quick, repeats=args.repeats, seed=args.seed,
                                work_dir=scratch, threads=args.threads)
        doc = run_perf(names, settings, log=lambda msg: print(msg, file=sys.stderr, flush=True),
                       on_progress=lambda partial: write_outputs(partial, args.out_dir, name))
    except PerfError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    finally:
        if not args.work_dir:
            shutil.rmtree(scratch, ignore_errors=True)
    json_path, md_path = write_outputs(doc, args.out_dir, name)
    for t in doc['targets']:
        print(f'{t["measurement"]:>10}  {t["name"]}: {fmt(t["value"])} {t["unit"]} (goal {t["op"]} '
              f'{fmt(t["threshold"])}) {"met" if t["met"] else "NOT MET"}')
    for m in doc['errors']:
        print(f'{m:>10}  FAILED: {doc["measurements"][m]["error"]}')
    print(f'wrote {json_path} and {md_path}')
    return 1 if doc['errors'] else 0
