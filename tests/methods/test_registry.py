"""Every registered method, a few CPU steps each (parametrized over the registry itself)."""
import copy
import io

import pytest
import torch
from mmengine.optim import OptimWrapper

from benchmarks.engine.runner import build_method
from methods import METHODS, get_method, list_methods
from methods.backbones import build_backbone
from tests.helpers import STUDENT, prepare_context, random_batch

SMALL_HPARAMS = dict(queue_size=32, bank_size=32, num_negatives=4, num_clusters=3)


def _make(name, teacher):
    cls = get_method(name)
    import inspect
    params = inspect.signature(cls.__init__).parameters
    hp = {k: v for k, v in SMALL_HPARAMS.items() if k in params}
    torch.manual_seed(0)
    teacher = teacher if cls.needs_teacher else None
    prepared = cls.prepare(prepare_context(teacher), hp)
    return build_method(name, hp, STUDENT, teacher, prepared=prepared)


def test_registry_lists_the_first_methods():
    assert {'moco_v2', 'compress_2q', 'compress_2q_nomom', 'compress_1q'} <= set(list_methods())
    for name in list_methods():
        cls = get_method(name)
        assert cls.description and cls.paper


def test_duplicate_registration_raises():
    with pytest.raises(KeyError):
        METHODS.register_module(name='compress_2q', module=type('Dup', (), {}))


def test_unknown_method_lists_valid_names():
    with pytest.raises(KeyError, match='compress_2q'):
        get_method('nope')


@pytest.mark.parametrize('name', list_methods())
def test_method_trains_a_few_steps(name, tiny_teacher):
    method = _make(name, tiny_teacher)
    cls = type(method)
    teacher_before = copy.deepcopy(tiny_teacher.state_dict())
    student_before = copy.deepcopy(method.student_backbone().state_dict())
    assert not any(p is q for p in method.parameters() for q in tiny_teacher.parameters()), \
        'the teacher must stay outside the method module tree'
    opt = OptimWrapper(torch.optim.SGD(method.trainable_parameters(), lr=0.1, momentum=0.9))
    method.train()
    for step in range(3):
        log_vars = method.train_step(random_batch(cls.num_views, seed=step), opt)
        assert torch.isfinite(log_vars['loss']).all()
    assert not tiny_teacher.training
    for k, v in tiny_teacher.state_dict().items():
        assert torch.equal(v, teacher_before[k]), f'teacher tensor {k} changed'
    changed = [k for k, v in method.student_backbone().state_dict().items()
               if v.dtype.is_floating_point and not torch.equal(v, student_before[k])]
    assert changed, 'student parameters did not change'
    feats = method.student_backbone()(torch.randn(2, 3, 32, 32))
    assert feats.shape == (2, method.student_backbone().feat_dim)
    # resume path: a checkpoint of the whole method reloads under weights_only=True into a fresh build
    buf = io.BytesIO()
    torch.save(method.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    fresh = _make(name, tiny_teacher)
    fresh.load_state_dict(state, strict=True)
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, state[k]), f'{k} did not round-trip'
    for label, backbone in method.student_backbones().items():
        rebuilt = build_backbone(**backbone.spec())
        rebuilt.load_state_dict(backbone.state_dict(), strict=True)


@pytest.mark.parametrize('name', ['compress_2q', 'compress_2q_nomom'])
def test_student_bank_receives_current_batch(name, tiny_teacher):
    method = _make(name, tiny_teacher)
    method.train()
    opt = OptimWrapper(torch.optim.SGD(method.trainable_parameters(), lr=0.0))
    method.train_step(random_batch(1, n=8), opt)
    assert method.teacher_bank.ptr.item() == 8 and method.student_bank_q.ptr.item() == 8
    assert torch.allclose(method.student_bank_q.bank[:8].norm(dim=1), torch.ones(8), atol=1e-5)


@pytest.mark.parametrize('name', ['seed', 'disco'])
def test_head_feature_needs_a_teacher_with_a_head(name):
    import torch as _torch

    from benchmarks.teachers.teacher import Teacher
    from methods.backbones import build_backbone
    _torch.manual_seed(0)
    headless = Teacher(build_backbone('resnet18', width=0.125), None, name='headless')
    with pytest.raises(ValueError, match="teacher_feature='backbone'"):
        build_method(name, dict(queue_size=32), STUDENT, headless)
    method = build_method(name, dict(queue_size=32, teacher_feature='backbone'), STUDENT, headless)
    assert method.queue.bank.shape == (32, headless.feat_dims['backbone'])
