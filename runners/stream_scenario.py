"""The stream scenario over a loaded session: what to feed, warm-up, the search, the run.

``plan`` checks, before anything is loaded, that the artifact and the options make a stream (a
5-D frames input with a time axis; a stream artifact's state declared; ``--clip`` equal to a clip
model's T; ``--stride`` not above it) and raises the runner's usage errors (exit 2) otherwise.
``run_scenario`` then measures it (``runners.stream``) and returns the record's ``stream`` object.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

import numpy as np

from .artifact import ArtifactError, reference_input
from .settings import SettingError
from .state import StreamState, frames_input, is_stream
from .stream import (
    FRAME_POOL,
    FRAME_SEED,
    StreamOptions,
    frame_count,
    records,
    run_stream,
    summarize_stream,
)
from .stream_search import find_max_fps
from .sysinfo import peak_rss_mb

TIME_AXIS = 2  # (B, C, T, H, W)
MIN_TRIAL_INFERENCES = 20


def plan(manifest: dict, opts: StreamOptions) -> dict:
    """``{mode, frames_input, t, step, first}`` of the stream, or a usage error."""
    spec = frames_input(manifest)  # ArtifactError: extra inputs but no declared state
    shape = list(spec["shape"])
    if len(shape) != 5 or not all(isinstance(v, int) for v in shape):
        raise ArtifactError(
            f"{manifest['model']}: input {spec['name']!r} {shape} has no time axis (B, C, T, H, "
            "W): it cannot run as a stream"
        )
    t = shape[TIME_AXIS]
    if is_stream(manifest):
        if opts.clip is not None or opts.stride is not None:
            raise SettingError(
                ["clip"],
                "{clip} and --stride are for clip models; the stream artifact %s takes %d "
                "frame(s) per step and carries its state" % (manifest["model"], t),
            )
        return {"mode": "state", "frames_input": spec["name"], "t": t, "step": t, "first": t - 1}
    if opts.clip is not None and opts.clip != t:
        raise SettingError(
            ["clip"],
            "{clip} is %d but the artifact takes T=%d frames: export the model with that T "
            "(--input-shape CxTxHxW)" % (opts.clip, t),
        )
    stride = opts.stride or t
    if stride > t:
        raise SettingError(["stride"], "{stride} (%d) must not exceed the clip (%d)" % (stride, t))
    return {"mode": "window", "frames_input": spec["name"], "t": t, "step": stride, "first": t - 1}


class Feeder:
    """``infer(last_frame)``: the frames ``last - T + 1 .. last`` through the session, the state
    carried for a stream artifact."""

    def __init__(self, manifest: dict, session, p: dict):
        spec = next(s for s in manifest["inputs"] if s["name"] == p["frames_input"])
        one = list(spec["shape"])
        one[TIME_AXIS] = 1
        dtype = spec.get("dtype", "float32")
        self.pool = [reference_input(one, FRAME_SEED + i, dtype) for i in range(FRAME_POOL)]
        self.t, self.name = p["t"], p["frames_input"]
        self.session = session
        self.state = StreamState(manifest, session) if p["mode"] == "state" else None

    def frames(self, last: int) -> np.ndarray:
        idx = [i % FRAME_POOL for i in range(last - self.t + 1, last + 1)]
        return np.concatenate([self.pool[i] for i in idx], axis=TIME_AXIS)

    def infer(self, last: int) -> object:
        x = self.frames(last)
        if self.state is not None:
            return self.state.step(x)
        return self.session.infer({self.name: x})[0]

    def reset(self) -> None:
        if self.state is not None:
            self.state.reset()


def run_scenario(
    manifest: dict,
    session,
    opts: StreamOptions,
    warmup: int = 3,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
    tick: Optional[Callable[[str], None]] = None,
) -> tuple:
    """(the record's ``stream`` object, service times in ms) of one stream run. ``tick`` (the
    energy meter) hears "start" / "sample" (between inferences) / "stop" around the main run."""
    tick = tick or (lambda event: None)
    p = plan(manifest, opts)
    feed = Feeder(manifest, session, p)
    service = []
    for i in range(max(1, warmup)):
        t0 = clock()
        feed.infer(p["first"] + i * p["step"])
        service.append(clock() - t0)

    def stream_at(fps: float, duration: float, on_idle=None):
        feed.reset()
        return run_stream(
            feed.infer,
            fps,
            frame_count(fps, duration),
            p["step"],
            p["first"],
            opts.drop_policy,
            opts.max_queue,
            clock=clock,
            sleep=sleep,
            on_idle=on_idle,
        )

    search = None
    fps = opts.fps
    if opts.find_max_fps:
        guess = p["step"] / max(float(np.median(service)), 1e-6)

        def trial(rate: float) -> dict:
            seconds = max(
                opts.search_trial_s, (p["first"] + MIN_TRIAL_INFERENCES * p["step"]) / rate
            )
            return summarize_stream(stream_at(rate, seconds))

        search = find_max_fps(trial, guess, opts.miss_tolerance)
        fps = fps or search["max_sustainable_fps"]
    out: dict = {
        "mode": "stateful stream" if p["mode"] == "state" else "sliding-window clip",
        "clip": p["t"],
        "stride": p["step"],
        "drop_policy": opts.drop_policy,
        "max_queue": opts.max_queue if opts.drop_policy == "drop-oldest" else None,
        "input": "deterministic frames: frame i = seeded frame %d + (i mod %d)"
        % (
            FRAME_SEED,
            FRAME_POOL,
        ),
        "warmup_ms": [s * 1e3 for s in service],
    }
    service_ms: list = []
    if fps is None:
        out.update(reason="no sustainable rate found, nothing streamed")
    else:
        tick("start")
        run = stream_at(fps, opts.duration, on_idle=lambda: tick("sample"))
        tick("stop")
        out.update(summarize_stream(run))
        out["records"] = records(run)
        service_ms = [(e - s) * 1e3 for s, e in zip(run.start, run.end)]
    if search is not None:
        out["max_sustainable_fps"] = search["max_sustainable_fps"]
        out["search"] = search
    out["peak_rss_mb"] = peak_rss_mb()
    return out, service_ms
