"""SlimCLR-MoCo v3: the per-width loss against an independent recomputation of the official formula."""
import torch
import torch.nn.functional as F

from benchmarks.engine.runner import build_method
from tests.helpers import STUDENT, random_batch


def _batch(method, seed=0):
    index, views, label, teacher = method.data_preprocessor(random_batch(2, n=8, seed=seed), training=True)
    return dict(index=index, views=views, label=label, teacher=teacher)


def _expected(method, batch, slim):
    """The official loss written out: symmetric in-batch CE × 2T per width, soft CE to the full width."""
    t, a = method.temperature, method.aux_loss_weight
    with torch.no_grad():
        keys = [F.normalize(method.key_head(method.key_student(v)), dim=1) for v in batch['views']]
    total, full = {}, {}
    for i, (w, lam) in enumerate(zip(method.widths, method.width_weights)):
        if i and not slim:
            total[w] = 0.0
            continue
        loss = 0.0
        for v in (0, 1):
            z = method.embed(batch['views'][v], w) @ keys[1 - v].t() / t
            ce = F.cross_entropy(z, torch.arange(8)) * 2 * t
            if i == 0:
                full[v] = z.detach()
                loss += ce
            else:
                p = F.softmax(full[v] / method.teacher_temperature, dim=1)
                kd = -(p * F.log_softmax(z / method.student_temperature, dim=1)).sum(1).mean() \
                    * method.student_temperature ** 2
                loss += (1 - a) * ce + a * kd
        total[w] = (lam if slim else 1.0) * loss
    return total


def test_slow_start_then_every_width_matches_the_official_formula():
    torch.manual_seed(0)
    method = build_method('slimclr_mocov3', dict(slow_start=0.5), STUDENT, None)
    method.train()
    assert method.width_weights == [2.5, 1.0, 1.0, 1.0] and method.temperature == 1.0
    assert not any('predictor' in name for name, _ in method.key_head.named_modules())
    for progress, slim in ((0.1, False), (0.8, True)):
        method.progress = progress
        batch = _batch(method)
        losses = method.loss(batch)          # updates the key encoder first, as the official forward
        expected = _expected(method, batch, slim)
        for w in method.widths:
            got = losses[f'loss_w{w:g}']
            assert torch.allclose(got, torch.as_tensor(expected[w], dtype=got.dtype), rtol=1e-4, atol=1e-5), w
    assert losses['loss_w0.25'] > 0 and method.momentum == 0.99


def test_each_width_is_a_student_and_the_smallest_is_the_suites():
    torch.manual_seed(0)
    method = build_method('slimclr_mocov3', {}, STUDENT, None)
    exported = method.student_backbones()
    assert list(exported) == ['w1', 'w0.75', 'w0.5', 'w0.25']
    assert exported['w0.25'].spec() == dict(arch='resnet18', width=0.125, small_input=False)
    # the projector's hidden layer is 2x each width's feature dim, the output 256 at every width
    first = method.head[0]
    assert first.out_features_list == [2 * method.student.feat_dim_at(w) for w in method.widths]
    assert method.head[3].out_features == 256 and method.predictor[3].out_features == 256
