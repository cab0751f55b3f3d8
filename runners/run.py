"""Run one artifact: load, cold first inference, numerics check, the shared timing loop, record.

The session a backend's ``load`` returns is a ``runners.session.Session``: its optional parts (GPU
time, timing itself, close) are declared there, not probed. This is the whole device-side job;
``python -m runners`` (or ``python -m edgevid.runners``) calls ``run_artifact`` and writes the
record as JSON.
"""

from __future__ import annotations

import importlib
import os
import time
import traceback
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Optional

from .artifact import ArtifactError, check_numerics, load_manifest, reference_inputs, verify_file
from .energy import CHOICES as ENERGY_CHOICES
from .energy import open_source
from .energy.meter import Recorder
from .loop import LoopResult, TimingPolicy, run_loop, summarize
from .record import Unsupported, record_for_artifact
from .session import Session
from .settings import check_fields, from_mapping, spec
from .state import stepper
from .stream import StreamOptions
from .sysinfo import fingerprint, peak_rss_mb, rss_mb, thermal_state


@dataclass
class RunOptions:
    """The runner's options: the one definition. Each field's spec says its type and range
    (checked on construction), and whether a device profile's format entry may set it
    (``profile``) and whether it tells two runs of one format apart (``identity``: part of a
    result's variant). The runner's command line flags are derived from these fields too."""

    threads: Optional[int] = field(
        default=None, metadata=spec("int", lo=1, help="intra-op threads (default: the runtime's)")
    )
    device: Optional[str] = field(
        default=None,
        metadata=spec(
            "str",
            profile=True,
            identity=True,
            help="runtime device: OpenVINO CPU/GPU, CUDA index, Core ML cpu/gpu/ane/all",
        ),
    )
    provider: Optional[str] = field(
        default=None,
        metadata=spec("str", profile=True, identity=True, help="ONNX Runtime execution provider"),
    )
    xnnpack: Optional[bool] = field(
        default=None,
        metadata=spec(
            "bool",
            profile=True,
            identity=True,
            help="LiteRT: false = builtin kernels without the XNNPACK delegate",
        ),
    )
    spinning: Optional[bool] = field(
        default=None,
        metadata=spec(
            "bool",
            profile=True,
            identity=True,
            help="ONNX Runtime: false = idle intra-op threads sleep instead of spinning",
        ),
    )
    engine_cache: Optional[str] = field(
        default=None,
        metadata=spec(
            "str", profile=True, help="TensorRT engine cache (default ~/.cache/edgevid/engines)"
        ),
    )
    trtexec: Optional[str] = field(
        default=None,
        metadata=spec(
            "str", profile=True, help="TensorRT: the trtexec program, where there are no bindings"
        ),
    )
    thermal_zones: list = field(
        default_factory=list,
        metadata=spec("str-list", help="sysfs thermal zone folders (default: every zone)"),
    )
    clock_paths: list = field(
        default_factory=list,
        metadata=spec("str-list", help="scaling_cur_freq files (default: every CPU's)"),
    )
    temp_limit_c: Optional[float] = field(
        default=None,
        metadata=spec(
            "float", lo=-50, hi=200, help="above this temperature (C) the run is flagged throttled"
        ),
    )
    cpus: list = field(
        default_factory=list,
        metadata=spec("int-list", lo=0, help="pin the runner to these CPUs (Linux)"),
    )
    energy: str = field(
        default="auto",
        metadata=spec(
            "str",
            profile=True,
            choices=ENERGY_CHOICES,
            help="energy source (runners/energy): auto = the first readable, off = none",
        ),
    )
    energy_interval_s: float = field(
        default=0.1,
        metadata=spec(
            "float", lo=0, lo_open=True, profile=True, help="energy sampling interval (s)"
        ),
    )
    energy_idle_s: float = field(
        default=1.0,
        metadata=spec(
            "float", lo=0, profile=True, help="idle baseline before the run (s; 0 = none)"
        ),
    )
    layers: int = field(
        default=0,
        metadata=spec(
            "int",
            lo=0,
            help="after the timed run, profile this many inferences per layer "
            "(runners/layers; 0 = off)",
        ),
    )

    def __post_init__(self) -> None:
        check_fields(self)

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "RunOptions":
        return from_mapping(cls, d, "run option")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def spec_of(cls, name: str) -> dict:
        return dict(next(f.metadata for f in fields(cls) if f.name == name))

    @classmethod
    def names(cls, flag: str) -> tuple:
        """Fields whose spec has ``flag`` set: ``profile`` or ``identity``."""
        return tuple(f.name for f in fields(cls) if f.metadata.get(flag))


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
    return {
        "throttled": bool(reasons) if readable else None,
        "throttle_reason": "; ".join(reasons)
        if reasons
        else ("" if readable else "no thermal zones or CPU clocks readable: not available"),
    }


def _carried(carry, inputs: dict):
    """One call of the timing loop on a stream artifact: the reference frames, the state carried."""
    frames = inputs[carry.frames]
    return lambda: carry.step(frames)


def _energy(options: RunOptions) -> Recorder:
    """The energy recorder, its idle baseline measured now (before anything loads)."""
    if options.energy == "off":
        return Recorder(None, {"energy": "off (--energy off)"}, options.energy_interval_s)
    source, reasons = open_source(options.energy)
    rec = Recorder(source, reasons, options.energy_interval_s)
    rec.baseline(options.energy_idle_s)
    return rec


def backend_module(runner: str):
    return importlib.import_module(f"{__package__}.{runner}")


