"""The stream scenario: frames arrive on a fixed clock, inferences run as they can.

Frame ``i`` arrives at ``t0 + i / fps``. An inference is due every ``step`` frames: a stream
artifact (declared state) takes a chunk of ``k`` frames (its input's T) and carries its state from
chunk to chunk; a clip model runs as a sliding window (``--clip T --stride S``), the last ``T``
frames every ``S`` frames. Due inferences wait in a queue: ``queue`` keeps every one (latency grows
when the device cannot keep up), ``drop-oldest`` keeps at most ``max_queue`` and drops the oldest.
After the last frame (``duration``) the queue is drained for at most ``duration`` more seconds;
what is left is ``unfinished``.

Per inference the loop records its last frame's arrival, its start, its end and the queue depth at
its start (the inferences still waiting). The input is a deterministic tensor per frame (one of
``FRAME_POOL`` seeded frames, ``frame i = pool[i % FRAME_POOL]``). The clock and the sleep are
injectable, so tests replay a recorded or simulated timeline exactly.

Summary (``stream`` in the record): ``fps_target``; ``fps_sustained`` = frames per result x
results per second between the first and the last result; ``frames`` (arrived), ``inferences``
(done), ``dropped``, ``unfinished``, ``deadline_misses`` (a result later than the next
inference's last frame's arrival); latency from last-frame arrival to result (p50, p90, p99, max,
mean, ms); queue depth; peak RSS; the search's ``max_sustainable_fps`` where asked.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

import numpy as np

from .settings import SettingError, check_fields, from_mapping, spec

FRAME_POOL = 16
FRAME_SEED = 4321  # the numerics check uses 1234


@dataclass
class StreamOptions:
    """The scenario's options: the one definition (the runner's flags and ``--stream JSON``)."""

    scenario: str = field(
        default="latency",
        metadata=spec(
            "str",
            choices=("latency", "stream"),
            help="latency: the timing loop; stream: frames on a fixed clock",
        ),
    )
    fps: Optional[float] = field(
        default=None, metadata=spec("float", lo=0, lo_open=True, help="stream: frames per second")
    )
    clip: Optional[int] = field(
        default=None,
        metadata=spec(
            "int", lo=1, help="stream, clip models: frames per inference (the input's T)"
        ),
    )
    stride: Optional[int] = field(
        default=None,
        metadata=spec("int", lo=1, help="stream, clip models: infer every S frames (default T)"),
    )
    duration: float = field(
        default=10.0, metadata=spec("float", lo=0, lo_open=True, help="stream: seconds of frames")
    )
    drop_policy: str = field(
        default="queue",
        metadata=spec(
            "str", choices=("queue", "drop-oldest"), help="stream: what a full queue does"
        ),
    )
    max_queue: int = field(
        default=1, metadata=spec("int", lo=1, help="stream, drop-oldest: inferences kept waiting")
    )
    find_max_fps: bool = field(
        default=False, metadata=spec("bool", help="stream: search the highest sustainable fps")
    )
    search_trial_s: float = field(
        default=3.0, metadata=spec("float", lo=0, lo_open=True, help="stream: seconds per trial")
    )
    miss_tolerance: float = field(
        default=0.01,
        metadata=spec("float", lo=0, hi=1, help="sustainable: at most this fraction of misses"),
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.clip is not None and self.stride is not None and self.stride > self.clip:
            raise SettingError(
                ["stride", "clip"],
                "{stride} (%d) must not exceed {clip} (%d)" % (self.stride, self.clip),
            )
        if self.scenario == "stream" and self.fps is None and not self.find_max_fps:
            raise SettingError(["fps"], "the stream scenario needs {fps} (or find_max_fps)")

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "StreamOptions":
        return from_mapping(cls, d, "stream")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class StreamRun:
    """What one stream run recorded; times in seconds from the first frame's arrival."""

    fps: float
    step: int
    frames: int
    frame: list = field(default_factory=list)  # last frame of each inference
    arrival: list = field(default_factory=list)
    start: list = field(default_factory=list)
    end: list = field(default_factory=list)
    queue_depth: list = field(default_factory=list)
    dropped: int = 0
    unfinished: int = 0


