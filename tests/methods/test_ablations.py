"""Ablation switches of CompRess, SEED and the regression baselines (docs/methods.md#ablation-switches).

Every switch value trains two CPU steps with a finite loss; shapes, head types and the normalised
tensors are checked against independent computations; invalid values fail with a helpful message;
the defaults of the registered methods are the official behaviour.
"""
import math

import pytest
import torch
from mmengine.optim import OptimWrapper
from torch import nn

import methods.compress  # noqa: F401  (registers the methods)
import methods.regression  # noqa: F401
import methods.seed  # noqa: F401
from benchmarks.engine.runner import build_method
from methods.common import FeatureNorm, check_choice
from methods.heads import build_head
from methods.losses import compress_loss
from tests.helpers import ROOT, STUDENT, random_batch

D_S, D_BACKBONE, D_HEAD = 64, 64, 16      # tiny student / tiny teacher backbone / tiny teacher head


def _build(name, teacher, **hp):
    torch.manual_seed(0)
    return build_method(name, hp, STUDENT, teacher)


def _train(method, steps=2, lr=0.1):
    opt = OptimWrapper(torch.optim.SGD(method.trainable_parameters(), lr=lr, momentum=0.9))
    method.train()
    for step in range(steps):
        log_vars = method.train_step(random_batch(seed=step), opt)
        method.after_step()  # what the runner's TrainingProgressHook does after every step
        assert torch.isfinite(log_vars['loss']).all()
    return method


# --- shared pieces ---------------------------------------------------------------------------------

X = torch.tensor([[3.0, 4.0, 0.0], [1.0, -2.0, 2.0], [0.0, 0.0, 5.0], [-1.0, 2.0, 1.0]])


def _manual_l2(rows):
    return [[v / math.sqrt(sum(u * u for u in r)) for v in r] for r in rows]


def _manual_bn(rows, eps=1e-5):
    """Column-wise (x - mean) / sqrt(biased var + eps), written out with loops."""
    n, d = len(rows), len(rows[0])
    out = [[0.0] * d for _ in range(n)]
    for j in range(d):
        col = [rows[i][j] for i in range(n)]
        mean = sum(col) / n
        var = sum((c - mean) ** 2 for c in col) / n
        for i in range(n):
            out[i][j] = (col[i] - mean) / math.sqrt(var + eps)
    return out


def test_feature_norm_l2_matches_manual():
    norm = FeatureNorm('l2', 3)
    assert torch.allclose(norm(X), torch.tensor(_manual_l2(X.tolist())), atol=1e-6)
    assert torch.allclose(norm(X)[0], torch.tensor([0.6, 0.8, 0.0]))
    assert not list(norm.state_dict())


def test_feature_norm_bn_l2_uses_batch_statistics_then_l2():
    norm = FeatureNorm('bn_l2', 3).train()
    got = norm(X)
    assert torch.allclose(got, torch.tensor(_manual_l2(_manual_bn(X.tolist()))), atol=1e-5)
    assert not norm.bn.affine and norm.bn.weight is None
    # running statistics move towards the batch's (momentum 0.1, unbiased variance) and eval mode uses them
    assert torch.allclose(norm.bn.running_mean, 0.1 * X.mean(0), atol=1e-6)
    assert torch.allclose(norm.bn.running_var, 0.9 + 0.1 * X.var(0, unbiased=True), atol=1e-5)
    norm.eval()
    expected = (X - norm.bn.running_mean) / torch.sqrt(norm.bn.running_var + 1e-5)
    assert torch.allclose(norm(X), expected / expected.norm(dim=1, keepdim=True), atol=1e-5)
    assert sorted(norm.state_dict()) == ['bn.num_batches_tracked', 'bn.running_mean', 'bn.running_var']


def test_feature_norm_none_is_identity():
    norm = FeatureNorm('none', 3)
    assert torch.equal(norm(X), X)


