"""Train one method under a budget with the mmengine Runner.

This module is the only place that owns the optimiser, the schedule, the seed, the data loader,
checkpoints, mixed precision and DDP: a method contributes only its model and its own
hyperparameters, so every method of a suite is trained under exactly the same budget:

    budget = dict(epochs=..., batch_size=..., optimizer=dict(type='SGD', lr=..., momentum=..., weight_decay=...),
                  schedule=dict(type='cosine' | 'step', warmup_epochs=..., milestones=[...], gamma=...),
                  num_workers=..., log_interval=..., checkpoint_interval=...,
                  amp=None | 'bf16' | 'fp16', channels_last=False, sync_bn=False,
                  views_per_image=None | K)   # K: view seeds cycle over K epochs (see EpochIndexSampler)

Distributed (``torchrun``/Slurm, see `benchmarks.engine.distributed`): ``batch_size`` is the *global* batch;
each of the W processes gets ``batch_size / W`` images, taken as its contiguous block of the
single-process global batch (`EpochIndexSampler`), and the methods all-gather keys before enqueueing,
so queues and the summed gradient are those of a single-process run with the same global batch. The
model is wrapped in mmengine's ``MMDistributedDataParallel`` with ``broadcast_buffers=False``: queues
are kept identical by the gathers (broadcasting a 128k-entry bank every step would cost more than the
step), BN running statistics stay per process (rank 0's are saved, as in mmengine's default). The
frozen teacher is never wrapped (methods hold it outside their module tree). ``sync_bn=True``
converts the student's BN layers to ``SyncBatchNorm`` (GPU only: PyTorch has no CPU SyncBN).

``amp`` runs forward passes under CUDA autocast in bf16 or fp16 (mmengine ``AmpOptimWrapper``, with a
dynamic loss scale) and ``channels_last`` stores the model and the input batches NHWC, which is what
tensor-core convolutions want. Both are GPU options; on CPU they are refused before training.

Checkpoints written here reload under torch's ``weights_only=True`` default. mmengine 0.10.7 pickles
its message hub (``HistoryBuffer`` objects whose state holds bound methods, i.e. ``builtins.getattr``,
plus numpy arrays and scalars) into every checkpoint; allow-listing ``getattr`` would defeat the point
of ``weights_only``, so `PlainCheckpointHook` stores that state as plain tensors and numbers and
rebuilds it on load. Nothing ever falls back to unsafe unpickling.
They are also written so that a kill at any moment leaves a resumable folder (temporary name, rename,
then the ``last_checkpoint`` pointer; `benchmarks.engine.checkpoint_files`).
"""
from __future__ import annotations

import contextlib
import io
import logging
import random
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from mmengine.hooks import Hook, RuntimeInfoHook
from mmengine.registry import HOOKS
from mmengine.logging import HistoryBuffer
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from tqdm import tqdm

from methods import get_method

from benchmarks.data.datasets import ViewsPreprocessor
from benchmarks.data.sources import VIEWS_ON
from benchmarks.engine.checkpoint_files import AtomicCheckpointHook
from benchmarks.engine.distributed import all_reduce_mean, dist_info
from benchmarks.errors import ConfigError, DivergenceError

_HISTORY = '__history_buffer__'


def _to_plain(obj):
    """Message-hub state -> tensors, numbers, strings and containers only."""
    if isinstance(obj, HistoryBuffer):
        log, count = obj.data
        return {_HISTORY: True, 'log': torch.as_tensor(np.asarray(log, dtype=np.float64)),
                'count': torch.as_tensor(np.asarray(count, dtype=np.int64)), 'max_length': int(obj.max_length)}
    if isinstance(obj, dict):
        return {k: _to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_plain(v) for v in obj)
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _from_plain(obj):
    if isinstance(obj, dict) and obj.get(_HISTORY):
        return HistoryBuffer(obj['log'].numpy().tolist(), obj['count'].numpy().tolist(), obj['max_length'])
    if isinstance(obj, dict):
        return {k: _from_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_from_plain(v) for v in obj)
    return obj


