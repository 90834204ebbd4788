"""SlimCLR: slimmable ResNet (export, switchable BN), its losses against loops, and the method's training."""
import copy
import io
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper

import methods.slimclr  # noqa: F401  (registers 'slimclr')
from benchmarks.engine.runner import build_method
from methods.backbones import build_backbone
from methods.backbones.resnet import ResNetBackbone
from methods.backbones.slimmable import SlimmableLinear, SlimmableResNet, SwitchableBatchNorm2d, set_width_index
from methods.common import ema_update, l2_normalize
from methods.losses.slimclr import slimclr_kd_loss, slimclr_width_weights
from tests.helpers import STUDENT, random_batch, softmax

WIDTHS = (1.0, 0.75, 0.5, 0.25)


def _randomise_bn(net, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)


# --- slimmable backbone ---------------------------------------------------------------------------

@pytest.mark.parametrize('arch,width,small_input', [('resnet18', 0.5, False), ('resnet50', 0.25, True)])
def test_export_equals_slimmable_subnetwork_at_every_width(arch, width, small_input):
    torch.manual_seed(0)
    net = SlimmableResNet(arch, width=width, widths=WIDTHS, small_input=small_input)
    _randomise_bn(net)
    net.eval()
    x = torch.randn(2, 3, 32, 32)
    for w in WIDTHS:
        with net.at_width(w):
            y = net(x)
            assert y.shape == (2, net.feat_dim) and net.feat_dim == net.feat_dim_at(w)
        plain = net.export(w)
        assert type(plain) is ResNetBackbone and not plain.training
        assert plain.spec() == dict(arch=arch, width=width * w, small_input=small_input)
        assert plain.feat_dim == net.feat_dim_at(w)
        assert torch.allclose(plain(x), y, atol=1e-5), f'width {w}'
        fresh = build_backbone(arch, width=width * w, small_input=small_input)
        fresh.load_state_dict(plain.state_dict(), strict=True)
    assert net.active_width == 1.0


def test_width_switching_api():
    net = SlimmableResNet('resnet18', width=0.5, widths=[0.5, 1.0, 0.25, 0.75])
    assert net.widths == WIDTHS and net.active_width == 1.0
    assert [net.feat_dim_at(w) for w in WIDTHS] == [256, 192, 128, 64]
    assert net.spec() == dict(arch='resnet18', width=0.5, small_input=False, widths=list(WIDTHS))
    with pytest.raises(ValueError, match='not one of'):
        net.set_width(0.3)
    with net.at_width(0.25):
        assert net.active_width == 0.25 and net.feat_dim == 64
        assert net.layer4[1].bn2.width_idx == 3
    assert net.active_width == 1.0 and net.layer4[1].bn2.width_idx == 0
    net.set_width(0.5)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 128)
    with pytest.raises(ValueError, match='including 1.0'):
        SlimmableResNet('resnet18', width=0.5, widths=[0.5, 0.25])
    with pytest.raises(ValueError, match='slimmable backbones exist'):
        SlimmableResNet('alexnet')


def test_switchable_bn_updates_only_the_active_width_statistics():
    torch.manual_seed(0)
    net = SlimmableResNet('resnet18', width=0.5, widths=WIDTHS).train()
    before = copy.deepcopy(net.state_dict())
    with net.at_width(0.5):
        net(torch.randn(4, 3, 32, 32))
    i = net.width_index(0.5)
    n_bn = 0
    for name, m in net.named_modules():
        if isinstance(m, SwitchableBatchNorm2d):
            n_bn += 1
            for j in range(len(WIDTHS)):
                key = f'{name}.bns.{j}.running_mean'
                assert torch.equal(net.state_dict()[key], before[key]) != (j == i), key
    assert n_bn == 20  # stem + 8 blocks x 2 + 3 downsamples
    for k, v in net.state_dict().items():  # weights are untouched by a forward
        if not k.endswith(('running_mean', 'running_var', 'num_batches_tracked')):
            assert torch.equal(v, before[k])


