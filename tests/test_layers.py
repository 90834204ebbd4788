"""The package layering of docs/architecture.md: lower layers never import upper ones, nothing imports
another module's private names, and every docstring cites papers and official code, not team notes."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# layer of each package (a module may import its own layer and lower ones)
LAYERS = {
    'methods': 0,
    'benchmarks.errors': 0, 'benchmarks.config': 0, 'benchmarks.stats': 0, 'benchmarks.code_version': 0,
    'benchmarks.cachefill': 0,
    'benchmarks.data': 1,
    'benchmarks.engine': 2,
    'benchmarks.teachers': 3,
    'benchmarks.evals': 4,
    'benchmarks.reporting': 5,
    'benchmarks.plan': 6, 'benchmarks.bench': 6, 'benchmarks.checks': 6,
    'benchmarks.cli': 7, 'benchmarks.perf': 7,
}


def _layer(module: str):
    parts = module.split('.')
    for n in range(len(parts), 0, -1):
        if '.'.join(parts[:n]) in LAYERS:
            return LAYERS['.'.join(parts[:n])]
    return None


def _modules():
    for pkg in ('methods', 'benchmarks'):
        for path in sorted((ROOT / pkg).rglob('*.py')):
            module = '.'.join(path.relative_to(ROOT).with_suffix('').parts).removesuffix('.__init__')
            if module != 'benchmarks':  # the namespace itself: an empty __init__
                yield module, path


def _imports(path: Path):
    """(module, [names]) of every import statement, nested ones included."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, []


def test_every_module_has_a_layer():
    missing = [m for m, _ in _modules() if _layer(m) is None]
    assert not missing


@pytest.mark.parametrize('module,path', list(_modules()), ids=lambda v: v if isinstance(v, str) else '')
def test_lower_layers_never_import_upper_ones(module, path):
    mine = _layer(module)
    upward = [imp for imp, _ in _imports(path) if _layer(imp) is not None and _layer(imp) > mine]
    assert not upward, f'{module} (layer {mine}) imports {upward}'


@pytest.mark.parametrize('module,path', list(_modules()), ids=lambda v: v if isinstance(v, str) else '')
def test_no_private_names_across_modules(module, path):
    private = [(imp, n) for imp, names in _imports(path) for n in names
               if n.startswith('_') and not n.startswith('__') and imp.split('.')[0] in ('methods', 'benchmarks')
               and imp != module]
    assert not private, f'{module} imports private names {private}'


def test_no_references_to_notes_outside_the_repository():
    """Docstrings, comments and configs cite the papers and official files (docs/methods.md), never the
    team's private notes, which a user of the package does not have."""
    pattern = re.compile(r'research/methods|methods-2\.md|DESIGN\.md|\.\./shared')
    hits = [f'{p.relative_to(ROOT)}:{i}' for sub in ('methods', 'benchmarks', 'configs', 'tools', 'tests', 'docs')
            for p in (ROOT / sub).rglob('*') if p.suffix in ('.py', '.md', '.sh') and p != Path(__file__)
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not hits, hits
