"""The claim "adding a method = writing and registering one class", proven end to end.

The class below is the whole method: nothing else in the project is edited. It is registered at
import, so the registry-parametrized smoke test in test_methods.py trains it too, and here it runs
through tools/bench.py's entry function like any built-in method. The README's "Add a method"
section shows this same class.
"""
import json

from torch import nn

from benchmarks.bench import main
from methods import METHODS, Method
from methods.common import l2_normalize
from tests.test_bench import BASE_OPTS


@METHODS.register_module(name='cosine_match')
class CosineMatch(Method):
    """Match the teacher's pooled feature through a linear head: mean(2 − 2·cos(head(f_S(x)), f_T(x)))."""
    description = 'Cosine feature matching to the teacher through a linear head (example method)'
    paper = 'tests/test_add_method.py'
    needs_teacher = True
    num_views = 1
    augmentation = 'compress'

    def __init__(self, student, teacher=None, data_preprocessor=None, weight=1.0):
        super().__init__(student, teacher=teacher, data_preprocessor=data_preprocessor)
        self.head = nn.Linear(self.student.feat_dim, self.teacher_dim('backbone'))
        self.weight = weight
        self._hparams = dict(weight=weight)

    def loss(self, batch):
        x = batch['views'][0]
        t = l2_normalize(self.teacher_features(x)['backbone'])
        s = l2_normalize(self.head(self.student(x)))
        return dict(loss_cos=self.weight * (2 - 2 * (s * t).sum(dim=1)).mean())


def test_a_method_defined_here_runs_through_bench(tmp_path, cache_dir, capsys):
    assert main(['--list']) == 0
    assert 'cosine_match' in capsys.readouterr().out
    assert main(['--work-dir', str(tmp_path), '--methods', 'cosine_match', '--cfg-options', *BASE_OPTS]) == 0
    rows = json.loads((tmp_path / 'rows.json').read_text())
    row = next(r for r in rows if r['method'] == 'cosine_match')
    assert row['status'] == 'ok' and row['hparams'] == {'weight': 1.0} and row['images_seen'] > 0
    assert 0 <= row['knn20_top1'] <= 100
    assert (tmp_path / 'cosine_match' / 'backbone.pth').is_file()
    assert 'cosine_match' in (tmp_path / 'leaderboard.md').read_text()
