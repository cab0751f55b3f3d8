"""Statistics over sessions: one median per fresh runner process, and the verdict on two sets.

A *session* is one runner process: load, warm-up, timed loop. Iterations inside one session share
a process, a memory layout and a stretch of machine load, so the within-run confidence interval
of the median says how well that one process was measured, not what the next process will see.
The between-session spread is read from the session medians alone:

* :func:`session_summary`: the median of the session medians, its distribution-free confidence
  interval from order statistics (exact binomial ranks; with few sessions the widest interval,
  min..max, is used and the confidence it actually has is stored), and the coefficient of
  variation of the session medians.
* :func:`compare_sessions`: with at least :data:`MIN_SESSIONS` sessions per side, a two-sided
  Mann-Whitney U test of the two sets of session medians, the Hodges-Lehmann estimate of the
  ratio new/base (median of all pairwise ratios) with the confidence interval that inverts the
  exact U test, and a two-sample Kolmogorov-Smirnov test to flag a change in spread. Verdict:

  - **fail**: the U test is significant (``p < alpha``: the interval lies above 1) and the
    estimated slowdown exceeds the threshold;
  - **pass**: the interval's upper end is at or below ``1 + threshold`` (a slowdown above the
    threshold is ruled out), and it is not a fail;
  - **inconclusive**: neither; the verdict says how many more sessions per side should settle
    it, scaling the interval's width by ``1/sqrt(n)``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Optional

MIN_SESSIONS = 3
ALPHA = 0.05
CONFIDENCE = 0.95
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
#: Above this many more sessions per side the verdict says "more than" instead of a number.
MAX_MORE = 100


def _binom_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n


def order_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple:
    """CI of the median from order statistics: ``(low, high, achieved confidence)``.

    The ranks are exact (binomial with p = 1/2): the narrowest symmetric pair
    ``x_(k), x_(n-k+1)`` whose coverage is at least ``confidence``; when even ``min..max`` covers
    less (n <= 5 at 95%), ``min..max`` is returned with the coverage it has.
    """
    x = sorted(float(v) for v in values)
    n = len(x)
    if n == 0:
        return (float("nan"), float("nan"), 0.0)
    if n == 1:
        return (x[0], x[0], 0.0)
    k = 1  # 1-based rank of the lower end
    while k + 1 <= n - k and 1 - 2 * _binom_cdf(k, n) >= confidence:
        k += 1
    return (x[k - 1], x[n - k], 1 - 2 * _binom_cdf(k - 1, n))


def _median(values: Sequence[float]) -> float:
    x = sorted(values)
    n = len(x)
    if n == 0:
        return float("nan")
    return x[n // 2] if n % 2 else (x[n // 2 - 1] + x[n // 2]) / 2


def session_summary(medians: Sequence[float]) -> dict:
    """Between-session spread of the session medians (ms)."""
    m = [float(v) for v in medians]
    n = len(m)
    if n == 0:
        return {"n_sessions": 0}
    med = _median(m)
    lo, hi, conf = order_ci(m)
    mean = sum(m) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in m) / (n - 1)) if n > 1 else 0.0
    return {
        "n_sessions": n,
        "median": med,
        "ci95_low": lo,
        "ci95_high": hi,
        "ci_confidence": conf,
        "ci_rel_halfwidth": (hi - lo) / 2 / med if med > 0 and n > 1 else None,
        "cv": std / mean if mean > 0 and n > 1 else None,
        "min": min(m),
        "max": max(m),
        "medians": m,
    }


def _u_null_counts(n: int, m: int) -> list:
    """counts[u] = number of the C(n+m, n) orderings with Mann-Whitney U = u (no ties)."""
    # f[i][j] = polynomial (list of counts by u) for i x-values and j y-values.
    f: list = [[[1] if i == 0 or j == 0 else None for j in range(m + 1)] for i in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            a, b = f[i - 1][j], f[i][j - 1]  # largest is an x (adds j to U) / a y (adds 0)
            out = [0] * (i * j + 1)
            for u, c in enumerate(a):
                out[u + j] += c
            for u, c in enumerate(b):
                out[u] += c
            f[i][j] = out
    return f[n][m]


def shift_ci(base: Sequence[float], new: Sequence[float], confidence: float = CONFIDENCE) -> tuple:
    """Hodges-Lehmann ratio new/base and its CI from the exact U distribution (log scale).

    Returns ``(estimate, low, high, achieved confidence)``. The CI is ``[d_(k), d_(nm-k+1)]`` of
    the sorted pairwise log ratios, k the largest rank with ``P(U <= k - 1) <= (1 -
    confidence)/2`` (its coverage is ``1 - 2 P(U <= k - 1)``); where no rank qualifies (too few
    sessions) the full range is used with the coverage it has.
    """
    d = sorted(math.log(b2 / b1) for b1 in base for b2 in new)
    n, m = len(base), len(new)
    counts = _u_null_counts(n, m)
    total = sum(counts)
    tail = (1 - confidence) / 2
    cum, k = 0, 1
    for u, c in enumerate(counts):  # P(U <= u)
        cum += c
        if cum / total <= tail:
            k = u + 2  # P(U <= k - 2) <= tail so far: rank k - 1 = u + 1 is valid
        else:
            break
    k = max(1, min(k - 1, (len(d) + 1) // 2))
    below = sum(counts[:k]) / total  # P(U <= k - 1)
    return (math.exp(_median(d)), math.exp(d[k - 1]), math.exp(d[len(d) - k]), 1 - 2 * below)


def _more_sessions(n: int, est_log: float, half_log: float, limit_log: float) -> Optional[int]:
    """More sessions per side until the interval would settle pass or fail (1/sqrt(n) scaling)."""
    need = abs(limit_log - est_log) if est_log < limit_log else est_log  # est - h > 0 for fail
    if need <= 0 or half_log <= 0:
        return None
    n_needed = n * (half_log / need) ** 2
    return max(1, math.ceil(n_needed - n))


def _min_n_for(alpha: float) -> int:
    """Fewest sessions per side with which a two-sided exact U test can reach ``alpha``."""
    n = 2
    while 2 / math.comb(2 * n, n) >= alpha:
        n += 1
    return n


def compare_sessions(
    base_medians: Sequence[float],
    new_medians: Sequence[float],
    fail_above: Optional[float],
    alpha: float = ALPHA,
) -> dict:
    """The session method's verdict on two sets of session medians (ms); see the module doc."""
    from scipy import stats

    base = [float(v) for v in base_medians]
    new = [float(v) for v in new_medians]
    n = min(len(base), len(new))
    out = {
        "method": "sessions",
        "n_base": len(base),
        "n_new": len(new),
        "base_median": _median(base),
        "new_median": _median(new),
        "fail_above": fail_above,
    }
    if n < MIN_SESSIONS:
        out.update(
            verdict=INCONCLUSIVE,
            more_sessions=MIN_SESSIONS - n,
            reason=f"needs at least {MIN_SESSIONS} sessions per side",
        )
        return out
    est, lo, hi, conf = shift_ci(base, new, 1 - alpha)
    p_u = float(stats.mannwhitneyu(base, new, alternative="two-sided").pvalue)
    with warnings.catch_warnings():  # "exact calculation unsuccessful" with ties: asymptotic p
        warnings.simplefilter("ignore", RuntimeWarning)
        p_ks = float(stats.ks_2samp(base, new).pvalue)
    cv = [session_summary(s)["cv"] for s in (base, new)]
    threshold = fail_above if fail_above is not None else 0.0
    out.update(
        ratio=est,
        ci_low=lo,
        ci_high=hi,
        ci_confidence=conf,
        p_mannwhitney=p_u,
        p_ks=p_ks,
        cv_base=cv[0],
        cv_new=cv[1],
    )
    spread = bool(p_ks < alpha and lo <= 1 <= hi) or bool(
        cv[0] and cv[1] and max(cv) > 2 * min(cv) and max(cv) > 0.02
    )
    out["spread_changed"] = spread
    significant = p_u < alpha and lo > 1.0
    if significant and est > 1 + threshold:
        out.update(
            verdict=FAIL,
            more_sessions=0,
            reason=f"slower by {est - 1:+.1%} (CI {lo - 1:+.1%}..{hi - 1:+.1%}), "
            f"above {threshold:.0%}; U test p={p_u:.3g}",
        )
    elif hi <= 1 + threshold:
        out.update(
            verdict=PASS,
            more_sessions=0,
            reason=f"change {est - 1:+.1%}; a slowdown above {threshold:.0%} is ruled out "
            f"(CI {lo - 1:+.1%}..{hi - 1:+.1%})",
        )
    else:
        lg = [math.log(v) for v in (est, lo, hi)]
        more = _more_sessions(n, lg[0], (lg[2] - lg[1]) / 2, math.log(1 + threshold))
        if more is not None and est > 1 + threshold:
            more = max(more, _min_n_for(alpha) - n)  # the U test must be able to reach alpha
        text = (
            f"about {more} more session(s) per side"
            if more and more <= MAX_MORE
            else f"more than {MAX_MORE} more sessions per side (the change sits at the "
            f"threshold or the spread is too large)"
        )
        why = (
            f"slower by {est - 1:+.1%} but not significant (U test p={p_u:.3g}, CI "
            f"{lo - 1:+.1%}..{hi - 1:+.1%})"
            if est > 1 + threshold
            else f"change {est - 1:+.1%}, but the CI ({lo - 1:+.1%}..{hi - 1:+.1%}) reaches above "
            f"{threshold:.0%}"
        )
        out.update(
            verdict=INCONCLUSIVE,
            more_sessions=more if more and more <= MAX_MORE else None,
            reason=f"{why}: run {text}",
        )
    if spread:
        out["reason"] = str(out["reason"]) + (
            f"; the spread between sessions changed (KS p={p_ks:.3g}, "
            f"CV {_pct(cv[0])} -> {_pct(cv[1])})"
        )
    return out


def _pct(v: Optional[float]) -> str:
    return "—" if v is None else f"{v:.1%}"


def session_medians(record: dict) -> list:
    """The medians of a record's ok sessions (empty for a single-session record)."""
    return [
        s["p50"]
        for s in record.get("sessions") or []
        if s.get("status") == "ok" and s.get("p50") is not None
    ]


def compare_session_records(base: list, new: list, fail_above: Optional[float]) -> dict:
    """Session verdicts by pairing key for every configuration with sessions on both sides.

    Pairs as ``edgevid.analysis.compare`` does (same key, newest record wins); configurations where
    either side has fewer than :data:`MIN_SESSIONS` ok sessions are left to the within-run
    comparison (they are not in the result)."""
    from edgevid.results.select import comparable

    b, _ = comparable(base)
    n, _ = comparable(new)
    out = {}
    for key in set(b) & set(n):
        mb, mn = session_medians(b[key]), session_medians(n[key])
        if len(mb) >= MIN_SESSIONS and len(mn) >= MIN_SESSIONS:
            out[key] = compare_sessions(mb, mn, fail_above)
    return out
