"""Two processes filling the same empty cache entry at the same moment, many times, for every kind of
shared state: the figure that the cache-fill primitive (benchmarks/cachefill.py) holds.

    python scripts/concurrent_fill.py [--pairs 40] [--out results/reference/crash-safety/concurrent_fill.json]

Each pair forks two processes that wait on one barrier and then fill the same entry of a fresh cache:
the embedded data, the embedded detection data, a prepared (k-means-like) result and a disk-backed
teacher-output store (both processes write the same slots, then mark them complete). A pair fails when
either process raises or exits non-zero, or when the entry read back afterwards is not the expected one.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _embedded(cache: Path):
    import numpy as np

    from benchmarks.data.synthetic import SyntheticSpec, materialise
    root = materialise(SyntheticSpec(num_classes=3, train_per_class=4, val_per_class=2, image_size=16), cache)
    with np.load(root / 'train.npz') as d:
        assert d['images'].shape == (12, 16, 16, 3)


def _detection(cache: Path):
    from benchmarks.data.detection import DetectionSpec, materialise_detection
    root = materialise_detection(DetectionSpec(num_classes=3, train_images=4, val_images=2, image_size=32), cache)
    assert json.loads((root / 'done.json').read_text())['counts']['train']['images'] == 4


def _prepared(cache: Path):
    import torch

    from benchmarks.cachefill import fill
    path = cache / 'prepared' / 'kmeans' / 'entry.pt'

    def produce(tmp):
        time.sleep(0.01)   # a computation: long enough for the other process to arrive
        torch.save(dict(centroids=torch.arange(12.0).reshape(3, 4)), tmp)

    fill(path, produce, complete=lambda p: p.is_file())
    assert torch.load(path, weights_only=True)['centroids'].sum().item() == 66.0


def _teacher_outputs(cache: Path):
    import torch

    from benchmarks.teachers.outputs import TeacherOutputCache
    store = TeacherOutputCache(num_samples=16, slots=2, dims=dict(backbone=8, head=4), storage='disk',
                               folder=cache / 'teacher_outputs' / 'key')
    index = torch.arange(16)
    out = dict(backbone=torch.ones(16, 8), head=torch.full((16, 4), 2.0))
    for slot in (0, 1):
        store.put(('mocov2', 0), slot, index, out)
        store.stream(('mocov2', 0)).mark_complete(slot)
    again = TeacherOutputCache(num_samples=16, slots=2, dims=dict(backbone=8, head=4), storage='disk',
                               folder=cache / 'teacher_outputs' / 'key')
    got = again.get(('mocov2', 0), 1, index)
    assert got is not None and got['backbone'].sum().item() == 128 and got['head'].sum().item() == 128


KINDS = {'embedded data': _embedded, 'detection data': _detection, 'prepared result': _prepared,
         'teacher-output store': _teacher_outputs}


def _worker(kind: str, cache: str, barrier, errors):
    os.environ['OMP_NUM_THREADS'] = '1'
    barrier.wait()
    try:
        KINDS[kind](Path(cache))
    except BaseException:
        errors.put(f'{kind}: {traceback.format_exc(limit=3)}')
        raise SystemExit(1)


def run_pairs(pairs: int, root: Path) -> dict:
    ctx = mp.get_context('fork')
    results = {}
    for kind in KINDS:
        failures, messages = 0, []
        start = time.perf_counter()
        for i in range(pairs):
            cache = root / kind.replace(' ', '_') / str(i)
            errors, barrier = ctx.Queue(), ctx.Barrier(2)
            procs = [ctx.Process(target=_worker, args=(kind, str(cache), barrier, errors)) for _ in range(2)]
            for p in procs:
                p.start()
            for p in procs:
                p.join(120)
            bad = [p.exitcode for p in procs if p.exitcode != 0]
            while not errors.empty():
                messages.append(errors.get())
            if bad:
                failures += 1
            leftovers = [str(p) for p in cache.rglob('*.tmp')]
            if leftovers:
                failures += not bad
                messages.append(f'temporary files left: {leftovers}')
        results[kind] = dict(pairs=pairs, failures=failures, seconds=round(time.perf_counter() - start, 1),
                             errors=messages[:3])
        print(f'{kind}: {pairs} pairs, {failures} failures', file=sys.stderr)
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--pairs', type=int, default=40)
    p.add_argument('--out', default=str(ROOT / 'results/reference/crash-safety/concurrent_fill.json'))
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = run_pairs(args.pairs, Path(tmp))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(script='scripts/concurrent_fill.py', results=results), indent=1) + '\n')
    print(f'wrote {out}', file=sys.stderr)
    return 1 if any(r['failures'] for r in results.values()) else 0


if __name__ == '__main__':
    sys.exit(main())
