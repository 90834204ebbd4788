"""The method contract: hyperparameters are the __init__ signature, methods are discovered."""
import inspect

import pytest

from methods import METHODS, Method, get_method, list_methods


def test_every_method_file_is_discovered():
    expected = {'cc', 'compress_1q', 'compress_2q', 'compress_2q_nomom', 'crd', 'moco_v2', 'moco_v3', 'reg',
                'reg_bn', 'seed', 'slimclr'}
    assert expected <= set(list_methods())


@pytest.mark.parametrize('name', list_methods())
def test_hyperparameters_are_the_signature_defaults(name):
    cls = get_method(name)
    hp = cls.hyperparameters()
    for key in ('student', 'teacher', 'data_preprocessor', *cls.prepared):
        assert key not in hp
    own = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
           if p.default is not p.empty and k not in ('teacher', 'data_preprocessor', *cls.prepared)}
    for key, default in own.items():  # the most derived class's default wins
        assert hp[key] == default


def test_subclass_defaults_override_and_inherit():
    assert get_method('compress_2q').hyperparameters()['student_bank'] == 'ema'
    nomom, oneq = get_method('compress_2q_nomom').hyperparameters(), get_method('compress_1q').hyperparameters()
    assert nomom['student_bank'] == 'current' and nomom['bank_size'] == 128000   # inherited through **kwargs
    assert (oneq['student_bank'], oneq['student_head']) == ('none', 'linear')
    assert get_method('reg_bn').hyperparameters()['teacher_norm'] == 'bn_l2'
    assert list(nomom)[:3] == list(get_method('compress_2q').hyperparameters())[:3]  # the base's order


def test_bind_rejects_unknown_names_and_keeps_defaults():
    cls = get_method('seed')
    bound = cls.bind_hyperparameters({'queue_size': 128})
    assert bound['queue_size'] == 128 and bound['student_temperature'] == 0.2
    with pytest.raises(ValueError, match='queue_sise'):
        cls.bind_hyperparameters({'queue_sise': 128})


def test_build_method_records_bound_hyperparameters(tiny_teacher):
    from benchmarks.engine.runner import build_method
    m = build_method('compress_2q', dict(type='compress_2q', bank_size=32), dict(arch='resnet18', width=0.125),
                     tiny_teacher)
    assert m.hparams == {**get_method('compress_2q').hyperparameters(), 'bank_size': 32}


def test_a_method_registered_twice_is_refused():
    class Dup(Method):
        pass
    with pytest.raises(KeyError):
        METHODS.register_module(name='compress_2q', module=Dup)
