"""The columns of the leaderboard tables, from the evaluators' declarations.

Each evaluator declares its columns (`benchmarks.evals.base.Evaluator.columns`); the harness adds the
training cost of each row (images seen, train time). Which columns a table has follows from the
metric keys its rows carry, so a table is rebuilt from ``rows.json`` alone, also for merged runs.
"""
from __future__ import annotations

from benchmarks.evals.base import GROUPS, Column, get_evaluator, list_evaluators

# the cost of training that every method row carries (the budget fixes images seen: not ranked)
TRAINING_COLUMNS = (Column('images_seen', 'Images seen', ',d', 'cost', None),
                    Column('train_time_s', 'Train (s)', '.0f', 'cost', 'min'))
# what the teacher added to a row's bill (benchmarks/reporting/cost.py); present only where some row has them
TEACHER_COST_COLUMNS = (Column('teacher_forwards', 'T fwd', ',d', 'cost', None),
                        Column('teacher_train_s', 'T train (s)', '.0f', 'cost', None),
                        Column('pretrain_s', 'Total (s)', '.0f', 'cost', 'min'),
                        Column('teacher_gpu_hours', 'T GPU-h', ',.0f', 'cost', None),
                        Column('teacher_params_m', 'T params (M)', '.2f', 'cost', None, detail=True),
                        Column('teacher_gmacs', 'T GMACs', '.3f', 'cost', None, detail=True),
                        Column('teacher_train_images', 'T images seen', ',d', 'cost', None, detail=True))
HEAD_COLUMNS = (Column('method', 'Method', '', '', None), Column('student', 'Network', '', '', None))


def _keys(rows) -> set:
    return {k for r in rows for k in r}


def evaluation_columns(rows, detail: bool = True) -> list[Column]:
    """Every evaluator's columns present in ``rows``, in run order; ``detail=False`` leaves out the
    CSV/JSON-only ones (top-5, spreads)."""
    keys = _keys(rows)
    cols = [c for name in list_evaluators() for c in get_evaluator(name).columns(keys)]
    return [c for c in cols if detail or not c.detail]


def metric_columns(rows, detail: bool = True) -> list[Column]:
    """The accuracy, retrieval and detection columns (what a method is judged on)."""
    return [c for c in evaluation_columns(rows, detail) if c.group != 'cost']


def column_groups(rows) -> list[tuple[str, str, list[Column]]]:
    """``[(group key, group header, columns)]`` of the tables people read, empty groups left out;
    within a group the evaluators' run order (CA joins kNN and linear under accuracy)."""
    by_group = {key: [] for key, _ in GROUPS}
    teacher_cost = [c for c in TEACHER_COST_COLUMNS if not c.detail and any(r.get(c.field) is not None for r in rows)]
    for col in evaluation_columns(rows, detail=False) + list(TRAINING_COLUMNS) + teacher_cost:
        by_group[col.group].append(col)
    return [(key, header, by_group[key]) for key, header in GROUPS if by_group[key]]


def table_columns(rows) -> list[Column]:
    return list(HEAD_COLUMNS) + [c for _, _, cols in column_groups(rows) for c in cols]