def test_slimmable_linear_shares_one_weight():
    torch.manual_seed(0)
    per_width = SlimmableLinear(8, [8, 6, 4])
    fixed = SlimmableLinear(8, 5)
    x = torch.randn(3, 6)
    set_width_index(per_width, 1)
    assert torch.allclose(per_width(x), x @ per_width.weight[:6, :6].t() + per_width.bias[:6])
    assert torch.allclose(fixed(x), x @ fixed.weight[:, :6].t() + fixed.bias)
    with pytest.raises(ValueError):
        fixed(torch.randn(3, 9))


# --- losses ---------------------------------------------------------------------------------------

def _kd_reference(s, t, ts, tt):
    total = 0.0
    for i in range(s.shape[0]):
        p_t = softmax(t[i] / tt)
        log_q = np.log(softmax(s[i] / ts))
        total -= sum(p_t[j] * log_q[j] for j in range(s.shape[1]))
    return total / s.shape[0] * ts ** 2


def test_kd_loss_matches_loop_reference_and_detaches_teacher():
    rng = np.random.default_rng(0)
    s, t = rng.uniform(-1, 1, size=(4, 6)), rng.uniform(-1, 1, size=(4, 6))
    for ts, tt in [(5.0, 5.0), (0.2, 1.0)]:
        got = slimclr_kd_loss(torch.tensor(s), torch.tensor(t), ts, tt)
        assert got.item() == pytest.approx(_kd_reference(s, t, ts, tt), rel=1e-9)
    student = torch.tensor(s, requires_grad=True)
    teacher = torch.tensor(t, requires_grad=True)
    slimclr_kd_loss(student, teacher).backward()
    assert teacher.grad is None and student.grad is not None


def test_kd_loss_hand_worked():
    # logits equal -> soft CE = entropy of softmax([1, 0] / 1) = log(1 + e) - e / (1 + e), times T_s^2 = 1
    e = math.e
    expected = math.log(1 + e) - e / (1 + e)
    x = torch.tensor([[1.0, 0.0]])
    assert slimclr_kd_loss(x, x, 1.0, 1.0).item() == pytest.approx(expected, rel=1e-6)


def test_width_weights():
    assert slimclr_width_weights([1.0, 0.75, 0.5, 0.25]) == [2.5, 1.0, 1.0, 1.0]
    assert slimclr_width_weights([0.5, 1.0]) == [1.0, 1.5]
    assert slimclr_width_weights([1.0, 0.75, 0.5, 0.25], reweight=False) == [1.0] * 4


# --- the method -----------------------------------------------------------------------------------

def _method(**hp):
    torch.manual_seed(0)
    return build_method('slimclr', dict(queue_size=32, **hp), STUDENT, None)


def _sub_bn_state(method):
    return {k: v.clone() for k, v in method.student.state_dict().items() if '.bns.' in k and '.bns.0.' not in k}


def test_smallest_width_is_the_suite_student():
    method = _method()
    assert method.student.width == 0.5 and method.widths == list(WIDTHS)
    assert not any(isinstance(m, ResNetBackbone) for m in method.modules()), 'the plain student must be gone'
    backbones = method.student_backbones()
    assert list(backbones) == ['w1', 'w0.75', 'w0.5', 'w0.25']
    plain = build_backbone(**STUDENT)
    smallest = backbones['w0.25']
    assert smallest.spec() == STUDENT and smallest.feat_dim == plain.feat_dim
    counts = [sum(p.numel() for p in b.parameters()) for b in backbones.values()]
    assert counts[-1] == sum(p.numel() for p in plain.parameters())
    assert counts == sorted(counts, reverse=True) and len(set(counts)) == 4
    assert [b.feat_dim for b in backbones.values()] == [256, 192, 128, 64]
    assert all(type(b) is ResNetBackbone and not b.training for b in backbones.values())
    assert _method(full_width=0.25).student.width == 0.25
    assert method.student.width == 0.5 and method.width_weights == [2.5, 1.0, 1.0, 1.0]
    assert method.hparams['full_width'] is None and method.hparams['slow_start'] == 0.5   # as bound


