"""The evaluator contract: one registered class per evaluation, like the methods.

An evaluator is a subclass of `Evaluator` registered in `EVALUATORS` under the name users select it
by (``--evals knn,linear``, ``evals.suites`` in a config); ``evals.<name>`` is its config section.
Adding an evaluation is one file in ``benchmarks/evals/`` with a ``@register_evaluator(name)`` class
(discovered on import). It declares:

* ``check(cfg, evals_cfg) -> [problem, ...]`` (classmethod): every problem with its settings, found
  before any data is generated or any model trained (no torch needed);
* ``columns(keys) -> [Column, ...]`` (classmethod): its columns among the metric keys of a set of
  result rows (header, format, group, whether higher or lower is better, detail-only), so tables
  are built from the rows alone, also when several runs are merged;
* ``caption() -> str``: its protocol, one clause of the leaderboard caption;
* ``run(ctx) -> {metric: value}``: the metrics of one network (`EvalContext`).

``uses_features``: it reads the centre-view train/val features, which `EvalContext.features`
extracts once per network and shares; ``needs_network``: it is skipped for the raw-pixel floor;
``needs_export``: it reads the exported backbone file (detection runs in a subprocess).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from mmengine.registry import Registry

EVALUATORS = Registry('evaluator')

# the column groups of the tables people read, in reading order: (key, header)
GROUPS = (('accuracy', 'Accuracy (%)'), ('retrieval', 'Retrieval (%)'), ('detection', 'Detection AP (%)'),
          ('cost', 'Cost'))


@dataclass(frozen=True)
class Column:
    """One table column: ``field`` (the metric key), ``header``, ``fmt`` (a format spec), ``group``
    (a key of `GROUPS`), ``better`` ('max', 'min' or None: ranks nothing), ``detail`` (only in the
    CSV/JSON, not in the tables people read: top-5 numbers, spreads over trials)."""
    field: str
    header: str
    fmt: str
    group: str
    better: str | None = 'max'
    detail: bool = False


def numbered_columns(keys, pattern: str, header: str, **kwargs) -> list[Column]:
    """A column per key matching ``pattern`` (one ``(\\d+)`` group), ascending in that number;
    ``header`` is formatted with the number (``'R@{}'``)."""
    regex = re.compile(f'^{pattern}$')
    found = sorted({int(m.group(1)) for k in keys for m in [regex.match(k)] if m})
    return [Column(pattern.replace(r'(\d+)', str(n)), header.format(n), **kwargs) for n in found]


@dataclass
class EvalContext:
    """What an evaluator may use for one network.

    * ``backbone``: the network (``None``: raw pixels, the floor row); ``name``: its row label.
    * ``train_set`` / ``val_set``: the suite's datasets (centre views); ``retrieval_set``: an external
      class-disjoint retrieval test set or None; ``image_size``; ``device``; ``seed``.
    * ``backbone_path``: the exported backbone file (``<method>/backbone.pth``, its ``.json`` spec next
      to it) or None when the network was not exported (the floor).
    * ``features()``: ``(train_f, train_y, val_f, val_y)``, extracted on first use and shared.
    """
    backbone: Any
    name: str
    train_set: Any
    val_set: Any
    image_size: int
    device: Any = 'cpu'
    seed: int = 0
    retrieval_set: Any = None
    backbone_path: Any = None
    batch_size: int = 256
    kind: str = 'method'              # 'teacher' | 'method' | 'random_init' | 'floor'
    extract: Callable | None = None   # extract(backbone, dataset, batch_size, device, desc) -> (f, y)
    log: Callable = print
    _features: tuple | None = field(default=None, repr=False)

    @property
    def num_classes(self) -> int:
        return len(self.train_set.classes)

    def embed(self, dataset, what: str):
        return self.extract(self.backbone, dataset, self.batch_size, self.device, desc=f'{self.name}: {what} features')

    def features(self) -> tuple:
        if self._features is None:
            train_f, train_y = self.embed(self.train_set, 'train')
            val_f, val_y = self.embed(self.val_set, 'val')
            self._features = (train_f, train_y, val_f, val_y)
        return self._features


class Evaluator:
    """Base class of the evaluations (see module doc). ``cfg`` is the evaluator's own section
    ``evals.<name>`` (a dict, possibly empty); ``evals_cfg`` the whole ``evals`` section."""

    name: ClassVar[str] = ''
    order: ClassVar[int] = 100          # position in a run and in the caption (low first)
    uses_features: ClassVar[bool] = False
    needs_network: ClassVar[bool] = True
    needs_export: ClassVar[bool] = False

    def __init__(self, cfg: dict | None = None, evals_cfg: dict | None = None):
        self.cfg = dict(cfg or {})
        self.evals_cfg = dict(evals_cfg or {})

    @classmethod
    def check(cls, cfg: dict, evals_cfg: dict) -> list[str]:
        """Problems with this evaluation's settings (empty: fine); no data, no torch."""
        return []

    @classmethod
    def environment(cls, cfg: dict, evals_cfg: dict) -> list[str]:
        """What this machine lacks for this evaluation (e.g. a library), checked after every input value."""
        return []

    @classmethod
    def columns(cls, keys) -> list[Column]:
        return []

    def caption(self) -> str:
        return ''

    def setup(self, log: Callable = print) -> None:
        """Work done once per run before any training (e.g. generating a dataset), so a problem shows
        before hours of training; default: nothing."""

    def applies(self, kind: str) -> bool:
        """Whether rows of ``kind`` ('teacher', 'method', 'random_init', 'floor') get this evaluation; default: all."""
        return True

    def run(self, ctx: EvalContext) -> dict:
        raise NotImplementedError

    def succeeded(self, metrics: dict) -> bool:
        """Whether ``metrics`` may be kept for a resumed run (a failed detection run is retried)."""
        return True


def register_evaluator(name: str):
    """Class decorator: register an `Evaluator` under ``name`` (its ``--evals`` name and config
    section) and set its ``name``; a name registered twice is an error (mmengine never overwrites)."""
    def wrap(cls):
        cls.name = name
        EVALUATORS.register_module(name=name, module=cls)
        return cls
    return wrap


def list_evaluators() -> list[str]:
    """Registered evaluation names in run order."""
    import benchmarks.evals  # noqa: F401  (discovers every evaluator module)
    return sorted(EVALUATORS.module_dict, key=lambda n: (EVALUATORS.get(n).order, n))


def get_evaluator(name: str) -> type[Evaluator]:
    import benchmarks.evals  # noqa: F401
    cls = EVALUATORS.get(name)
    if cls is None:
        raise KeyError(f'unknown evaluation {name!r}; valid: {", ".join(list_evaluators())}')
    return cls