def rng_state() -> dict:
    """Python, numpy, torch (and CUDA) generator states as tensors/builtins (weights_only-loadable)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    out = dict(python=[version, list(internal), gauss_next], numpy=[kind, torch.from_numpy(keys.copy()), pos,
                                                                   has_gauss, gauss],
               torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out['cuda'] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict) -> None:
    version, internal, gauss_next = state['python']
    random.setstate((version, tuple(internal), gauss_next))
    kind, keys, pos, has_gauss, gauss = state['numpy']
    np.random.set_state((kind, keys.numpy(), pos, has_gauss, gauss))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


class PlainCheckpointHook(Hook):
    """Makes mmengine checkpoints loadable with ``torch.load(weights_only=True)`` (see module doc), and
    makes a resumed training continue exactly where the checkpoint was taken: the random generators
    (mmengine re-seeds them when it builds the runner, so a resumed run would otherwise replay the
    first epoch's random numbers: CRD's negatives, MoCo's BN shuffle), the loss curve, the epoch times
    and the wall time spent before the interruption are stored with the checkpoint."""

    priority = 'LOWEST'

    def __init__(self, progress: 'ProgressHook | None' = None):
        self.progress = progress
        self.resumed_wall_s = 0.0   # training seconds of earlier processes (from the checkpoint)
        self.session_start = None

    def before_train(self, runner):
        self.session_start = time.perf_counter()

    def before_save_checkpoint(self, runner, checkpoint):
        for key in ('message_hub', 'meta'):
            if key in checkpoint:
                checkpoint[key] = _to_plain(checkpoint[key])
        checkpoint['sslcb'] = dict(rng=rng_state(), wall_s=self.wall_s(),
                                   loss_curve=[list(p) for p in self.progress.loss_curve] if self.progress else [],
                                   epoch_times=list(self.progress.epoch_times) if self.progress else [])

    def after_load_checkpoint(self, runner, checkpoint):
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = _from_plain(checkpoint['message_hub'])
        state = checkpoint.get('sslcb')
        if state:
            set_rng_state(state['rng'])
            self.resumed_wall_s = float(state['wall_s'])
            if self.progress is not None:
                self.progress.loss_curve = [tuple(p) for p in state['loss_curve']]
                self.progress.epoch_times = list(state['epoch_times'])

    def wall_s(self) -> float:
        return self.resumed_wall_s + (time.perf_counter() - self.session_start if self.session_start else 0.0)


@HOOKS.register_module()
class IntervalRuntimeInfoHook(RuntimeInfoHook):
    """mmengine's RuntimeInfoHook, but the step's loss values go to the message hub only every
    ``interval`` iterations (and at the last one): the message hub converts tensors with ``.item()``,
    a host-device sync that would otherwise stall every GPU step. The logger reads the message hub at
    the same interval, so the logs lose only the window average."""

    def __init__(self, interval: int = 10):
        super().__init__()
        self.interval = interval

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if (runner.iter + 1) % self.interval == 0 or runner.iter + 1 == runner.max_iters:
            super().after_train_iter(runner, batch_idx, data_batch, outputs)


def resolve_device(name: str = 'auto') -> torch.device:
    if name == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    return torch.device(name)


class ProgressHook(Hook):
    """A tqdm bar over the whole training of one method; the loss is read only every ``interval``
    iterations (reading it forces a device sync).

    Divergence: every step folds ``isfinite(loss)`` into a flag on the device (no sync); the flag is
    read at the same intervals, and a non-finite loss stops training with `DivergenceError` naming
    the iterations (all processes of a distributed run agree before raising)."""

    priority = 'VERY_LOW'

    def __init__(self, desc: str, interval: int = 10):
        self.desc, self.interval = desc, interval
        self.bar = None
        self.loss_curve = []
        self.epoch_times = []   # wall seconds of each epoch (the first includes warm-up: cuDNN autotune)
        self._epoch_start = None
        self._finite = None     # device bool: every loss since the last check was finite
        self._checked = 0       # iteration of the last check

    def before_train_epoch(self, runner):
        self._epoch_start = time.perf_counter()

    def after_train_epoch(self, runner):
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()  # once per epoch: queued kernels belong to this epoch's time
        self.epoch_times.append(time.perf_counter() - self._epoch_start)

    def before_train(self, runner):
        self.bar = tqdm(total=runner.max_iters, desc=self.desc, unit='it', dynamic_ncols=True, leave=False,
                        mininterval=1.0, initial=runner.iter, disable=not dist_info().is_main)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.bar.update(1)
        if outputs:
            ok = torch.isfinite(outputs['loss'].detach())
            self._finite = ok if self._finite is None else self._finite & ok
        if self._finite is not None and ((runner.iter + 1) % self.interval == 0 or runner.iter + 1 == runner.max_iters):
            bad = all_reduce_mean(0.0 if bool(self._finite) else 1.0)
            if bad > 0:
                raise DivergenceError(f'the loss became non-finite (nan/inf) between iterations {self._checked + 1} and '
                                      f'{runner.iter + 1} of {runner.max_iters}')
            self._finite, self._checked = None, runner.iter + 1
        if outputs and (runner.iter + 1) % self.interval == 0:
            # the global batch's loss: each process holds the mean over its own shard
            loss = all_reduce_mean(float(outputs['loss'].detach()))
            self.loss_curve.append((runner.iter + 1, loss))
            self.bar.set_postfix(loss=f'{loss:.4f}', epoch=runner.epoch + 1)

    def after_train(self, runner):
        self.bar.close()


class TrainingProgressHook(Hook):
    """Tells the method how far training is (``Method.set_progress``) before every step, so progress-
    dependent schedules (SlimCLR slow start, MoCo v3 momentum ramp) follow the budget, also on resume;
    and calls ``Method.after_step`` after every optimiser step (the harness never accumulates gradients,
    so every training iteration is one step)."""

    priority = 'HIGH'

    @staticmethod
    def _method(runner):
        return runner.model.module if hasattr(runner.model, 'module') else runner.model

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._method(runner).set_progress(runner.iter, runner.max_iters)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._method(runner).after_step()


def _param_schedulers(budget: dict) -> list:
    sched = dict(budget.get('schedule', {}))
    epochs = budget['epochs']
    kind = sched.get('type', 'cosine')
    warm = sched.get('warmup_epochs', 0)
    out = []
    if warm:
        out.append(dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warm,
                        convert_to_iter_based=True))
    if kind == 'cosine':
        out.append(dict(type='CosineAnnealingLR', T_max=epochs - warm, by_epoch=True, begin=warm, end=epochs,
                        eta_min=0.0, convert_to_iter_based=True))
    elif kind == 'step':
        out.append(dict(type='MultiStepLR', milestones=list(sched['milestones']), gamma=sched.get('gamma', 0.1),
                        by_epoch=True, begin=warm, end=epochs))
    elif kind != 'constant':
        raise ValueError(f"budget.schedule.type must be 'cosine', 'step' or 'constant', got {kind!r}")
    return out


def _optimizer(params, cfg: dict) -> torch.optim.Optimizer:
    cfg = dict(cfg)
    kind = cfg.pop('type', 'SGD')
    if kind == 'SGD':
        return torch.optim.SGD(params, **cfg)
    if kind == 'AdamW':
        return torch.optim.AdamW(params, **cfg)
    raise ValueError(f"budget.optimizer.type must be 'SGD' or 'AdamW', got {kind!r}")


@dataclass
class TrainResult:
    method: object
    wall_time_s: float
    images_seen: int
    iterations: int
    peak_mem_mb: float
    work_dir: Path
    loss_curve: list = field(default_factory=list)
    final_loss: float = float('nan')
    epoch_times: list = field(default_factory=list)


AMP_DTYPES = {'bf16': 'bfloat16', 'fp16': 'float16'}


def gpu_option_problems(budget: dict, device: str = 'auto', where: str = 'budget') -> list[str]:
    """The GPU-only options of ``budget`` (amp, channels_last, sync_bn) set for a run that trains on the CPU."""
    dev = resolve_device(device)
    if dev.type == 'cuda':
        return []
    on = {'amp': budget.get('amp') in AMP_DTYPES, 'channels_last': budget.get('channels_last') is True,
          'sync_bn': budget.get('sync_bn') is True}
    return [f'{where}.{key} is a GPU option, but this run trains on {dev.type} (no CUDA device '
            f'{"is available" if not torch.cuda.is_available() else "selected"}); drop it '
            f'(--cfg-options {where}.{key}={"None" if key == "amp" else "False"}) or run on a GPU.'
            for key, flag in on.items() if flag]


def views_on_device(budget: dict, dev: torch.device) -> bool:
    """Where the batched views are made (``budget.views_on``): 'loader' in the collate function (the
    loader workers, on the CPU), 'device' by the data preprocessor on the training device, 'auto' (the
    default) on the device when it is a GPU. Only datasets with batched views (in memory, fixed size)
    have the choice; the pixels are the same up to float rounding."""
    where = budget.get('views_on') or 'auto'
    return where == 'device' or (where == 'auto' and dev.type == 'cuda')


def check_budget(budget: dict, device: str = 'auto', world_size: int = 1) -> None:
    """Budget options that cannot work here, refused before any training (ConfigError); the run's own
    checks (`benchmarks.checks`) report these with every other input problem first."""
    amp = budget.get('amp')
    if amp is not None and amp not in AMP_DTYPES:
        raise ConfigError(f"budget.amp={amp!r} is not one of None, 'bf16', 'fp16'.")
    problems = gpu_option_problems(budget, device)
    if problems:
        raise ConfigError(problems[0])
    if (budget.get('views_on') or 'auto') not in VIEWS_ON:
        raise ConfigError(f"budget.views_on={budget.get('views_on')!r} is not one of {', '.join(map(repr, VIEWS_ON))}.")
    if budget['batch_size'] % world_size:
        raise ConfigError(f"budget.batch_size={budget['batch_size']} is the global batch and must divide evenly over "
                          f'the {world_size} processes; choose a multiple of {world_size}.')


def build_method(name: str, method_cfg: dict, student: dict, teacher, device=None, prepared: dict | None = None,
                 channels_last: bool = False, teacher_outputs=None):
    """Instantiate a registered method with its hyperparameters (``method_cfg`` minus ``type``, bound
    to its ``__init__`` signature) and the extra kwargs its ``prepare`` returned; the bound values are
    ``method.hparams``. ``method_cfg['type']``, when present, names the registered class (a suite can
    run one class under several labels, e.g. ablation variants). ``teacher_outputs``: the callable that
    puts the teacher's outputs into each training batch (default: the teacher itself on every view)."""
    cls = get_method(method_cfg.get('type', name))
    hparams = cls.bind_hyperparameters({k: v for k, v in method_cfg.items() if k != 'type'})
    if teacher is not None and teacher_outputs is None and cls.uses_teacher_outputs:
        teacher_outputs = default_teacher_outputs(teacher)
    pre = ViewsPreprocessor(channels_last=channels_last, teacher_outputs=teacher_outputs,
                            teacher_views=cls.teacher_views)
    method = cls(student=dict(student), teacher=teacher, data_preprocessor=pre, **hparams, **(prepared or {}))
    method.hparams = hparams
    return method


def default_teacher_outputs(teacher):
    """``(index, views, only=None) -> [teacher(view) for view in views]``: the teacher on every view (or on the
    view numbers in ``only``, None for the others), unshared."""
    return lambda index, views, only=None: [teacher(x) if only is None or v in only else None
                                            for v, x in enumerate(views)]


def train_method(name: str, method_cfg: dict, student: dict, teacher, train_set, budget: dict,
                 work_dir: Path, seed: int, device: str = 'auto', desc: str | None = None,
                 prepared: dict | None = None, resume: bool = False, teacher_outputs=None,
                 hooks: tuple = ()) -> TrainResult:
    """Train method ``name`` (a registered name, or a label whose ``method_cfg['type']`` is one) on
    ``train_set`` under ``budget``; returns the trained method and its cost.

    ``resume=True`` continues from the last epoch checkpoint in ``work_dir`` when there is one (the
    same random numbers, loss curve and cumulative wall time as an uninterrupted run). ``teacher_outputs``
    and ``hooks``: how the teacher's outputs reach the batch (`build_method`) and the hooks that go with
    it (e.g. the shared-output store's epoch)."""
    dev = resolve_device(device)
    info = dist_info()
    check_budget(budget, device, info.world_size)
    channels_last = bool(budget.get('channels_last'))
    if teacher is not None:
        teacher.to(dev)
        if channels_last:
            teacher.to(memory_format=torch.channels_last)
    torch.manual_seed(seed)  # the method's own initialisation is part of the seeded run
    method = build_method(name, method_cfg, student, teacher, prepared=prepared, channels_last=channels_last,
                          teacher_outputs=teacher_outputs)
    if channels_last:
        method.to(memory_format=torch.channels_last)
    if budget.get('sync_bn') and info.distributed:
        method = torch.nn.SyncBatchNorm.convert_sync_batchnorm(method)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    bs, nw = budget['batch_size'], budget.get('num_workers', 0)
    if len(train_set) < bs:
        raise ValueError(f'the training set has {len(train_set)} images, fewer than budget.batch_size={bs}')
    per_rank = bs // info.world_size
    loader = dict(dataset=train_set,
                  sampler=dict(type='EpochIndexSampler', shuffle=True, seed=seed, batch_size=per_rank,
                               views_per_image=budget.get('views_per_image')),
                  batch_size=per_rank, num_workers=nw, persistent_workers=nw > 0, drop_last=True,
                  collate_fn=train_set.collate_fn(views_on_device=views_on_device(budget, dev)))
    optimizer = _optimizer(method.trainable_parameters(), budget['optimizer'])
    if budget.get('amp'):
        from mmengine.optim import AmpOptimWrapper  # asserts CUDA when built: check_budget ran first
        optim_wrapper = AmpOptimWrapper(optimizer=optimizer, dtype=AMP_DTYPES[budget['amp']])
    else:
        optim_wrapper = OptimWrapper(optimizer)
    dist_kwargs = dict(launcher='none')
    if info.distributed:  # the process group exists already (benchmarks.engine.distributed.init_distributed)
        # (mmengine reads the wrapper from the runner's cfg, not from a constructor argument)
        dist_kwargs = dict(launcher='pytorch', cfg=dict(model_wrapper_cfg=dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            device_ids=[info.local_rank] if dev.type == 'cuda' else None,
            find_unused_parameters=getattr(method, 'ddp_find_unused_parameters', False))))
    progress = ProgressHook(desc or name, interval=budget.get('log_interval', 10))
    plain = PlainCheckpointHook(progress)
    with contextlib.redirect_stdout(io.StringIO()):  # mmengine prints its environment report while building
        runner = Runner(
            model=method,
            work_dir=str(work_dir),
            train_dataloader=loader,
            train_cfg=dict(by_epoch=True, max_epochs=budget['epochs'], val_interval=10 ** 9),
            optim_wrapper=optim_wrapper,
            param_scheduler=_param_schedulers(budget),
            default_hooks=dict(
                runtime_info=dict(type='IntervalRuntimeInfoHook', interval=budget.get('log_interval', 10)),
                timer=dict(type='IterTimerHook'),
                logger=dict(type='LoggerHook', interval=budget.get('log_interval', 10)),
                param_scheduler=dict(type='ParamSchedulerHook'),
                checkpoint=AtomicCheckpointHook(interval=budget.get('checkpoint_interval', 1), keep=1,
                                                save_last=True),
                sampler_seed=dict(type='DistSamplerSeedHook'),
            ),
            custom_hooks=[progress, TrainingProgressHook(), plain, *hooks],
            randomness=dict(seed=seed, deterministic=False),
            # fixed input shapes: let cuDNN pick the fastest convolution algorithms once
            env_cfg=dict(cudnn_benchmark=dev.type == 'cuda', dist_cfg=dict(backend='nccl')),
            **dist_kwargs,
            log_level='INFO',
            resume=resume,
            experiment_name=desc or name,  # unique per run: mmengine keys its logger by this name
        )
    # keep the console for progress bars and tables; the full mmengine log goes to the run folder
    # (mmengine's own notices, e.g. "dataset has no metainfo", stay in the log file too)
    for handler in runner.logger.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setStream(sys.stderr)
            handler.setLevel(logging.ERROR)
    if dev.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(dev)
    runner.train()
    wall = plain.wall_s()
    iters = runner.iter
    if dev.type == 'cuda':
        peak = torch.cuda.max_memory_allocated(dev) / 2 ** 20
    else:  # process-wide peak RSS (Linux reports KiB); per-method peaks are not separable on CPU
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    method = runner.model.module if hasattr(runner.model, 'module') else runner.model
    method.eval()
    curve = progress.loss_curve
    return TrainResult(method=method, wall_time_s=wall, images_seen=iters * bs, iterations=iters,
                       peak_mem_mb=peak, work_dir=work_dir, loss_curve=curve, epoch_times=progress.epoch_times,
                       final_loss=curve[-1][1] if curve else float('nan'))
