"""Timing logic on a recorded stream of iteration times, independent of this machine.

:class:`Replay` plays a list of iteration times (ms) back through the shared loop's injected
clocks (``run_loop(..., clock_ns=, monotonic=)``): each ``call()`` advances a fake clock by the
next recorded time, so warm-up detection, the stopping rule and the caps see exactly the stream
they would have seen when it was recorded, on any machine, every time.

The recorded streams (``tests/data/timing_streams.json``) are real per-call times written by
``tests/record_timing_data.py``; see that script for how and where.
"""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


class StreamExhausted(AssertionError):
    """The loop asked for more iterations than the stream holds: make the stream longer."""


class Replay:
    def __init__(self, times_ms):
        self.times_ms = [float(t) for t in times_ms]
        self.calls = 0
        self.t_ns = 0

    def call(self) -> None:
        if self.calls >= len(self.times_ms):
            raise StreamExhausted(f"stream of {len(self.times_ms)} iteration times exhausted")
        self.t_ns += int(round(self.times_ms[self.calls] * 1e6))
        self.calls += 1

    def clock_ns(self) -> int:
        return self.t_ns

    def monotonic(self) -> float:
        return self.t_ns / 1e9

    def run(self, policy, **kwargs):
        from edgevid.runners.loop import run_loop

        return run_loop(
            self.call, policy, clock_ns=self.clock_ns, monotonic=self.monotonic, **kwargs
        )


def recorded(name: str) -> dict:
    """One recorded data set of tests/data (see tests/record_timing_data.py)."""
    return json.loads((DATA / name).read_text())
