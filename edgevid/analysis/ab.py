"""Paired statistics of an A/B run (``edgevid ab``): pure functions of the measured rounds.

Data: trials (one pair of warm runner processes each), each a list of rounds; a round holds one
block of per-iteration times (ms) from each side, measured back to back in a random order.

* A round's ratio is median(NEW block) / median(BASE block). The two blocks of a round share the
  same stretch of machine state, so slow periods cancel in the ratio.
* The estimate is the geometric mean of the round ratios (the mean of their logs): symmetric for
  faster and slower, and the per-round medians already keep outliers out.
* The 95% CI is a hierarchical bootstrap: resample trials with replacement, then rounds within
  each chosen trial with replacement, take the mean log ratio; percentile interval, fixed seed.
  A process restart changes memory layout, thread placement and JIT state, so rounds of one
  trial are not independent of each other; resampling trials first keeps that level's spread in
  the interval (with a single trial only rounds can be resampled, and the interval says less).
* Verdict (``verdict``), as in two one-sided tests with a practical margin m:
  ``slower`` when the whole CI lies above 1 + m, ``faster`` when it lies below 1 - m, ``same``
  when it lies inside [1 - m, 1 + m], else ``inconclusive`` (more data could settle it).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional, Sequence

import numpy as np

SLOWER, FASTER, SAME, INCONCLUSIVE = "slower", "faster", "same", "inconclusive"
#: Default practical margin: see README "edgevid ab" and reports/ab/ for the measurement.
DEFAULT_MARGIN = 0.02
N_RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 20261204


def round_log_ratio(base_ms: Sequence[float], new_ms: Sequence[float]) -> float:
    """log(median(new block) / median(base block))."""
    b, n = float(np.median(base_ms)), float(np.median(new_ms))
    if not (b > 0 and n > 0):
        raise ValueError("block medians must be positive")
    return math.log(n / b)


def hierarchical_ci(
    trials: Sequence[Sequence[float]],
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> tuple:
    """(estimate, low, high) of exp(mean log ratio); ``trials`` holds each trial's round log
    ratios. Trials are resampled, then rounds within each resampled trial."""
    arrays = [np.asarray(t, dtype=np.float64) for t in trials if len(t)]
    if not arrays:
        return (float("nan"),) * 3
    every = np.concatenate(arrays)
    est = math.exp(float(every.mean()))
    if every.size < 2:
        return est, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    k = len(arrays)
    stats = np.empty(n_resamples)
    for i in range(n_resamples):
        picked = rng.integers(0, k, size=k) if k > 1 else np.zeros(1, dtype=int)
        total, count = 0.0, 0
        for j in picked:
            t = arrays[j]
            total += float(t[rng.integers(0, t.size, size=t.size)].sum())
            count += t.size
        stats[i] = total / count
    a = (1 - confidence) / 2
    lo, hi = np.quantile(stats, [a, 1 - a])
    return est, math.exp(float(lo)), math.exp(float(hi))


def verdict(ci_low: float, ci_high: float, margin: float) -> str:
    """slower / faster / same / inconclusive from the CI of NEW/BASE and the margin."""
    if any(math.isnan(v) for v in (ci_low, ci_high)):
        return INCONCLUSIVE
    if ci_low > 1 + margin:
        return SLOWER
    if ci_high < 1 - margin:
        return FASTER
    if ci_low >= 1 - margin and ci_high <= 1 + margin:
        return SAME
    return INCONCLUSIVE


def settled(label: str) -> bool:
    return label != INCONCLUSIVE


def fails_gate(ci_low: float, fail_above: Optional[float]) -> bool:
    """--fail-above X: the whole CI lies above 1 + X."""
    return fail_above is not None and not math.isnan(ci_low) and ci_low > 1 + fail_above


@dataclass
class Summary:
    verdict: str
    ratio: float
    ci_low: float
    ci_high: float
    margin: float
    rounds: int
    trials: int
    base_p50: float
    new_p50: float
    per_trial_ratio: list

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def summarize(rounds: Sequence[dict], margin: float = DEFAULT_MARGIN, seed: int = SEED) -> Summary:
    """The verdict on measured rounds: dicts with ``trial``, ``base_ms`` and ``new_ms``."""
    by_trial: dict = {}
    base_all: list = []
    new_all: list = []
    for r in rounds:
        by_trial.setdefault(r["trial"], []).append(round_log_ratio(r["base_ms"], r["new_ms"]))
        base_all.extend(r["base_ms"])
        new_all.extend(r["new_ms"])
    trials = list(by_trial.values())
    est, lo, hi = hierarchical_ci(trials, seed=seed)
    return Summary(
        verdict=verdict(lo, hi, margin),
        ratio=est,
        ci_low=lo,
        ci_high=hi,
        margin=margin,
        rounds=len(rounds),
        trials=len(trials),
        base_p50=float(np.median(base_all)) if base_all else float("nan"),
        new_p50=float(np.median(new_all)) if new_all else float("nan"),
        per_trial_ratio=[math.exp(float(np.mean(t))) for t in trials],
    )


def in_words(s: Summary) -> str:
    """'NEW is 3.1% slower than BASE (95% CI 1.8% to 4.4%; margin 2%): slower'."""
    if math.isnan(s.ratio):
        return "no rounds measured"
    change = s.ratio - 1
    how = "slower" if change > 0 else "faster"
    ci = (
        "CI not available"
        if math.isnan(s.ci_low)
        else f"95% CI {100 * (s.ci_low - 1):+.1f}% to {100 * (s.ci_high - 1):+.1f}%"
    )
    return (
        f"NEW is {abs(change):.1%} {how} than BASE ({ci}; margin ±{s.margin:.0%}; "
        f"{s.rounds} rounds in {s.trials} trials): {s.verdict}"
    )
