"""The result row: one network's results, the one record every table, plot and merge reads.

`ResultRow` is built in one place (`benchmarks.bench`, `tools/evaluate.py`) and written to
``rows.json`` as a flat JSON object: the fields below plus the metrics of the evaluations (``knn20_top1``,
``linear_top1``, ``retrieval_r1``, ``det_ap``, ``params_m`` …, each evaluator's keys). ``schema`` is
`SCHEMA_VERSION`; rows of another version are refused with the reason (`from_dict`).

Kinds: ``'teacher'``, ``'random_init'`` (the student architecture untrained, one per seed) and
``'floor'`` (raw pixels) are references, never ranked; ``'method'`` rows compete. ``rows.json`` holds
one row per (method, student, seed); the tables aggregate them (`benchmarks.reporting.aggregate`). Several students of one training (SlimCLR widths) are one row each, with
``shared_training=True`` and that training's cost.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

SCHEMA_VERSION = 1

KINDS = ('teacher', 'method', 'random_init', 'floor')


class RowSchemaError(ValueError):
    """A row that is not of this schema version (an older ``rows.json``)."""


@dataclass
class ResultRow:
    # what the row is
    kind: str                               # 'teacher' | 'method' | 'random_init' | 'floor'
    method: str                             # the row label as shown ('slimclr w0.5', 'raw pixels')
    student: str = '–'                      # the network, e.g. 'resnet18 x0.125'
    teacher: str = 'none'                   # the teacher it distilled from ('none' for from-scratch rows)
    status: str = 'ok'                      # 'ok' | 'failed'
    error: str | None = None                # why it failed (first line; traceback in <method>/error.log)
    method_name: str | None = None          # the suite's label of the training ('slimclr')
    method_type: str | None = None          # the registered class ('compress_2q')
    method_key: str | None = None           # digest of the method's resolved settings
    student_label: str | None = None        # which student of the training ('w0.5'; '' for the only one)
    uses_labels: bool | None = None         # trained on the labels (the supervised reference): shown, never ranked
    # how it was trained
    hparams: dict | None = None             # bound hyperparameters (teacher row: its training recipe)
    augmentation: str | None = None         # view recipe
    num_views: int | None = None
    budget: dict | None = None
    # what it cost
    images_seen: int | None = None
    train_time_s: float | None = None
    prepare_time_s: float | None = None     # the method's offline step (k-means …)
    teacher_time_s: float | None = None     # obtaining the teacher in this run (load or train)
    epoch_times_s: list | None = None
    peak_mem_mb: float | None = None
    final_loss: float | None = None
    loss_curve: list | None = None          # [[iteration, loss], ...]
    shared_training: bool | None = None     # one of several students of one training
    teacher_forward_images: int | None = None
    teacher_cached_images: int | None = None
    teacher_gpu_hours: float | None = None  # teacher row: published pre-training GPU-hours of a public checkpoint
    teacher_spec: str | None = None         # teacher row: the checkpoint layout it was loaded with
    teacher_input_norm: str | list | None = None
    # where and how it ran
    seed: int | None = None
    image_size: int | None = None
    device: str | None = None
    world_size: int | None = None
    git_commit: str | None = None
    versions: dict | None = None
    evals_key: str | None = None            # digest of the evaluation settings (resume reuses matching rows)
    config: dict | None = None              # the resolved config of the run
    # the evaluations' results
    metrics: dict = field(default_factory=dict)
    schema: int = SCHEMA_VERSION

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f'row kind must be one of {KINDS}, got {self.kind!r}')

    def to_dict(self) -> dict:
        """The flat JSON object of ``rows.json``: fields, then metrics at the top level."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != 'metrics'}
        clash = set(out) & set(self.metrics)
        if clash:
            raise ValueError(f'metric name(s) {sorted(clash)} collide with row fields')
        out.update(self.metrics)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> 'ResultRow':
        if data.get('schema') != SCHEMA_VERSION:
            raise RowSchemaError(f"a result row of schema {data.get('schema')!r}, but this version reads schema "
                                 f"{SCHEMA_VERSION}: rerun the benchmark in a new folder to get rows it can read")
        names = {f.name for f in fields(cls)}
        known = {k: v for k, v in data.items() if k in names and k != 'metrics'}
        return cls(**known, metrics={k: v for k, v in data.items() if k not in names})


ROW_FIELDS = [f.name for f in fields(ResultRow) if f.name != 'metrics']


def row_dicts(rows) -> list[dict]:
    """Rows as flat dicts (ResultRow objects or dicts already)."""
    return [r.to_dict() if isinstance(r, ResultRow) else dict(r) for r in rows]
