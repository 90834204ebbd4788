"""The staged benchmark run: plan → data → teacher → for each seed: (for each method: train → export →
evaluate → record), the random-init student → the raw-pixel floor → report.

`run` reads as that sequence; `BenchRun` holds what the stages share (the run folder, the datasets,
the evaluation suite, the rows so far). The teacher is an input of every seed and stays fixed (trained
or loaded once, with the run's base seed ``cfg.seed``); each seed trains and evaluates every method
again, with its own per-method state under `benchmarks.plan.seed_dir`. Teacher sharing works within a
seed: the views of another seed are other images, so each seed pays the teacher's forward passes once
per augmentation recipe. A method that diverges or raises becomes a failed row in one
place (`BenchRun.method`), and the other methods run on; ``fail_fast`` re-raises instead. Rank 0
evaluates, writes and logs; in a distributed run the other ranks train with it. Argument parsing is
in `benchmarks.cli.bench` (``tools/bench.py``).
"""
from __future__ import annotations

import time
import traceback
from pathlib import Path

from benchmarks.engine.run_folder import RunFolder, read_json, write_json, write_text
from benchmarks.plan import check_run_folder, evals_key, method_key, remaining_work, seed_dir, student_name
from benchmarks.reporting.row import ResultRow


def run(cfg, work_dir: Path, log=print, teacher=None, fail_fast: bool = False, folder=None) -> list[dict]:
    """Run a resolved, validated config; returns the result rows (also written to ``work_dir``).

    ``teacher``: the ``teacher.checkpoint`` teacher when the caller has loaded it already. ``folder``:
    the locked `benchmarks.engine.run_folder.RunFolder` (rank 0; made here when None). Finished methods
    and evaluations in the folder are reused and an interrupted training resumes from its last
    checkpoint."""
    bench = BenchRun(cfg, Path(work_dir), log, folder)   # plan: what the folder holds, what is left
    bench.prepare_data()
    bench.prepare_teacher(teacher)
    for seed in bench.seeds:
        bench.start_seed(seed)                           # the seed's folder, teacher-output store, RNG
        for name in cfg.methods:
            bench.method(name, fail_fast)                # train → export → evaluate → record
        bench.evaluate_random_init()                     # the student as initialised at this seed
    bench.evaluate_floor()
    return bench.report()


def setup_teacher_sharing(cfg, teacher, num_samples: int, image_size: int, device, world_size: int,
                          seed: int | None = None):
    """Round the teacher's outputs to ``teacher.output_dtype`` and, with ``teacher.share_outputs``,
    make the run's shared-output store (`benchmarks.teachers.outputs`); returns it or None."""
    from benchmarks.teachers.outputs import DTYPES, TeacherOutputCache, cache_key
    dtype = cfg.teacher.get('output_dtype')
    teacher.set_output_dtype(DTYPES[dtype] if dtype else None)
    if not cfg.teacher.get('share_outputs', False):
        return None
    budget = cfg.budget.to_dict()
    folder = None
    if cfg.teacher.get('share_storage', 'memory') == 'disk':
        from benchmarks.data.datasets import data_identity
        from benchmarks.data.synthetic import default_cache_dir
        from benchmarks.engine.prepare import teacher_fingerprint
        folder = default_cache_dir() / 'teacher_outputs' / cache_key(
            teacher_fingerprint(teacher), data_identity(cfg.data.to_dict()), cfg.seed if seed is None else seed,
            image_size, budget, world_size)
    return TeacherOutputCache(num_samples, budget.get('views_per_image') or budget['epochs'], teacher.feat_dims,
                              dtype or 'float16', cfg.teacher.get('share_storage', 'memory'), device, folder)


