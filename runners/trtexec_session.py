"""TensorRT through the ``trtexec`` program alone (no Python bindings; e.g. a bare JetPack).

The engine is built with ``trtexec --saveEngine`` and cached like the Python API's
(``runners/trt_engine_cache.py``). ``infer`` runs ``trtexec --loadEngine --loadInputs
--exportOutput`` (one process per call: right outputs, but its wall clock includes process
start), so the session declares ``TIMES_ITSELF``: ``external_timing(inputs, policy)`` runs
trtexec's own timed loop under the shared :class:`~runners.loop.TimingPolicy` (see
:func:`timing_flags`) and returns its per-query host latency and GPU compute samples.
Command lines and log parsing live in ``runners/trtexec.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np

from .loop import TimingPolicy
from .session import Session
from .trt_engine_cache import cache_dir, cache_key, engine_file, read_meta
from .trtexec import (
    bench_command,
    build_command,
    command_line,
    parse_log,
    parse_outputs,
    parse_times,
    summary_fields,
)

TRTEXEC_PLACES = ("/usr/src/tensorrt/bin/trtexec", "/usr/local/tensorrt/bin/trtexec")


def trtexec_path(options=None) -> Optional[str]:
    """trtexec from the ``trtexec`` option, PATH, or where JetPack / NVIDIA's tarball put it."""
    named = getattr(options, "trtexec", None) or "trtexec"
    found = shutil.which(named)
    if found:
        return found
    return next((p for p in TRTEXEC_PLACES if os.access(p, os.X_OK)), None)


def trtexec_version(exe: str) -> Optional[str]:
    try:
        text = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    build = parse_log(text.splitlines()[0] if text else "").get("tensorrt_build")
    if not build:
        return None
    # TensorRT encodes MAJOR*10000 + MINOR*100 + PATCH (v101600 = 10.16.0; v8601 = 8.6.1)
    return f"{build // 10000}.{build // 100 % 100}.{build % 100}"


def timing_flags(policy: TimingPolicy) -> dict:
    """The policy as trtexec's loop knobs. trtexec runs at least ``--iterations`` queries AND at
    least ``--duration`` seconds (the policy's ``min_iters`` and ``min_time_s``), after a warm-up
    it measures in time only (``--warmUp`` ms: the policy's warm-up time cap ``warmup_max_s``, or
    none when ``warmup_max`` is 0). It has no stopping rule on the CI of the median and no cap:
    ``target_ci``, ``max_iters`` and ``max_time_s`` bound the subprocess' time-out only."""
    return {
        "warmup_ms": 0 if policy.warmup_max == 0 else int(round(policy.warmup_max_s * 1000)),
        "duration_s": policy.min_time_s,
        "iterations": policy.min_iters,
    }


def gpu_name_without_cuda() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        if out:
            return out.splitlines()[0].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:  # Jetson: no nvidia-smi on older JetPack; the board model names the GPU
        return Path("/proc/device-tree/model").read_text().strip("\x00 \n")
    except OSError:
        return "unknown GPU"


def _run(cmd: list, timeout_s: float) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout_s)
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        tail = " | ".join(ln for ln in text.strip().splitlines()[-6:])
        raise RuntimeError(f"trtexec exited with code {proc.returncode}: {tail}"[:2000])
    return text


