"""Class-disjoint splits for retrieval: the classes sorted by id, cut in two halves."""
from __future__ import annotations

import numpy as np


def _labels(x) -> np.ndarray:
    if hasattr(x, 'detach') and hasattr(x, 'cpu'):  # a torch tensor (duck-typed: no torch import here)
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.int64).reshape(-1)


def class_disjoint_split(labels, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the train part (first half of the classes) and test part (second half).

    Protocol: Oh Song et al. CVPR 2016 (docs/methods.md#retrieval): the classes sorted by id are cut
    in two; every image of a class goes to that class's part.

    Args:
        labels: ``[N]`` integer class ids.
        num_classes: ``None``: the classes are the distinct ids present in ``labels``; an int ``C``:
            the classes are ``0 .. C-1`` (labels must lie in that range), so a class with no image
            still takes its place in the order (as CUB's ``classes.txt`` fixes the cut at 100).

    Returns:
        ``(train_idx, test_idx)``: int64 index arrays into ``labels``, ascending. With ``C`` classes,
        the train part holds the first ``C // 2`` classes and the test part the remaining
        ``C - C // 2``: for an odd count, the **test** part gets the extra class (more queries).

    Raises:
        ValueError: on labels outside ``[0, num_classes)`` or fewer than 1 class.
    """
    y = _labels(labels)
    if num_classes is None:
        classes = np.unique(y)
    else:
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        if len(y) and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f'labels must lie in [0, {num_classes}), found range [{y.min()}, {y.max()}]')
        classes = np.arange(num_classes)
    if len(classes) == 0:
        raise ValueError('no classes: labels is empty and num_classes is None')
    test_classes = classes[len(classes) // 2:]
    in_test = np.isin(y, test_classes)
    return np.flatnonzero(~in_test).astype(np.int64), np.flatnonzero(in_test).astype(np.int64)
