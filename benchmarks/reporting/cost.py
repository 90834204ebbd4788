"""What a row cost to pre-train, its teacher included.

A distillation method needs a teacher, and the teacher had to be trained: comparing a distilled student
with a from-scratch one on the student's training alone hides most of the bill (the argument of the
SlimCLR revision letter, Table B, and of Shi et al., AAAI 2022). `with_teacher_cost` adds to every
method row of a run, from the run's teacher row:

* ``teacher_params_m``, ``teacher_gmacs``: the teacher network (at the suite's image size);
* ``teacher_forwards``: the teacher forward passes this method needs (computed plus read back from the
  shared store, `benchmarks.teachers.outputs`: sharing saves the run time, not the method's cost);
* ``teacher_train_s`` / ``teacher_train_images``: the teacher's own training when this project trained
  it (its recorded wall time and images seen, also when the run reused it from the cache), and
  ``teacher_gpu_hours``: the published pre-training GPU-hours of a public checkpoint
  (``teacher.published_gpu_hours`` in its config) — hours on other hardware, never added to seconds;
* ``pretrain_s``: the total pre-training wall time on this machine: the method's own training and
  prepare time (divided by the number of students of one training, e.g. SlimCLR's widths) plus, for a
  distilled row, the whole training time of its teacher. Left out when the teacher was not trained here.

Rows without a teacher (from scratch, supervised) get ``pretrain_s`` = their own time only.
"""
from __future__ import annotations

import math
from collections import Counter


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def with_teacher_cost(rows) -> list[dict]:
    """``rows`` with the fields of the module doc added to method rows (new dicts; others unchanged)."""
    rows = [dict(r) for r in rows]
    teachers = {r.get('run'): r for r in rows if r.get('kind') == 'teacher' and r.get('status', 'ok') == 'ok'}
    students = Counter((r.get('run'), r.get('method_name') or r.get('method'), r.get('seed'))
                       for r in rows if r.get('kind', 'method') == 'method')
    for r in rows:
        if r.get('kind', 'method') != 'method' or r.get('status', 'ok') != 'ok':
            continue
        n = students[(r.get('run'), r.get('method_name') or r.get('method'), r.get('seed'))] \
            if r.get('shared_training') else 1
        own = [_num(r.get('train_time_s')), _num(r.get('prepare_time_s'))]
        own_s = sum(v for v in own if v is not None) / n if own[0] is not None else None
        t = teachers.get(r.get('run')) if r.get('teacher') not in (None, 'none') else None
        if t is None:
            if own_s is not None:
                r['pretrain_s'] = own_s
            continue
        for src, dst in (('params_m', 'teacher_params_m'), ('gmacs', 'teacher_gmacs'),
                         ('teacher_gpu_hours', 'teacher_gpu_hours')):
            if _num(t.get(src)) is not None:
                r[dst] = t[src]
        forwards = [_num(r.get('teacher_forward_images')), _num(r.get('teacher_cached_images'))]
        if any(v is not None for v in forwards):
            r['teacher_forwards'] = int(sum(v for v in forwards if v is not None))
        trained_here = _num(t.get('train_time_s')) is not None
        if trained_here:
            r['teacher_train_s'] = t['train_time_s']
            if _num(t.get('images_seen')) is not None:
                r['teacher_train_images'] = t['images_seen']
            if own_s is not None:
                r['pretrain_s'] = own_s + float(t['train_time_s'])
    return rows
