"""tools/perf.py: every measurement end to end at --quick sizes (one run shared by the schema, figure,
target and Markdown checks), plus the pure helpers (statistics, targets, --only parsing, formatting).

The quick run takes ~30 s on 2 cores: five measurements, of which scaling and threads start a fresh
interpreter per point (their figures are real, only the sizes are tiny).
"""
import json
import math
import os
import subprocess
import sys

import pytest

from benchmarks.perf import MEASUREMENTS, PerfError, parse_only
from benchmarks.perf.cli import main
from benchmarks.perf.common import figure, target
from benchmarks.perf.output import SCHEMA_VERSION, fmt, to_markdown
from tests.helpers import ROOT

REPEATS = 2
TARGETS = {  # measurement -> target names the brief asks for
    'harness': {'compress_2q runner/bare step time', 'seed runner/bare step time', 'crd runner/bare step time'},
    'data': {'embedded data, num_workers=0: data wait share'},
    'evaluation': {'kNN similarity throughput vs float32 matmul', 'linear probe: augmented / cached at equal epochs'},
    'data_path': {'mocov2: JPEG -> views per core, crop path (loader part) / torchvision per sample'},
    'e2e': {'compress_2q end to end: harness / bare step time'},
}
RATIOS = {  # figures that are ratios or shares: positive and finite
    'harness': ['compress_2q.ratio', 'seed.ratio', 'crd.ratio'],
    'data': ['embedded.w0.data_fraction', 'imagefolder.w0.data_fraction'],
    'evaluation': ['search_fraction', 'mm_fraction_of_search', 'ratio_probe', 'ratio_total'],
    'threads': ['default_over_one_thread'],
    'data_path': ['compress.speedup', 'mocov2.speedup', 'mocov2_strong.speedup', 'mocov2.speedup_cpu'],
    'suite_epoch': ['images_per_s', 'epoch_s'],
    'e2e': ['ratio', 'harness_img_s', 'bare_img_s'],
}


@pytest.fixture(scope='module')
def quick_run(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp('perf_out')
    env = dict(os.environ, SSLCB_CACHE=str(cache_dir))
    # every measurement, named out of run order: the document must list them in run order
    only = ','.join(reversed(list(MEASUREMENTS)))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'perf.py'), '--quick', '--repeats',
                           str(REPEATS), '--only', only, '--out-dir', str(out), '--name', 'q',
                           '--work-dir', str(out / 'work')],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((out / 'q.json').read_text())
    return doc, (out / 'q.md').read_text(), proc.stdout


@pytest.mark.slow
def test_document_schema(quick_run):
    doc, _, stdout = quick_run
    assert doc['schema_version'] == SCHEMA_VERSION
    assert doc['name'] == 'q' and doc['errors'] == [] and doc['complete'] is True
    assert list(doc['measurements']) == list(MEASUREMENTS)
    assert doc['settings']['only'] == list(MEASUREMENTS)
    assert doc['settings']['device'] == 'cpu' and doc['settings']['quick'] is True
    assert doc['settings']['repeats'] == REPEATS
    machine = doc['machine']
    for key in ('cpu_model', 'logical_cores', 'usable_cores', 'torch_threads', 'gpu', 'loadavg_start'):
        assert key in machine, key
    assert machine['torch_threads'] >= 1 and machine['gpu'] is None
    assert 'torch' in doc['versions'] and 'mmengine' in doc['versions']
    assert isinstance(doc['git_commit'], str) and doc['git_commit']
    for name, res in doc['measurements'].items():
        for key in ('title', 'settings', 'figures', 'targets', 'notes', 'elapsed_s', 'loadavg_before',
                    'loadavg_after'):
            assert key in res, (name, key)
        assert res['elapsed_s'] > 0 and res['figures'], name
    assert 'wrote' in stdout


@pytest.mark.slow
def test_figures_are_consistent(quick_run):
    doc, _, _ = quick_run
    for name, res in doc['measurements'].items():
        for key, fig in res['figures'].items():
            vals = fig['values']
            assert fig['n'] == len(vals) and fig['n'] in (1, REPEATS), (name, key)
            assert all(math.isfinite(v) for v in vals), (name, key, vals)
            assert fig['min'] <= fig['median'] <= fig['max'], (name, key, fig)
            assert fig['min'] == min(vals) and fig['max'] == max(vals), (name, key)
            assert fig['unit'] and fig['label'], (name, key)
            if fig['unit'] in ('ms', 's', 'images/s', 'GFLOP/s', 'x'):
                assert fig['min'] > 0, (name, key, fig)


