"""Paired statistics of an A/B run (``edgevid ab``): pure functions of the measured rounds.

Data: trials (one pair of warm runner processes each), each a list of rounds; a round holds one
block of per-iteration times (ms) from each side, measured back to back in a random order.

* A round's ratio is median(NEW block) / median(BASE block). The two blocks of a round share the
  same stretch of machine state, so slow periods cancel in the ratio.
* The estimate is the median of the round log ratios (exp of it: a ratio), pooled over trials.
  Symmetric for faster and slower, and robust: a round whose two blocks met different machine
  states (a neighbour's burst in one block only) gives a log ratio far out in either tail, and on
  a shared 2-core VM those tails are heavy (round log ratios of an identical pair: SD 0.21 but
  1.48 x MAD 0.12). On recorded identical-pair runs there (6 trials of 20-30 rounds) the median's
  bootstrap CI was about half as wide as the mean's (half-width 1.9% vs 4.2%, 2.6% vs 4.9%),
  i.e. the same CI in about a quarter of the rounds. Under no difference the distribution of a
  round's log ratio is symmetric (the order of the two blocks is counterbalanced), so the median
  estimates the same shift the mean does.
* The 95% CI is a hierarchical bootstrap: resample trials with replacement, then rounds within
  each chosen trial with replacement, take the median log ratio; percentile interval, fixed
  seed.
  A process restart changes memory layout, thread placement and JIT state, so rounds of one
  trial are not independent of each other; resampling trials first keeps that level's spread in
  the interval (with a single trial only rounds can be resampled: its interval is reported
  but decides nothing, ``MIN_DECIDING_TRIALS``).
  Over few trials a bootstrap is too narrow: it cannot show a spread it did not sample, and over
  3 trials its range ends at theirs. So every interval (``trial_interval``) is the bootstrap's
  percentile interval at a level expanded for the k trials (``expanded_confidence``:
  Hesterberg's expanded percentile interval, z widened to sqrt(k/(k-1)) t(k-1)), widened where
  needed to cover Student's t interval over the trials' medians (``t_interval``; the classical
  analysis of cluster summaries, Cameron, Gelbach & Miller 2008 on why cluster bootstraps
  over-reject with few clusters). The t part guards process starts that differ more than rounds
  do; the bootstrap part guards an outlying trial, which moves a mean of trial medians but not
  the pooled median.
* Verdict (``verdict``), as in two one-sided tests (TOST) with a practical margin m:
  ``slower`` when the whole decision interval lies above 1 + m, ``faster`` when it lies below
  1 - m, ``same`` when it lies inside [1 - m, 1 + m], else ``inconclusive`` (more data could
  settle it). Each end of the interval is one one-sided test at 5% (``DECISION_CONFIDENCE``
  0.90 before the looks' correction), as TOST is conventionally run (a 90% interval for 5%
  tests); each claim (slower, faster, same, a gate's pass or fail) is then wrong at most 5% of
  the time over all looks, at its worst case (a true ratio exactly on the boundary). Checked
  on constructed null runs (``tests/test_ab.py``, including process starts that differ three
  times more than rounds) and on twelve recorded runs moved to that boundary (README "edgevid
  ab", ``benchmarks/ab_plan.py --shift``): at most 2.3% there. Without the expansion and the t
  cover the plain bootstrap reached 9.7% on recordings of a quiet machine, where the spread
  between process starts dominates.
* Gate (``gate_result``, ``--fail-above X``): one question, one-sided. ``fail`` when the whole
  decision interval lies above 1 + X, ``pass`` when it lies wholly below 1 + X (NEW is not X
  slower), else ``undecided``. With a gate the stop rule stops once the gate is decided, not
  once the verdict is: a CI gate asks "X slower or not", and an identical pair answers that
  (pass) long before its interval fits inside +-margin for ``same`` (on the development VM an
  identical x3d-xs pair: 3 trials vs 8-20, see README "edgevid ab"). A false ``fail`` (NEW at
  most X slower) stays below 5% over all looks, and far below it for a pair that is not slower
  at all. With margin = X (the default margin 2% and ``--fail-above 2%``) ``fail`` and
  ``slower`` are the same condition.
* Repeated looks (``look_schedule``, ``look_confidence``): the coordinator may stop as soon as
  the verdict settles, so it looks at the data more than once, and every look is one more
  chance of a false settle. It therefore looks only at planned trial counts (``PLANNED_LOOKS``:
  3, 5, 8, 12, 20, clipped to [min_trials, max_trials], with max_trials always the last) and
  decides on a wider interval at each look: Bonferroni over the K planned looks, confidence
  1 - 0.10 / K (98% for the default five: each end a one-sided 1% test). A run that ends
  early (time cap) makes its final analysis in place of the next planned look, so no run looks
  more than K times. The reported CI (``ci_low``/``ci_high``) is the 95% one; the verdict
  comes from the decision interval (``decision_ci_low``/``decision_ci_high``, level
  ``decision_confidence``). Bonferroni is simple and conservative (an O'Brien-Fleming spending
  would stop a little earlier at the last looks).
* Why not narrower intervals: the two-stage bootstrap counts round noise twice (once in the
  spread of trial centres, once within), and on recorded runs of a busy VM its variance was
  1.2-5x the observed spread of trial medians. Narrower alternatives were replayed on those
  recordings moved to a true ratio of exactly 1.02 (``benchmarks/ab_plan.py --shift 1.02``;
  README "edgevid ab"): resampling whole trials only, and shrinking trial centres (Davison &
  Hinkley 1997, section 3.8), made one kind of wrong decision (pass or fail) in 14-31% of
  replays on the worst recording; with 3-5 process starts a narrower interval is not an honest
  one. The reported CI is ``trial_interval``'s too (at 95%).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional, Sequence

import numpy as np

SLOWER, FASTER, SAME, INCONCLUSIVE = "slower", "faster", "same", "inconclusive"
PASS, FAIL, UNDECIDED = "pass", "fail", "undecided"
#: Default practical margin: see README "edgevid ab" and reports/ab/ for the measurement.
DEFAULT_MARGIN = 0.02
N_RESAMPLES = 2000
CONFIDENCE = 0.95  # of the CI reported
#: Of the interval decisions come from, before the correction for repeated looks: its two ends
#: are the two one-sided 5% tests of a TOST.
DECISION_CONFIDENCE = 0.90
SEED = 20261204
#: Trial counts at which the stop rule may look (see the module docstring).
PLANNED_LOOKS = (3, 5, 8, 12, 20)
#: Fewer trials decide nothing: one process start shows none of the spread between starts.
MIN_DECIDING_TRIALS = 2


def round_log_ratio(base_ms: Sequence[float], new_ms: Sequence[float]) -> float:
    """log(median(new block) / median(base block))."""
    b, n = float(np.median(base_ms)), float(np.median(new_ms))
    if not (b > 0 and n > 0):
        raise ValueError("block medians must be positive")
    return math.log(n / b)


def location(values: np.ndarray, trim: float = 0.5) -> float:
    """The estimate of one set of round log ratios: the median (``trim`` 0.5) or the mean of
    what is left after cutting ``floor(trim * n)`` values off each end (0.25: the interquartile
    mean)."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    if trim >= 0.5:
        return float(np.median(v))
    g = int(math.floor(trim * v.size))
    return float(v[g : v.size - g].mean())


