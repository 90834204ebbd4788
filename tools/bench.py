#!/usr/bin/env python
"""Entry point: see `benchmarks/cli/bench.py` or run with --help."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.cli.bench import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
