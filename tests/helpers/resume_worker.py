"""tools/bench.py with one extra, deliberately slow method (for tests/benchmarks/engine/test_resume.py):
``slow_crd`` is CRD (whose negatives come from the global torch generator, so an exact resume needs the
generator state of the checkpoint) with a pause in every step, so a test can kill the process in the
middle of its training.

    python tests/helpers/resume_worker.py <tools/bench.py arguments>
"""
import sys
import time
from pathlib import Path

# run as a script, so tests.helpers.ROOT is not importable yet: the repository root is two folders up
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.cli.bench import main  # noqa: E402
from methods import METHODS  # noqa: E402
from methods.crd import CRD  # noqa: E402


@METHODS.register_module(name='slow_crd')
class SlowCRD(CRD):
    description = 'CRD with a 50 ms pause per step (tests only)'

    @classmethod
    def prepare(cls, ctx, hparams):
        return dict(num_samples=ctx.num_samples)

    def __init__(self, *args, num_negatives=16, **kwargs):
        super().__init__(*args, num_negatives=num_negatives, **kwargs)

    def loss(self, batch):
        time.sleep(0.05)
        return super().loss(batch)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
