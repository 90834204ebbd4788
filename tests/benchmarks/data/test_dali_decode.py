"""``data.decode='dali'``: NVIDIA DALI decodes and crops the files (its CPU pipelines here; on a GPU the same
pipeline with the ``mixed`` decoder). The parameters are the project's (seed, epoch, index, view) draws, so
views follow the ``'crop'`` path to within the two resize filters; unreadable files go through the
``data.on_corrupt`` policy; a run asking for DALI without it stops before work."""
import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.data import dali as dali_module
from benchmarks.data.batch_views import PendingViews
from benchmarks.data.datasets import ImageFolderDataset
from benchmarks.errors import DataError
from tests.benchmarks.data.test_crop_decode import _folder

pytest.importorskip('nvidia.dali', reason='NVIDIA DALI is installed by requirements-dev.txt on Linux x86-64')


def _jpegs(root, n=6, size=(90, 120)):
    _folder(root, n=n, size=size, fmt='jpg')


def _both(root, recipes, size=32, seed=4, **kw):
    return (ImageFolderDataset(root, 'train', recipes, size, seed=seed, decode='crop', **kw),
            ImageFolderDataset(root, 'train', recipes, size, seed=seed, decode='dali', **kw))


@pytest.mark.parametrize('recipes', [['compress', 'compress'], ['mocov2', 'mocov2_strong'], ['center']])
def test_dali_views_follow_the_crop_path(tmp_path, recipes):
    _jpegs(tmp_path)
    crop, dali = _both(tmp_path, recipes)
    keys = [(2, i) for i in range(len(dali))]
    items = [dali[k] for k in keys]
    for (_, files, label, params), k in zip(items, keys):   # same draws as the crop path, bytes of the file
        ref = crop[k]
        assert label == ref[2] and len(files) == 1 and files[0].dtype == np.uint8
        assert files[0].tobytes() == open(dali.paths[k[1]], 'rb').read()
        assert all(torch.equal(p[name], q[name]) for p, q in zip(params, ref[3]) for name in p)
    a = crop.collate_fn()([crop[k] for k in keys])
    b = dali.collate_fn()(items)
    assert torch.equal(a[0], b[0]) and torch.equal(a[2], b[2])
    for va, vb in zip(a[1], b[1]):
        assert vb.shape == va.shape == (6, 3, 32, 32) and vb.dtype == torch.uint8
        assert (va.float() - vb.float()).abs().mean() < 2.0   # DALI's antialiased linear filter vs Pillow's
    again = dali.collate_fn()([dali[k] for k in keys])
    assert all(torch.equal(x, y) for x, y in zip(b[1], again[1]))
    if recipes != ['center']:
        other = dali.collate_fn()([dali[(3, i)] for i in range(len(dali))])
        assert not torch.equal(other[1][0], b[1][0])


def test_dali_crop_is_the_box_resized(tmp_path):
    """One box, checked against an independent reference: torchvision's antialiased resized_crop of the
    full decode."""
    from torchvision.transforms.v2 import functional as TF

    from benchmarks.data.imagefolder import decode_rgb
    img = np.zeros((120, 160, 3), np.uint8)
    img[:, :, 0] = np.linspace(0, 255, 160)[None, :]    # red follows x, green follows y: a swapped axis shows
    img[:, :, 1] = np.linspace(0, 255, 120)[:, None]
    path = tmp_path / 'g.png'
    Image.fromarray(img).save(path)
    decoder = dali_module.DaliDecoder(24, [0])
    box = torch.tensor([[30.0, 10.0, 130.0, 90.0]])      # left, top, right, bottom
    out = decoder([[np.frombuffer(path.read_bytes(), np.uint8)]], [box])[0][0]
    ref = TF.resized_crop(decode_rgb(path), 10, 30, 80, 100, [24, 24], antialias=True)
    assert out.shape == (3, 24, 24)
    assert (out.float() - ref.float()).abs().max() <= 2


