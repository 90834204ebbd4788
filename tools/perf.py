#!/usr/bin/env python
"""Performance benchmark of the harness: see `benchmarks/perf/__init__.py` or run with --help."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.perf.cli import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
