"""Teacher sharing: the teacher's outputs on the training stream are computed once and reused, with
results identical to computing them in every method."""
import json

import pytest
import torch

from benchmarks.bench import main
from benchmarks.data.datasets import EpochIndexSampler
from benchmarks.teachers.outputs import TeacherOutputCache
from benchmarks.teachers.teacher import Teacher
from methods.backbones import build_backbone
from methods.heads import mlp_head
from tests.helpers.bench import BASE_OPTS


def _teacher():
    torch.manual_seed(0)
    backbone = build_backbone('resnet18', width=0.125)
    return Teacher(backbone, mlp_head(backbone.feat_dim, backbone.feat_dim, 16), name='tiny')


def test_cache_hits_after_the_writing_epoch_and_only_for_the_same_stream(tmp_path):
    teacher = _teacher()
    teacher.set_output_dtype(torch.float16)
    views = [torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32)]
    index = torch.tensor([3, 0, 7, 5])
    for storage, folder in (('memory', None), ('disk', tmp_path / 'outputs')):
        cache = TeacherOutputCache(num_samples=8, slots=2, dims=teacher.feat_dims, storage=storage, folder=folder)
        teacher.attach_cache(cache, recipe='compress@32')
        teacher.images_forwarded = 0
        teacher.set_epoch(1)
        teacher.bind_batch(index, views)
        first = teacher(views[1])             # computed, written to (stream v1, slot 1)
        again = teacher(views[1])             # slot not complete yet: computed again
        assert teacher.images_forwarded == 8 and cache.cached_images == 0
        teacher.epoch_done(1)
        hit = teacher(views[1])
        assert teacher.images_forwarded == 8 and cache.cached_images == 4
        for k in ('backbone', 'head'):
            assert torch.equal(hit[k], first[k]) and torch.equal(again[k], first[k])
            # rounded to fp16 whether or not it came from the cache
            assert torch.equal(first[k], first[k].half().float())
        teacher(views[0])                     # another view of the batch: another stream, computed
        teacher.set_epoch(0)
        teacher(views[1])                     # another slot: computed
        teacher.bind_batch(None)
        teacher(views[1])                     # not a bound batch (e.g. evaluation): never cached
        assert teacher.images_forwarded == 20 and cache.cached_images == 4
        assert cache.nbytes() == 2 * 2 * 8 * (teacher.feat_dims['backbone'] + 16) * 2  # 2 streams, 2 slots, fp16
    # the disk cache keeps what was complete for a later run
    cache = TeacherOutputCache(num_samples=8, slots=2, dims=teacher.feat_dims, storage='disk', folder=tmp_path / 'outputs')
    teacher.attach_cache(cache, recipe='compress@32')
    teacher.set_epoch(1)
    teacher.bind_batch(index, views)
    assert torch.equal(teacher(views[1])['backbone'], first['backbone']) and cache.cached_images == 4


def test_views_per_image_cycles_the_view_seeds_not_the_order():
    data = list(range(16))
    sampler = EpochIndexSampler(data, shuffle=True, seed=0, batch_size=4, views_per_image=2)
    seen = []
    for epoch in range(4):
        sampler.set_epoch(epoch)
        pairs = list(sampler)
        assert {e for e, _ in pairs} == {epoch % 2}
        seen.append([i for _, i in pairs])
    assert seen[0] != seen[2]  # the sample order still changes every epoch


@pytest.mark.slow
def test_sharing_gives_identical_results_and_pays_one_run_of_forwards(tmp_path, cache_dir):
    methods = 'compress_2q,compress_2q_nomom,reg,seed,crd'
    opts = [*BASE_OPTS, 'evals.suites=[knn]', 'budget.epochs=2', 'method_cfgs.compress_2q.bank_size=64',
            'method_cfgs.compress_2q_nomom.bank_size=64', 'method_cfgs.seed.queue_size=64',
            'method_cfgs.crd.num_negatives=16']
    rows = {}
    for share in (True, False):
        work = tmp_path / f'share_{share}'
        assert main(['--work-dir', str(work), '--methods', methods, '--cfg-options', *opts,
                     f'teacher.share_outputs={share}']) == 0
        rows[share] = {r['method']: r for r in json.loads((work / 'rows.json').read_text())}
    for name, row in rows[True].items():
        other = rows[False][name]
        for key in ('knn1_top1', 'knn20_top1', 'final_loss', 'loss_curve'):
            assert row.get(key) == other.get(key), (name, key)
    run_of_forwards = rows[True]['compress_2q']['images_seen']  # one pass of the teacher over the training stream
    shared = rows[True]
    # the compress stream (compress_2q, _nomom, reg, crd) is paid once; seed's mocov2 stream once
    assert shared['compress_2q']['teacher_forward_images'] == run_of_forwards
    assert [shared[m]['teacher_forward_images'] for m in ('compress_2q_nomom', 'reg', 'crd')] == [0, 0, 0]
    assert [shared[m]['teacher_cached_images'] for m in ('compress_2q_nomom', 'reg', 'crd')] == [run_of_forwards] * 3
    assert shared['seed']['teacher_forward_images'] == run_of_forwards
    assert all(rows[False][m]['teacher_forward_images'] == run_of_forwards for m in methods.split(','))


def test_prepared_results_are_keyed_by_the_teachers_output_precision(tmp_path):
    """k-means on fp16-rounded teacher features is another result than on fp32 ones: another cache entry."""
    from benchmarks.data.datasets import build_datasets
    from benchmarks.engine.prepare import build_prepare_context
    data = dict(type='embedded', num_classes=2, train_per_class=4, val_per_class=1, image_size=32, seed=0)
    train, _ = build_datasets(data, ['center'], 0, cache_dir=tmp_path)
    teacher = _teacher()
    calls = []

    def compute():
        calls.append(1)
        return {'x': torch.zeros(1)}
    for dtype in (None, torch.float16, None):
        teacher.set_output_dtype(dtype)
        ctx = build_prepare_context(train, teacher, data, 0, 'cpu', log=lambda *a: None, cache_dir=tmp_path)
        ctx.cached('probe', {'k': 1}, compute)
    assert len(calls) == 2  # fp32, then fp16 computed; fp32 again reused
