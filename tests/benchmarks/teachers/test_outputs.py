"""Teacher sharing: the teacher's outputs on the training stream are computed once and reused, with
results identical to computing them in every method."""
import json

import pytest
import torch

from benchmarks.cli.bench import main
from benchmarks.data.datasets import EpochIndexSampler
from benchmarks.teachers.outputs import TeacherOutputCache, TeacherOutputs
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
        outputs = TeacherOutputs(teacher, cache, recipe='compress@32')
        teacher.images_forwarded = 0
        outputs.set_epoch(1)
        first = outputs(index, views)         # computed, written to (stream v0/v1, slot 1)
        again = outputs(index, views)         # slot not complete yet: computed again
        assert teacher.images_forwarded == 16 and cache.cached_images == 0
        outputs.epoch_done(1)
        hit = outputs(index, views)
        assert teacher.images_forwarded == 16 and cache.cached_images == 8
        for v in (0, 1):
            for k in ('backbone', 'head'):
                assert torch.equal(hit[v][k], first[v][k]) and torch.equal(again[v][k], first[v][k])
                # rounded to fp16 whether or not it came from the cache
                assert torch.equal(first[v][k], first[v][k].half().float())
        assert not torch.equal(first[0]['backbone'], first[1]['backbone'])   # one stream per view
        outputs.set_epoch(0)
        outputs(index, views)                 # another slot: computed
        other = TeacherOutputs(teacher, cache, recipe='mocov2@32')
        other.set_epoch(1)
        other(index, views)                   # another recipe: another stream, computed
        assert teacher.images_forwarded == 32 and cache.cached_images == 8
        assert cache.nbytes() == 4 * 2 * 8 * (teacher.feat_dims['backbone'] + 16) * 2  # 4 streams, 2 slots, fp16
    # the disk cache keeps what was complete for a later run
    cache = TeacherOutputCache(num_samples=8, slots=2, dims=teacher.feat_dims, storage='disk', folder=tmp_path / 'outputs')
    outputs = TeacherOutputs(teacher, cache, recipe='compress@32')
    outputs.set_epoch(1)
    assert torch.equal(outputs(index, views)[1]['backbone'], first[1]['backbone']) and cache.cached_images == 8


def test_the_batch_carries_the_teachers_outputs(tiny_teacher):
    """The training data preprocessor puts the teacher's outputs on every view into the batch."""
    from benchmarks.data.datasets import ViewsPreprocessor
    calls = []

    def outputs(index, views):
        calls.append(index)
        return [tiny_teacher(x) for x in views]
    pre = ViewsPreprocessor(teacher_outputs=outputs)
    views = [torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8) for _ in range(2)]
    index, normed, label, teacher = pre([torch.arange(4), views, torch.zeros(4, dtype=torch.long)], training=True)
    assert len(calls) == 1 and len(teacher) == 2
    for x, out in zip(normed, teacher):
        assert torch.equal(out['backbone'], tiny_teacher(x)['backbone'])
    assert ViewsPreprocessor()([torch.arange(4), views, torch.zeros(4, dtype=torch.long)])[3] is None


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
    from benchmarks.data.sources import build_datasets
    from benchmarks.engine.prepare import build_prepare_context
    data = dict(type='embedded', num_classes=2, train_per_class=4, val_per_class=1, image_size=32, seed=0)
    train, *_ = build_datasets(data, ['center'], 0, cache_dir=tmp_path)
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
