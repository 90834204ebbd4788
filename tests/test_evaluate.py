"""The evaluation suite wiring: one feature extraction, every evaluation, and tools/evaluate.py."""
import json

import numpy as np
import pytest
import torch
import torchvision

from benchmarks.evals.suite import EVALUATIONS, evaluate_features, parse_suites
from benchmarks.cli.evaluate import main as evaluate_main
from methods.backbones import build_backbone
from tests.test_bench import BASE_OPTS

EVALS = dict(knn=dict(majority_ks=[1, 5], weighted_k=10, temperature=0.07),
             linear=dict(protocol='compress', epochs_scale=1.0, mode='cached'),
             retrieval=dict(dataset='val_split', ks=[1, 2, 4, 8]), ca=dict(nredo=2))


def _blobs(n_per_class, num_classes=4, dim=8, seed=0):
    centres = np.random.default_rng(123).normal(size=(num_classes, dim)) * 4  # shared by train and val
    g = np.random.default_rng(seed)
    y = np.repeat(np.arange(num_classes), n_per_class)
    return (centres[y] + g.normal(size=(len(y), dim))).astype(np.float32), y.astype(np.int64)


def test_every_feature_evaluation_from_one_set_of_features():
    train_f, train_y = _blobs(200)
    val_f, val_y = _blobs(10, seed=1)
    m = evaluate_features(train_f, train_y, val_f, val_y, EVALS, ['knn', 'linear', 'retrieval', 'ca'])
    for key in ('knn1_top1', 'knn5_top1', 'knn10w_top1', 'linear_top1', 'retrieval_r1', 'retrieval_r8', 'ca_top1'):
        assert 0 <= m[key] <= 100, key
    assert m['knn1_top1'] > 90 and m['linear_top1'] > 90 and m['retrieval_r1'] > 90
    # retrieval runs on the second half of the classes only: labels 2 and 3 of the val split
    from benchmarks.evals.retrieval import recall_at_k
    idx = val_y >= 2
    assert m['retrieval_r1'] == recall_at_k(val_f[idx], val_y[idx])['retrieval_r1']
    only_knn = evaluate_features(train_f, train_y, val_f, val_y, EVALS, ['knn'])
    assert not any(k.startswith(('linear', 'retrieval', 'ca')) for k in only_knn)


def test_suite_names_are_checked():
    assert parse_suites('knn, linear') == ['knn', 'linear']
    assert parse_suites(list(EVALUATIONS)) == list(EVALUATIONS)
    with pytest.raises(ValueError, match='valid: knn, linear'):
        parse_suites('knn,linaer')


TINY_EVAL = BASE_OPTS


def test_evaluate_tool_on_a_plain_torchvision_state_dict(tmp_path, cache_dir):
    torch.manual_seed(0)
    path = tmp_path / 'r18.pth'
    torch.save({'state_dict': {f'module.{k}': v for k, v in torchvision.models.resnet18().state_dict().items()}},
               path)
    assert evaluate_main(['--backbone', str(path), '--arch', 'resnet18', '--suites', 'linear,knn,retrieval',
                          '--out', str(tmp_path / 'out'), '--cfg-options', *TINY_EVAL]) == 0
    row = json.loads((tmp_path / 'out' / 'rows.json').read_text())[0]
    assert row['student'] == 'resnet18 x1' and 'linear_top1' in row and 'retrieval_r4' in row and 'knn20_top1' in row
    assert 'ca_top1' not in row and 'params_m' not in row
    assert 'R@1' in (tmp_path / 'out' / 'leaderboard.md').read_text()


def test_evaluate_tool_on_an_exported_student_with_every_evaluation(tmp_path, cache_dir):
    torch.manual_seed(0)
    backbone = build_backbone('resnet18', width=0.125)
    torch.save(backbone.state_dict(), tmp_path / 'backbone.pth')
    (tmp_path / 'backbone.json').write_text(json.dumps(backbone.spec()))
    assert evaluate_main(['--backbone', str(tmp_path / 'backbone.pth'), '--out', str(tmp_path / 'out'),
                          '--cfg-options', *TINY_EVAL]) == 0
    row = json.loads((tmp_path / 'out' / 'rows.json').read_text())[0]
    for key in ('knn1_top1', 'linear_top1', 'retrieval_r2', 'ca_top1', 'params_m', 'gmacs', 'latency_b1_ms',
                'latency_b64_ms', 'throughput_b64'):
        assert key in row, key
    assert row['latency_b1_ms'] > 0 and row['latency_device']


@pytest.mark.parametrize('args, message', [
    (['--backbone', '/no/such.pth'], 'does not exist'),
    (['--backbone', '{plain}'], 'pass --arch'),
    (['--backbone', '{plain}', '--arch', 'resnet34'], 'loading the backbone failed: missing'),
    (['--backbone', '{plain}', '--arch', 'resnet18', '--suites', 'knn,lineer'], 'unknown evaluation'),
    (['--backbone', '{plain}', '--arch', 'resnet18', '--cfg-options', 'evals.retrieval.dataset=cub200'],
     'evals.retrieval.root'),
    (['--backbone', '{plain}', '--arch', 'resnet18', '--suites', 'detection', '--det-config',
      'configs/detection/voc0712_faster_rcnn_r18_fpn.py'], '--det-data-root'),
])
def test_evaluate_tool_bad_input(args, message, tmp_path, capsys):
    plain = tmp_path / 'plain.pth'
    torch.save(build_backbone('resnet18', width=0.125).state_dict(), plain)
    args = [a.replace('{plain}', str(plain)) for a in args]
    if '--arch' in args:
        args += ['--width', '0.125']
    assert evaluate_main([*args, '--out', str(tmp_path / 'never')]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'never').exists()