def _sorted_location(vals: np.ndarray, c: np.ndarray, trim: float) -> np.ndarray:
    """Row-wise ``location`` of rows sorted ascending whose first ``c[i]`` entries count."""
    row = np.arange(vals.shape[0])
    if trim >= 0.5:
        return (vals[row, (c - 1) // 2] + vals[row, c // 2]) / 2
    g = np.floor(trim * c).astype(np.intp)
    cs = np.concatenate(
        [np.zeros((vals.shape[0], 1)), np.cumsum(np.where(np.isinf(vals), 0.0, vals), axis=1)],
        axis=1,
    )
    return (cs[row, c - g] - cs[row, g]) / (c - 2 * g)


def bootstrap_locations(
    trials: Sequence[Sequence[float]],
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
    trim: float = 0.5,
    within: bool = True,
) -> tuple:
    """(estimate, resampled estimates or None) of the round log ratios' location (``location``:
    the median by default): trials are resampled with replacement, then rounds within each
    resampled trial, or (``within`` False) each resampled trial's rounds are kept as they are
    (vectorised; trials may differ in length)."""
    arrays = [np.asarray(t, dtype=np.float64) for t in trials if len(t)]
    if not arrays:
        return float("nan"), None
    every = np.concatenate(arrays)
    est = math.exp(location(every, trim))
    if every.size < 2:
        return est, None
    rng = np.random.default_rng(seed)
    k = len(arrays)
    sizes = np.array([a.size for a in arrays])
    width = int(sizes.max())
    padded = np.zeros((k, width))
    for j, a in enumerate(arrays):
        padded[j, : a.size] = a
    out = np.empty(n_resamples)
    chunk = max(1, 1_000_000 // (k * width))  # keeps each step's arrays small
    cols = np.arange(width)
    equal = bool((sizes == width).all())  # the same draws either way: results are identical
    flat = padded.ravel()
    for s0 in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - s0)
        picked = rng.integers(0, k, size=(b, k)) if k > 1 else np.zeros((b, 1), dtype=int)
        if equal and within:  # the same draws as below, without the padding's bookkeeping
            u = rng.random((b, picked.shape[1], width))
            u *= width
            idx = np.minimum(u.astype(np.intp), width - 1)
            vals = flat[(picked * width)[..., None] + idx].reshape(b, -1)
            vals.sort(axis=1)
            out[s0 : s0 + b] = _sorted_location(vals, np.full(b, vals.shape[1]), trim)
            continue
        n = sizes[picked][..., None]  # (b, k, 1)
        if within:
            idx = np.minimum((rng.random((b, picked.shape[1], width)) * n).astype(int), n - 1)
        else:  # whole trials: each picked trial's rounds as they are
            idx = np.broadcast_to(cols, (b, picked.shape[1], width))
        keep = cols < n
        vals = np.where(keep, padded[picked[..., None], idx], np.inf).reshape(b, -1)
        vals.sort(axis=1)  # the padding (inf) sorts last; the location of the first c per row
        out[s0 : s0 + b] = _sorted_location(vals, keep.sum(axis=(1, 2)), trim)
    return est, out


def interval(means, confidence: float) -> tuple:
    """(low, high) ratio: the percentile interval of resampled median log ratios."""
    if means is None:
        return float("nan"), float("nan")
    a = (1 - confidence) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return math.exp(float(lo)), math.exp(float(hi))


def expanded_confidence(confidence: float, k: int) -> float:
    """The percentile level that makes a bootstrap interval over ``k`` trials honest at small k:
    Hesterberg's expanded percentile interval (Hesterberg 2015, "What teachers should know about
    the bootstrap", section 5) widens the normal quantile z to sqrt(k / (k - 1)) t(k - 1), the
    t quantile and the small-sample correction of a spread estimated from k units. 98% over 3
    trials becomes the whole bootstrap range, over 8 trials 99.86%; 95% over 20 trials 96.8%.
    ``k`` < 2: unchanged (one trial: rounds are all there is to resample)."""
    from scipy.stats import norm
    from scipy.stats import t as student_t

    if k < 2:
        return confidence
    q = math.sqrt(k / (k - 1)) * float(student_t.ppf(1 - (1 - confidence) / 2, k - 1))
    return 1 - 2 * float(norm.sf(q))


def t_interval(trials: Sequence[Sequence[float]], confidence: float, trim: float = 0.5) -> tuple:
    """(estimate, low, high) ratio from the trials' own locations (``location`` of each trial's
    round log ratios): their mean, and Student's t interval with k - 1 degrees of freedom over
    the k trials; nan bounds with fewer than two trials. A t quantile carries the uncertainty of
    a spread estimated from a few process starts, which a bootstrap cannot: it resamples what it
    saw, and over 3 trials its range ends at theirs."""
    from scipy.stats import t as student_t

    m = np.array([location(np.asarray(t), trim) for t in trials if len(t)], dtype=np.float64)
    if m.size == 0:
        return float("nan"), float("nan"), float("nan")
    centre = float(m.mean())
    if m.size < 2:
        return math.exp(centre), float("nan"), float("nan")
    q = float(student_t.ppf(1 - (1 - confidence) / 2, m.size - 1))
    half = q * float(m.std(ddof=1)) / math.sqrt(m.size)
    return math.exp(centre), math.exp(centre - half), math.exp(centre + half)


def trial_interval(trials: Sequence[Sequence[float]], resampled, confidence: float) -> tuple:
    """(low, high) ratio at ``confidence`` over the trials (each a list of round log ratios) and
    their two-stage bootstrap (``resampled``): the bootstrap's percentile interval expanded for
    the number of trials (``expanded_confidence``), widened where needed to cover Student's t
    interval over the trials' medians (``t_interval``). The two fail in different places: the
    bootstrap alone is too narrow when process starts differ more than rounds do (3 trials), the
    t interval alone follows an outlying trial's mean."""
    k = sum(1 for t in trials if len(t))
    lo, hi = interval(resampled, expanded_confidence(confidence, k))
    _, tlo, thi = t_interval(trials, confidence)
    if math.isnan(tlo) or math.isnan(lo):
        return lo, hi
    return min(lo, tlo), max(hi, thi)


def hierarchical_ci(
    trials: Sequence[Sequence[float]],
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> tuple:
    """(estimate, low, high) of exp(median log ratio); ``trials`` holds each trial's round log
    ratios; the interval is ``trial_interval``'s."""
    est, means = bootstrap_locations(trials, n_resamples, seed)
    return (est, *trial_interval(trials, means, confidence))


def look_schedule(min_trials: int, max_trials: int, planned=PLANNED_LOOKS) -> list:
    """The trial counts the stop rule looks at: min_trials, the planned counts between, and
    max_trials (always the last look)."""
    inner = {k for k in planned if min_trials < k < max_trials}
    return sorted({min(min_trials, max_trials), max_trials} | inner)


def look_confidence(n_looks: int, confidence: float = DECISION_CONFIDENCE) -> float:
    """Per-look confidence, Bonferroni over ``n_looks`` planned looks."""
    return 1 - (1 - confidence) / max(1, n_looks)


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


def gate_result(ci_low: float, ci_high: float, fail_above: Optional[float]) -> Optional[str]:
    """--fail-above X on an interval of NEW/BASE: ``fail`` (wholly above 1 + X), ``pass``
    (wholly below 1 + X), ``undecided`` (it straddles 1 + X, or no interval); None: no gate."""
    if fail_above is None:
        return None
    if fails_gate(ci_low, fail_above):
        return FAIL
    if not math.isnan(ci_high) and ci_high < 1 + fail_above:
        return PASS
    return UNDECIDED


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
    confidence: float = CONFIDENCE  # of ci_low / ci_high (reported)
    decision_confidence: float = DECISION_CONFIDENCE  # of the interval the verdict comes from
    decision_ci_low: float = float("nan")
    decision_ci_high: float = float("nan")
    fail_above: Optional[float] = None  # the gate's X (--fail-above), None without one
    gate: Optional[str] = None  # pass / fail / undecided on the decision interval

    def settled(self) -> bool:
        """What the stop rule asks at a look: the gate decided, or without a gate the verdict."""
        return self.gate != UNDECIDED if self.fail_above is not None else settled(self.verdict)

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def summarize(
    rounds: Sequence[dict],
    margin: float = DEFAULT_MARGIN,
    seed: int = SEED,
    decision_confidence: float = DECISION_CONFIDENCE,
    fail_above: Optional[float] = None,
) -> Summary:
    """The verdict on measured rounds: dicts with ``trial``, ``base_ms`` and ``new_ms``. The CI
    reported is the plain 95% one; the verdict and the gate (``fail_above``) come from the
    ``decision_confidence`` interval (the stop rule's, adjusted for repeated looks)."""
    by_trial: dict = {}
    base_all: list = []
    new_all: list = []
    for r in rounds:
        by_trial.setdefault(r["trial"], []).append(round_log_ratio(r["base_ms"], r["new_ms"]))
        base_all.extend(r["base_ms"])
        new_all.extend(r["new_ms"])
    trials = list(by_trial.values())
    est, means = bootstrap_locations(trials, seed=seed)
    lo, hi = trial_interval(trials, means, CONFIDENCE)
    dlo, dhi = trial_interval(trials, means, decision_confidence)
    if len(trials) < MIN_DECIDING_TRIALS:  # no spread between process starts seen: no claim
        dlo = dhi = float("nan")
    return Summary(
        verdict=verdict(dlo, dhi, margin),
        ratio=est,
        ci_low=lo,
        ci_high=hi,
        margin=margin,
        rounds=len(rounds),
        trials=len(trials),
        base_p50=float(np.median(base_all)) if base_all else float("nan"),
        new_p50=float(np.median(new_all)) if new_all else float("nan"),
        per_trial_ratio=[math.exp(float(np.median(t))) for t in trials],
        confidence=CONFIDENCE,
        decision_confidence=decision_confidence,
        decision_ci_low=dlo,
        decision_ci_high=dhi,
        fail_above=fail_above,
        gate=gate_result(dlo, dhi, fail_above),
    )