def _reason(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return " | ".join(lines[:6])[:2000]


def run_artifact(
    artifact_dir,
    options: Optional[RunOptions] = None,
    policy: Optional[TimingPolicy] = None,
    progress=None,
    stream: Optional[StreamOptions] = None,
) -> dict:
    """Run the artifact and return its result record; failures become status 'error' records.

    ``stream`` selects the scenario (``runners/stream.py``); a bad stream setting for this
    artifact raises SettingError, an unusable artifact ArtifactError, before anything loads."""
    options = options or RunOptions()
    policy = policy or TimingPolicy()
    stream = stream or StreamOptions()
    artifact_dir = Path(artifact_dir)
    manifest = load_manifest(artifact_dir)  # ArtifactError propagates: there is nothing to record
    verify_file(artifact_dir, manifest)
    streaming = stream.scenario == "stream"
    if streaming:
        from .stream_scenario import plan

        plan(manifest, stream)  # usage errors first: nothing is loaded or measured
    record = record_for_artifact(
        manifest,
        options.threads,
        status="error",
        runtime=manifest["runner"],
        timing_policy=policy.to_dict(),
        scenario=stream.scenario,
    )
    if manifest.get("state"):
        record["stream_state"] = {
            "tensors": len(manifest["state"]),
            "carried": "from call to call, zeros at the stream's start (runners/state.py)",
        }
    if options.cpus:
        os.sched_setaffinity(0, set(options.cpus))
    if hasattr(os, "sched_getaffinity"):
        record["affinity"] = sorted(os.sched_getaffinity(0))
    idle_rss = rss_mb()
    zones, clocks = options.thermal_zones or None, options.clock_paths or None
    state_before = thermal_state(zones, clocks)
    energy = _energy(options)
    versions = {}
    session: Optional[Session] = None
    try:
        backend = backend_module(manifest["runner"])
        versions[backend.NAME] = backend.version()
        t0 = time.perf_counter_ns()
        session = live = backend.load(artifact_dir, manifest, options)
        record["load_ms"] = (time.perf_counter_ns() - t0) / 1e6
        record["runtime_settings"] = session.settings
        inputs = reference_inputs(manifest)
        t0 = time.perf_counter_ns()
        outputs = session.infer(inputs)
        record["first_inference_ms"] = (time.perf_counter_ns() - t0) / 1e6
        record["numerics"] = check_numerics(manifest, outputs)
        carry = stepper(manifest, live)  # a stream artifact: state fed back on every call
        call = (lambda: live.infer(inputs)) if carry is None else _carried(carry, inputs)
        if streaming:
            from .stream_scenario import run_scenario

            record["stream"], service_ms = run_scenario(
                manifest, live, stream, warmup=policy.warmup_min, tick=energy.tick
            )
            loop = LoopResult(service_ms, record["stream"]["warmup_ms"], "stream", [])
        elif session.TIMES_ITSELF:  # e.g. trtexec times its own loop, under the same policy
            if carry is not None:
                record["stream_state"]["carried"] = "no: the runtime times its own calls"
            ext = session.external_timing(inputs, policy)
            record.update(
                timing_source=ext.get("source", type(session).__module__), **ext.get("record", {})
            )
            loop = LoopResult(
                ext["samples_ms"],
                ext.get("warmup_ms") or [],
                ext["stop_reason"],
                [],
                ext.get("gpu_ms") or [],
            )
        else:
            loop = run_loop(
                call,
                policy,
                sampler=lambda: thermal_state(zones, clocks),
                progress=progress,
                extra_timer=live.gpu_ms if live.HAS_GPU_TIME else None,
                tick=energy.tick,
            )
    except ArtifactError:
        raise
    except Unsupported as exc:
        record.update(status="unsupported", reason=str(exc))
    except Exception as exc:  # noqa: BLE001 - any runtime failure is recorded, not raised
        record["reason"] = _reason(exc)
        record["traceback"] = traceback.format_exc(limit=8)
    else:
        record.update(
            status="ok",
            samples_ms=loop.samples_ms,
            summary=summarize(loop.samples_ms),
            warmup_ms=loop.warmup_ms,
            warmup_iters=record.get("warmup_iters", len(loop.warmup_ms)),
            stop_reason=loop.stop_reason,
            thermal_during=loop.sampled,
        )
        if loop.extra_ms and all(v is not None for v in loop.extra_ms):
            record.update(gpu_samples_ms=loop.extra_ms, gpu_summary=summarize(loop.extra_ms))
    finally:
        if session is not None:
            session.close()  # GPU runners free device memory here
    if options.layers and record["status"] == "ok":  # a second, profiled run: after timing
        from .layers import profile as profile_layers

        record["layers"] = profile_layers(
            manifest["runner"],
            artifact_dir,
            manifest,
            options,
            inputs,
            options.layers,
            record["summary"].get("p50"),
        )
    record["energy"] = energy.result(len(record.get("samples_ms") or []))
    record["peak_rss_mb"] = peak_rss_mb()
    record["idle_rss_mb"] = idle_rss
    if record["peak_rss_mb"] is not None and idle_rss is not None:
        record["rss_delta_mb"] = record["peak_rss_mb"] - idle_rss
    record["thermal_before"] = state_before
    record["thermal_after"] = thermal_state(zones, clocks)
    record.update(
        throttling(
            state_before,
            record.get("thermal_during") or [],
            record["thermal_after"],
            options.temp_limit_c,
        )
    )
    record["env"] = fingerprint(versions)
    return record
