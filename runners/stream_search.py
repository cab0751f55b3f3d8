"""The highest sustainable frame rate of a stream: a search over short stream trials.

A rate is sustainable when a trial at it drops nothing, leaves nothing unfinished and misses at
most ``miss_tolerance`` of its deadlines (``runners.stream.sustainable``). From a first guess
(frames per inference over the measured inference time) the search steps up or down by
``GROWTH`` until it brackets the limit, then bisects until the bracket is within ``rel_tol``
or ``max_trials`` trials ran. Each trial is a fresh stream (state reset to zeros). The result
lists every trial, so a reader sees how the number was found.
"""

from __future__ import annotations

from typing import Callable, Optional

from .stream import sustainable

GROWTH = 1.5
MIN_FPS = 0.01


def find_max_fps(
    trial: Callable[[float], dict],
    first_guess: float,
    miss_tolerance: float = 0.01,
    rel_tol: float = 0.05,
    max_trials: int = 12,
) -> dict:
    """``trial(fps) -> stream summary``; returns ``{max_sustainable_fps, trials, ...}``."""
    trials: list = []

    def ok(fps: float) -> bool:
        s = trial(fps)
        good = sustainable(s, miss_tolerance)
        trials.append(
            {
                "fps": fps,
                "sustainable": good,
                "inferences": s["inferences"],
                "deadline_misses": s["deadline_misses"],
                "dropped": s["dropped"],
                "unfinished": s["unfinished"],
                "latency_p99_ms": s["latency_ms"]["p99"],
            }
        )
        return good

    lo: Optional[float] = None
    hi: Optional[float] = None
    fps = max(first_guess, MIN_FPS)
    while len(trials) < max_trials and (lo is None or hi is None):
        if ok(fps):
            lo = fps
            fps *= GROWTH
        else:
            hi = fps
            fps /= GROWTH
            if fps < MIN_FPS:
                break
    while lo is not None and hi is not None and len(trials) < max_trials:
        if (hi - lo) <= rel_tol * lo:
            break
        mid = (lo + hi) / 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return {
        "max_sustainable_fps": lo,
        "first_unsustainable_fps": hi,
        "trials": trials,
        "criterion": f"no drops, nothing unfinished, at most {miss_tolerance:g} of deadlines "
        "missed",
        "reason": "" if lo is not None else "no trial rate was sustainable",
    }
