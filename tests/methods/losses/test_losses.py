"""Each loss against an independent, straightforward computation (loops in numpy) or hand-worked numbers."""
import math

import numpy as np
import pytest
import torch

from methods.losses import compress_loss, infonce_loss, kl_teacher_student, normalized_mse, seed_loss
from tests.helpers import softmax, unit_rows


def _compress_reference(s, s_bank, t, t_bank, tau):
    total = 0.0
    for i in range(s.shape[0]):
        p_t = softmax(np.array([t[i] @ t_bank[j] for j in range(t_bank.shape[0])]) / tau)
        p_s = softmax(np.array([s[i] @ s_bank[j] for j in range(s_bank.shape[0])]) / tau)
        total += sum(p_t[j] * (math.log(p_t[j]) - math.log(p_s[j])) for j in range(len(p_t)))
    return total / s.shape[0]


def test_compress_loss_matches_loop_reference():
    rng = np.random.default_rng(0)
    s, t = unit_rows(rng.normal(size=(4, 3))), unit_rows(rng.normal(size=(4, 5)))
    s_bank, t_bank = unit_rows(rng.normal(size=(6, 3))), unit_rows(rng.normal(size=(6, 5)))
    for tau in (0.04, 0.5):
        got = compress_loss(*(torch.tensor(a, dtype=torch.float64) for a in (s, s_bank, t, t_bank)), temperature=tau)
        assert got.item() == pytest.approx(_compress_reference(s, s_bank, t, t_bank, tau), rel=1e-9)


def test_compress_loss_hand_worked():
    # one sample, two anchors, tau = 1: teacher logits [1, 0] -> p_T = [e, 1] / (e + 1);
    # student logits [0, 0] -> p_S = [1/2, 1/2]; KL = sum p_T log(2 p_T)
    t = torch.tensor([[1.0, 0.0]])
    t_bank = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    s = torch.tensor([[0.0, 1.0]])
    s_bank = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    e = math.e
    p = [e / (e + 1), 1 / (e + 1)]
    expected = sum(pi * math.log(2 * pi) for pi in p)
    assert compress_loss(s, s_bank, t, t_bank, temperature=1.0).item() == pytest.approx(expected, rel=1e-6)


def test_kl_is_zero_for_identical_distributions_and_gradient_flows_to_student_only():
    logits = torch.randn(3, 7)
    student = logits.clone().requires_grad_(True)
    teacher = logits.clone().requires_grad_(True)
    loss = kl_teacher_student(teacher, student)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    loss.backward()
    assert teacher.grad is None and student.grad is not None


def test_infonce_matches_loop_reference():
    rng = np.random.default_rng(1)
    q, k, queue = (unit_rows(rng.normal(size=(5, 4))), unit_rows(rng.normal(size=(5, 4))),
                   unit_rows(rng.normal(size=(8, 4))))
    tau = 0.2
    ref = 0.0
    for i in range(5):
        logits = np.array([q[i] @ k[i]] + [q[i] @ queue[j] for j in range(8)]) / tau
        ref += -math.log(softmax(logits)[0])
    ref /= 5
    got = infonce_loss(*(torch.tensor(a, dtype=torch.float64) for a in (q, k, queue)), temperature=tau)
    assert got.item() == pytest.approx(ref, rel=1e-9)


def test_seed_loss_matches_loop_reference():
    rng = np.random.default_rng(2)
    s, t, queue = (unit_rows(rng.normal(size=(3, 4))), unit_rows(rng.normal(size=(3, 4))),
                   unit_rows(rng.normal(size=(5, 4))))
    tau_s, tau_t = 0.2, 0.07
    ref = 0.0
    for i in range(3):
        anchors = [t[i]] + list(queue)
        p_t = softmax(np.array([t[i] @ a for a in anchors]) / tau_t)
        log_p_s = np.log(softmax(np.array([s[i] @ a for a in anchors]) / tau_s))
        ref += -(p_t * log_p_s).sum()
    ref /= 3
    got = seed_loss(*(torch.tensor(a, dtype=torch.float64) for a in (s, t, queue)), student_temperature=tau_s,
                    teacher_temperature=tau_t)
    assert got.item() == pytest.approx(ref, rel=1e-9)


def test_seed_loss_official_teacher_temperature_targets_self():
    # with tau_T = 1e-4 the teacher target is one-hot on column 0 (self, similarity 1) unless a queue
    # entry is nearly identical, so the loss reduces to the student's CE on column 0
    t = torch.tensor([[1.0, 0.0]])
    queue = torch.tensor([[0.0, 1.0], [0.6, 0.8]])
    s = torch.tensor([[0.0, 1.0]])
    logits = torch.tensor([0.0, 1.0, 0.8]) / 0.2
    expected = -torch.log_softmax(logits, 0)[0]
    assert seed_loss(s, t, queue).item() == pytest.approx(expected.item(), rel=1e-6)


def test_normalized_mse_is_two_minus_two_cos():
    s = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    t = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    # rows: cos 0 -> 2, cos 1 -> 0; mean 1
    assert normalized_mse(s, t).item() == pytest.approx(1.0)