def run_stream(
    infer: Callable[[int], object],
    fps: float,
    frames: int,
    step: int,
    first: int,
    policy: str = "queue",
    max_queue: int = 1,
    drain_s: Optional[float] = None,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
    on_idle: Optional[Callable[[], None]] = None,
) -> StreamRun:
    """Feed ``frames`` frames at ``fps``; ``infer(last_frame)`` at frames ``first``,
    ``first + step``, ... . ``on_idle`` runs between inferences (e.g. an energy sampler)."""
    period = 1.0 / fps
    drain_s = frames * period if drain_s is None else drain_s
    run = StreamRun(fps=fps, step=step, frames=frames)
    pending: deque = deque()
    t0 = clock()
    nxt = 0
    while True:
        now = clock() - t0
        while nxt < frames and nxt * period <= now:
            if nxt >= first and (nxt - first) % step == 0:
                if policy == "drop-oldest" and len(pending) >= max_queue:
                    pending.popleft()
                    run.dropped += 1
                pending.append(nxt)
            nxt += 1
        if pending and now > frames * period + drain_s:
            run.unfinished = len(pending)
            break
        if pending:
            last = pending.popleft()
            depth = len(pending)
            start = clock() - t0
            infer(last)
            end = clock() - t0
            run.frame.append(last)
            run.arrival.append(last * period)
            run.start.append(start)
            run.end.append(end)
            run.queue_depth.append(depth)
            if on_idle is not None:
                on_idle()
        elif nxt < frames:
            wait = nxt * period - now
            if wait > 0:
                sleep(wait)
        else:
            break
    return run


def summarize_stream(run: StreamRun) -> dict:
    n = len(run.end)
    period = 1.0 / run.fps
    latency = [(e - a) * 1e3 for e, a in zip(run.end, run.arrival)]
    misses = sum(1 for f, e in zip(run.frame, run.end) if e > (f + run.step) * period)
    sustained = None
    if n >= 2 and run.end[-1] > run.end[0]:
        sustained = (n - 1) * run.step / (run.end[-1] - run.end[0])
    pct = (
        dict(zip(("p50", "p90", "p99", "max"), np.percentile(latency, [50, 90, 99, 100]).tolist()))
        if latency
        else {k: None for k in ("p50", "p90", "p99", "max")}
    )
    return {
        "fps_target": run.fps,
        "fps_sustained": sustained,
        "frames": run.frames,
        "frames_per_inference_step": run.step,
        "inferences": n,
        "dropped": run.dropped,
        "unfinished": run.unfinished,
        "deadline_misses": misses,
        "latency_ms": {**pct, "mean": float(np.mean(latency)) if latency else None},
        "queue_depth_max": max(run.queue_depth, default=0),
        "queue_depth_mean": float(np.mean(run.queue_depth)) if run.queue_depth else None,
        "duration_s": run.end[-1] if run.end else 0.0,
    }


def records(run: StreamRun) -> dict:
    """Per inference, columnar: last frame, its arrival, start, end (ms from the first frame's
    arrival) and the queue depth at the start."""
    ms = lambda xs: [round(x * 1e3, 4) for x in xs]  # noqa: E731
    return {
        "frame": list(run.frame),
        "arrival_ms": ms(run.arrival),
        "start_ms": ms(run.start),
        "end_ms": ms(run.end),
        "queue_depth": list(run.queue_depth),
    }


def sustainable(summary: dict, miss_tolerance: float) -> bool:
    n = summary["inferences"]
    return (
        n > 0
        and summary["dropped"] == 0
        and summary["unfinished"] == 0
        and summary["deadline_misses"] <= miss_tolerance * n
    )


def frame_count(fps: float, duration: float) -> int:
    return max(1, int(math.ceil(fps * duration - 1e-9)))
