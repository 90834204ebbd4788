"""tools/bench.py with teachers from public-checkpoint layouts (synthetic files: random weights, the
real key names and nesting, tests/helpers/checkpoints.py): every method runs with them, and a bad
checkpoint stops the run before any data is generated or any model trained."""
import json

import pytest
import torch

from benchmarks.cli.bench import main
from tests.helpers.bench import BASE_OPTS
from tests.helpers.checkpoints import write_fake_checkpoint

# every method at test size (the variants' banks below the 200-image training set)
ALL_OPTS = [*BASE_OPTS, 'evals.suites=[knn]', 'method_cfgs.moco_v2.queue_size=64',
            'method_cfgs.compress_2q.bank_size=64', 'method_cfgs.compress_2q_nomom.bank_size=64',
            'method_cfgs.compress_1q.bank_size=64', 'method_cfgs.crd.num_negatives=16', 'method_cfgs.cc.num_clusters=4',
            'method_cfgs.slimclr.queue_size=64', 'method_cfgs.seed.queue_size=64', 'method_cfgs.disco.queue_size=64',
            'method_cfgs.moco_v2_small.queue_size=64', 'method_cfgs.bingo.queue_size=64']
ONE_OPTS = [*BASE_OPTS, 'evals.suites=[knn]', 'method_cfgs.compress_2q.bank_size=64']
METHOD_ROWS = ['moco_v2', 'moco_v3', 'moco_v2_small', 'compress_2q', 'compress_2q_nomom', 'compress_1q', 'crd', 'cc',
               'reg', 'reg_bn', 'seed', 'disco', 'bingo', 'slimclr w1', 'slimclr w0.75', 'slimclr w0.5', 'slimclr w0.25',
               'supervised']


@pytest.mark.slow
@pytest.mark.parametrize('layout, extra', [
    ('moco_v2', []),
    ('swav', []),
    # a converted BYOL file has no projector: SEED distils the pooled backbone instead of its official head
    ('byol_converted', ['method_cfgs.seed.teacher_feature=backbone', 'method_cfgs.disco.teacher_feature=backbone',
                        'method_cfgs.bingo.teacher_feature=backbone']),
])
def test_every_method_runs_with_a_public_layout_teacher(layout, extra, tmp_path, cache_dir):
    path = tmp_path / f'{layout}.pth'
    written = write_fake_checkpoint(layout, path, arch='resnet18', width=0.25)
    work = tmp_path / 'run'
    assert main(['--work-dir', str(work), '--methods', 'all', '--teacher', str(path),
                 '--cfg-options', *ALL_OPTS, *extra]) == 0
    rows = json.loads((work / 'rows.json').read_text())
    teacher = rows[0]
    assert teacher['kind'] == 'teacher' and teacher['teacher_spec'] == layout
    assert teacher['student'] == 'resnet18 x0.25'  # the architecture was read from the weights
    # (other tests may register extra methods in this process: 'all' includes them too)
    assert set(METHOD_ROWS) <= {r['method'] for r in rows if r['kind'] == 'method'}
    for r in rows:
        assert r['status'] == 'ok' and 0 <= r['knn1_top1'] <= 100
        if r['kind'] == 'method' and r['method_type'] not in ('moco_v2', 'moco_v3', 'moco_v2_small', 'slimclr',
                                                               'slimclr_mocov3', 'supervised'):
            assert r['teacher'] == teacher['teacher']
    # the distilled teacher is the file's network, not a random one: same features as the written backbone
    x = torch.randn(2, 3, 32, 32)
    written.backbone.eval()
    from benchmarks.teachers.cache import load_checkpoint_teacher
    from benchmarks.config import resolve
    cfg = resolve('default', teacher=str(path))
    assert torch.allclose(load_checkpoint_teacher(cfg)(x)['backbone'], written.backbone(x), atol=1e-6)


def _fails_before_work(tmp_path, capsys, *args):
    work = tmp_path / 'never'
    assert main(['--work-dir', str(work), '--methods', 'compress_2q,seed', *args, '--cfg-options', *BASE_OPTS,
                 'method_cfgs.compress_2q.bank_size=64', 'method_cfgs.seed.queue_size=64']) == 2
    assert not work.exists()  # nothing generated, trained or written
    return capsys.readouterr().err


def test_wrong_prefix_fails_first_naming_the_missing_keys_and_the_spec(tmp_path, capsys):
    path = tmp_path / 'moco.pth'
    write_fake_checkpoint('moco_v2', path, arch='resnet18', width=0.25)
    ckpt = torch.load(path, weights_only=True)
    ckpt['state_dict'] = {k.replace('module.encoder_q.', 'module.encoder.'): v for k, v in ckpt['state_dict'].items()}
    torch.save(ckpt, path)
    err = _fails_before_work(tmp_path, capsys, '--teacher', str(path), '--teacher-spec', 'moco_v2')
    assert "teacher spec 'moco_v2'" in err and 'missing keys' in err and 'conv1.weight' in err
    assert "'module.encoder.'" in err  # where the backbone really is
    err = _fails_before_work(tmp_path, capsys, '--teacher', str(path))  # detection: every spec tried, and why
    assert 'matches none of the known teacher specs' in err and "moco_v2: no key starts with 'module.encoder_q.'" in err


def test_projection_head_asked_of_a_headless_teacher_fails_first(tmp_path, capsys):
    path = tmp_path / 'byol.pth'
    write_fake_checkpoint('byol_converted', path, arch='resnet18', width=0.25)
    err = _fails_before_work(tmp_path, capsys, '--teacher', str(path))
    assert "method_cfgs.seed.teacher_feature='head'" in err and 'teacher_feature=backbone' in err


def test_unknown_spec_name_and_untrusted_globals_fail_first(tmp_path, capsys):
    path = tmp_path / 'compress_student.pth'
    write_fake_checkpoint('compress_student', path, arch='resnet18', width=0.25)
    err = _fails_before_work(tmp_path, capsys, '--teacher', str(path), '--teacher-spec', 'mocov2')
    assert 'moco_v2' in err  # the valid names are listed
    err = _fails_before_work(tmp_path, capsys, '--teacher', str(path))
    assert 'argparse.Namespace' in err and '--teacher-allow-globals' in err


@pytest.mark.slow
def test_trusted_globals_and_forced_simclr_input_normalisation(tmp_path, cache_dir):
    path = tmp_path / 'compress_student.pth'
    write_fake_checkpoint('compress_student', path, arch='resnet18', width=0.25)
    work = tmp_path / 'a'
    assert main(['--work-dir', str(work), '--methods', 'compress_2q', '--teacher', str(path),
                 '--teacher-allow-globals', 'argparse.Namespace', '--cfg-options', *ONE_OPTS]) == 0
    assert json.loads((work / 'rows.json').read_text())[0]['teacher_spec'] == 'compress_student'
    path = tmp_path / 'simclr.pth'
    write_fake_checkpoint('simclr_v1_converted', path, arch='resnet18', width=0.25)
    work = tmp_path / 'b'
    assert main(['--work-dir', str(work), '--methods', 'compress_2q', '--teacher', str(path),
                 '--teacher-spec', 'simclr_v1_converted', '--cfg-options', *ONE_OPTS]) == 0
    teacher = json.loads((work / 'rows.json').read_text())[0]
    assert teacher['teacher_spec'] == 'simclr_v1_converted' and teacher['teacher_input_norm'] == 'unit'
