"""A version of the code that shapes a cached result, for cache keys.

A cache keyed only by its settings (data, architecture, recipe, seed) outlives the code that produced
it: a teacher trained before a change of the view code would be reused after it, and numbers published
from it could no longer be reproduced from the code. Every cache key therefore includes
`code_version` of the sources that shape the cached result: a digest of their syntax trees, with
docstrings left out (comments are not in the tree), so editing documentation keeps the caches and any
change of what the code does invalidates them.

The source sets (what each cache depends on) are named here, in one place: `DATA_SOURCES` (the
embedded images), `DETECTION_DATA_SOURCES`, `TRAINING_SOURCES` (what any trained network depends on:
the data and view code, the runner, the teacher code, the method contract, losses, heads and
backbones; add the training method's own file with `method_sources`), `PREPARE_SOURCES` (offline steps
such as cc's k-means, on top of the teacher's identity) and `RUN_SOURCES` (a run folder's rows: training
plus evaluation code).
"""
from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent   # the folder that holds methods/ and benchmarks/

DATA_SOURCES = ('benchmarks/data/synthetic.py',)
DETECTION_DATA_SOURCES = ('benchmarks/data/synthetic.py', 'benchmarks/data/detection.py')
TRAINING_SOURCES = ('benchmarks/data', 'benchmarks/engine', 'benchmarks/teachers', 'methods/__init__.py',
                    'methods/base.py', 'methods/common.py', 'methods/heads.py', 'methods/registry.py',
                    'methods/losses', 'methods/backbones')
PREPARE_SOURCES = ('methods', 'benchmarks/engine/prepare.py', 'benchmarks/engine/features.py')
RUN_SOURCES = ('benchmarks/data', 'benchmarks/engine', 'benchmarks/teachers', 'benchmarks/evals', 'methods')


def method_sources(method_cls) -> tuple[str, ...]:
    """`TRAINING_SOURCES` plus the file that defines ``method_cls`` (a method outside the project,
    imported with ``--import``, counts by the project's sources only)."""
    rel = method_cls.__module__.replace('.', '/') + '.py'
    return TRAINING_SOURCES + ((rel,) if (ROOT / rel).is_file() else ())


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, 'body', None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def source_digest(text: str) -> str:
    """Digest of one Python source's syntax tree without docstrings (comments and layout do not count)."""
    return hashlib.sha1(ast.dump(_strip_docstrings(ast.parse(text))).encode()).hexdigest()


def _files(paths) -> list[Path]:
    out = []
    for rel in paths:
        p = ROOT / rel
        out += sorted(p.rglob('*.py')) if p.is_dir() else [p] if p.is_file() else []
    return sorted(set(out))


@functools.lru_cache(maxsize=None)
def code_version(paths: tuple[str, ...]) -> str:
    """12-hex digest of every ``.py`` file under ``paths`` (relative to the project root), by relative
    path and `source_digest`; computed once per process."""
    h = hashlib.sha1()
    for f in _files(paths):
        h.update(str(f.relative_to(ROOT)).encode())
        h.update(source_digest(f.read_text()).encode())
    return h.hexdigest()[:12]
