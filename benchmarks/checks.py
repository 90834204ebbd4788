"""Every value of a run's input, checked before any work and reported together.

`input_problems` goes through the resolved config section by section — the budget and the teacher's
training budget (types, ranges, divisibility, the optimiser's and schedule's names and keys), the data
section, the student and teacher architectures, every method's hyperparameters
(`methods.Method.check_hyperparameters`), the evaluations, paths and sizes — and returns one sentence
per problem. `environment_problems` then asks what this machine cannot do (a GPU-only option without
a GPU, the detection stack not installed): those come after the input problems, so a misspelt method
is never hidden behind a missing library. `check_run_input` raises one `ConfigError` listing all of
them; with a single problem the message is that problem's paragraph.
"""
from __future__ import annotations

import inspect
from pathlib import Path

from benchmarks.errors import ConfigError, DataError

OPTIMIZERS = ('SGD', 'AdamW')
SCHEDULES = ('cosine', 'step', 'constant')
AMP = (None, 'bf16', 'fp16')


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _need(problems: list, ok: bool, key: str, value, what: str) -> bool:
    if not ok:
        problems.append(f'{key}={value!r} must be {what}')
    return ok


def _optimizer_class(kind: str):
    import torch
    return {'SGD': torch.optim.SGD, 'AdamW': torch.optim.AdamW}[kind]


def budget_problems(budget: dict, where: str = 'budget', world_size: int = 1) -> list[str]:
    """The training budget ``budget`` (or a teacher's ``teacher.train``)."""
    p: list[str] = []
    epochs = budget.get('epochs')
    _need(p, _int(epochs) and epochs >= 1, f'{where}.epochs', epochs, 'an integer >= 1')
    bs = budget.get('batch_size')
    if _need(p, _int(bs) and bs >= 1, f'{where}.batch_size', bs, 'an integer >= 1') and bs % world_size:
        p.append(f'{where}.batch_size={bs} is the global batch and must divide evenly over the {world_size} '
                 f'processes; choose a multiple of {world_size}')
    opt = dict(budget.get('optimizer') or {})
    kind = opt.pop('type', 'SGD')
    if _need(p, kind in OPTIMIZERS, f'{where}.optimizer.type', kind, f'one of {", ".join(OPTIMIZERS)}'):
        accepted = set(inspect.signature(_optimizer_class(kind)).parameters) - {'params'}
        unknown = sorted(set(opt) - accepted)
        if unknown:
            p.append(f'{where}.optimizer has key(s) {", ".join(unknown)} that torch.optim.{kind} does not take '
                     f'(it takes {", ".join(sorted(accepted))})')
    lr = opt.get('lr')
    _need(p, _num(lr) and lr > 0, f'{where}.optimizer.lr', lr, 'a number > 0')
    if 'momentum' in opt:
        _need(p, _num(opt['momentum']) and 0 <= opt['momentum'] < 1, f'{where}.optimizer.momentum', opt['momentum'],
              'a number in [0, 1)')
    if 'weight_decay' in opt:
        _need(p, _num(opt['weight_decay']) and opt['weight_decay'] >= 0, f'{where}.optimizer.weight_decay',
              opt['weight_decay'], 'a number >= 0')
    sched = dict(budget.get('schedule') or {})
    stype = sched.get('type', 'cosine')
    _need(p, stype in SCHEDULES, f'{where}.schedule.type', stype, f'one of {", ".join(SCHEDULES)}')
    warm = sched.get('warmup_epochs', 0)
    if _need(p, _int(warm) and warm >= 0, f'{where}.schedule.warmup_epochs', warm, 'an integer >= 0') \
            and _int(epochs) and epochs >= 1 and warm >= epochs:
        p.append(f'{where}.schedule.warmup_epochs={warm} must be smaller than {where}.epochs={epochs}')
    if stype == 'step':
        ms = sched.get('milestones')
        if _need(p, isinstance(ms, (list, tuple)) and ms and all(_int(m) and m >= 1 for m in ms),
                 f'{where}.schedule.milestones', ms, 'a non-empty list of epochs (integers >= 1)') and _int(epochs):
            if max(ms) >= epochs:
                p.append(f'{where}.schedule.milestones={list(ms)} has an epoch >= {where}.epochs={epochs}')
    for key, lo in (('num_workers', 0), ('log_interval', 1), ('checkpoint_interval', 1)):
        if key in budget:
            _need(p, _int(budget[key]) and budget[key] >= lo, f'{where}.{key}', budget[key], f'an integer >= {lo}')
    vpi = budget.get('views_per_image')
    if vpi is not None:
        _need(p, _int(vpi) and vpi >= 1, f'{where}.views_per_image', vpi, 'None or an integer >= 1')
    if 'amp' in budget:
        _need(p, budget['amp'] in AMP, f'{where}.amp', budget['amp'], "None, 'bf16' or 'fp16'")
    if budget.get('views_on') is not None:
        from benchmarks.data.sources import VIEWS_ON
        _need(p, budget['views_on'] in VIEWS_ON, f'{where}.views_on', budget['views_on'],
              'one of ' + ', '.join(map(repr, VIEWS_ON)))
    for key in ('channels_last', 'sync_bn'):
        if key in budget:
            _need(p, isinstance(budget[key], bool), f'{where}.{key}', budget[key], 'True or False')
    return p


