"""Energy over a measured window: sampling a source between inferences, like the thermal sampler.

``Meter.start()`` before the window, ``poll()`` between inferences (it reads the source only when
``interval_s`` has passed since the last reading, outside any timed region), ``stop()`` after.
Counters (RAPL, NVML) add up reading-to-reading differences (a wrap adds the counter's range);
power sources (INA3221, PMIC, battery) integrate with the trapezoid rule. ``idle()`` measures the
same way while the runner sleeps, before the run: the idle baseline. The result states it; the
net figure (``mj_per_inference_above_idle``) is given beside the gross one, never instead of it.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, Optional

from .base import NotAvailable, Source


class Meter:
    def __init__(
        self,
        source: Source,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.source, self.interval_s, self.clock = source, interval_s, clock
        self._last: Optional[Dict[str, float]] = None
        self._t_last = self._t0 = 0.0
        self.energy_j: Dict[str, float] = {}
        self.samples = 0
        self.wrapped = 0

    def start(self) -> None:
        self._t0 = self._t_last = self.clock()
        self._last = self.source.read()
        self.energy_j = {r: 0.0 for r in self._last}
        self.samples = 1

    def _take(self, now: float) -> None:
        reading = self.source.read()
        assert self._last is not None
        dt = now - self._t_last
        for rail, value in reading.items():
            before = self._last.get(rail, value)
            if self.source.KIND == "counter":
                delta = value - before
                if delta < 0:  # the counter wrapped
                    delta += self.source.wrap_j.get(rail, 0.0)
                    self.wrapped += 1
                self.energy_j[rail] = self.energy_j.get(rail, 0.0) + delta
            else:
                self.energy_j[rail] = self.energy_j.get(rail, 0.0) + (before + value) / 2 * dt
        self._last, self._t_last = reading, now
        self.samples += 1

    def poll(self) -> None:
        now = self.clock()
        if self._last is not None and now - self._t_last >= self.interval_s:
            self._take(now)

    def stop(self) -> dict:
        self._take(self.clock())
        window = self._t_last - self._t0
        total = sum(self.energy_j.get(r, 0.0) for r in self.source.total)
        return {
            "window_s": window,
            "energy_j": total,
            "rails_j": dict(self.energy_j),
            "mean_w": total / window if window > 0 else None,
            "samples": self.samples,
            "counter_wraps": self.wrapped,
        }

    def idle(self, seconds: float, sleep: Callable[[float], None] = time.sleep) -> dict:
        """The idle baseline: the source over ``seconds`` of sleeping."""
        self.start()
        end = self._t0 + seconds
        while self.clock() < end:
            sleep(min(self.interval_s, max(end - self.clock(), 0.0)))
            self.poll()
        return self.stop()


def summary(
    source: Source, interval_s: float, window: dict, inferences: int, idle: Optional[dict]
) -> dict:
    """The record's ``energy`` object."""
    out = {
        "available": True,
        **source.describe(),
        "sampling_interval_s": interval_s,
        "inferences": inferences,
        **window,
        "mj_per_inference": window["energy_j"] * 1e3 / inferences if inferences else None,
        "idle_w": idle["mean_w"] if idle else None,
        "idle_s": idle["window_s"] if idle else None,
        "idle_subtracted": False,
    }
    if idle and idle["mean_w"] is not None and inferences and window["window_s"] > 0:
        above = window["energy_j"] - idle["mean_w"] * window["window_s"]
        out["mj_per_inference_above_idle"] = above * 1e3 / inferences
        out["mean_w_above_idle"] = above / window["window_s"]
    return out


def not_available(reasons: Dict[str, str]) -> dict:
    return {
        "available": False,
        "reason": "not available: " + "; ".join(f"{k}: {v}" for k, v in reasons.items()),
    }


class Recorder:
    """The run's energy: open the source, measure the idle baseline, then one window through
    ``tick("start" | "sample" | "stop")``; ``result(inferences)`` is the record's ``energy``.
    A source that fails mid-run makes the result "not available" with the reason; the run goes on."""

    def __init__(self, source: Optional[Source], reasons: Dict[str, str], interval_s: float):
        self.source, self.reasons, self.interval_s = source, dict(reasons), interval_s
        self.meter = Meter(source, interval_s) if source is not None else None
        self.idle: Optional[dict] = None
        self.window: Optional[dict] = None

    def baseline(self, seconds: float) -> None:
        if self.meter is not None and seconds > 0:
            self._guard(lambda: setattr(self, "idle", self.meter.idle(seconds)))  # type: ignore[union-attr]

    def tick(self, event: str) -> None:
        m = self.meter
        if m is None:
            return
        if event == "start":
            self._guard(m.start)
        elif event == "sample":
            self._guard(m.poll)
        elif event == "stop":
            self._guard(lambda: setattr(self, "window", m.stop()))

    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - a failing reading never fails the run
            assert self.source is not None
            self.reasons[self.source.NAME] = f"reading failed: {type(e).__name__}: {e}"
            self.meter = self.source = None

    def result(self, inferences: int) -> dict:
        if self.source is None or self.window is None:
            return not_available(self.reasons or {"energy": "no window measured"})
        return summary(self.source, self.interval_s, self.window, inferences, self.idle)


__all__ = ["Meter", "NotAvailable", "Recorder", "not_available", "summary"]