class BenchRun:
    """The state the stages of one run share (see module doc)."""

    def __init__(self, cfg, work_dir: Path, log=print, folder=None):
        import torch
        from tqdm import tqdm

        from benchmarks.engine.distributed import broadcast_object, dist_info
        from benchmarks.engine.runner import resolve_device
        from benchmarks.evals.suite import EvalSuite

        self.cfg, self.work_dir = cfg, work_dir
        self.seeds = list(cfg.get('seeds') or [cfg.seed])
        self.seed = cfg.seed
        self.info = dist_info()
        self.log = log if self.info.is_main else (lambda *_a, **_k: None)
        work_dir.mkdir(parents=True, exist_ok=True)
        if self.info.is_main and folder is None:
            folder = check_run_folder(cfg, work_dir)
        self.folder = self.seed_folder = folder
        self.ekey = evals_key(cfg)
        self.old_rows = folder.load_rows() if self.info.is_main else []
        self.todo = broadcast_object({seed: remaining_work(cfg, self._folder(seed), self.old_rows, evals_key(cfg, seed), seed)
                                      for seed in self.seeds} if self.info.is_main else None)
        if self.info.is_main:
            cfg.dump(str(work_dir / 'config.py'))
            plans = [(seed, n, p) for seed, todo in self.todo.items() for n, p in todo.items()]
            skipped = [f'{n}' + (f' (seed {seed})' if len(self.seeds) > 1 else '') for seed, n, p in plans if p == 'skip']
            if skipped or any(p == 'eval' for _, _, p in plans) or self.old_rows:
                self.log(f'resuming {work_dir}: {len(skipped)} of {len(plans)} trainings already finished'
                         + (f' ({", ".join(skipped)})' if skipped else ''))
        self.device = resolve_device(cfg.device)
        self.suite = EvalSuite(cfg.evals.to_dict())
        self.budget = cfg.budget.to_dict()
        # the leaderboard's rows: this run's, in config order, plus rows of other methods the folder holds
        self.rows = {'teacher': [], 'floor': [], 'random_init': [], **{name: [] for name in cfg.methods}}
        self.teacher, self.cache, self.contexts = None, None, {}
        # one overall bar (stages: the teacher, each method's training and its evaluation per seed, the report)
        self.bar = tqdm(total=2 + 2 * len(cfg.methods) * len(self.seeds), desc='benchmark', unit='stage', position=0,
                        dynamic_ncols=True, disable=not self.info.is_main, leave=False)
        if self.info.is_main and log is print:  # printed above the bars
            self.log = lambda *a, **_k: tqdm.write(' '.join(str(x) for x in a))
        torch.manual_seed(cfg.seed)

    # --- data ---------------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """The datasets, an external retrieval set and the evaluations' own data (detection), so a bad
        path or a generation problem shows before any training."""
        from benchmarks.data.sources import build_datasets
        cfg = self.cfg
        self.log(f"data: {'embedded shapes (generated once into the cache)' if cfg.data.type == 'embedded' else cfg.data.root}")
        self.train_set, self.val_set, self.probe_set, self.data_text = build_datasets(cfg.data.to_dict(), ['center'],
                                                                                       cfg.seed)
        if cfg.data.type != 'embedded':
            self.log(f'data: {self.data_text}')
        self.image_size = self.train_set.image_size
        self.retrieval_set = self.external_retrieval_set(cfg, self.suite, self.image_size)
        self._record_skipped_images()
        self.suite.setup(self.log)
        from benchmarks.engine.provenance import device_name, git_commit, versions
        self.common = dict(seed=cfg.seed, image_size=self.image_size, device=device_name(self.device),
                           git_commit=git_commit(), versions=versions(), world_size=self.info.world_size,
                           evals_key=self.ekey, config=cfg.to_dict())
        b = self.budget
        self.caption = (f"**{cfg.get('suite', 'custom')}** suite — {self.suite.caption()}. Data: "
                        f"{self._data_caption()}. Budget: "
                        f"{b['epochs']} epochs, batch {b['batch_size']}, {b['optimizer']['type']} lr "
                        f"{b['optimizer']['lr']}, {b['schedule']['type']} schedule, {self._seeds_text()}. GMACs at "
                        f"{self.image_size} px unless noted.")

    def _data_caption(self) -> str:
        if self.cfg.data.type == 'embedded':  # the wording of every embedded leaderboard so far
            return f'embedded shapes ({len(self.train_set)} train / {len(self.val_set)} val, {self.image_size} px)'
        return f'{self.data_text}; {self.image_size} px'

    @staticmethod
    def external_retrieval_set(cfg, suite, image_size: int):
        """The external retrieval test set of ``evals.retrieval`` (None: the suite's own val split)."""
        ret = cfg.evals.get('retrieval', {})
        if 'retrieval' not in suite.names or ret.get('dataset', 'val_split') == 'val_split':
            return None
        from benchmarks.data.retrieval import build_retrieval_dataset
        return build_retrieval_dataset(ret['dataset'], ret['root'], ret.get('image_size') or image_size, cfg.seed)

    def _record_skipped_images(self) -> None:
        """``data.on_corrupt='skip'``: the images left out (before and during training)."""
        sets = [s for s in dict.fromkeys((self.train_set, self.probe_set, self.val_set)) if hasattr(s, 'skipped')]
        if self.info.is_main and sets:
            from benchmarks.data.imagefolder import write_skipped_images
            path = self.work_dir / 'skipped_images.txt'
            n = write_skipped_images(path, *[s.skipped for s in sets], *[s.failed_images() for s in sets])
            if n:
                self.log(f'{n} unreadable image(s) left out (data.on_corrupt=skip): listed in {path}')

    # --- teacher ------------------------------------------------------------------------------------
    def prepare_teacher(self, loaded=None) -> None:
        """Obtain the teacher when a method needs it (or its row is missing), evaluate it once, then set
        up the shared-output store and the `prepare` contexts."""
        from methods import get_method

        from benchmarks.engine.prepare import build_prepare_context
        from benchmarks.teachers.cache import obtain_teacher
        cfg = self.cfg
        needs_teacher = any(get_method(cfg.method_cfgs[m].type).needs_teacher for m in cfg.methods)
        teacher_row, teacher_time = self._reusable('teacher'), 0.0
        if (needs_teacher and any(p != 'skip' for todo in self.todo.values() for p in todo.values())) or \
                ((needs_teacher or cfg.teacher.checkpoint) and not teacher_row):
            self.teacher, teacher_time = obtain_teacher(cfg, self.train_set, log=self.log, loaded=loaded)
            self.log(f'teacher: {self.teacher.name} ({self.teacher.source})')
        if teacher_row:
            self.rows['teacher'] = teacher_row
        elif self.teacher is not None and self.info.is_main:
            self.rows['teacher'] = [self._teacher_row(teacher_time).to_dict()]
        self.flush()
        self.bar.update(1)
        # one prepare context per run (with / without the teacher): the teacher's features of the
        # training set are extracted at most once, however many methods and seeds ask for them
        self.contexts = {flag: build_prepare_context(self.train_set, self.teacher if flag else None,
                                                     cfg.data.to_dict(), cfg.seed, self.device, log=self.log)
                         for flag in (False, True)}

    # --- one seed -----------------------------------------------------------------------------------
    def _seeds_text(self) -> str:
        if len(self.seeds) == 1:
            return f'seed {self.seeds[0]}'
        return f'seeds {", ".join(map(str, self.seeds))} (teacher: seed {self.cfg.seed})'

    def _folder(self, seed: int):
        """The `RunFolder` holding ``seed``'s per-method state (rank 0; None elsewhere)."""
        if self.folder is None:
            return None
        return self.folder if seed == self.cfg.seed else RunFolder(seed_dir(self.work_dir, self.cfg, seed))

    def mdir(self, name: str) -> Path:
        """The per-method folder of ``name`` at the current seed."""
        return seed_dir(self.work_dir, self.cfg, self.seed) / name

    def _use_seed(self, seed: int) -> None:
        """Rows, folders and evaluation keys from now on are those of ``seed``."""
        self.seed, self.ekey = seed, evals_key(self.cfg, seed)
        self.seed_folder = self._folder(seed)
        self.common.update(seed=seed, evals_key=self.ekey)  # set by prepare_data, which runs first

    def start_seed(self, seed: int) -> None:
        """Train and evaluate at ``seed`` from now on: its folder, evaluation key, teacher-output store
        (the views of another seed are other images) and the seed the ``prepare`` hooks see."""
        import torch
        self._use_seed(seed)
        for ctx in self.contexts.values():
            ctx.seed = seed
        if len(self.seeds) > 1:
            self.log(f'seed {seed} ({self.seeds.index(seed) + 1} of {len(self.seeds)})')
        self.cache = None
        if self.teacher is not None:  # after its evaluation: the teacher row sees full-precision outputs
            self.cache = setup_teacher_sharing(self.cfg, self.teacher, len(self.train_set), self.image_size, self.device,
                                               self.info.world_size, seed)
            if self.cache is not None and seed == self.seeds[0]:
                self.log(f'teacher sharing: outputs on the training stream computed once per augmentation recipe '
                         f'and reused ({self.cache.storage}, {str(self.cache.dtype).removeprefix("torch.")}, '
                         f'{self.cache.slots} slot(s) per image)')
        torch.manual_seed(seed)

    def _teacher_row(self, teacher_time: float) -> ResultRow:
        import torch
        teacher, path = self.teacher, None
        if self.suite.exports('teacher'):  # the teacher's backbone, exported like a student's
            (self.work_dir / 'teacher').mkdir(exist_ok=True)
            path = self.work_dir / 'teacher' / 'backbone.pth'
            torch.save(teacher.backbone.state_dict(), path)
            write_json(path.with_suffix('.json'), teacher.backbone.spec())
        # feature_extractor: the backbone behind the teacher's own input normalisation ([0,1] for SimCLR)
        metrics = self.evaluate(teacher.feature_extractor(), 'teacher', path, kind='teacher')
        # the cost of making the teacher (recorded in the teacher file when it was trained, also when cached)
        return ResultRow(kind='teacher', method='teacher', method_name='teacher',
                         student=student_name(teacher.backbone.spec()), teacher=teacher.name,
                         teacher_time_s=teacher_time, images_seen=teacher.meta.get('images_seen'),
                         train_time_s=teacher.meta.get('wall_time_s'), hparams=teacher.meta.get('train'),
                         teacher_spec=teacher.spec_name, teacher_input_norm=teacher.meta.get('input_norm'),
                         teacher_gpu_hours=self.cfg.teacher.get('published_gpu_hours') if self.cfg.teacher.checkpoint
                         else None,
                         metrics=metrics, **self.common)

    # --- one method ---------------------------------------------------------------------------------
    def method(self, name: str, fail_fast: bool = False) -> None:
        """Train (or resume, or reuse) one method, export its students, evaluate and record each. Any
        failure here becomes a failed row with its reason; the run goes on (``fail_fast``: re-raise)."""
        from benchmarks.engine.distributed import barrier
        mdir = self.mdir(name)
        todo = self.todo[self.seed][name]
        if todo == 'skip':
            self.rows[name] += [r for r in self.old_rows if r.get('method_name') == name and r.get('status') == 'ok'
                                and r.get('seed', self.cfg.seed) == self.seed]
            self.log(f'[{name}] already finished in this run folder{self._at_seed()}: reusing its rows')
            self.bar.update(2)
            return
        try:
            if todo == 'train':
                trained, students = self.train(name)
            else:
                self.bar.update(1)
                trained, students = (read_json(mdir / 'train.json'), None) if self.info.is_main else (None, None)
                self.log(f'[{name}] already trained in this run folder{self._at_seed()}: evaluating')
            if not self.info.is_main:
                barrier()  # wait while rank 0 evaluates this method, then train the next one together
                return
            for label in trained['students']:
                backbone = students[label] if students is not None else self.load_student(name, label)
                self.record(name, label, backbone, trained)
            self.bar.update(1)
        except Exception as exc:  # noqa: BLE001  (one method's failure must not cost the others' results)
            if fail_fast:
                raise
            self.record_failure(name, exc)
            self.bar.update(2)
        barrier()

    def _at_seed(self) -> str:
        return f' (seed {self.seed})' if len(self.seeds) > 1 else ''

    def _identity(self, name: str) -> dict:
        from methods import get_method
        mcfg = self.cfg.method_cfgs[name].to_dict()
        cls = get_method(mcfg['type'])
        return dict(kind='method', method_name=name, method_type=mcfg['type'], method_key=method_key(mcfg),
                    uses_labels=True if cls.uses_labels else None,
                    teacher=self.teacher.name if cls.needs_teacher and self.teacher is not None else 'none',
                    augmentation=self.cfg.augmentation or cls.augmentation, budget=self.budget)

    def train(self, name: str) -> tuple[dict, dict]:
        """Train ``name`` under the budget (resuming its last checkpoint) and export its students;
        returns ``(train record, {label: backbone})`` (written to ``<name>/train.json``)."""
        import torch

        from methods import Method, get_method

        from benchmarks.engine.runner import train_method
        from benchmarks.teachers.outputs import TeacherOutputHook, TeacherOutputs
        cfg, mdir = self.cfg, self.mdir(name)
        method_cfg = cfg.method_cfgs[name].to_dict()
        cls = get_method(method_cfg['type'])
        aug = cfg.augmentation or cls.augmentation
        if self.info.is_main:
            mdir.mkdir(parents=True, exist_ok=True)
            write_json(mdir / 'method.json', dict(method_key=method_key(method_cfg), method_cfg=method_cfg))
        teacher = self.teacher if cls.needs_teacher else None
        if teacher is not None:  # before prepare: its teacher forwards (e.g. cc's features) are this method's
            forwarded, hits = teacher.images_forwarded, self.cache.cached_images if self.cache else 0
        start = time.perf_counter()
        if cls.prepare.__func__ is not Method.prepare.__func__:
            self.log(f'[{name}] preparing: {cls.__name__}.prepare (cached by teacher, data and settings)')
        prepared = cls.prepare(self.contexts[cls.needs_teacher], method_cfg)
        prepare_time = time.perf_counter() - start
        source = self.train_set
        if cls.uses_labels and not source.labelled:  # e.g. STL-10: labels exist only on the probe split
            source = self.probe_set
            self.log(f'[{name}] trains on labels: the {source.name} split ({len(source)} images), the training '
                     f'split ({self.train_set.name}) has none')
        views = source.with_recipes([aug] * cls.num_views)
        if cls.partner_views:  # the last views show a partner from the sample's bag (prepare computed the bags)
            views = views.with_partners(prepared['bags'], cls.partner_views)
        outputs, hooks = None, ()
        if teacher is not None and cls.uses_teacher_outputs:  # into the batch, shared across methods
            outputs = TeacherOutputs(teacher, self.cache, recipe=f'{aug}@{self.image_size}',
                                     shared_views=cls.num_views - cls.partner_views)
            hooks = (TeacherOutputHook(outputs),)
        resumed = (mdir / 'last_checkpoint').is_file()
        self.log(f'[{name}] training {student_name(cfg.student)} for {self.budget["epochs"]} epochs ({aug} views)'
                 + self._at_seed() + (' — resuming from its last checkpoint' if resumed else ''))
        result = train_method(name, method_cfg, cfg.student.to_dict(), teacher, views, self.budget, mdir, self.seed,
                              cfg.device, desc=name, prepared=prepared, resume=True, teacher_outputs=outputs,
                              hooks=hooks)
        self.bar.update(1)
        if not self.info.is_main:
            return None, None
        students = result.method.student_backbones()
        for label, backbone in students.items():  # export: what tools/evaluate.py and detection read
            suffix = f'_{label}' if label else ''
            torch.save(backbone.state_dict(), mdir / f'backbone{suffix}.pth')
            write_json(mdir / f'backbone{suffix}.json', backbone.spec())
        counts = {}
        if teacher is not None:
            counts = dict(teacher_forward_images=teacher.images_forwarded - forwarded,
                          teacher_cached_images=(self.cache.cached_images - hits) if self.cache else 0)
        trained = dict(method_key=method_key(method_cfg), students=list(students), images_seen=result.images_seen,
                       num_views=cls.num_views, **counts, train_time_s=result.wall_time_s,
                       prepare_time_s=prepare_time, iterations=result.iterations, peak_mem_mb=result.peak_mem_mb,
                       final_loss=result.final_loss, loss_curve=[list(p) for p in result.loss_curve],
                       epoch_times_s=[round(t, 3) for t in result.epoch_times], hparams=result.method.hparams)
        write_json(mdir / 'train.json', trained)  # training finished: a rerun only evaluates
        return trained, students

    def load_student(self, name: str, label: str):
        """The exported student, exactly as evaluated the first time."""
        import torch

        from methods.backbones import build_backbone
        suffix = f'_{label}' if label else ''
        mdir = self.mdir(name)
        backbone = build_backbone(**read_json(mdir / f'backbone{suffix}.json'))
        backbone.load_state_dict(torch.load(mdir / f'backbone{suffix}.pth', map_location='cpu', weights_only=True))
        return backbone

    def record(self, name: str, label: str, backbone, trained: dict) -> None:
        """Evaluate one student and record its row (several students of one training share its cost)."""
        from benchmarks.reporting.columns import metric_columns
        suffix = f'_{label}' if label else ''
        row_name = f'{name} {label}' if label else name
        metrics = self.evaluate(backbone, row_name, self.mdir(name) / f'backbone{suffix}.pth',
                                cache=(name, suffix))
        row = ResultRow(**self._identity(name), method=row_name, student_label=label,
                        student=student_name(backbone.spec()), images_seen=trained['images_seen'],
                        train_time_s=trained['train_time_s'], epoch_times_s=trained['epoch_times_s'],
                        prepare_time_s=trained['prepare_time_s'], shared_training=len(trained['students']) > 1,
                        peak_mem_mb=trained['peak_mem_mb'], final_loss=trained['final_loss'],
                        loss_curve=trained['loss_curve'], hparams=trained['hparams'],
                        num_views=trained.get('num_views'), teacher_forward_images=trained.get('teacher_forward_images'),
                        teacher_cached_images=trained.get('teacher_cached_images'), metrics=metrics, **self.common)
        self.rows[name] = [r for r in self.rows[name]
                           if (r.get('student_label'), r.get('seed')) != (label, self.seed)] + [row.to_dict()]
        self.flush()
        shown = '  '.join(f'{c.header} {metrics[c.field]:.1f}' for c in metric_columns([metrics], detail=False)
                          if c.field in metrics)
        if metrics.get('det_status') == 'failed':
            shown += f"  detection failed: {metrics.get('det_error', '')}"
        if 'params_m' in metrics:
            shown += f"  params {metrics['params_m']:.2f} M  GMACs {metrics['gmacs']:.3f}"
        self.log(f"[{row_name}] done{self._at_seed()} in {trained['train_time_s'] + trained['prepare_time_s']:.0f}s: {shown}")

    def record_failure(self, name: str, exc: Exception) -> None:
        mdir = self.mdir(name)
        reason = f'{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ""}'[:300]
        if self.info.is_main:
            mdir.mkdir(parents=True, exist_ok=True)
            (mdir / 'error.log').write_text(traceback.format_exc())
            self.rows[name] = [r for r in self.rows[name] if r.get('seed') != self.seed] + [ResultRow(**self._identity(name), method=name, student=student_name(self.cfg.student),
                                         status='failed', error=reason, **self.common).to_dict()]
            self.flush()
        self.log(f'[{name}] FAILED{self._at_seed()}: {reason} (traceback in {mdir / "error.log"}); continuing with the other methods')

    # --- evaluation ---------------------------------------------------------------------------------
    def evaluate(self, backbone, name: str, backbone_path=None, cache=None, kind: str = 'method') -> dict:
        """Metrics of one network; ``cache=(method, suffix)`` reuses (and records) finished evaluations."""
        self.log(f"[{name}] evaluating{self._at_seed() if kind != 'floor' else ''}: {', '.join(self.suite.names)}")
        cached = store = None
        if cache:
            method, suffix = cache
            def cached(evaluator):  # noqa: E306
                return self.seed_folder.cached_metrics(method, f'{suffix}.{evaluator}', self.ekey)

            def store(evaluator, metrics):
                self.seed_folder.save_metrics(method, f'{suffix}.{evaluator}', self.ekey, metrics)
        return self.suite.evaluate(backbone, name, self.probe_set, self.val_set, self.image_size, self.device,
                                   self.seed, retrieval_set=self.retrieval_set, backbone_path=backbone_path,
                                   kind=kind, log=self.log, cached=cached, store=store)

    def evaluate_random_init(self) -> None:
        """The random-init row of the current seed: the student architecture exactly as the methods'
        students start (``torch.manual_seed(seed)`` then the backbone, the runner's order), untrained,
        through every evaluation. The floor that says whether training helped at all."""
        if not self.info.is_main or not self.cfg.evals.get('random_init_floor', True):
            return
        reused = [r for r in self._reusable('random_init') if r.get('seed', self.cfg.seed) == self.seed]
        if not reused:
            import torch

            from methods.backbones import build_backbone
            torch.manual_seed(self.seed)
            backbone = build_backbone(**self.cfg.student.to_dict())
            path = None
            self.mdir('random_init').mkdir(parents=True, exist_ok=True)  # its evaluations are cached there
            if self.suite.exports('random_init'):
                path = self.mdir('random_init') / 'backbone.pth'
                torch.save(backbone.state_dict(), path)
                write_json(path.with_suffix('.json'), backbone.spec())
            metrics = self.evaluate(backbone, 'random init', path, cache=('random_init', ''), kind='random_init')
            reused = [ResultRow(kind='random_init', method='random init', method_name='random_init',
                                student=student_name(backbone.spec()), metrics=metrics, **self.common).to_dict()]
        self.rows['random_init'] = [r for r in self.rows['random_init'] if r.get('seed') != self.seed] + reused
        self.flush()

    def evaluate_floor(self) -> None:
        """The raw-pixel floor row: every evaluation that needs no network, on the pixels themselves."""
        if not self.info.is_main or not self.cfg.evals.get('raw_pixel_floor', True):
            return
        self._use_seed(self.cfg.seed)  # the floor has no training: evaluated once, at the base seed
        self.rows['floor'] = self._reusable('floor') or [ResultRow(
            kind='floor', method='raw pixels', method_name='floor', metrics=self.evaluate(None, 'raw pixels', kind='floor'),
            **self.common).to_dict()]

    # --- record and report --------------------------------------------------------------------------
    def _reusable(self, name: str) -> list:
        return [r for r in self.old_rows if r.get('status') == 'ok' and r.get('evals_key') == self.ekey
                and r.get('method_name', r.get('kind')) == name]

    def all_rows(self) -> list[dict]:
        """Teacher, this run's methods in config order, other methods the folder holds, the floor."""
        rows = self.rows['teacher'] + [r for n in self.cfg.methods for r in self.rows[n]]
        rows += [r for r in self.old_rows if r.get('kind') == 'method' and r.get('method_name') not in self.rows]
        return rows + self.rows['random_init'] + self.rows['floor']

    def flush(self) -> list[dict]:
        """rows.json and the leaderboard tables after every row: an interrupted run loses nothing."""
        if not self.info.is_main:
            return []
        from benchmarks.reporting.leaderboard import write_leaderboard
        rows = self.all_rows()
        write_json(self.work_dir / 'rows.json', rows)
        write_leaderboard(rows, self.work_dir, self.caption, self.cfg.get('compare_to'))
        if self.cfg.get('paper'):  # paper reproduction suites: our numbers next to the published ones
            from benchmarks.reporting.paper import paper_table
            write_text(self.work_dir / 'paper_comparison.md', paper_table(rows, self.cfg.paper.to_dict()))
        return rows

    def report(self) -> list[dict]:
        """Every table format and the plots (tools/report.py regenerates them from rows.json)."""
        if not self.info.is_main:
            return []
        self.log('report: tables and plots')
        rows = self.flush()
        self._record_skipped_images()
        from benchmarks.reporting.report import write_reports
        write_reports(rows, self.work_dir, self.caption, self.cfg.get('compare_to'))
        self.bar.update(1)
        self.bar.close()
        return rows
