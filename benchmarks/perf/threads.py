"""Measurement 5, CPU threading: the same bare `compress_2q` step in
fresh processes under different OpenMP settings.

Why: torch (its libgomp) and faiss (its own bundled libgomp) each keep an OpenMP thread pool whose
idle threads spin before sleeping (``OMP_WAIT_POLICY`` unset = spin). On a machine whose cores are
shared -- with another process, or with the other pool once faiss has run a kNN search or k-means
in the same process -- a parallel region waits for descheduled spinning threads, and small torch
ops can take milliseconds instead of microseconds. Configurations: the inherited settings
(``default``), ``OMP_WAIT_POLICY=PASSIVE``, one thread (``OMP_NUM_THREADS=1``), and the first two
again after a faiss search in the same process. Informational (no target); the default suite's CPU
shapes (32 px, batch 64, ResNet-18 x0.125 student, ResNet-18 x0.5 teacher).
"""
from __future__ import annotations

import os
import time

from benchmarks.perf.common import PerfSettings, figure, measurement, model_shapes, run_worker

CONFIGS = {
    'default': ({}, False),
    'passive': ({'OMP_WAIT_POLICY': 'PASSIVE'}, False),
    'one_thread': ({'OMP_NUM_THREADS': '1'}, False),
    'faiss_loaded': ({}, True),
    'faiss_loaded_passive': ({'OMP_WAIT_POLICY': 'PASSIVE'}, True),
}
QUICK_CONFIGS = ('default', 'one_thread', 'faiss_loaded')


def measure(settings: PerfSettings) -> dict:
    load_before = os.getloadavg()
    begin = time.perf_counter()
    cpu = PerfSettings(device='cpu', quick=settings.quick, seed=settings.seed)
    spec = dict(device='cpu', quick=settings.quick, seed=settings.seed, method='compress_2q', overrides={},
                num_samples=1000, warmup=2 if settings.quick else 5, windows=settings.repeats,
                window_steps=2 if settings.quick else 10)
    figures, threads = {}, {}
    # quick: the two ends and the faiss path only (each configuration is a fresh interpreter)
    configs = {k: CONFIGS[k] for k in QUICK_CONFIGS} if settings.quick else CONFIGS
    for name, (env, load_faiss) in configs.items():
        # --threads applies to every configuration except the one that pins a single thread
        run_spec = dict(spec, load_faiss=load_faiss,
                        threads=None if name == 'one_thread' else settings.threads)
        res = run_worker('benchmarks.perf.scaling', run_spec, env=env)
        threads[name] = res['threads']
        extra = ', '.join(f'{k}={v}' for k, v in env.items()) or 'inherited environment'
        figures[f'{name}.step_ms'] = figure(res['step_ms'], 'ms',
                                            f'{name} ({extra}{", faiss loaded" if load_faiss else ""}, '
                                            f'{res["threads"]} threads): compress_2q step')
    ratio = [d / o for d, o in zip(figures['default.step_ms']['values'], figures['one_thread.step_ms']['values'])]
    figures['default_over_one_thread'] = figure(ratio, 'x', 'default / one-thread step time (< 1: threads help)')
    shapes = model_shapes(cpu)
    notes = ['a default/one-thread ratio above 1 means the extra threads cost more than they give on this machine '
             'right now (shared cores, spinning OpenMP pools); compare the loadavg fields',
             'OMP_WAIT_POLICY and OMP_NUM_THREADS must be set before torch is imported (the environment of the '
             'process), not from inside a running benchmark']
    run_settings = dict(configs={k: dict(env=e, load_faiss=f) for k, (e, f) in configs.items()}, threads=threads,
                        image_size=shapes['image_size'], batch_size=shapes['batch_size'], student=shapes['student'],
                        teacher=shapes['teacher'], warmup_steps=spec['warmup'], window_steps=spec['window_steps'])
    return measurement('CPU threading: OpenMP wait policy, thread count, faiss in the same process', run_settings,
                       figures, [], notes, time.perf_counter() - begin, load_before)
