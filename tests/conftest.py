"""Shared fixtures: a private cache folder so tests never touch (or depend on) the user's cache.

Helpers (plain functions and constants) live in tests/helpers; test files import them from there."""
import os
import sys

import pytest

from tests.helpers import ROOT

sys.path.insert(0, str(ROOT))


@pytest.fixture(scope='session')
def cache_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp('sslcb_cache')
    old = os.environ.get('SSLCB_CACHE')
    os.environ['SSLCB_CACHE'] = str(path)
    yield path
    if old is None:
        os.environ.pop('SSLCB_CACHE', None)
    else:
        os.environ['SSLCB_CACHE'] = old


@pytest.fixture(scope='session')
def tiny_teacher():
    """A random frozen ResNet-18 x0.125 teacher with a MoCo-style head."""
    import torch

    from benchmarks.teachers.teacher import Teacher
    from methods.backbones import build_backbone
    from methods.heads import mlp_head
    torch.manual_seed(0)
    backbone = build_backbone('resnet18', width=0.125)
    return Teacher(backbone, mlp_head(backbone.feat_dim, backbone.feat_dim, 16), name='tiny')


@pytest.fixture(scope='module')
def det_data(tmp_path_factory):
    """The embedded detection data (VOC and COCO layouts) at test size: 8 train, 4 val images of 64 px."""
    from benchmarks.data.detection import DetectionSpec, materialise_detection
    spec = DetectionSpec(train_images=8, val_images=4, image_size=64)
    return materialise_detection(spec, tmp_path_factory.mktemp('det'))
