"""Tests for benchmarks.evals.latency: statistics and stopping rules on a scripted fake clock,
plus one tiny real measurement."""
import time

import pytest
import torch
from torch import nn

from benchmarks.evals.latency import _cpu_model_name, device_name, measure_latency
from methods.backbones import build_backbone


class FakeClock:
    """Stands in for time.perf_counter; only the fake model's forward advances it."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class ScriptedModel(nn.Module):
    """Each forward takes the next scripted duration (seconds) of its batch size on the fake clock.

    Durations are binary fractions so that every difference of clock readings is exact.
    """

    def __init__(self, clock, script):
        super().__init__()
        self.clock = clock
        self.script = {b: list(d) for b, d in script.items()}
        self.calls = {b: 0 for b in script}
        self.seen = []            # (training flag, inference mode) during each forward
        self.bn = nn.BatchNorm2d(3)

    def forward(self, x):
        b = x.shape[0]
        self.seen.append((self.training, self.bn.training, torch.is_inference_mode_enabled()))
        self.clock.now += self.script[b].pop(0)
        self.calls[b] += 1
        return x.flatten(1)


@pytest.fixture
def clock(monkeypatch):
    c = FakeClock()
    monkeypatch.setattr(time, 'perf_counter', c)
    return c


def test_median_min_max_and_throughput_are_exact(clock):
    # Batch 1: warm-up 8.0 (ignored), timed 0.375, 0.125, 0.5, 0.125, 0.625 -> median 0.375.
    # Batch 2: warm-up 8.0, timed 0.25, 0.5, 0.75, 4.0 -> median (0.5 + 0.75) / 2 = 0.625.
    model = ScriptedModel(clock, {1: [8.0, 0.375, 0.125, 0.5, 0.125, 0.625],
                                  2: [8.0, 0.25, 0.5, 0.75, 4.0]})
    r1 = measure_latency(model, 4, batch_sizes=(1,), warmup=1, repeats=5, min_time_s=0.0,
                         max_time_s=None)
    assert r1['latency_b1_ms'] == 375.0
    assert (r1['latency_b1_min_ms'], r1['latency_b1_max_ms'], r1['latency_b1_runs']) == (125.0, 625.0, 5)
    assert r1['throughput_b1'] == 1 / 0.375
    r2 = measure_latency(model, 4, batch_sizes=(2,), warmup=1, repeats=4, min_time_s=0.0,
                         max_time_s=None)
    assert r2['latency_b2_ms'] == 625.0 and r2['latency_b2_runs'] == 4
    assert r2['throughput_b2'] == 2 / 0.625
    assert model.calls == {1: 6, 2: 5}


def test_keys_follow_the_batch_sizes_and_throughput_uses_the_largest(clock):
    model = ScriptedModel(clock, {1: [0.5] * 3, 8: [0.25] * 3, 2: [1.0] * 3})
    res = measure_latency(model, 4, batch_sizes=(1, 8, 2, 8), warmup=1, repeats=2, min_time_s=0.0)
    expected = {'latency_device'} | {'throughput_b8'} | {
        f'latency_b{b}_{s}' for b in (1, 8, 2) for s in ('ms', 'min_ms', 'max_ms', 'runs')}
    assert set(res) == expected
    assert res['throughput_b8'] == 8 / 0.25
    assert res['latency_b2_ms'] == 1000.0


def test_min_time_extends_the_repeats(clock):
    # 2 repeats are not enough: runs continue until the timed 1.0 s forwards sum to >= 3.5 s.
    model = ScriptedModel(clock, {1: [1.0] * 10})
    res = measure_latency(model, 4, batch_sizes=(1,), warmup=0, repeats=2, min_time_s=3.5,
                          max_time_s=None)
    assert res['latency_b1_runs'] == 4 and model.calls[1] == 4


def test_cap_stops_timing(clock):
    # 1.0 s per forward, cap 5 s: warm-up ends at t=1 (< 2.5 but warmup=1); timed runs end at
    # t=2, 3, 4, 5 and the cap is reached at 5 -> 4 runs although 100 were asked for.
    model = ScriptedModel(clock, {1: [1.0] * 20})
    res = measure_latency(model, 4, batch_sizes=(1,), warmup=1, repeats=100, min_time_s=0.0,
                          max_time_s=5.0)
    assert res['latency_b1_runs'] == 4 and model.calls[1] == 5


def test_cap_also_bounds_the_warmup(clock):
    # Cap 4 s: warm-up stops once it used half of it (2 forwards, t=2), then 2 timed runs (t=4).
    model = ScriptedModel(clock, {1: [1.0] * 20})
    res = measure_latency(model, 4, batch_sizes=(1,), warmup=10, repeats=100, min_time_s=0.0,
                          max_time_s=4.0)
    assert res['latency_b1_runs'] == 2 and model.calls[1] == 4


def test_a_forward_slower_than_the_cap_still_gives_one_sample(clock):
    model = ScriptedModel(clock, {1: [3.0, 2.0], 2: [3.0, 2.0]})
    res = measure_latency(model, 4, batch_sizes=(1, 2), warmup=1, repeats=20, max_time_s=1.0)
    # The cap is per batch size: batch 2 is timed too, from a fresh start.
    assert res['latency_b1_runs'] == res['latency_b2_runs'] == 1
    assert res['latency_b1_ms'] == res['latency_b2_ms'] == 2000.0
    assert model.calls == {1: 2, 2: 2}


def test_eval_and_inference_mode_inside_and_mixed_modes_restored(clock):
    model = ScriptedModel(clock, {1: [0.5] * 4})
    model.train()
    model.bn.eval()        # e.g. a frozen BN inside a training model must stay frozen
    measure_latency(model, 4, batch_sizes=(1,), warmup=1, repeats=3, min_time_s=0.0)
    assert model.seen == [(False, False, True)] * 4
    assert model.training and not model.bn.training


def test_global_rng_is_untouched(clock):
    model = ScriptedModel(clock, {1: [0.5] * 2})
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    measure_latency(model, 4, batch_sizes=(1,), warmup=1, repeats=1, min_time_s=0.0)
    assert torch.equal(torch.rand(3), expected)


def test_real_tiny_resnet():
    torch.manual_seed(0)
    model = build_backbone('resnet18', width=0.125)
    model.train()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    res = measure_latency(model, 32, batch_sizes=(1, 2), warmup=1, repeats=2, min_time_s=0.0,
                          max_time_s=1.0)
    for b in (1, 2):
        assert 0 < res[f'latency_b{b}_min_ms'] <= res[f'latency_b{b}_ms'] <= res[f'latency_b{b}_max_ms']
        assert 1 <= res[f'latency_b{b}_runs'] <= 2
        assert isinstance(res[f'latency_b{b}_ms'], float)
    assert res['throughput_b2'] == pytest.approx(2 / (res['latency_b2_ms'] / 1000.0))
    assert model.training
    # Eval-mode forwards must not update BN running statistics.
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert res['latency_device'].endswith(f'({torch.get_num_threads()} threads)')


def test_cpu_device_name(tmp_path):
    name = device_name('cpu')
    assert name and name.strip() == name and 'threads' in name
    info = tmp_path / 'cpuinfo'
    info.write_text('processor\t: 0\nvendor_id\t: GenuineIntel\n'
                    'model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nflags\t\t: fpu\n')
    assert _cpu_model_name(str(info)) == 'Intel(R) Xeon(R) CPU @ 2.20GHz'
    # ARM kernels often have no 'model name' line; a missing file is the non-Linux case.
    info.write_text('processor\t: 0\nBogoMIPS\t: 50.00\n')
    assert _cpu_model_name(str(info))
    assert _cpu_model_name(str(tmp_path / 'missing'))


def test_bad_arguments_raise():
    model = nn.Identity()
    with pytest.raises(ValueError, match='batch_sizes'):
        measure_latency(model, 4, batch_sizes=())
    with pytest.raises(ValueError, match='batch_sizes'):
        measure_latency(model, 4, batch_sizes=(0,))
    with pytest.raises(ValueError, match='repeats'):
        measure_latency(model, 4, repeats=0)
    with pytest.raises(ValueError, match='image_size'):
        measure_latency(model, 0)
