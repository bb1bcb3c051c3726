"""Sampling uncertainty of measured numbers: how far a percentile or a rate can move by chance alone.

Two small estimators, written here because the harness needs nothing else of SciPy:

- ``order_statistic_ranks``: the distribution-free confidence interval of a percentile. With n samples,
  the number of samples at or below the true q-quantile is Binomial(n, q); the interval between the
  l-th and u-th smallest sample covers the true quantile with probability P(l <= B < u). This is the
  classic order-statistic interval (Hahn & Meeker, *Statistical Intervals*, ch. 5); it assumes nothing
  about the latency distribution, only that samples are exchangeable.
- ``wilson_interval``: the Wilson score interval of a proportion (error rate), good at 0 errors too.
"""

from __future__ import annotations

import math
from statistics import NormalDist

CONFIDENCE = 0.99  # two-sided: each bound is wrong with probability <= 0.5 %


def _log_pmf(k: int, n: int, q: float) -> float:
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
            + k * math.log(q) + (n - k) * math.log1p(-q))


def order_statistic_ranks(n: int, q: float, confidence: float = CONFIDENCE) -> tuple[int | None, int | None]:
    """1-based ranks (l, u) such that the l-th and u-th smallest of n samples bound the q-quantile.

    P(X_(l) > quantile) <= alpha/2 and P(X_(u) < quantile) <= alpha/2. A rank is ``None`` when n is too
    small for that bound: the p95's upper bound needs n >= 104 at 99 % (0.95^n <= 0.005).
    """
    if n <= 0 or not 0 < q < 1:
        return None, None
    tail = (1 - confidence) / 2
    # F(k) = P(B <= k); terms further than 12 standard deviations from n*q add less than 1e-30
    spread = 12 * math.sqrt(n * q * (1 - q)) + 2
    start, stop = max(0, math.floor(n * q - spread)), min(n, math.ceil(n * q + spread))
    lower = upper = None
    cumulative = 0.0  # F(start - 1): negligible by construction
    for k in range(start, stop + 1):
        cumulative += math.exp(_log_pmf(k, n, q))  # now F(k) = P(X_(k+1) > quantile)
        if k + 1 > n:
            break
        if cumulative <= tail:
            lower = k + 1
        if upper is None and cumulative >= 1 - tail:
            upper = k + 1  # P(X_(k+1) < quantile) = 1 - F(k)
    return lower, upper


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Confidence interval of a proportion (e.g. errors / requests); ``None`` without trials."""
    if trials <= 0:
        return None
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends: no rounding residue at 0 and 1
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high