def test_invalid_choices_name_the_valid_values():
    with pytest.raises(ValueError, match=r"FeatureNorm: kind must be one of 'l2', 'bn_l2', 'none', got 'bn'"):
        FeatureNorm('bn', 3)
    with pytest.raises(ValueError, match=r"Owner: knob must be one of 'a', 'b', got 'c'"):
        check_choice('Owner', 'knob', 'c', ('a', 'b'))


@pytest.mark.parametrize('kind,types,out', [
    ('none', [nn.Identity], 8),
    ('linear', [nn.Linear], 8),
    ('mlp', [nn.Linear, nn.ReLU, nn.Linear], 8),
    ('mlp4', [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear, nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear], 5),
])
def test_build_head_kinds(kind, types, out):
    torch.manual_seed(0)
    head = build_head(kind, 8, out)
    mods = list(head) if isinstance(head, nn.Sequential) else [head]
    assert [type(m) for m in mods] == types
    assert head(torch.randn(4, 8)).shape == (4, out)
    if kind == 'mlp':
        assert head[0].out_features == 8 and build_head('mlp', 8, out, hidden=32)[0].out_features == 32
    if kind == 'mlp4':
        assert [m.out_features for m in mods if isinstance(m, nn.Linear)] == [16, 8, 16, 5]


def test_build_head_errors_are_helpful():
    with pytest.raises(ValueError, match=r"student_head='none' \(identity\) keeps the 64-d .* 16-d .*'linear' or 'mlp'"):
        build_head('none', 64, 16, name='student_head')
    assert isinstance(build_head('none', 64, 16, match_dims=False), nn.Identity)
    with pytest.raises(ValueError, match=r"head must be one of 'none', 'linear', 'mlp', 'mlp4', got 'conv'"):
        build_head('conv', 64, 16)


# --- CompRess: bank topology, student bank writer, student head --------------------------------------

@pytest.mark.parametrize('student_bank', ['ema', 'current', 'none'])
@pytest.mark.parametrize('student_head', ['none', 'linear', 'mlp'])
def test_compress_bank_and_head_switches(student_bank, student_head, tiny_teacher):
    # the teacher's 16-d head feature makes D_s (64) != D_t (16), so every projection is visible
    feature = 'backbone' if (student_bank, student_head) == ('none', 'none') else 'head'
    d_t = D_BACKBONE if feature == 'backbone' else D_HEAD
    method = _build('compress_2q', tiny_teacher, bank_size=32, student_bank=student_bank,
                    student_head=student_head, teacher_feature=feature)
    expected_head = {'none': nn.Identity, 'linear': nn.Linear, 'mlp': nn.Sequential}[student_head]
    assert type(method.projection) is expected_head
    assert method.teacher_bank.bank.shape == (32, d_t)
    if student_bank == 'none':
        assert not hasattr(method, 'student_bank_q') and not hasattr(method, 'key_student')
    else:
        d_bank = D_S if student_head == 'none' else d_t
        assert method.student_bank_q.bank.shape == (32, d_bank)
    assert hasattr(method, 'key_projection') == (student_bank == 'ema')
    hp = method.hparams
    assert (hp['student_bank'], hp['student_head']) == (student_bank, student_head)
    if student_head == 'mlp':  # mlp_hidden=None: hidden width D_s
        assert method.projection[0].out_features == D_S
    _train(method)
    assert method.teacher_bank.ptr.item() == 16
    if student_bank != 'none':
        assert method.student_bank_q.ptr.item() == 16
        assert torch.allclose(method.student_bank_q.bank[:16].norm(dim=1), torch.ones(16), atol=1e-5)


def test_compress_1q_without_head_needs_matching_dims(tiny_teacher):
    with pytest.raises(ValueError, match=r"student_head='none' \(identity\) keeps the 64-d .* 16-d"):
        _build('compress_1q', tiny_teacher, bank_size=32, student_head='none', teacher_feature='head')
    method = _build('compress_1q', tiny_teacher, bank_size=32, student_head='mlp', mlp_hidden=32)
    assert [m.out_features for m in method.projection if isinstance(m, nn.Linear)] == [32, D_BACKBONE]
    _train(method)


