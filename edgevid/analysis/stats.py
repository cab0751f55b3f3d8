"""Small statistics the reports print: Spearman's rank correlation with a bootstrap CI, the Pareto
front of latency against accuracy, and box statistics of raw samples.

Spearman's rho is Pearson's correlation of the ranks (ties get their average rank). Its 95% CI
resamples the (x, y) pairs -- the models -- with replacement, 2000 times with a fixed seed, and
takes the percentile interval; resamples whose ranks are constant are dropped. With a handful of
models the interval is wide, and that is the honest answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

N_RESAMPLES = 2000
SEED = 20240607


@dataclass(frozen=True)
class Correlation:
    rho: Optional[float]
    ci_low: Optional[float]
    ci_high: Optional[float]
    n: int

    def text(self) -> str:
        if self.rho is None:
            return f"— (n={self.n})"
        ci = f" [{self.ci_low:+.2f}, {self.ci_high:+.2f}]" if self.ci_low is not None else ""
        return f"{self.rho:+.2f}{ci} (n={self.n})"


def _rank_rows(a: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(a, axis=-1)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(axis=-1) / np.where(den > 0, den, 1), np.nan)


def spearman(
    x: Sequence[Optional[float]],
    y: Sequence[Optional[float]],
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
    min_n: int = 3,
) -> Correlation:
    """Spearman's rho of x and y with a bootstrap 95% CI over the pairs (None if n < min_n)."""
    pairs = [
        (float(a), float(b))
        for a, b in zip(x, y)
        if a is not None and b is not None and math.isfinite(a) and math.isfinite(b)
    ]
    n = len(pairs)
    if n < min_n:
        return Correlation(None, None, None, n)
    xs, ys = np.array(pairs).T
    rho = float(_pearson_rows(_rank_rows(xs), _rank_rows(ys)))
    if math.isnan(rho):
        return Correlation(None, None, None, n)
    idx = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    boot = _pearson_rows(_rank_rows(xs[idx]), _rank_rows(ys[idx]))
    boot = boot[~np.isnan(boot)]
    if boot.size < n_resamples // 2:
        return Correlation(rho, None, None, n)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return Correlation(rho, float(lo), float(hi), n)


def pareto_front(latency: Sequence[float], accuracy: Sequence[float]) -> list:
    """Indices of the points no other point beats: lower latency AND higher-or-equal accuracy
    (or equal latency and higher accuracy). Sorted by latency."""
    pts = sorted(range(len(latency)), key=lambda i: (latency[i], -accuracy[i]))
    front, best = [], -math.inf
    for i in pts:
        if accuracy[i] > best:
            front.append(i)
            best = accuracy[i]
    return front


def box_stats(samples: Sequence[float]) -> dict:
    """Quartiles, Tukey whiskers (the most extreme sample within 1.5 IQR) and p99 of samples."""
    a = np.asarray(samples, dtype=np.float64)
    q1, med, q3, p99 = np.percentile(a, [25, 50, 75, 99])
    iqr = q3 - q1
    inside = a[(a >= q1 - 1.5 * iqr) & (a <= q3 + 1.5 * iqr)]
    return {
        "q1": float(q1),
        "med": float(med),
        "q3": float(q3),
        "whislo": float(inside.min()),
        "whishi": float(inside.max()),
        "p99": float(p99),
        "max": float(a.max()),
        "n": int(a.size),
    }


def median_spread(values: Sequence[float]) -> dict:
    """Median, quartiles and range of ``values``."""
    a = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if a.size == 0:
        return {"n": 0, "median": None, "q1": None, "q3": None, "min": None, "max": None}
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return {
        "n": int(a.size),
        "median": float(med),
        "q1": float(q1),
        "q3": float(q3),
        "min": float(a.min()),
        "max": float(a.max()),
    }
