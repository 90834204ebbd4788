"""The detection fine-tune subprocess: ``python -m benchmarks.evals.detection_worker --help``.

A module of its own, so that running it as ``__main__`` does not execute (and register) the
`benchmarks.evals.detection` evaluator a second time; the work is `benchmarks.evals.detection.main`.
"""
import sys

from benchmarks.evals.detection import main

if __name__ == '__main__':
    sys.exit(main())