def test_compress_ema_key_encoder_includes_the_head(tiny_teacher):
    method = _build('compress_2q', tiny_teacher, bank_size=32, student_head='linear', teacher_feature='head',
                    momentum=0.9)
    key_ids = {id(p) for p in list(method.key_student.parameters()) + list(method.key_projection.parameters())}
    assert not key_ids & {id(p) for p in method.trainable_parameters()}
    assert all(not p.requires_grad for p in method.key_projection.parameters())
    p0 = method.projection.weight.clone()
    k0 = method.key_projection.weight.clone()
    s0 = {n: q.detach().clone() for n, q in method.student.named_parameters()}
    assert torch.equal(k0, p0)                   # the key encoder starts as a copy
    opt = OptimWrapper(torch.optim.SGD(method.trainable_parameters(), lr=0.1))
    method.train()
    method.train_step(random_batch(seed=5), opt)         # loss, backward, step: θ0 -> θ1
    p1 = method.projection.weight.clone()
    assert not torch.equal(p1, p0)
    assert torch.equal(method.key_projection.weight, k0)  # no EMA inside the forward
    method.after_step()
    # the official order (moment_update after optimizer.step): key = m·θ0 + (1 − m)·θ1
    assert torch.allclose(method.key_projection.weight, 0.9 * p0 + 0.1 * p1, atol=1e-6)
    for name, key in method.key_student.named_parameters():   # the backbone follows the same rule
        assert torch.allclose(key, 0.9 * s0[name] + 0.1 * dict(method.student.named_parameters())[name], atol=1e-6)


@pytest.mark.parametrize('name,student_bank', [('compress_2q', 'ema'), ('compress_2q_nomom', 'current'),
                                               ('compress_1q', 'none')])
def test_compress_registered_names_differ_in_their_defaults(name, student_bank, tiny_teacher):
    method = _build(name, tiny_teacher, bank_size=32)
    assert method.student_bank == student_bank == method.hparams['student_bank']


@pytest.mark.parametrize('kwargs,match', [
    (dict(student_bank='momentum'), r"student_bank must be one of 'ema', 'current', 'none', got 'momentum'"),
    (dict(student_head='mlp4'), r"student_head must be one of 'none', 'linear', 'mlp', got 'mlp4'"),
    (dict(teacher_norm='bn'), r"teacher_norm must be one of 'l2', 'bn_l2', 'none', got 'bn'"),
])
def test_compress_invalid_values(kwargs, match, tiny_teacher):
    with pytest.raises(ValueError, match=match):
        _build('compress_2q', tiny_teacher, bank_size=32, **kwargs)


def test_compress_teacher_temperature(tiny_teacher):
    method = _build('compress_1q', tiny_teacher, bank_size=32, teacher_temperature=0.1)
    assert method.hparams['teacher_temperature'] == 0.1 and method.hparams['temperature'] == 0.04
    method.train()
    x = torch.randn(8, 3, 32, 32)
    t_bank, s_bank = method.teacher_bank.bank.clone(), method.teacher_bank.bank.clone()
    with torch.no_grad():
        t = tiny_teacher(x)['backbone']
        t = t / t.norm(dim=1, keepdim=True)
        s = method.projection(method.student(x))
        s = s / s.norm(dim=1, keepdim=True)
        expected = compress_loss(s, s_bank, t, t_bank, temperature=0.04, teacher_temperature=0.1)
        single = compress_loss(s, s_bank, t, t_bank, temperature=0.04)
        got = method.loss(dict(index=torch.arange(8), views=[x], label=None, teacher=[tiny_teacher(x)]))['loss_kl']
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    assert got.item() != pytest.approx(single.item(), rel=1e-3)
    assert _build('compress_2q', tiny_teacher, bank_size=32).teacher_temperature == 0.04   # None: = temperature


