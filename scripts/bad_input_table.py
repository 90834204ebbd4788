"""Run every bad input of tests/helpers/bad_inputs.py through tools/bench.py and write the table of what
each one answers (exit code, seconds, first line of the error), checking that none started any work.

    python scripts/bad_input_table.py [--out results/reference/crash-safety/bad_inputs.md]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_case(case, tmp: Path) -> dict:
    """Run one case in this process; returns its exit code, wall time, error text and whether work began."""
    from benchmarks.cli.bench import main
    name, kind, build, expected = case
    args = build(tmp)
    work = tmp / 'run'
    err = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(['--work-dir', str(work), *args])
    seconds = time.perf_counter() - start
    text = err.getvalue()
    message = text[text.find('error: '):] if 'error: ' in text else text
    return dict(name=name, kind=kind, code=code, seconds=seconds, message=message.strip(),
                first_line=message.strip().splitlines()[0] if message.strip() else '',
                matched=all(e in message for e in expected), work_started=work.exists())


def main(argv=None) -> int:
    from tabulate import tabulate

    from tests.helpers.bad_inputs import CASES
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=str(ROOT / 'results/reference/crash-safety/bad_inputs.md'))
    args = p.parse_args(argv)
    rows, bad = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(CASES):
            r = run_case(case, Path(tmp) / f'case{i}')
            ok = r['code'] == 2 and r['matched'] and not r['work_started']
            bad += not ok
            line = r['first_line'].removeprefix('error: ')
            rows.append([i + 1, r['name'], r['kind'], r['code'], f"{r['seconds']:.2f}", 'yes' if ok else 'NO',
                         (line[:160] + ' …') if len(line) > 160 else line])
            print(f"{i + 1:2d} {'ok ' if ok else 'BAD'} {r['name']}: {line[:100]}", file=sys.stderr)
    table = tabulate(rows, headers=['#', 'input', 'kind', 'exit', 's', 'refused before work', 'first line of the error'],
                     tablefmt='github')
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f'# Bad inputs to tools/bench.py\n\nWritten by `python scripts/bad_input_table.py`: {len(CASES)} '
                   f'inputs, {len(CASES) - bad} refused with exit code 2 before any work (no run folder created, '
                   f'no data generated, no model trained), each message containing what the test expects.\n\n'
                   f'{table}\n')
    print(f'wrote {out}', file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
