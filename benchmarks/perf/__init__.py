"""The project's performance benchmark (`tools/perf.py`): what the harness costs, where the time of
a training step and of an evaluation goes, and how both scale.

Measurements (``--only`` names; each module's docstring says exactly what it times):

* ``harness``     `harness`: Runner + hooks vs a bare PyTorch loop, per step (target <= 1.05x)
* ``data``        `data_pipeline`: share of step time waiting for data, embedded vs JPEG ImageFolder
                  (target <= 10 % on the embedded default)
* ``evaluation``  `evaluation`: extraction images/s, kNN / linear / retrieval / CA seconds on 50k x 512,
                  kNN similarity throughput vs matmul (>= 50 %), cached vs augmented probe (>= 20x)
* ``scaling``     `scaling`: step time and peak memory vs bank size and dataset size, fixed cost per method
* ``threads``     `threads`: the same step under OpenMP settings (spinning thread pools, faiss loaded)
* ``data_path``   `data_path`: JPEG folder -> two 224 px views, images/s per core, per recipe: the crop
                  path (``data.decode='crop'``) vs torchvision v2 per sample (target >= 3x for mocov2)
* ``e2e``         `e2e`: compress_2q R-50 -> R-18 from a JPEG folder (crop decode, views on the device), the
                  harness vs a bare PyTorch loop on the same batches and precision, GPU utilisation; only
                  when named (``--only e2e``, meant for ``--device cuda``; target harness/bare <= 1.05)
* ``suite_epoch`` `suite_epoch`: training images/s of cifar100_resnet18 (compress_2q) on native CIFAR-100
                  files at the real size; only when named (``--only suite_epoch``: minutes per repeat)

Every figure is the median, min and max over R repeats (`common.figure`); the result is one JSON file
(`output.SCHEMA_VERSION`) and a Markdown summary with the targets (`output`). ``evaluation`` runs
last whatever ``--only`` says: it loads faiss (a second OpenMP runtime) into this process, which the
``threads`` measurement shows can slow torch down, and the other in-process measurements must not
inherit that.
"""
from __future__ import annotations

import importlib
import os
import time
import traceback

from benchmarks.perf.common import PerfError, PerfSettings, check_device, machine_info

__all__ = ['MEASUREMENTS', 'PerfError', 'PerfSettings', 'parse_only', 'run_perf']

# name -> module; the order is the run order (see module doc for why evaluation is last)
MEASUREMENTS = {'harness': 'harness', 'data': 'data_pipeline', 'scaling': 'scaling', 'threads': 'threads',
                'data_path': 'data_path', 'suite_epoch': 'suite_epoch', 'e2e': 'e2e', 'evaluation': 'evaluation'}
# run only when named in --only: minutes of real-size training (about 6 min per repeat on 2 CPU cores)
OPT_IN = ('suite_epoch', 'e2e')


def parse_only(text: str | None) -> list[str]:
    """``'harness,data'`` -> validated names in run order; None or '' -> all."""
    if not text:
        return [n for n in MEASUREMENTS if n not in OPT_IN]
    names = [s.strip() for s in text.split(',') if s.strip()]
    unknown = [n for n in names if n not in MEASUREMENTS]
    if unknown or not names:
        raise PerfError(f'--only names unknown measurement(s) {", ".join(unknown) or "(none)"}; valid: '
                        f'{", ".join(MEASUREMENTS)} (comma-separated).')
    return [n for n in MEASUREMENTS if n in names]


def run_perf(names: list[str], settings: PerfSettings, log=print, on_progress=None) -> dict:
    """Run the measurements ``names`` and return the result document (see `output.build_document`).

    A measurement that raises is recorded with its error and traceback and the others still run;
    the caller decides the exit status from ``document['errors']``. ``on_progress(document)`` is
    called after every measurement with the document so far (``complete=False`` until the last), so
    a run that is killed part-way still leaves the measurements it finished.
    """
    import torch

    from benchmarks.perf.output import build_document
    check_device(settings.device)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    if settings.repeats < 1:
        raise PerfError(f'--repeats must be >= 1, got {settings.repeats}.')
    machine = machine_info(settings.device)
    results = {}
    start = time.perf_counter()
    for name in names:
        log(f'[perf] {name} ...')
        t = time.perf_counter()
        try:
            module = importlib.import_module(f'{__name__}.{MEASUREMENTS[name]}')
            results[name] = module.measure(settings)
        except Exception as exc:  # noqa: BLE001 -- one failed measurement must not lose the others
            results[name] = dict(title=name, error=f'{type(exc).__name__}: {exc}',
                                 traceback=traceback.format_exc(limit=8), loadavg_after=list(os.getloadavg()))
        log(f'[perf] {name} done in {time.perf_counter() - t:.1f} s'
            + (f' -- FAILED: {results[name]["error"]}' if 'error' in results[name] else ''))
        if on_progress is not None and len(results) < len(names):
            on_progress(build_document(results, settings, machine, names, time.perf_counter() - start,
                                       complete=False))
    return build_document(results, settings, machine, names, time.perf_counter() - start)