@pytest.mark.slow
def test_ratios_positive_and_finite(quick_run):
    doc, _, _ = quick_run
    for name, keys in RATIOS.items():
        figs = doc['measurements'][name]['figures']
        for key in keys:
            assert key in figs, (name, key, sorted(figs))
            assert all(0 < v < math.inf for v in figs[key]['values']), (name, key)
    data = doc['measurements']['data']['figures']
    assert all(v < 100 for v in data['embedded.w0.data_fraction']['values'])
    # a share of an iteration cannot exceed the iteration: data_ms < step_ms in every repeat
    for d, s in zip(data['embedded.w0.data_ms']['values'], data['embedded.w0.step_ms']['values']):
        assert d < s
    # each harness ratio is the runner step over the bare step of the same repeat
    h = doc['measurements']['harness']['figures']
    for m in ('compress_2q', 'seed', 'crd'):
        for r, run, bare in zip(h[f'{m}.ratio']['values'], h[f'{m}.runner_step']['values'],
                                h[f'{m}.bare_step']['values']):
            assert r == pytest.approx(run / bare)


@pytest.mark.slow
def test_memory_grows_with_what_is_allocated(quick_run):
    doc, _, _ = quick_run
    figs = doc['measurements']['scaling']['figures']
    peaks = {k: f['median'] for k, f in figs.items() if k.endswith('.peak_mib')}
    assert set(peaks) == {'compress_2q.bank256.peak_mib', 'crd.samples200.peak_mib', 'cc.samples200.peak_mib'}
    # a model with an optimiser and activations always raises the RSS above the post-import baseline
    assert all(v > 1 for v in peaks.values()), peaks
    for m in ('compress_2q', 'crd', 'cc'):
        assert figs[f'fixed.{m}.fixed_s']['median'] < figs[f'fixed.{m}.run_s']['median'], m


@pytest.mark.slow
def test_targets_match_their_figures(quick_run):
    doc, _, _ = quick_run
    by_measurement = {}
    for t in doc['targets']:
        by_measurement.setdefault(t['measurement'], set()).add(t['name'])
        assert t['op'] in ('<=', '>=') and math.isfinite(t['value'])
        assert t['met'] == (t['value'] <= t['threshold'] if t['op'] == '<=' else t['value'] >= t['threshold'])
        figs = doc['measurements'][t['measurement']]['figures']
        assert any(f['label'] == t['label'] and f['median'] == t['value'] for f in figs.values()), t
    assert by_measurement == TARGETS


@pytest.mark.slow
def test_markdown_summary(quick_run):
    doc, md, _ = quick_run
    assert md.startswith('# Performance: q')
    assert '## Targets' in md
    for name, res in doc['measurements'].items():
        assert f'## {name}: {res["title"]}' in md
        for fig in res['figures'].values():
            assert f'| {fig["label"]} | {fmt(fig["median"])} |' in md, fig['label']
    for t in doc['targets']:
        assert f'| {t["measurement"]} | {t["name"]} | {fmt(t["value"])} {t["unit"]} |' in md
        assert ('| yes |' if t['met'] else '| **no** |') in md
    assert 'Incomplete' not in md
    partial = dict(doc, complete=False, measurements={'harness': doc['measurements']['harness']})
    assert 'Incomplete' in to_markdown(partial) and 'finished so far: harness.' in to_markdown(partial)


def test_figure_and_target_helpers():
    f = figure([3.0, 1.0, 2.0, 10.0], 'ms', 'step')
    assert (f['median'], f['min'], f['max'], f['n']) == (2.5, 1.0, 10.0, 4)
    assert target('t', f, '<=', 2.5)['met'] and not target('t', f, '<=', 2.4)['met']
    assert target('t', f, '>=', 2.5)['met'] and not target('t', f, '>=', 2.6)['met']
    with pytest.raises(ValueError):
        target('t', f, '<', 1.0)
    with pytest.raises(ValueError):
        figure([], 'ms', 'empty')


def test_parse_only_validates_and_orders():
    assert parse_only(None) == [n for n in MEASUREMENTS if n not in ('suite_epoch', 'e2e')]  # opt-in: minutes
    assert parse_only('evaluation, harness') == ['harness', 'evaluation']
    with pytest.raises(PerfError, match='harness, data'):
        parse_only('harness,bogus')


def test_cli_refuses_bad_requests_before_measuring(tmp_path, capsys):
    assert main(['--only', 'nope', '--out-dir', str(tmp_path)]) == 2
    assert 'unknown measurement' in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
    import torch
    if not torch.cuda.is_available():
        assert main(['--device', 'cuda', '--only', 'harness', '--out-dir', str(tmp_path)]) == 2
        assert 'no CUDA device' in capsys.readouterr().err


def test_fmt():
    assert fmt(1234.5) == '1234' or fmt(1234.5) == '1235'
    assert fmt(12.345) == '12.3' and fmt(1.2345) == '1.23' and fmt(0.012345) == '0.0123'
    assert fmt(float('nan')) == 'nan' and fmt(None) == ''