def test_pending_files_are_made_by_the_preprocessor(tmp_path):
    from benchmarks.data.datasets import ViewsPreprocessor
    _jpegs(tmp_path, n=4)
    _, dali = _both(tmp_path, ['mocov2', 'compress'])
    keys = [(1, i) for i in range(4)]
    made = dali.collate_fn()([dali[k] for k in keys])
    index, pending, label = dali.collate_fn(views_on_device=True)([dali[k] for k in keys])
    assert isinstance(pending, PendingViews) and isinstance(pending, dali_module.PendingFiles)
    pre = ViewsPreprocessor()
    _, views, _, _ = pre((index, pending, label))
    assert all(torch.equal(v, pre.normalise(m)) for v, m in zip(views, made[1]))


def test_partner_views_decode_the_partners_file(tmp_path):
    for i in range(4):
        d = tmp_path / 'train' / ('ant', 'bee')[i % 2]
        d.mkdir(parents=True, exist_ok=True)
        Image.new('RGB', (40, 30), (40 * i + 10,) * 3).save(d / f'{i}.png')
    files = ImageFolderDataset(tmp_path, 'train', ['compress'] * 3, 16, seed=2, decode='dali')
    value = {j: int(p.stem) * 40 + 10 for j, p in enumerate(files.paths)}
    data = files.with_partners(np.array([[(j + 1) % 4] for j in range(4)]), 1)
    batch = data.collate_fn()([data[(0, j)] for j in range(4)])
    for row in range(4):
        assert set(batch[1][0][row].unique().tolist()) == {value[row]}
        assert set(batch[1][2][row].unique().tolist()) == {value[(row + 1) % 4]}


