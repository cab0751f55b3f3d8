"""The one timing loop every backend gets: warm-up, timed iterations, stopping rule.

Warm-up runs until iteration times stop trending (the median of the last window is within
``warmup_tolerance`` of the window before it), at least ``warmup_min`` and at most ``warmup_max``
iterations or ``warmup_max_s`` seconds. Timed iterations then run until a minimum count and a
minimum time are both reached AND the 95% confidence interval of the median is narrower than
``target_ci`` (half-width relative to the median); ``max_time_s`` / ``max_iters`` cap the run, and
a capped run reports the interval it achieved and says so in ``stop_reason``.

Each iteration is timed on its own with ``perf_counter_ns``; nothing else happens inside the timed
region. Checks of the stopping rule and thermal/clock sampling happen between iterations.

Both clocks are parameters of :func:`run_loop` (``clock_ns``: the per-iteration timer,
``monotonic``: the caps and sampling period, in seconds), so that the stopping rule and warm-up
detection can be tested on a recorded stream of iteration times with a clock that the replayed
call advances, independent of how fast or steady the test machine is.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

import numpy as np

from .settings import SettingError, check_fields, from_mapping, spec


@dataclass
class TimingPolicy:
    """How long to warm up and time; every field is type- and range-checked on construction."""

    warmup_min: int = field(default=3, metadata=spec("int", lo=0, help="min warm-up iterations"))
    warmup_max: int = field(default=50, metadata=spec("int", lo=0, help="max warm-up iterations"))
    warmup_max_s: float = field(default=10.0, metadata=spec("float", lo=0, help="warm-up cap (s)"))
    warmup_window: int = field(default=3, metadata=spec("int", lo=1, help="trend window"))
    warmup_tolerance: float = field(default=0.05, metadata=spec("float", lo=0, help="tolerance"))
    min_iters: int = field(default=10, metadata=spec("int", lo=1, help="minimum timed iterations"))
    min_time_s: float = field(default=1.0, metadata=spec("float", lo=0, help="minimum timed s"))
    max_iters: int = field(default=100_000, metadata=spec("int", lo=1, help="cap on iterations"))
    max_time_s: float = field(default=30.0, metadata=spec("float", lo=0, help="cap on timed s"))
    target_ci: float = field(
        default=0.02,
        metadata=spec("float", lo=0, hi=1, lo_open=True, help="target CI half-width (fraction)"),
    )
    sample_every_s: float = field(
        default=1.0, metadata=spec("float", lo=0, lo_open=True, help="thermal sampling period (s)")
    )

    def __post_init__(self) -> None:
        check_fields(self)
        for lo, hi in (
            ("warmup_min", "warmup_max"),
            ("min_iters", "max_iters"),
            ("min_time_s", "max_time_s"),
        ):
            if getattr(self, lo) > getattr(self, hi):
                raise SettingError(
                    [lo, hi],
                    "{%s} (%g) must not exceed {%s} (%g)"
                    % (lo, getattr(self, lo), hi, getattr(self, hi)),
                )

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "TimingPolicy":
        """A policy from a mapping of overrides; unknown keys and bad values raise SettingError."""
        return from_mapping(cls, d, "timing")

    def with_overrides(self, overrides: Optional[dict]) -> "TimingPolicy":
        """This policy with ``overrides`` (checked, together with the result)."""
        return self.from_dict({**self.to_dict(), **(overrides or {})})

    def to_dict(self) -> dict:
        return asdict(self)


def median_ci(samples, confidence: float = 0.95) -> tuple:
    """Distribution-free CI of the median from order statistics (normal approx. to the binomial).

    Ranks j, k = n/2 -+ z*sqrt(n)/2 (1-based, rounded outward); needs no assumption on the shape of
    the latency distribution, which is skewed and often multi-modal.
    """
    x = np.sort(np.asarray(samples, dtype=np.float64))
    n = x.size
    if n < 3:
        return (float("nan"), float("nan"))
    z = {0.95: 1.959964, 0.99: 2.575829, 0.90: 1.644854}[confidence]
    half = z * math.sqrt(n) / 2
    lo = max(int(math.floor(n / 2 - half)), 1)
    hi = min(int(math.ceil(n / 2 + half)) + 1, n)
    return (float(x[lo - 1]), float(x[hi - 1]))


def summarize(samples_ms) -> dict:
    x = np.asarray(samples_ms, dtype=np.float64)
    if x.size == 0:
        return {}
    p50, p90, p95, p99 = np.percentile(x, [50, 90, 95, 99])
    lo, hi = median_ci(x)  # NaN below 3 samples: None in the record (strict JSON)
    q1, q3 = np.percentile(x, [25, 75])
    iqr = q3 - q1
    outliers = int(np.sum((x < q1 - 1.5 * iqr) | (x > q3 + 1.5 * iqr)))
    return {
        "n": int(x.size),
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "min": float(x.min()),
        "p50": float(p50),
        "p90": float(p90),
        "p95": float(p95),
        "p99": float(p99),
        "max": float(x.max()),
        "ci95_low": None if math.isnan(lo) else lo,
        "ci95_high": None if math.isnan(hi) else hi,
        "ci95_rel_halfwidth": (
            float((hi - lo) / 2 / p50) if p50 > 0 and not math.isnan(lo) else None
        ),
        "outliers": outliers,
    }


@dataclass
class LoopResult:
    samples_ms: list
    warmup_ms: list
    stop_reason: str  # converged | time-cap | iter-cap
    sampled: list  # periodic sampler readings taken between iterations
    extra_ms: list = field(default_factory=list)  # extra_timer() after each timed iteration


def _rel_halfwidth(samples) -> float:
    lo, hi = median_ci(samples)
    med = float(np.median(samples))
    return (hi - lo) / 2 / med if med > 0 else math.inf


def run_loop(
    call: Callable[[], object],
    policy: TimingPolicy,
    sampler: Optional[Callable[[], dict]] = None,
    progress: Optional[Callable[[str, int], None]] = None,
    extra_timer: Optional[Callable[[], Optional[float]]] = None,
    tick: Optional[Callable[[str], None]] = None,
    clock_ns: Optional[Callable[[], int]] = None,
    monotonic: Optional[Callable[[], float]] = None,
) -> LoopResult:
    """Warm up and time ``call()``. The cold first call is the caller's to make and record.

    ``extra_timer`` (e.g. a GPU runner's CUDA-event time of the call just made) is read after each
    timed iteration, outside the timed region, into ``LoopResult.extra_ms``. ``tick`` (e.g. the
    energy meter) hears ``"start"`` before the timed iterations, ``"sample"`` after each (outside
    the timed region) and ``"stop"`` after the last. ``clock_ns`` and ``monotonic`` default to
    ``time.perf_counter_ns`` and ``time.monotonic`` (tests replay recorded times through them)."""
    tick = tick or (lambda event: None)
    clock = clock_ns or time.perf_counter_ns
    now_s = monotonic or time.monotonic
    sampled: list = []
    warm: list = []
    w = max(1, policy.warmup_window)
    start = now_s()
    while len(warm) < policy.warmup_max and now_s() - start < policy.warmup_max_s:
        t0 = clock()
        call()
        warm.append((clock() - t0) / 1e6)
        if len(warm) >= max(policy.warmup_min, 2 * w):
            last, prev = np.median(warm[-w:]), np.median(warm[-2 * w : -w])
            if abs(last - prev) <= policy.warmup_tolerance * prev:
                break

    samples: list = []
    extra: list = []
    start = now_s()
    last_sample = start
    next_check = policy.min_iters
    stop_reason = "iter-cap"
    tick("start")
    while len(samples) < policy.max_iters:
        t0 = clock()
        call()
        samples.append((clock() - t0) / 1e6)
        tick("sample")
        if extra_timer is not None:
            extra.append(extra_timer())
        now = now_s()
        if sampler is not None and now - last_sample >= policy.sample_every_s:
            sampled.append(sampler())
            last_sample = now
        elapsed = now - start
        if elapsed >= policy.max_time_s:
            stop_reason = "time-cap"
            break
        n = len(samples)
        if n >= next_check and elapsed >= policy.min_time_s:
            # Checking costs a sort; do it at most ~every 5% of samples.
            next_check = n + max(1, n // 20)
            if _rel_halfwidth(samples) <= policy.target_ci:
                stop_reason = "converged"
                break
        if progress is not None and n % 50 == 0:
            progress("timed", n)
    tick("stop")
    return LoopResult(samples, warm, stop_reason, sampled, extra)
