"""The claim "adding a method = writing one file", proven end to end from outside the repository.

`METHOD_SOURCE` is the whole method: a file in a package of its own, in a temporary folder that is
not part of this repository. `tools/bench.py --import PKG.MODULE` loads it (mmengine's
``custom_imports`` in a config does the same), and it trains, exports and evaluates like any built-in
method; its hyperparameter ``weight`` is recorded from its ``__init__`` signature. The README's "Add a
method" section shows this same file.
"""
import json
import sys
import textwrap

import pytest

from benchmarks.cli.bench import main
from tests.helpers.bench import BASE_OPTS

METHOD_SOURCE = textwrap.dedent('''
    from torch import nn

    from methods import METHODS, Method
    from methods.common import l2_normalize


    @METHODS.register_module(name='cosine_match')
    class CosineMatch(Method):
        """Match the teacher's pooled feature through a linear head: mean(2 - 2 cos(head(f_S(x)), f_T(x)))."""
        description = 'Cosine feature matching to the teacher through a linear head (example method)'
        paper = 'README.md, "Add a method"'
        needs_teacher = True
        num_views = 1                 # augmented views per image in batch['views']
        augmentation = 'compress'     # the view recipe of the paper

        def __init__(self, student, teacher=None, data_preprocessor=None, weight=1.0):
            super().__init__(student, teacher=teacher, data_preprocessor=data_preprocessor)
            self.head = nn.Linear(self.student.feat_dim, self.teacher_dim('backbone'))
            self.weight = weight

        def loss(self, batch):
            x = batch['views'][0]
            t = l2_normalize(batch['teacher'][0]['backbone'])   # the teacher's outputs on view 0
            s = l2_normalize(self.head(self.student(x)))
            return dict(loss_cos=self.weight * (2 - 2 * (s * t).sum(dim=1)).mean())
''')


@pytest.fixture
def outside_package(tmp_path, monkeypatch):
    """``my_methods/cosine_match.py`` in a folder outside the repository, importable, unregistered after."""
    pkg = tmp_path / 'outside' / 'my_methods'
    pkg.mkdir(parents=True)
    (pkg / '__init__.py').write_text('')
    (pkg / 'cosine_match.py').write_text(METHOD_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path / 'outside'))
    yield pkg
    from methods import METHODS
    METHODS.module_dict.pop('cosine_match', None)
    for name in [m for m in sys.modules if m.startswith('my_methods')]:
        del sys.modules[name]


@pytest.mark.slow
def test_a_method_from_outside_the_repository_runs_through_bench(outside_package, tmp_path, cache_dir, capsys):
    assert main(['--list']) == 0
    assert 'cosine_match' not in capsys.readouterr().out           # nothing registers it but the import
    assert main(['--import', 'my_methods.cosine_match', '--list']) == 0
    assert 'cosine_match' in capsys.readouterr().out
    work = tmp_path / 'run'
    assert main(['--import', 'my_methods.cosine_match', '--work-dir', str(work), '--methods', 'cosine_match',
                 '--cfg-options', *BASE_OPTS, 'method_cfgs.cosine_match.weight=0.5']) == 0
    rows = json.loads((work / 'rows.json').read_text())
    row = next(r for r in rows if r['method'] == 'cosine_match')
    assert row['status'] == 'ok' and row['hparams'] == {'weight': 0.5} and row['images_seen'] > 0
    assert row['teacher_forward_images'] == row['images_seen']    # the harness ran the teacher, once per image
    assert 0 <= row['knn20_top1'] <= 100
    assert (work / 'cosine_match' / 'backbone.pth').is_file()
    assert 'cosine_match' in (work / 'leaderboard.md').read_text()


def test_custom_imports_in_a_config_register_the_method(outside_package, tmp_path):
    from benchmarks.config import CONFIG_DIR, resolve
    cfg_file = tmp_path / 'my_suite.py'
    cfg_file.write_text(f"_base_ = ['{CONFIG_DIR / 'suites' / 'default.py'}']\n"
                        "custom_imports = dict(imports=['my_methods.cosine_match'], allow_failed_imports=False)\n"
                        "methods = ['cosine_match']\n")
    cfg = resolve(str(cfg_file))
    assert cfg.method_cfgs.cosine_match.to_dict() == dict(type='cosine_match', weight=1.0)


def test_an_unimportable_module_is_a_clear_error(capsys):
    assert main(['--import', 'no_such_pkg.method', '--list']) == 2
    err = capsys.readouterr().err
    assert "cannot import method module 'no_such_pkg.method'" in err and '--import' in err


def test_a_misspelt_hyperparameter_is_refused_before_work(outside_package, capsys):
    assert main(['--import', 'my_methods.cosine_match', '--methods', 'cosine_match',
                 '--cfg-options', 'method_cfgs.cosine_match.wieght=2']) == 2
    assert 'wieght' in capsys.readouterr().err