def test_trains_with_slow_start_then_all_widths():
    method = _method()
    opt = OptimWrapper(torch.optim.SGD(method.trainable_parameters(), lr=0.1, momentum=0.9))
    method.train()
    sub_bn = _sub_bn_state(method)
    for step in range(2):
        log_vars = method.train_step(random_batch(2, seed=step), opt)
        assert method.queue.ptr.item() == 8 * (step + 1)
        assert torch.isfinite(log_vars['loss'])
        assert set(log_vars) == {'loss', 'loss_w1', 'loss_w0.75', 'loss_w0.5', 'loss_w0.25'}
        assert all(log_vars[f'loss_w{w:g}'].item() == 0.0 for w in WIDTHS[1:])
        assert log_vars['loss'].item() == pytest.approx(log_vars['loss_w1'].item())
    assert all(torch.equal(v, sub_bn[k]) for k, v in _sub_bn_state(method).items()), \
        'sub-width BN statistics must stay untouched during the slow start'
    method.set_progress(60, 100)
    log_vars = method.train_step(random_batch(2, seed=2), opt)
    assert method.queue.ptr.item() == 24
    assert all(log_vars[f'loss_w{w:g}'].item() > 0 for w in WIDTHS)
    assert log_vars['loss'].item() == pytest.approx(sum(log_vars[f'loss_w{w:g}'].item() for w in WIDTHS), rel=1e-5)
    assert not any(torch.equal(v, sub_bn[k]) for k, v in _sub_bn_state(method).items() if 'running_mean' in k)
    assert method.student.active_width == 1.0
    assert method.student_backbone()(torch.randn(2, 3, 32, 32)).shape == (2, 256)


def test_loss_assembles_the_official_objective():
    """The method's loss terms equal an independent recomputation from its own embeddings."""
    method = _method()
    method.train()
    method.set_progress(1, 1)
    g = torch.Generator().manual_seed(0)
    x1, x2 = torch.randn(8, 3, 32, 32, generator=g), torch.randn(8, 3, 32, 32, generator=g)
    ref = copy.deepcopy(method)
    got = method.loss(dict(views=[x1, x2]))
    queue = ref.queue.bank.clone()
    qs = {w: ref.embed(x1, w) for w in WIDTHS}
    ema_update(ref.key_student, ref.student, 0.999)
    ema_update(ref.key_head, ref.head, 0.999)
    with torch.no_grad():
        k = l2_normalize(ref.key_head(ref.key_student(x2)))
    cos = {w: torch.cat([(qs[w] * k).sum(1, keepdim=True), qs[w] @ queue.t()], 1) for w in WIDTHS}
    zero = torch.zeros(8, dtype=torch.long)
    assert got['loss_w1'].item() == pytest.approx(2.5 * F.cross_entropy(cos[1.0] / 0.2, zero).item(), rel=1e-5)
    for w in WIDTHS[1:]:
        kd = _kd_reference(cos[w].detach().double().numpy(), cos[1.0].detach().double().numpy(), 5.0, 5.0)
        expected = 0.5 * F.cross_entropy(cos[w] / 0.2, zero).item() + 0.5 * kd
        assert got[f'loss_w{w:g}'].item() == pytest.approx(expected, rel=1e-5)
    assert torch.allclose(method.queue.bank[:8], k, atol=1e-6)


def test_state_dict_round_trip():
    method = _method()
    opt = OptimWrapper(torch.optim.SGD(method.trainable_parameters(), lr=0.1))
    method.train()
    method.set_progress(1, 1)
    method.train_step(random_batch(2), opt)
    buf = io.BytesIO()
    torch.save(method.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    fresh = _method()
    fresh.load_state_dict(state, strict=True)
    method.eval()
    fresh.eval()
    x = torch.randn(2, 3, 32, 32)
    for w in WIDTHS:
        with method.student.at_width(w), fresh.student.at_width(w):
            assert torch.equal(method.student(x), fresh.student(x))
    assert fresh.queue.ptr.item() == 8
