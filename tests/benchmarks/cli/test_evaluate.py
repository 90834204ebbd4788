"""tools/evaluate.py (benchmarks.cli.evaluate): a plain torchvision state dict, an exported student with
every evaluation, and the input errors."""
import json

import pytest
import torch
import torchvision

from benchmarks.cli.evaluate import main as evaluate_main
from methods.backbones import build_backbone
from tests.helpers.bench import BASE_OPTS

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
