"""The contenders: one registered class per file of this folder, discovered on import.

Every module of ``methods/`` is imported here (shared pieces such as ``base``, ``common`` and
``heads`` register nothing), so a method is added by dropping one file with a
``@METHODS.register_module(name=...)`` class into the folder. A method that lives in another package
is registered by importing its module first: `import_methods` (``tools/bench.py --import NAME``, or
mmengine's ``custom_imports`` in a config).
"""
import importlib
import pkgutil

from .base import Method
from .registry import METHODS, get_method, list_methods

for _info in pkgutil.iter_modules(__path__):
    if not _info.ispkg:
        importlib.import_module(f'{__name__}.{_info.name}')


def import_methods(modules) -> None:
    """Import each module of ``modules`` (dotted names) so its registered methods become available;
    an unimportable name raises ImportError naming it."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ImportError(f'cannot import method module {name!r}: {exc}. Pass an importable dotted module '
                              f'name (on PYTHONPATH or installed), e.g. --import my_pkg.my_method.') from exc


__all__ = ['METHODS', 'Method', 'get_method', 'import_methods', 'list_methods']
