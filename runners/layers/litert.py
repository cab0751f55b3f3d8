"""LiteRT layer profile: ``benchmark_model --enable_op_profiling=true``, where the binary exists.

The LiteRT Python interpreter has no per-op profiler; the ``benchmark_model`` tool has one
(tensorflow/lite/tools/benchmark, ``ProfilingListener``; Android, or a board where the user puts
the binary on PATH or names it in ``EDGEVID_BENCHMARK_MODEL``). Elsewhere the record says that
it is not available.

Output (``tensorflow/core/util/stats_calculator.cc`` via ``profiling_listener.cc``): after the
line ``Operator-wise Profiling Info for Regular Benchmark Runs:`` a ``Run Order`` table with a
bracketed header -- ``[node type]``, (older builds) ``[start]``, ``[first]``, ``[avg ms]``,
``[%]``, ``[cdf%]``, ``[mem KB]``, ``[times called]``, ``[Name]`` --, columns separated by tabs
(older) or padded with spaces (newer), one row per op: a builtin op (``CONV_2D``) named after its
output tensor in brackets with the node index (``[model/conv/Relu6]:0``), or a delegate's kernel
(``Convolution (NHWC, F32) IGEMM``, named ``Delegate/...:N``; one row per kernel kind, ``times
called`` per run). ``avg ms`` is the op's time per run. Then ``Top by Computation Time``,
``Summary by node type`` and ``Timings (microseconds): count=.. first=.. curr=.. min=.. max=..
avg=.. std=..`` (of the whole run).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from . import NotAvailable

SECTION = "Operator-wise Profiling Info for Regular Benchmark Runs:"
WARMUP = 3
ENV = "EDGEVID_BENCHMARK_MODEL"
_SPLIT = re.compile(r"\t+|\s{2,}")


def _cols(line: str) -> list:
    line = re.sub(r"^(?:INFO:\s*)", "", line.strip())
    return [c.strip() for c in _SPLIT.split(line) if c.strip()]


def parse_op_profile(text: str) -> dict:
    """The regular runs' Run Order table -> {"layers": [{"name", "op_type", "ms", "calls"}],
    "run_avg_ms": whole-run average or None}."""
    at = text.find(SECTION)
    if at < 0:
        raise ValueError(f"no '{SECTION}' section in the benchmark_model output")
    rest = text[at + len(SECTION) :]
    m = re.search(r"Timings \(microseconds\):[^\n]*\bavg=([\d.eE+-]+)", rest)
    run_avg = float(m.group(1)) / 1000.0 if m else None
    layers, header = [], None
    for line in rest.splitlines():
        s = line.strip()
        if header and ("Top by Computation Time" in s or s.startswith("Timings")):
            break  # the Run Order table is over
        if "[node type]" in s and header is None:
            header = [c.strip("[]").lower() for c in _cols(s)]
            continue
        if not header or not s or s.startswith("="):
            continue
        cells = _cols(s)
        if len(cells) < len(header):
            continue
        cells = cells[: len(header) - 1] + [" ".join(cells[len(header) - 1 :])]
        row = dict(zip(header, cells))
        name = re.sub(r":\d+$", "", row.get("name", ""))
        name = name[1:-1] if name.startswith("[") and name.endswith("]") else name
        layers.append(
            {
                "name": name,
                "op_type": row.get("node type"),
                "ms": float(row["avg ms"]),
                "calls": int(float(row.get("times called", 1) or 1)),
            }
        )
    if not layers:
        raise ValueError("the benchmark_model op profile has no rows")
    return {"layers": layers, "run_avg_ms": run_avg}


def binary() -> str:
    return os.environ.get(ENV) or shutil.which("benchmark_model") or ""


def profile(artifact_dir, manifest: dict, options, inputs: dict, iterations: int) -> dict:
    exe = binary()
    if not exe:
        raise NotAvailable(
            "LiteRT has no per-op profiler in Python, and the benchmark_model "
            f"binary is not on this device (put it on PATH or set {ENV}): "
            "not available"
        )
    cmd = [
        exe,
        f"--graph={Path(artifact_dir) / manifest['file']}",
        "--enable_op_profiling=true",
        f"--num_runs={int(iterations)}",
        f"--warmup_runs={WARMUP}",
        "--min_secs=0",
    ]
    if options.threads:
        cmd.append(f"--num_threads={int(options.threads)}")
    if getattr(options, "xnnpack", None) is False:
        cmd.append("--use_xnnpack=false")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    text = proc.stdout + "\n" + proc.stderr
    if proc.returncode != 0:
        tail = " | ".join(text.strip().splitlines()[-4:])
        raise RuntimeError(f"benchmark_model exited with code {proc.returncode}: {tail}"[:1000])
    parsed = parse_op_profile(text)
    return {
        "profiler": "benchmark_model --enable_op_profiling",
        "layers": parsed["layers"],
        "wall_ms": [parsed["run_avg_ms"]] if parsed["run_avg_ms"] else [],
        "settings": {
            "command": " ".join(cmd),
            "note": "benchmark_model feeds its own random input, not the reference input",
        },
    }
