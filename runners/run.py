"""Run one artifact: load, cold first inference, numerics check, the shared timing loop, record.

This is the whole device-side job; ``python -m runners`` (or ``python -m edgevid.runners``) calls
``run_artifact`` and writes the record as JSON.
"""
from __future__ import annotations

import importlib
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .artifact import ArtifactError, check_numerics, load_manifest, reference_inputs, verify_file
from .loop import LoopResult, TimingPolicy, run_loop, summarize
from .record import Unsupported, new_record
from .sysinfo import fingerprint, peak_rss_mb, rss_mb, thermal_state


@dataclass
class RunOptions:
    threads: Optional[int] = None
    device: Optional[str] = None  # runtime device, e.g. OpenVINO "CPU"/"GPU"
    provider: Optional[str] = None  # ONNX Runtime execution provider
    thermal_zones: list = field(default_factory=list)
    clock_paths: list = field(default_factory=list)
    temp_limit_c: Optional[float] = None  # above this, the run is flagged as throttled
    cpus: list = field(default_factory=list)  # pin the runner to these CPUs (Linux)
    xnnpack: Optional[bool] = None  # LiteRT: False = builtin kernels without the XNNPACK delegate
    engine_cache: Optional[str] = None  # TensorRT engine cache folder (default ~/.cache/edgevid/engines)
    trtexec: Optional[str] = None  # TensorRT: the trtexec program, where there are no Python bindings
    layers: int = 0  # > 0: after the timed run, profile this many inferences per layer (layers/)


#: A drop of the mean CPU clock by more than this fraction during the run flags throttling.
CLOCK_DROP = 0.15


def throttling(before: dict, during: list, after: dict, temp_limit_c: Optional[float]) -> dict:
    """Did clocks drop or temperatures cross the limit? ``None`` where nothing was readable."""
    states = [s for s in (before, *during, after) if s]
    temps = [t for s in states for t in (s.get("temps_c") or {}).values()]
    clocks = [sum(c.values()) / len(c) for s in states if (c := s.get("clocks_mhz"))]
    reasons = []
    if temp_limit_c is not None and temps and max(temps) > temp_limit_c:
        reasons.append(f"temperature {max(temps):.1f} C above the limit {temp_limit_c} C")
    if len(clocks) >= 2 and min(clocks[1:]) < (1 - CLOCK_DROP) * clocks[0]:
        reasons.append(f"mean CPU clock fell from {clocks[0]:.0f} to {min(clocks[1:]):.0f} MHz")
    readable = bool(temps) or bool(clocks)
    return {"throttled": bool(reasons) if readable else None,
            "throttle_reason": "; ".join(reasons) if reasons else (
                "" if readable else "no thermal zones or CPU clocks readable: not available")}


def backend_module(runner: str):
    return importlib.import_module(f"{__package__}.{runner}")


def _reason(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return " | ".join(lines[:6])[:2000]


def run_artifact(artifact_dir, options: Optional[RunOptions] = None,
                 policy: Optional[TimingPolicy] = None, progress=None) -> dict:
    """Run the artifact and return its result record; failures become status 'error' records."""
    options = options or RunOptions()
    policy = policy or TimingPolicy()
    artifact_dir = Path(artifact_dir)
    manifest = load_manifest(artifact_dir)  # ArtifactError propagates: there is nothing to record
    verify_file(artifact_dir, manifest)
    record = new_record(
        model=manifest["model"], format=manifest["format"], precision=manifest["precision"],
        input_shape=list(manifest["inputs"][0]["shape"]), threads=options.threads,
        status="error", runtime=manifest["runner"], artifact_bytes=manifest.get("bytes"),
        artifact_sha256=manifest["sha256"], timing_policy=policy.to_dict(),
    )
    if options.cpus:
        os.sched_setaffinity(0, set(options.cpus))
    if hasattr(os, "sched_getaffinity"):
        record["affinity"] = sorted(os.sched_getaffinity(0))
    idle_rss = rss_mb()
    zones, clocks = options.thermal_zones or None, options.clock_paths or None
    state_before = thermal_state(zones, clocks)
    versions = {}
    session = None
    try:
        backend = backend_module(manifest["runner"])
        versions[backend.NAME] = backend.version()
        t0 = time.perf_counter_ns()
        session = backend.load(artifact_dir, manifest, options)
        record["load_ms"] = (time.perf_counter_ns() - t0) / 1e6
        record["runtime_settings"] = session.settings
        inputs = reference_inputs(manifest)
        t0 = time.perf_counter_ns()
        outputs = session.infer(inputs)
        record["first_inference_ms"] = (time.perf_counter_ns() - t0) / 1e6
        record["numerics"] = check_numerics(manifest, outputs)
        external = getattr(session, "external_timing", None)
        if external is not None:  # trtexec times its own loop; one process per infer() would not
            ext = external(inputs)
            record.update(timing_source="trtexec", trtexec=ext["trtexec"],
                          trtexec_command=ext["command"])
            loop = LoopResult(ext["samples_ms"], [], "external", [], ext["gpu_ms"])
        else:
            loop = run_loop(lambda: session.infer(inputs), policy,
                            sampler=lambda: thermal_state(zones, clocks), progress=progress,
                            extra_timer=getattr(session, "gpu_ms", None))
    except ArtifactError:
        raise
    except Unsupported as exc:
        record.update(status="unsupported", reason=str(exc))
    except Exception as exc:  # noqa: BLE001 - any runtime failure is recorded, not raised
        record["reason"] = _reason(exc)
        record["traceback"] = traceback.format_exc(limit=8)
    else:
        record.update(
            status="ok", samples_ms=loop.samples_ms, summary=summarize(loop.samples_ms),
            warmup_ms=loop.warmup_ms, warmup_iters=len(loop.warmup_ms),
            stop_reason=loop.stop_reason, thermal_during=loop.sampled,
        )
        if loop.extra_ms and all(v is not None for v in loop.extra_ms):
            record.update(gpu_samples_ms=loop.extra_ms, gpu_summary=summarize(loop.extra_ms))
    finally:
        if session is not None and hasattr(session, "close"):
            session.close()  # GPU runners free device memory here
    if options.layers and record["status"] == "ok":  # a second, profiled run: after timing
        from .layers import profile as profile_layers

        record["layers"] = profile_layers(manifest["runner"], artifact_dir, manifest, options,
                                          inputs, options.layers, record["summary"].get("p50"))
    record["peak_rss_mb"] = peak_rss_mb()
    record["idle_rss_mb"] = idle_rss
    if record["peak_rss_mb"] is not None and idle_rss is not None:
        record["rss_delta_mb"] = record["peak_rss_mb"] - idle_rss
    record["thermal_before"] = state_before
    record["thermal_after"] = thermal_state(zones, clocks)
    record.update(throttling(state_before, record.get("thermal_during") or [],
                             record["thermal_after"], options.temp_limit_c))
    record["env"] = fingerprint(versions)
    return record
