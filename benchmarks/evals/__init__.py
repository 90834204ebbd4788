"""The evaluations: one registered `Evaluator` class per file of this folder, discovered on import
(see `benchmarks.evals.base`); `benchmarks.evals.suite.EvalSuite` runs the selected ones."""
import importlib
import pkgutil

_SHARED = {'arrays', 'base', 'suite', 'detection_worker'}  # no evaluators in these

for _info in pkgutil.iter_modules(__path__):
    if not _info.ispkg and _info.name not in _SHARED:
        importlib.import_module(f'{__name__}.{_info.name}')
