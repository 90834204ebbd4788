"""Rows of several seeds -> one row per network with mean, interval, spread and the per-seed values.

``rows.json`` keeps one row per (method, student, seed); every table reads the aggregated rows built
here (`aggregate`). For each numeric field a row carries (metrics and training cost) the aggregated
row holds:

* ``<field>``: the mean over the seeds that have it;
* ``<field>_ci95``: the half-width of its 95 % Student-t interval (absent with one seed);
* ``<field>_std``: the sample standard deviation over seeds (n ≥ 2);
* ``<field>_seeds``: ``{seed: value}``, every per-seed value;

and ``seeds`` (the seeds aggregated) and ``n_seeds``. A row of one seed keeps its values as they are
(and a detection row of one seed its ± over fine-tuning trials, `with_trial_intervals`).

Method rows are also compared, seed by seed, with a reference row (`add_paired`; default: the first
from-scratch method row of the same student, see `default_reference`): ``<field>_vs_ref`` (mean
difference), ``<field>_vs_ref_ci95``, ``<field>_vs_ref_p`` (paired t-test; None = n too small) and
``reference`` (its name). Failed rows are not averaged: each stays a row of its own.
"""
from __future__ import annotations

import math

from benchmarks.stats import interval, paired, t_quantile

# fields that are numbers but not measurements: never averaged
_NOT_MEASURED = {'seed', 'schema', 'image_size', 'world_size', 'num_views', 'n_seeds', 'det_trials'}
_SUFFIXES = ('_ci95', '_std', '_seeds', '_vs_ref', '_vs_ref_ci95', '_vs_ref_p', '_vs_ref_n')


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def group_key(row) -> tuple:
    """Rows of one network trained the same way, differing only in their seed."""
    return (row.get('kind', 'method'), row.get('run'), row.get('method'), row.get('student'))


def _measured_fields(group) -> list[str]:
    keys = []
    for r in group:
        for k, v in r.items():
            if k not in keys and _number(v) and k not in _NOT_MEASURED and not k.endswith(_SUFFIXES):
                keys.append(k)
    return keys


def with_trial_intervals(row: dict) -> dict:
    """A detection result of several fine-tuning trials (``det_*_std`` over ``det_trials`` runs): its
    95 % interval over the trials as ``det_*_ci95``, so one seed's detection cell shows ``mean ± h`` like
    every other cell."""
    trials = row.get('det_trials')
    if not (isinstance(trials, int) and trials > 1):
        return row
    out = dict(row)
    for k, v in row.items():
        base = k[:-4] if k.endswith('_std') else None
        if base and base.startswith('det_') and _number(v) and f'{base}_ci95' not in row:
            out[f'{base}_ci95'] = t_quantile(trials) * v / math.sqrt(trials)
    return out


def aggregate_group(group: list[dict]) -> dict:
    """One row for the rows of ``group`` (same network, different seeds)."""
    seeds = [r.get('seed') for r in group]
    if len(group) == 1:
        out = with_trial_intervals(dict(group[0]))
        out.update(seeds=seeds, n_seeds=1)
        return out
    out = dict(group[0])
    for f in _measured_fields(group):
        per_seed = {r.get('seed'): r[f] for r in group if _number(r.get(f))}
        if len(set(per_seed.values())) == 1:  # the same on every seed (params, images seen): no spread to show
            out[f], out[f'{f}_std'], out[f'{f}_seeds'] = next(iter(per_seed.values())), 0.0, per_seed
            continue
        iv = interval(per_seed.values())
        out[f] = iv.mean
        out[f'{f}_ci95'], out[f'{f}_std'], out[f'{f}_seeds'] = iv.half, iv.std, per_seed
    out.update(seeds=seeds, n_seeds=len(group), seed=None)
    return out


def aggregate(rows) -> list[dict]:
    """One row per network (`group_key`), in first-appearance order; failed rows stay single."""
    groups: dict = {}
    singles = []
    for r in rows:
        if r.get('status', 'ok') != 'ok':
            singles.append((len(groups) + len(singles), [r]))
            continue
        groups.setdefault(group_key(r), []).append(r)
    order = {k: i for i, k in enumerate(groups)}
    ordered = sorted([(order[k], g) for k, g in groups.items()] + singles, key=lambda x: x[0])
    return [aggregate_group(g) for _, g in ordered]


def default_reference(rows, row) -> str | None:
    """The name of the row ``row`` is compared with: the first finished method row trained without a
    teacher (the from-scratch baseline) with the same network and run."""
    for r in rows:
        if (r.get('kind') == 'method' and r.get('status', 'ok') == 'ok' and r.get('teacher') == 'none'
                and not r.get('uses_labels') and r.get('student') == row.get('student') and r.get('run') == row.get('run')):
            return r.get('method')
    return None


def add_paired(agg_rows, fields, compare_to: str | None = None) -> list[dict]:
    """Paired comparison of every method row with its reference on ``fields`` (see module doc).
    ``compare_to``: a row name (as shown, e.g. ``'moco_v2'``) to compare every method row with."""
    by_name = {r.get('method'): r for r in agg_rows if r.get('status', 'ok') == 'ok'}
    out = []
    for r in agg_rows:
        ref_name = compare_to or default_reference(agg_rows, r)
        ref = by_name.get(ref_name)
        if r.get('kind') != 'method' or r.get('status', 'ok') != 'ok' or r.get('uses_labels') or ref is None or ref is r:
            out.append(r)
            continue
        r = dict(r, reference=ref_name)
        for f in fields:
            pr = paired(_per_seed(r, f), _per_seed(ref, f))
            if pr is not None:
                r[f'{f}_vs_ref'], r[f'{f}_vs_ref_ci95'], r[f'{f}_vs_ref_p'] = pr.diff, pr.half, pr.p
                r[f'{f}_vs_ref_n'] = pr.n
        out.append(r)
    return out


def _per_seed(row, f) -> dict:
    if f'{f}_seeds' in row:
        return {int(k): v for k, v in row[f'{f}_seeds'].items()}
    return {row['seeds'][0]: row[f]} if _number(row.get(f)) and row.get('seeds') else {}