class TrtexecSession(Session):
    """A cached engine driven by the trtexec program."""

    TIMES_ITSELF = True

    def __init__(self, exe: str, engine: Path, manifest: dict, settings: dict):
        self._exe, self._engine, self._manifest = exe, engine, manifest
        self.settings = settings
        self._tmp = Path(tempfile.mkdtemp(prefix="edgevid-trtexec-"))

    def _input_files(self, inputs: dict) -> dict:
        files = {}
        for spec in self._manifest["inputs"]:
            path = self._tmp / f"{spec['name']}.bin"
            np.ascontiguousarray(inputs[spec["name"]], dtype=spec.get("dtype", "float32")).tofile(
                path
            )
            files[spec["name"]] = path
        return files

    def infer(self, inputs: dict) -> list:
        out = self._tmp / "outputs.json"
        cmd = bench_command(
            self._engine,
            trtexec=self._exe,
            warmup_ms=0,
            duration_s=0,
            iterations=1,
            inputs=self._input_files(inputs),
            export_output=out,
            spin_wait=False,
        )
        _run(cmd, 600)
        got = parse_outputs(out.read_text())
        result = []
        for spec in self._manifest["outputs"]:
            dims, values = got[spec["name"]]
            result.append(np.asarray(values, dtype=np.float32).reshape(dims or spec["shape"]))
        return result

    def external_timing(
        self,
        inputs: dict,
        policy: Optional[TimingPolicy] = None,
        *,
        warmup_ms: Optional[int] = None,
        duration_s: Optional[float] = None,
        iterations: Optional[int] = None,
    ) -> dict:
        """trtexec's own timing of the engine under ``policy`` (:func:`timing_flags`; a keyword
        overrides one knob): per-query host latency (H2D + GPU + D2H) and GPU compute samples
        (ms), and trtexec's summary as result fields."""
        policy = policy or TimingPolicy()
        knobs = timing_flags(policy)
        for key, value in (
            ("warmup_ms", warmup_ms),
            ("duration_s", duration_s),
            ("iterations", iterations),
        ):
            if value is not None:
                knobs[key] = value
        times = self._tmp / "times.json"
        cmd = bench_command(
            self._engine,
            trtexec=self._exe,
            inputs=self._input_files(inputs),
            export_times=times,
            **knobs,
        )
        budget = knobs["warmup_ms"] / 1e3 + max(knobs["duration_s"], policy.max_time_s) + 600
        text = _run(cmd, budget)
        parsed = parse_log(text)
        samples = parse_times(
            times.read_text(), warmup_ms=parsed.get("warmup_ms", knobs["warmup_ms"])
        )
        fields = summary_fields(parsed)
        return {
            "samples_ms": samples["latency_ms"],
            "gpu_ms": samples["gpu_ms"],
            "trtexec": fields,
            "command": command_line(cmd),
            "stop_reason": "external",
            "source": "trtexec",
            "record": {
                "trtexec": fields,
                "trtexec_command": command_line(cmd),
                "trtexec_timing": knobs,
                "warmup_iters": parsed.get("warmup_queries"),
            },
        }

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def load_trtexec(exe: str, artifact_dir: Path, manifest: dict, build: dict, options):
    trt_version = trtexec_version(exe) or "unknown"
    gpu = gpu_name_without_cuda()
    key = cache_key(manifest["sha256"], trt_version, gpu, manifest["precision"], build)
    path = engine_file(cache_dir(options), manifest, key)
    hit = path.is_file()
    meta = read_meta(path) if hit else {}
    build_ms = meta.get("build_ms")
    command = None
    if not hit:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        cmd = build_command(artifact_dir / manifest["file"], tmp, build, trtexec=exe)
        command = command_line(cmd)
        t0 = time.perf_counter()
        text = _run(cmd, 3600)
        wall_ms = (time.perf_counter() - t0) * 1e3
        parsed = parse_log(text)
        build_ms = parsed["build_s"] * 1e3 if parsed.get("build_s") is not None else wall_ms
        if not tmp.is_file():
            raise RuntimeError(f"trtexec did not write the engine ({command})")
        os.replace(tmp, path)
        path.with_suffix(".json").write_text(
            json.dumps(
                {
                    "key": key,
                    "onnx_sha256": manifest["sha256"],
                    "tensorrt": trt_version,
                    "gpu": gpu,
                    "precision": manifest["precision"],
                    "build": build,
                    "build_ms": build_ms,
                    "built_with": "trtexec",
                    "command": command,
                },
                indent=1,
            )
        )
    settings = {
        "api": "trtexec",
        "trtexec": exe,
        "tensorrt": trt_version,
        "gpu": gpu,
        "precision": manifest["precision"],
        "builder_flags": build.get("builder_flags"),
        "tf32": build.get("tf32"),
        "workspace_bytes": build.get("workspace_bytes"),
        "builder_optimization_level": build.get("builder_optimization_level"),
        "engine_cache_key": key,
        "engine_path": str(path),
        "cache_hit": hit,
        "build_ms": build_ms,
        "build_command": command or meta.get("command"),
        "engine_bytes": path.stat().st_size,
        "wall_clock_includes_process_start": True,
        "gpu_timing": "trtexec --exportTimes (TrtexecSession.external_timing)",
    }
    return TrtexecSession(exe, path, manifest, settings)