def arch_problems(arch: dict, where: str) -> list[str]:
    """A backbone spec (``student``, ``teacher.arch``): a registered name, a width > 0, a bool stem flag."""
    from methods.backbones import list_backbones
    p: list[str] = []
    if arch.get('arch') not in list_backbones():
        p.append(f"{where}.arch={arch.get('arch')!r} is not a known backbone; valid: {', '.join(list_backbones())}")
    _need(p, _num(arch.get('width', 1.0)) and arch.get('width', 1.0) > 0, f'{where}.width', arch.get('width'),
          'a number > 0')
    _need(p, isinstance(arch.get('small_input', False), bool), f'{where}.small_input', arch.get('small_input'),
          'True or False')
    return p


def data_problems(data: dict) -> list[str]:
    """The values of the data section (not the folder's contents: `benchmarks.plan.training_set_size`)."""
    p: list[str] = []
    from benchmarks.data.sources import DECODE, KINDS, TRAIN_SPLITS
    kind = data.get('type')
    if not _need(p, kind in KINDS, 'data.type', kind, 'one of ' + ', '.join(repr(k) for k in KINDS)):
        return p
    size = data.get('image_size')
    _need(p, _int(size) and size >= 16, 'data.image_size', size, 'an integer >= 16 (pixels)')
    if kind == 'embedded':
        from benchmarks.data.synthetic import SHAPE_NAMES
        n = data.get('num_classes')
        _need(p, _int(n) and 2 <= n <= len(SHAPE_NAMES), 'data.num_classes', n,
              f'an integer in [2, {len(SHAPE_NAMES)}] (the shapes the generator draws)')
        for key in ('train_per_class', 'val_per_class'):
            _need(p, _int(data.get(key)) and data[key] >= 1, f'data.{key}', data.get(key), 'an integer >= 1')
        _need(p, _int(data.get('seed', 0)) and data.get('seed', 0) >= 0, 'data.seed', data.get('seed'),
              'an integer >= 0')
        for key in ('clutter_lines', 'clutter_blobs'):
            if key in data:
                _need(p, _int(data[key]) and data[key] >= 0, f'data.{key}', data[key], 'an integer >= 0')
        if 'noise_std' in data:
            _need(p, _num(data['noise_std']) and data['noise_std'] >= 0, 'data.noise_std', data['noise_std'],
                  'a number >= 0 (grey levels)')
        for key in ('class_colour_prob', 'class_texture_prob'):
            if key in data:
                _need(p, _num(data[key]) and 0 <= data[key] <= 1, f'data.{key}', data[key], 'a probability in [0, 1]')
    if kind == 'stl10' and data.get('train_split') is not None:
        _need(p, data['train_split'] in TRAIN_SPLITS, 'data.train_split', data['train_split'],
              ' or '.join(repr(s) for s in TRAIN_SPLITS))
    if data.get('decode') is not None:
        _need(p, data['decode'] in DECODE, 'data.decode', data['decode'], ' or '.join(map(repr, DECODE)))
    for key in ('classes_file', 'val_labels'):
        if data.get(key) and not Path(data[key]).is_file():
            p.append(f'data.{key}={data[key]!r} is not a file; give an existing file or leave data.{key} unset.')
    from benchmarks.data.imagefolder import check_options
    try:
        check_options(data.get('verify_images', 'header'), data.get('on_corrupt', 'fail'))
    except (ConfigError, DataError) as exc:
        p.append(str(exc))
    return p