# --- teacher feature normalisation (compress, seed, reg) ---------------------------------------------

@pytest.mark.parametrize('name,size_key', [('compress_2q', 'bank_size'), ('seed', 'queue_size'), ('reg', None)])
@pytest.mark.parametrize('kind', ['l2', 'bn_l2', 'none'])
def test_teacher_norm_switch(name, size_key, kind, tiny_teacher):
    hp = {size_key: 32} if size_key else {}
    method = _build(name, tiny_teacher, teacher_norm=kind, **hp)
    assert method.teacher_norm.kind == kind and method.hparams['teacher_norm'] == kind
    _train(method)
    if kind == 'bn_l2':
        assert method.teacher_norm.bn.num_batches_tracked.item() == 2
    if name == 'reg':
        return
    # what the bank/queue received from the last batch is the documented teacher tensor
    bank = method.teacher_bank if name == 'compress_2q' else method.queue
    x = method.data_preprocessor.normalise(random_batch(seed=1)[1][0])
    raw = tiny_teacher(x)[method.teacher_feature]
    written = bank.bank[8:16]
    if kind == 'none':
        assert torch.allclose(written, raw, atol=1e-5)
    elif kind == 'l2':
        assert torch.allclose(written, raw / raw.norm(dim=1, keepdim=True), atol=1e-5)
    else:
        manual = torch.tensor(_manual_l2(_manual_bn(raw.double().tolist())), dtype=written.dtype)
        assert torch.allclose(written, manual, atol=1e-4)


# --- SEED student head ----------------------------------------------------------------------------------

@pytest.mark.parametrize('student_head,feature,types', [
    ('mlp', 'head', [nn.Linear, nn.ReLU, nn.Linear]),
    ('linear', 'head', [nn.Linear]),
    ('none', 'backbone', [nn.Identity]),
])
def test_seed_student_head(student_head, feature, types, tiny_teacher):
    method = _build('seed', tiny_teacher, queue_size=32, student_head=student_head, teacher_feature=feature,
                    mlp_hidden=48 if student_head == 'mlp' else None)
    mods = list(method.head) if isinstance(method.head, nn.Sequential) else [method.head]
    assert [type(m) for m in mods] == types
    d_t = D_HEAD if feature == 'head' else D_BACKBONE
    assert method.queue.bank.shape == (32, d_t)
    assert method.hparams['mlp_hidden'] == (48 if student_head == 'mlp' else None)
    if student_head == 'mlp':
        assert method.head[0].out_features == 48 and method.head[2].out_features == d_t
    _train(method)


def test_seed_invalid_values(tiny_teacher):
    with pytest.raises(ValueError, match=r"student_head='none' \(identity\) keeps the 64-d .* 16-d"):
        _build('seed', tiny_teacher, queue_size=32, student_head='none')
    with pytest.raises(ValueError, match=r"SEED: student_head must be one of 'none', 'linear', 'mlp', got 'MLP'"):
        _build('seed', tiny_teacher, queue_size=32, student_head='MLP')
    with pytest.raises(ValueError, match=r"SEED: teacher_norm must be one of"):
        _build('seed', tiny_teacher, queue_size=32, teacher_norm='batchnorm')


# --- regression: head, both normalisations, old reg_bn checkpoints --------------------------------------

@pytest.mark.parametrize('head,feature,n_linear', [('none', 'backbone', 0), ('linear', 'head', 1), ('mlp', 'head', 4)])
def test_reg_head(head, feature, n_linear, tiny_teacher):
    method = _build('reg', tiny_teacher, head=head, teacher_feature=feature)
    assert sum(isinstance(m, nn.Linear) for m in method.head.modules()) == n_linear
    if head == 'none':
        assert isinstance(method.head, nn.Identity)
    _train(method)


