#!/usr/bin/env python
"""Compare the metric columns of two rows.json files (e.g. `make bench` before and after a refactor).

    python scripts/compare_rows.py BEFORE/rows.json AFTER/rows.json

Rows are matched by their label (``method``). Compared exactly: every accuracy, retrieval, detection,
params and GMACs value, and the training loss curve; timings (latency, throughput, wall times) are
machine noise and only listed. Exit code 1 when any compared value differs.
"""
import json
import math
import sys

TIMING = ('latency_', 'throughput_', 'det_seconds')
FIELDS = {'kind', 'method', 'student', 'teacher', 'status', 'error', 'method_name', 'method_type', 'method_key',
          'student_label', 'hparams', 'augmentation', 'num_views', 'budget', 'images_seen', 'train_time_s',
          'prepare_time_s', 'teacher_time_s', 'epoch_times_s', 'peak_mem_mb', 'final_loss', 'loss_curve',
          'shared_training', 'teacher_forward_images', 'teacher_cached_images', 'teacher_spec',
          'teacher_input_norm', 'seed', 'image_size', 'device', 'world_size', 'git_commit', 'versions', 'evals_key',
          'config', 'schema', 'det_error'}


def metrics(row):
    return {k: v for k, v in row.items() if k not in FIELDS and not k.startswith(TIMING)}


def same(x, y) -> bool:
    """Equal, counting NaN as equal to NaN (a loss curve too short for a final loss is NaN in both)."""
    return x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))


def main(before_path, after_path):
    before = {r['method']: r for r in json.load(open(before_path))}
    after = {r['method']: r for r in json.load(open(after_path))}
    differences = 0
    if set(before) != set(after):
        print(f'rows differ: only before {sorted(set(before) - set(after))}, only after {sorted(set(after) - set(before))}')
        differences += 1
    compared = 0
    for name in before:
        if name not in after:
            continue
        b, a = metrics(before[name]), metrics(after[name])
        for key in sorted(set(b) | set(a)):
            compared += 1
            if not same(b.get(key), a.get(key)):
                differences += 1
                print(f'{name}: {key} {b.get(key)!r} -> {a.get(key)!r}')
        for key in ('final_loss', 'loss_curve', 'images_seen', 'teacher_forward_images', 'teacher_cached_images'):
            if key in before[name] or key in after[name]:
                compared += 1
                if not same(before[name].get(key), after[name].get(key)):
                    differences += 1
                    print(f'{name}: {key} differs')
    print(f'{len(before)} rows, {compared} values compared, {differences} differences')
    return 1 if differences else 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:3]))
