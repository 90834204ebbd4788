"""The batched view path (benchmarks/data/batch_views.py) against torchvision's per-sample functions."""
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from benchmarks.data.batch_views import BatchViews, _blur, _color_jitter, _grayscale


def _plain(views, p):
    """Parameters without colour jitter, grayscale or blur (crop and flip only)."""
    p['jitter'][:] = torch.tensor([1.0, 1.0, 1.0, 0.0])
    p['gray'][:] = False
    p['sigma'][:] = 0.0
    return p


def test_identity_crop_returns_the_input_exactly():
    views = BatchViews('compress', 40)
    images = torch.randint(0, 256, (4, 3, 40, 40), dtype=torch.uint8)
    p = _plain(views, views.sample_params(0, 0, range(4), 0, 40, 40))
    p['boxes'][:] = torch.tensor([0.0, 0.0, 40.0, 40.0])
    p['flip'][:] = False
    assert torch.equal(views.apply(images, p), images)
    p['flip'][:] = True
    assert torch.equal(views.apply(images, p), images.flip(-1))


@pytest.mark.parametrize('recipe,size,hw', [('compress', 24, (40, 40)), ('mocov2', 48, (40, 52)),
                                            ('compress', 64, (64, 64))])
def test_random_crops_match_torchvision_resized_crop(recipe, size, hw):
    """Each sample's crop + resize + flip equals torchvision's ``resized_crop(antialias=False)`` (what the
    per-sample path computes when a crop is not shrunk) within one grey level."""
    h, w = hw
    views = BatchViews(recipe, size)
    images = torch.randint(0, 256, (24, 3, h, w), dtype=torch.uint8)
    p = _plain(views, views.sample_params(seed=0, epoch=3, indices=range(24), view=0, h=h, w=w))
    p['flip'][::2] = True
    p['flip'][1::2] = False
    out = views.apply(images, p)
    for k in range(24):
        left, top, right, bottom = (int(v) for v in p['boxes'][k])
        ref = TF.resized_crop(images[k].float() / 255.0, top, left, bottom - top, right - left, [size, size],
                              antialias=False)
        if p['flip'][k]:
            ref = ref.flip(-1)
        ref = (ref.clamp(0, 1) * 255.0).round().to(torch.uint8)
        diff = (out[k].int() - ref.int()).abs()
        assert diff.max() <= 1, (k, diff.max())


def test_center_recipe_at_the_image_size_is_the_identity():
    views = BatchViews('center', 32)
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    p = views.sample_params(0, 0, range(3), 0, 32, 32)
    assert torch.equal(views.apply(images, p), images)


def _jitter(b=0.0, c=0.0, s=0.0, n=5):
    j = torch.tensor([[1.0, 1.0, 1.0, 0.0]]).repeat(n, 1)
    j[:, 0] += b
    j[:, 1] += c
    j[:, 2] += s
    return j


@pytest.mark.parametrize('factor', [0.6, 1.0, 1.4])
def test_brightness_contrast_saturation_match_torchvision(factor):
    x = torch.rand(5, 3, 9, 9)
    d = factor - 1.0
    for jit, ref_fn in ((_jitter(b=d), TF.adjust_brightness), (_jitter(c=d), TF.adjust_contrast),
                        (_jitter(s=d), TF.adjust_saturation)):
        ref = torch.stack([ref_fn(xi, factor) for xi in x])
        assert torch.allclose(_color_jitter(x, jit), ref, atol=1e-5)


def test_grayscale_matches_torchvision():
    x = torch.rand(4, 3, 7, 7)
    ref = TF.rgb_to_grayscale(x, num_output_channels=1)
    assert torch.allclose(_grayscale(x), ref, atol=1e-6)


@pytest.mark.parametrize('sigma', [0.3, 1.0, 2.5])
def test_blur_matches_torchvision(sigma):
    x = torch.rand(3, 3, 20, 20)
    k = 7
    ref = torch.stack([TF.gaussian_blur(xi, [k, k], [sigma, sigma]) for xi in x])
    assert torch.allclose(_blur(x, torch.full((3,), sigma), k), ref, atol=1e-5)


def test_strong_recipe_draws_shi_et_al_colour_strengths_in_both_paths():
    """mocov2_strong: jitter factors in [0.2, 1.8], hue in [-0.4, 0.4], grayscale about half the views
    (Shi et al.'s --cj 1 --grey-scale 0.5), where mocov2 stays in [0.6, 1.4] / ±0.1 / a fifth."""
    from torchvision.transforms import v2

    from benchmarks.data.views import build_view_transform
    n = 2000
    strong = BatchViews('mocov2_strong', 32).sample_params(0, 0, range(n), 0, 40, 40)
    plain = BatchViews('mocov2', 32).sample_params(0, 0, range(n), 0, 40, 40)
    js, jp = strong['jitter'], plain['jitter']
    on = js[:, 0] != 1.0
    assert js[on, :3].min() >= 0.2 and js[on, :3].max() <= 1.8 and js[on, :3].max() > 1.6
    assert js[:, 3].abs().max() <= 0.4 and js[:, 3].abs().max() > 0.35
    assert jp[:, :3].max() <= 1.4 and jp[:, 3].abs().max() <= 0.1
    assert 0.45 < strong['gray'].float().mean() < 0.55 and 0.16 < plain['gray'].float().mean() < 0.24
    t = build_view_transform('mocov2_strong', 32)
    jitter = next(x for x in t.transforms if isinstance(x, v2.RandomApply)).transforms[0]
    assert jitter.brightness == pytest.approx((0.2, 1.8)) and jitter.hue == pytest.approx((-0.4, 0.4))
    assert next(x for x in t.transforms if isinstance(x, v2.RandomGrayscale)).p == 0.5
