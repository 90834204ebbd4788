"""moco_v2_small: MoCo v2 with Shi et al.'s small-model recipe switches."""
import torch

from benchmarks.engine.runner import build_method
from tests.helpers import STUDENT


def test_shi_et_al_variant_is_moco_v2_with_its_three_switches():
    """moco_v2_small: same student initialisation as moco_v2 at the same seed, a 2d-wide head, τ 0.1, the
    strong colour recipe; mlp_hidden overrides the width."""
    from methods import get_method
    torch.manual_seed(0)
    base = build_method('moco_v2', dict(queue_size=16), STUDENT, None)
    torch.manual_seed(0)
    small = build_method('moco_v2_small', dict(queue_size=16), STUDENT, None)
    for k, v in base.student.state_dict().items():
        assert torch.equal(v, small.student.state_dict()[k])
    d = small.student.feat_dim
    assert small.head[0].out_features == 2 * d and base.head[0].out_features == d
    assert small.temperature == 0.1 and get_method('moco_v2_small').augmentation == 'mocov2_strong'
    assert build_method('moco_v2_small', dict(queue_size=16, mlp_hidden=40), STUDENT, None).head[0].out_features == 40
