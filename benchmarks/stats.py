"""Uncertainty over seeds: Student-t intervals, paired comparisons, and which cells count as best.

A leaderboard cell over n seeds is ``mean ± h`` with h the half-width of the 95 % confidence interval of
the mean, ``h = t_{0.975, n-1} · s / √n`` (s: the sample standard deviation, ddof 1). With one seed
there is no interval (h is None) and a cell is a single measurement.

A paired comparison of a method against a reference row (both trained with the same seeds) uses the
per-seed differences ``d_s = x_s − r_s``: their mean, the 95 % interval of that mean, and the two-sided
p-value of the paired t-test ``t = mean(d) / (sd(d) / √n)`` with n − 1 degrees of freedom. Pairing
removes what a seed does to both (the same data order and views), so it is sharper than comparing two
intervals. Below `MIN_PAIRED` seeds the p-value is not computed ("n too small").

The Student t quantiles and tail probabilities come from `scipy.stats.t`; everything else is here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

CONFIDENCE = 0.95
MIN_PAIRED = 3      # seeds below which a paired test is "n too small"
ALPHA = 0.05        # significance level of the "significant vs reference" marker


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass
class Interval:
    """``mean ± half`` over ``n`` values (``half``/``std`` None for n = 1)."""
    mean: float
    half: float | None
    std: float | None
    n: int
    values: list

    @property
    def low(self) -> float:
        return self.mean - (self.half or 0.0)

    @property
    def high(self) -> float:
        return self.mean + (self.half or 0.0)


def t_quantile(n: int, confidence: float = CONFIDENCE) -> float:
    """t_{(1+confidence)/2, n-1}: the multiplier of s/√n for a two-sided interval of n values."""
    from scipy.stats import t
    return float(t.ppf(0.5 + confidence / 2, n - 1))


def interval(values, confidence: float = CONFIDENCE) -> Interval | None:
    """The Student-t interval of the mean of the finite ``values`` (None when there are none)."""
    xs = [float(v) for v in values if _finite(v)]
    n = len(xs)
    if n == 0:
        return None
    mean = sum(xs) / n
    if n == 1:
        return Interval(mean, None, None, 1, xs)
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    return Interval(mean, t_quantile(n, confidence) * std / math.sqrt(n), std, n, xs)


@dataclass
class Paired:
    """Method minus reference over the seeds both have: mean difference, its interval, p-value."""
    diff: float
    half: float | None
    p: float | None         # None: fewer than MIN_PAIRED seeds ("n too small")
    n: int
    seeds: list

    @property
    def significant(self) -> bool:
        return self.p is not None and self.p < ALPHA


def paired(values: dict, reference: dict, confidence: float = CONFIDENCE) -> Paired | None:
    """Paired comparison of ``{seed: value}`` against ``{seed: reference value}`` on their common seeds
    (None when they share none)."""
    seeds = sorted(s for s in values if s in reference and _finite(values[s]) and _finite(reference[s]))
    if not seeds:
        return None
    d = [float(values[s]) - float(reference[s]) for s in seeds]
    iv = interval(d, confidence)
    p = None
    if len(d) >= MIN_PAIRED:
        if iv.std == 0:  # every seed moved by the same amount: certain unless that amount is 0
            p = 1.0 if iv.mean == 0 else 0.0
        else:
            from scipy.stats import t
            stat = iv.mean / (iv.std / math.sqrt(len(d)))
            p = float(2 * t.sf(abs(stat), len(d) - 1))
    return Paired(iv.mean, iv.half, p, len(d), seeds)


def overlaps_best(candidates: dict, better: str) -> set:
    """The keys of ``candidates`` (``{key: Interval}``) that are best or tied with the best.

    The best is the highest (``better='max'``) or lowest (``'min'``) mean; every candidate whose
    interval overlaps the best one's is tied with it. Without intervals (one seed) only equal means tie.
    """
    if not candidates:
        return set()
    pick = max if better == 'max' else min
    best_key = pick(candidates, key=lambda k: candidates[k].mean)
    b = candidates[best_key]
    return {k for k, iv in candidates.items() if iv.high >= b.low and iv.low <= b.high}