def test_a_file_dali_cannot_decode_follows_the_corrupt_policy(tmp_path):
    _jpegs(tmp_path, n=6)
    bad = tmp_path / 'train' / 'ant' / '02.jpg'
    fail = ImageFolderDataset(tmp_path, 'train', ['compress'], 16, decode='dali')
    skip = ImageFolderDataset(tmp_path, 'train', ['compress'], 16, decode='dali', on_corrupt='skip')
    bad.write_bytes(bad.read_bytes()[:len(bad.read_bytes()) // 3])   # truncated after the check: the header reads
    keys = [(0, i) for i in range(6)]
    with pytest.raises(DataError, match='02.jpg'), pytest.warns(UserWarning, match='NVIDIA DALI cannot decode .*02.jpg'):
        fail.collate_fn()([fail[k] for k in keys])
    i = skip.paths.index(bad)
    with pytest.warns(UserWarning) as caught:
        batch = skip.collate_fn()([skip[k] for k in keys])
    messages = [str(w.message) for w in caught]
    assert any('NVIDIA DALI cannot decode' in m and '02.jpg' in m for m in messages)
    assert any('substitute' in m for m in messages)
    assert batch[1][0].shape == (6, 3, 16, 16)
    assert skip.labels[skip._substitute[i]] == skip.labels[i]
    assert [p for p, _ in skip.failed_images()] == [bad]
    # the other five samples are DALI's decodes, unchanged by the one that failed
    good = [k for k in keys if k[1] != i]
    alone = skip.collate_fn()([skip[k] for k in good])
    rows = [r for r in range(6) if r != i]
    assert torch.equal(batch[1][0][rows], alone[1][0])


def test_dali_failing_on_every_file_is_raised_not_decoded_around(tmp_path, monkeypatch):
    """A DALI that cannot decode anything (broken install, driver) is an error, not a silent switch to Pillow."""
    _jpegs(tmp_path, n=4)
    _, dali = _both(tmp_path, ['compress'])

    def broken(self, files, boxes, device=None):
        raise RuntimeError('nvImageCodec: no decoder available\nmore detail')
    monkeypatch.setattr(dali_module.DaliDecoder, '__call__', broken)
    with pytest.raises(RuntimeError, match="failed on every file of a batch of 4.*no decoder available.*data.decode='crop'"):
        dali.collate_fn()([dali[(0, i)] for i in range(4)])


@pytest.mark.parametrize('on_device', [False, True])
def test_batches_from_a_loader_worker_are_decoded_by_their_receiver(tmp_path, on_device):
    """DALI never runs in a loader worker (forked from a process that used DALI it can crash): the worker sends
    pending files whatever ``on_device`` says, and `made_views` (preprocessor, evaluation loops) makes the
    views collate-time DALI would make; a file DALI cannot decode is handled by this process's dataset."""
    from torch.utils.data import DataLoader

    from benchmarks.data.batch_views import made_views
    _jpegs(tmp_path, n=8)
    dali = ImageFolderDataset(tmp_path, 'train', ['mocov2'], 32, seed=4, decode='dali', on_corrupt='skip')
    keys = [(1, i) for i in range(8)]
    here = dali.collate_fn()([dali[k] for k in keys])      # this process already used DALI before the fork

    def from_worker():
        (index, views, _), = list(DataLoader(dali, batch_size=8, sampler=keys, num_workers=1,
                                             collate_fn=dali.collate_fn(on_device)))
        assert isinstance(views, dali_module.PendingFiles)
        return index, views
    index, views = from_worker()
    assert torch.equal(index, here[0]) and torch.equal(made_views(views)[0], here[1][0])
    bad = tmp_path / 'train' / 'bee' / '03.jpg'
    bad.write_bytes(bad.read_bytes()[:len(bad.read_bytes()) // 3])
    _, views = from_worker()
    with pytest.warns(UserWarning) as caught:
        made = made_views(views)
    messages = [str(w.message) for w in caught]
    assert any('NVIDIA DALI cannot decode' in m and '03.jpg' in m for m in messages)
    assert any('substitute' in m for m in messages)
    assert made[0].shape == (8, 3, 32, 32)


def test_training_on_dali_views(tmp_path):
    """compress_2q trains on DALI-decoded views made by the data preprocessor (``views_on='device'``)."""
    from benchmarks.engine.runner import train_method
    from benchmarks.perf.common import build_teacher
    from tests.helpers import STUDENT
    _jpegs(tmp_path, n=16, size=(40, 48))
    data = ImageFolderDataset(tmp_path, 'train', ['compress'], 32, seed=0, decode='dali')
    budget = dict(epochs=1, batch_size=8, optimizer=dict(type='SGD', lr=0.05, momentum=0.9), schedule=dict(type='constant'),
                  log_interval=1, checkpoint_interval=1, views_on='device')
    teacher = build_teacher(dict(arch='resnet18', width=0.125, small_input=False))
    res = train_method('compress_2q', dict(bank_size=16), STUDENT, teacher, data, budget, tmp_path / 'run', seed=0,
                       device='cpu')
    assert res.iterations == 2 and np.isfinite(res.final_loss)


def test_dali_missing_stops_before_work(tmp_path, monkeypatch):
    from benchmarks.checks import environment_problems
    from benchmarks.config import resolve
    from benchmarks.data.sources import build_datasets
    _jpegs(tmp_path, n=4)
    monkeypatch.setattr(dali_module, 'dali_installed', lambda: False)
    with pytest.raises(DataError, match="data.decode='dali' needs NVIDIA DALI.*pip install nvidia-dali-cuda120"):
        build_datasets(dict(type='imagefolder', root=str(tmp_path), image_size=32, decode='dali'), ['compress'], 0)
    cfg = resolve('default', ['compress_2q'], {'data.decode': 'dali'})
    assert any("needs NVIDIA DALI, which is not installed" in p for p in environment_problems(cfg))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device (run on a lent GPU machine)')
def test_gpu_decode_matches_the_cpu_pipeline(tmp_path):
    """The ``mixed`` (nvJPEG) pipeline on the GPU against DALI's CPU pipeline: same boxes, pixels within the
    IDCT and float differences of the two devices."""
    _jpegs(tmp_path, n=8)
    _, dali = _both(tmp_path, ['mocov2', 'compress'])
    keys = [(1, i) for i in range(8)]
    pending = dali.collate_fn(views_on_device=True)([dali[k] for k in keys])[1]
    cpu = pending.make()
    gpu = pending.make(torch.device('cuda'))
    for a, b in zip(cpu, gpu):
        assert b.device.type == 'cuda' and b.shape == a.shape
        assert (a.float() - b.cpu().float()).abs().mean() < 1.5