@pytest.mark.parametrize('student_norm', ['l2', 'bn_l2', 'none'])
def test_reg_student_norm(student_norm, tiny_teacher):
    method = _build('reg', tiny_teacher, student_norm=student_norm)
    assert method.student_norm.kind == student_norm and method.hparams['student_norm'] == student_norm
    _train(method)


def test_reg_without_normalisation_is_plain_mse(tiny_teacher):
    method = _build('reg', tiny_teacher, head='none', teacher_norm='none', student_norm='none').train()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        s, t = method.student(x), tiny_teacher(x)['backbone']
        expected = sum(((s[i] - t[i]) ** 2).sum() for i in range(4)) / 4
        got = method.loss(dict(index=torch.arange(4), views=[x], label=None, teacher=[tiny_teacher(x)]))['loss_reg']
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


def test_reg_invalid_values(tiny_teacher):
    with pytest.raises(ValueError, match=r"head='none' \(identity\) keeps the 64-d .* 16-d"):
        _build('reg', tiny_teacher, head='none', teacher_feature='head')
    with pytest.raises(ValueError, match=r"RegressionBN: student_norm must be one of 'l2', 'bn_l2', 'none', got 'bn'"):
        _build('reg_bn', tiny_teacher, student_norm='bn')
    with pytest.raises(ValueError, match=r"Regression: head must be one of 'none', 'linear', 'mlp', got 'mlp4'"):
        _build('reg', tiny_teacher, head='mlp4')


# --- defaults of the registered methods: the official codes' values ---------------------------------------

DEFAULTS = {
    'compress_2q': dict(bank_size=128000, temperature=0.04, momentum=0.999, teacher_feature='backbone',
                        bank_init='uniform', student_bank='ema', student_head='none', teacher_norm='l2',
                        teacher_temperature=None, mlp_hidden=None),
    'compress_2q_nomom': dict(bank_size=128000, temperature=0.04, momentum=0.999, teacher_feature='backbone',
                              bank_init='uniform', student_bank='current', student_head='none', teacher_norm='l2',
                              teacher_temperature=None, mlp_hidden=None),
    'compress_1q': dict(bank_size=128000, temperature=0.04, momentum=0.999, teacher_feature='backbone',
                        bank_init='uniform', student_bank='none', student_head='linear', teacher_norm='l2',
                        teacher_temperature=None, mlp_hidden=None),
    'seed': dict(queue_size=65536, student_temperature=0.2, teacher_temperature=1e-4, teacher_feature='head',
                 mlp_hidden=None, student_head='mlp', teacher_norm='l2'),
    'reg': dict(head='linear', teacher_feature='backbone', teacher_norm='l2', student_norm='l2'),
    'reg_bn': dict(head='linear', teacher_feature='backbone', teacher_norm='bn_l2', student_norm='bn_l2'),
}
SIZE = {'seed': dict(queue_size=32), 'reg': {}, 'reg_bn': {}}


@pytest.mark.parametrize('name', sorted(DEFAULTS))
def test_registered_defaults_are_official_and_recorded_as_bound(name, tiny_teacher):
    from methods import get_method
    assert get_method(name).hyperparameters() == DEFAULTS[name]
    size = SIZE.get(name, dict(bank_size=32))
    assert _build(name, tiny_teacher, **size).hparams == {**DEFAULTS[name], **size}


def test_default_module_layout_is_unchanged(tiny_teacher):
    """State-dict keys of the default configurations are the ones earlier checkpoints hold."""
    def top(name, **hp):
        return sorted({k.split('.')[0] for k in _build(name, tiny_teacher, **hp).state_dict()})
    assert top('compress_2q', bank_size=32) == ['key_student', 'student', 'student_bank_q', 'teacher_bank']
    assert top('compress_2q_nomom', bank_size=32) == ['student', 'student_bank_q', 'teacher_bank']
    assert top('compress_1q', bank_size=32) == ['projection', 'student', 'teacher_bank']
    assert top('seed', queue_size=32) == ['head', 'queue', 'student']
    assert top('reg') == ['head', 'student']
