"""`tools/bench.py` / ``sslcb-bench``: train every selected method under one budget, evaluate, write the
leaderboard.

    python tools/bench.py --methods compress_2q,moco_v2 [--config default] [--data-root DIR]
                          [--teacher PATH] [--work-dir DIR] [--seed N] [--seeds 0,1,2]
                          [--compare-to NAME] [--evals knn,linear]
                          [--import my_pkg.my_method] [--cfg-options a.b=c ...]

Everything that can be wrong with the input (unknown method or suite, a hyperparameter the method does
not have, missing paths, an empty dataset, an unreadable teacher, an override naming no key, a bank
larger than the dataset) is checked before any data is generated or any model trained, and reported as
one paragraph (exit code 2).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

from mmengine.config import DictAction

from benchmarks.config import resolve
from benchmarks.errors import ConfigError, DataError, TeacherError

EXIT_BAD_INPUT = 2


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Train self-supervised compression methods under one budget and write a leaderboard '
                    '(results/<run>/leaderboard.{md,csv,json,tex,html} and plots/). Runs under torchrun or '
                    'tools/slurm_bench.sh for several processes; rerun the same command to resume.',
        epilog='examples:\n'
               '  tools/bench.py                                  # the default suite on the embedded data\n'
               '  tools/bench.py --methods compress_2q,moco_v2 --cfg-options budget.epochs=20\n'
               '  tools/bench.py --seeds 0,1,2                    # mean ± 95% interval over three seeds\n'
               '  tools/bench.py --data-root /data/imagefolder --teacher moco_v2_800ep_pretrain.pth.tar\n'
               '  tools/bench.py --config imagenet100_resnet18 --data-root /data/imagenet \\\n'
               '      --cfg-options data.decode=dali              # NVIDIA DALI decodes on the GPU (optional install)\n'
               '  tools/bench.py --import my_pkg.my_method --methods my_method\n'
               '  torchrun --nproc_per_node=8 tools/bench.py --cfg-options budget.amp=bf16\n'
               'Method hyperparameters: the method\'s __init__ defaults (docs/methods.md), overridden by the '
               'suite\'s method_cfgs; every key: --print-config.',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--methods', default=None,
                   help="comma-separated method names, or 'all'; default: the suite's list (see --list)")
    p.add_argument('--list', action='store_true', help='list the registered methods and exit')
    p.add_argument('--import', dest='imports', action='append', default=[], metavar='MODULE',
                   help='import a module that registers methods or evaluations (dotted name, repeatable), e.g. '
                        'a method kept outside this repository; a config can list them in custom_imports')
    p.add_argument('--config', default='default',
                   help='suite name in configs/suites/ or a path to a .py config (default: default)')
    p.add_argument('--data-root', default=None,
                   help="the dataset folder: for a suite on the embedded data, an ImageFolder root with train/ and "
                        "val/ (the default is the generated data); for a suite of another data.type (cifar10, "
                        "cifar100, stl10, imagenet, imagenet100, tiny_imagenet) the folder holding its files as "
                        "the official archive unpacks them, e.g. the one that contains cifar-100-python/")
    p.add_argument('--teacher', default=None,
                   help='teacher checkpoint (MoCo v1/v2/v3, SwAV, BYOL-/SimCLR-converted, CompRess/SEED students, '
                        'torchvision or this project\'s format; layout and architecture read from the file); '
                        'default: train a MoCo v2 teacher on the suite data once and cache it')
    p.add_argument('--teacher-spec', default=None, metavar='NAME',
                   help='force the checkpoint layout instead of detecting it (python -m tests.helpers.'
                        'make_teacher_checkpoint --list in a checkout shows them); needed for SimCLR-converted files '
                        '([0,1] input): simclr_v1_converted')
    p.add_argument('--teacher-allow-globals', default=None, metavar='LIST',
                   help='comma-separated pickled classes you trust in the teacher file, e.g. argparse.Namespace '
                        '(CompRess student releases); nothing else is ever unpickled')
    p.add_argument('--work-dir', default=None,
                   help='run folder (default: results/<suite>-<config digest>). Running the same command again '
                        'resumes it: finished methods and evaluations are kept, an interrupted training continues '
                        'from its last epoch checkpoint; a folder of another configuration is refused')
    p.add_argument('--seed', type=int, default=None,
                   help="the run's base seed: the teacher's training, and the methods' when --seeds is not given "
                        "(default: the suite's seed)")
    p.add_argument('--seeds', default=None, metavar='LIST',
                   help='comma-separated seeds: every method is trained and evaluated once per seed (the teacher '
                        'stays fixed) and the tables show mean ± 95%% interval over them; adding seeds to a finished '
                        'run trains only the new ones (default: the suite\'s seeds, else --seed)')
    p.add_argument('--compare-to', default=None, metavar='NAME',
                   help='the row every method is compared with, seed by seed (paired t-test; default: the '
                        'from-scratch baseline of the same network, e.g. moco_v2)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None, metavar='KEY=VALUE',
                   help='override config keys, mmengine style (e.g. budget.epochs=2 method_cfgs.compress_2q.temperature=0.02)')
    p.add_argument('--evals', default=None, metavar='LIST',
                   help='comma-separated evaluations: knn,linear,retrieval,ca,flops,latency,detection '
                        "(default: the config's evals.suites)")
    p.add_argument('--suites', default=None, metavar='LIST', help='deprecated alias of --evals (removed in 0.3)')
    p.add_argument('--fail-fast', action='store_true',
                   help='stop at the first method that diverges or raises (default: record it as failed, run the rest)')
    p.add_argument('--print-config', action='store_true', help='print the resolved config and exit')
    args = p.parse_args(argv)
    if args.suites is not None:
        warnings.warn('--suites is deprecated: use --evals (same values)', FutureWarning, stacklevel=2)
        print('warning: --suites is deprecated and will be removed; use --evals (same values).', file=sys.stderr)
        args.evals = args.evals or args.suites
    return args


def print_method_list(out=None) -> None:
    from tabulate import tabulate

    from methods import get_method, list_methods
    rows = []
    for name in list_methods():
        cls = get_method(name)
        rows.append([name, 'yes' if cls.needs_teacher else 'no', cls.description, cls.paper])
    (out or sys.stdout).write(tabulate(rows, headers=['method', 'teacher', 'description', 'paper'],
                                       tablefmt='simple') + '\n')


def parse_methods(text):
    if text is None:
        return None
    if text.strip() == 'all':
        from methods import list_methods
        return list_methods()
    names = [n.strip() for n in text.split(',') if n.strip()]
    if not names:
        raise ConfigError('--methods is empty; give at least one method name or "all".')
    return names


def import_modules(names) -> None:
    """``--import`` and the config's ``custom_imports``: modules that register methods or evaluations."""
    from methods import import_methods
    try:
        import_methods(names)
    except ImportError as exc:
        raise ConfigError(str(exc)) from None


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        import_modules(args.imports)
        if args.list:
            print_method_list()
            return 0
        methods = parse_methods(args.methods)
        seeds = [x for x in args.seeds.split(',') if x.strip()] if args.seeds is not None else None
        if seeds == []:
            raise ConfigError('--seeds is empty; give at least one seed, e.g. --seeds 0,1,2.')
        cfg = resolve(args.config, methods=methods, options=args.cfg_options, seed=args.seed,
                      data_root=args.data_root, teacher=args.teacher, seeds=seeds)
        if args.compare_to is not None:
            cfg.compare_to = args.compare_to
        if args.teacher_spec is not None:
            cfg.teacher.spec = args.teacher_spec
        if args.teacher_allow_globals is not None:
            cfg.teacher.allow_globals = [g.strip() for g in args.teacher_allow_globals.split(',') if g.strip()]
        if args.evals is not None:
            cfg.evals.suites = args.evals
        if args.print_config:
            print(cfg.pretty_text)
            return 0
        from benchmarks.checks import check_run_input
        from benchmarks.engine.distributed import init_distributed
        from benchmarks.evals.suite import parse_evals
        from benchmarks.plan import check_teacher_features
        info = init_distributed(cfg.device)  # joins torchrun's process group: the world size divides the batch
        # every input value (methods, budget, data, evaluations, files), then what this machine lacks: all
        # problems in one message, before any data is generated or any model trained
        check_run_input(cfg, info.world_size)
        cfg.evals.suites = parse_evals(cfg.evals.get('suites', ['knn', 'flops']))   # checked above; now a list
        teacher = None
        if cfg.teacher.checkpoint:  # layout, keys and architecture checked now, before any data or training
            from benchmarks.teachers.cache import load_checkpoint_teacher
            teacher = load_checkpoint_teacher(cfg)
            check_teacher_features(cfg, teacher)
    except (ConfigError, DataError, TeacherError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    return run_folder(cfg, args, teacher, info, argv)


def _to_log(log, exc) -> None:
    if log is not None:
        log.exception(exc)


def run_folder(cfg, args, teacher, info, argv=None) -> int:
    """Lock the run folder (rank 0), run, print the leaderboard; interruptions keep what finished."""
    from benchmarks.bench import run
    from benchmarks.engine.distributed import broadcast_object
    from benchmarks.plan import check_run_folder, default_work_dir
    suite = cfg.get('suite', Path(args.config).stem)
    # every process must agree on the run folder; rank 0 locks it and checks it against this config
    work_dir = Path(broadcast_object(str(args.work_dir) if args.work_dir else str(default_work_dir(cfg, suite))))
    folder, problem = None, None
    if info.is_main:
        try:
            folder = check_run_folder(cfg, work_dir)
        except ConfigError as exc:
            problem = str(exc)
    problem = broadcast_object(problem)
    if problem:
        if info.is_main:
            print(f'error: {problem}', file=sys.stderr)
        return EXIT_BAD_INPUT
    start = time.perf_counter()
    log = None
    if info.is_main:  # <run>/bench.log: every message of this run, appended by each rerun
        from tqdm import tqdm

        from benchmarks.engine.run_log import RunLog
        # tqdm.write: messages go above the progress bars instead of through them
        log = RunLog(work_dir / 'bench.log', console=lambda message: tqdm.write(str(message)),
                     resumed=(work_dir / 'bench.log').is_file(),
                     argv=['tools/bench.py', *(argv if argv is not None else sys.argv[1:])])
    status = 'stopped by an exception'
    try:
        run(cfg, work_dir, log=log or print, teacher=teacher, fail_fast=args.fail_fast, folder=folder)
        status = 'finished'
    except (DataError, TeacherError) as exc:
        _to_log(log, exc)
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:
        _to_log(log, exc)
        if not args.fail_fast:
            raise
        print(f'error: {type(exc).__name__}: {exc} (stopped by --fail-fast; finished methods are kept in {work_dir}, '
              f'run again without --fail-fast to record failures and go on)', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        status = 'interrupted (Ctrl-C)'
        print(f'\ninterrupted. Finished methods and the last epoch checkpoint of the running one are kept in '
              f'{work_dir}; run the same command again to continue.', file=sys.stderr)
        return 130
    finally:
        if folder is not None:
            folder.unlock()
        if log is not None and status != 'finished':
            log.close(status)
    if not info.is_main:
        return 0
    print()
    board = (work_dir / 'leaderboard.md').read_text()
    print(board)
    log.file_only(board)
    failed = [r['method'] for r in json.loads((work_dir / 'rows.json').read_text()) if r.get('status') == 'failed']
    if failed:
        log(f'failed: {", ".join(failed)} (reasons in the table; tracebacks in <method>/error.log). Run the same '
            f'command again to retry them.')
    log(f'results: {work_dir} (total {time.perf_counter() - start:.0f}s; this log: {work_dir / "bench.log"})')
    log.close('finished')
    return 0