def method_problems(cfg) -> list[str]:
    """Method names against the registry, their hyperparameter names and values."""
    from methods import get_method, list_methods
    p: list[str] = []
    unknown = [m for m in cfg.methods if cfg.method_cfgs[m]['type'] not in list_methods()]
    if unknown:
        p.append(f'unknown method(s) {", ".join(unknown)}; registered methods: {", ".join(list_methods())} '
                 f"(or 'all', or a variant label defined in the suite's method_cfgs with a type). "
                 f'See tools/bench.py --list.')
    for name in cfg.methods:
        if name in unknown:
            continue
        cls = get_method(cfg.method_cfgs[name]['type'])
        given = {k: v for k, v in cfg.method_cfgs[name].items() if k != 'type'}
        try:
            values = cls.bind_hyperparameters(given)
        except ValueError as exc:
            p.append(f'method_cfgs.{name}: {exc}. Fix the name in the suite config or --cfg-options')
            continue
        p.extend(f'method_cfgs.{name}.{problem}' for problem in cls.check_hyperparameters(values))
    return p


def compare_to_problem(cfg) -> str | None:
    ref = cfg.get('compare_to')
    if ref is not None and not any(ref == m or str(ref).startswith(f'{m} ') for m in cfg.methods):
        return (f'--compare-to {ref!r} is not a method of this run ({", ".join(cfg.methods)}); name one of '
                f"them (a row label such as 'slimclr w0.25' works too), or leave it out to compare with "
                f'the from-scratch baseline.')
    return None


def training_set_size(cfg) -> int:
    """Images in the training split, after the structure check of the dataset's files (and, for image
    files, the ``data.verify_images`` / ``data.on_corrupt`` check): `benchmarks.data.sources`."""
    from benchmarks.data.sources import training_images
    if cfg.data.type != 'embedded' and not cfg.data.get('root'):
        from benchmarks.data.sources import KINDS
        what = cfg.data.get('description') or KINDS[cfg.data.type].title
        raise DataError(f"the {cfg.get('suite', 'chosen')} suite trains on {what}, and no dataset folder was given. "
                        f'Pass it with --data-root DIR ({KINDS[cfg.data.type].layout}); nothing is downloaded.')
    return training_images(cfg.data.to_dict())


def size_problems(cfg, n_train: int) -> list[str]:
    """Sizes that only make sense below the training-set size ``n_train``."""
    problems = []
    if _int(cfg.budget.get('batch_size')) and cfg.budget.batch_size > n_train:
        problems.append(f'budget.batch_size={cfg.budget.batch_size} exceeds the {n_train} training images.')
    limits = {'queue_size': (n_train, 'the bank would hold stale copies of the same images'),
              'bank_size': (n_train, 'the bank would hold stale copies of the same images'),
              'num_negatives': (n_train - 1, 'negatives are other training images'),
              'num_clusters': (n_train, 'k-means needs at least one image per cluster'),
              'bag_size': (n_train - 1, 'a bag holds other training images')}
    for name, hp in cfg.method_cfgs.items():
        for key, (limit, why) in limits.items():
            value = hp.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > limit:
                problems.append(f'method_cfgs.{name}.{key}={value} is too large for the training set ({n_train} '
                                f'images): {why}. Set it to at most {limit} with --cfg-options '
                                f'method_cfgs.{name}.{key}=N.')
    return problems


def teacher_file_problems(cfg) -> list[str]:
    problems = []
    if cfg.teacher.checkpoint and not Path(cfg.teacher.checkpoint).is_file():
        problems.append(f'--teacher {cfg.teacher.checkpoint} does not exist. Pass an existing checkpoint, or '
                        f'leave --teacher out to train and cache a MoCo v2 teacher on the suite data.')
    if cfg.teacher.get('required') and not cfg.teacher.checkpoint:
        what = cfg.teacher.get('description') or 'a teacher checkpoint'
        problems.append(f"the {cfg.get('suite', 'chosen')} suite distils from {what}; pass that file with "
                        f"--teacher PATH (this suite does not train a stand-in teacher).")
    return problems


def input_problems(cfg, world_size: int = 1) -> list[str]:
    """Every problem with the resolved config ``cfg`` and the files it names (see module doc)."""
    from benchmarks.evals.suite import EvalSuite
    p = method_problems(cfg)
    ref = compare_to_problem(cfg)
    if ref:
        p.append(ref)
    _need(p, _int(cfg.get('seed')) and cfg.seed >= 0, 'seed', cfg.get('seed'), 'an integer >= 0')
    p += budget_problems(cfg.budget.to_dict(), 'budget', world_size)
    p += arch_problems(cfg.student.to_dict(), 'student')
    if not cfg.teacher.get('checkpoint'):
        p += arch_problems(cfg.teacher.arch.to_dict(), 'teacher.arch')
        p += budget_problems(cfg.teacher.train.to_dict(), 'teacher.train', world_size)
    data = data_problems(cfg.data.to_dict())
    p += data
    if not data:
        try:
            n_train = training_set_size(cfg)
        except (ConfigError, DataError) as exc:
            p.append(str(exc))
        else:
            p += size_problems(cfg, n_train)
    p += EvalSuite.check(cfg.evals.to_dict())
    p += teacher_file_problems(cfg)
    return [x.rstrip('.') + '.' for x in p]


def environment_problems(cfg) -> list[str]:
    """What this machine cannot do for this input: GPU-only options without a GPU, a missing library."""
    import torch

    from benchmarks.engine.runner import gpu_option_problems
    from benchmarks.evals.suite import EvalSuite
    p: list[str] = []
    device = str(cfg.get('device', 'auto'))
    if device != 'auto':
        try:
            torch.device(device)
        except RuntimeError:
            p.append(f"device={device!r} is not a device name; use 'auto', 'cpu', 'cuda' or 'cuda:N'.")
    if device.startswith('cuda') and not torch.cuda.is_available():
        p.append(f"device={device!r} needs a CUDA GPU and this machine has none; use device='auto' or 'cpu'.")
    if not p:   # a device this machine has: which options need one it lacks
        for where, budget in (('budget', cfg.budget), ('teacher.train', cfg.teacher.train)):
            p += gpu_option_problems(budget.to_dict(), device, where)
    p += EvalSuite.environment(cfg.evals.to_dict())
    if cfg.data.get('decode') == 'dali':
        from benchmarks.data.dali import INSTALL, dali_installed
        if not dali_installed():
            p.append(f"data.decode='dali' needs NVIDIA DALI, which is not installed here: {INSTALL}.")
    return p


def format_problems(problems: list[str]) -> str:
    """One problem: its paragraph. Several: a numbered list under one line saying nothing has started."""
    if len(problems) == 1:
        return problems[0]
    lines = '\n'.join(f'  {i}. {x}' for i, x in enumerate(problems, 1))
    return f'{len(problems)} problems with the input of this run (nothing has been started):\n{lines}'


def check_run_input(cfg, world_size: int = 1) -> None:
    """Raise one `ConfigError` listing every input problem, then every environment problem."""
    problems = input_problems(cfg, world_size)
    problems += environment_problems(cfg)
    if problems:
        raise ConfigError(format_problems(problems))
