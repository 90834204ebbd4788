"""benchmarks.cachefill: one writer per entry, complete-or-absent entries, concurrent processes."""
import json
import multiprocessing as mp
import os
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.cachefill import fill, lock_path, locked, temporary_sibling, write_bytes


def _slow_folder(tmp: Path, tag: str):
    tmp.mkdir()
    (tmp / 'a.txt').write_text(tag)
    time.sleep(0.05)
    (tmp / 'done.json').write_text('{}')


def test_fill_writes_once_and_reuses(tmp_path):
    calls = []

    def produce(tmp):
        calls.append(tmp)
        tmp.write_text('x')

    target = tmp_path / 'sub' / 'entry.txt'
    assert fill(target, produce) == target
    assert fill(target, produce) == target
    assert target.read_text() == 'x' and len(calls) == 1
    assert calls[0].parent == target.parent and calls[0].name.startswith('.entry.txt.')
    assert sorted(p.name for p in target.parent.iterdir()) == ['entry.txt', 'entry.txt.lock']


def test_failed_produce_leaves_nothing(tmp_path):
    target = tmp_path / 'entry'

    def produce(tmp):
        tmp.mkdir()
        (tmp / 'half').write_text('half')
        raise RuntimeError('killed half way')

    with pytest.raises(RuntimeError, match='half way'):
        fill(target, produce, complete=lambda p: (p / 'done.json').is_file())
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == ['entry.lock']


def test_stale_incomplete_folder_is_replaced(tmp_path):
    target = tmp_path / 'entry'
    target.mkdir()
    (target / 'a.txt').write_text('left by a killed writer')      # no done.json: incomplete
    fill(target, lambda tmp: _slow_folder(tmp, 'new'), complete=lambda p: (p / 'done.json').is_file())
    assert (target / 'a.txt').read_text() == 'new' and (target / 'done.json').is_file()


def test_temporary_names_are_unique(tmp_path):
    names = {temporary_sibling(tmp_path / 'x') for _ in range(100)}
    assert len(names) == 100 and all(str(os.getpid()) in n.name for n in names)


def test_write_bytes_replaces_atomically(tmp_path):
    path = tmp_path / 'state.json'
    write_bytes(path, b'{"a": 1}')
    write_bytes(path, b'{"a": 2}')
    assert json.loads(path.read_text()) == {'a': 2}
    assert [p.name for p in tmp_path.iterdir()] == ['state.json']


def test_locked_says_it_waits(tmp_path):
    target = tmp_path / 'entry'
    messages = []
    ctx = mp.get_context('fork')
    ready = ctx.Event()

    def hold():
        with locked(target):
            ready.set()
            time.sleep(0.5)

    p = ctx.Process(target=hold)
    p.start()
    ready.wait(10)
    with locked(target, messages.append, 'the thing'):
        pass
    p.join()
    assert len(messages) == 1 and 'waiting for another process that is writing the thing' in messages[0]
    assert str(lock_path(target)) in messages[0]


def _embedded_worker(cache: str, barrier, errors):
    from benchmarks.data.synthetic import SyntheticSpec, materialise
    os.environ['SSLCB_CACHE'] = cache
    spec = SyntheticSpec(num_classes=2, train_per_class=4, val_per_class=2, image_size=16)
    barrier.wait()
    try:
        root = materialise(spec)
        with np.load(root / 'train.npz') as d:
            assert d['images'].shape == (8, 16, 16, 3)
    except BaseException as exc:  # reported to the parent, which fails the test with it
        errors.put(f'{type(exc).__name__}: {exc}')


def test_two_processes_materialise_the_same_embedded_data(tmp_path):
    """Two processes filling the same empty cache at once (fixed temporary names made this fail with
    FileNotFoundError in 9 of 40 tries); scripts/concurrent_fill.py runs 40 pairs per writer."""
    ctx = mp.get_context('fork')
    errors = ctx.Queue()
    for trial in range(5):
        barrier = ctx.Barrier(2)
        cache = tmp_path / f'cache{trial}'
        procs = [ctx.Process(target=_embedded_worker, args=(str(cache), barrier, errors)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert all(p.exitcode == 0 for p in procs)
        assert not [f for f in (cache / 'embedded').iterdir() if f.name.endswith('.tmp')]
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == []
