"""LiteRT (TensorFlow Lite) ``benchmark_model`` output, and its command line.

What it prints (tensorflow/lite/tools/benchmark/benchmark_model.cc,
``BenchmarkLoggingListener::OnBenchmarkEnd``; the stat lines are
``tensorflow/lite/profiling/.../Stat::OutputToStream`` in tensorflow/core/util/stats_calculator.h),
each line behind ``INFO: `` in recent builds::

    Initialized session in 119.515ms.
    Running benchmark for at least 5 iterations and at least 0.5 seconds but terminate if ...
    count=9 first=87112 curr=51629 min=51629 max=87112 avg=58147.4 std=11478 p5=51629
        median=51962 p95=87112                                   (one line)
    Running benchmark for at least 1000 iterations and at least 1 seconds but terminate if ...
    count=1000 first=52162 curr=49785 min=49088 max=686105 avg=63743.2 std=60716 p5=49620
        median=51891 p95=68628                                   (one line)
    Inference timings in us: Init: 119515, First inference: 87112, Warmup (avg): 58147.4,
        Inference (avg): 63743.2                                 (one line)
    Memory footprint delta from the start of the tool (MB): init=55.4961 overall=55.4961

The first stat line is the warm-up, the second the timed runs (microseconds). Older builds print
no percentiles (``count= first= curr= min= max= avg= std=`` only): then p50 is None, not guessed.
Flags (benchmark_model --help; tools/benchmark/README.md): ``--graph``, ``--num_threads``,
``--warmup_runs``, ``--warmup_min_secs``, ``--num_runs``, ``--min_secs``, ``--max_secs``,
``--use_xnnpack``, ``--use_gpu``, ``--use_nnapi``.
"""

from __future__ import annotations

import re

from edgevid.tools import summary

NAME = "benchmark_model"
FORMAT = "tflite"
_STAT = re.compile(r"count=(\d+)((?:\s+\w+=[-+\d.eE]+)+)")
_KV = re.compile(r"(\w+)=([-+\d.eE]+)")
_TIMINGS = re.compile(r"Inference timings in us:\s*(.*)$")
_INIT = re.compile(r"Initialized session in\s*([\d.]+)\s*ms")
_MEM = re.compile(r"Memory footprint delta from the start of the tool \(MB\):\s*(.*)$")
_PEAK = re.compile(r"Overall peak memory footprint \(MB\) via periodic monitoring:\s*([\d.]+)")
DELEGATES = {
    "xnnpack": ["--use_xnnpack=true"],
    "gpu": ["--use_gpu=true"],
    "nnapi": ["--use_nnapi=true"],
    "cpu": ["--use_xnnpack=false"],
}


def detect(text: str) -> bool:
    return "Inference timings in us" in text


def parse(text: str) -> dict:
    out: dict = {"stats": []}
    for raw in text.splitlines():
        line = re.sub(r"^\s*(?:INFO|I)\s*:\s*", "", raw).strip()
        m = _STAT.search(line)
        if m and line.startswith("count="):
            stat = {"count": int(m.group(1))}
            stat.update({k: float(v) for k, v in _KV.findall(m.group(2))})
            out["stats"].append(stat)
            continue
        m = _TIMINGS.search(line)
        if m:
            out["timings_us"] = {
                k.strip(): float(v)
                for k, v in (p.split(":", 1) for p in m.group(1).split(",") if ":" in p)
            }
            continue
        m = _INIT.search(line)
        if m:
            out["init_ms"] = float(m.group(1))
        m = _MEM.search(line)
        if m:
            out["memory_delta_mb"] = {k: float(v) for k, v in _KV.findall(m.group(1))}
        m = _PEAK.search(line)
        if m:
            out["peak_memory_mb"] = float(m.group(1))
    return out


def fields(parsed: dict) -> dict:
    stats = parsed.get("stats") or []
    timed = stats[-1] if stats else {}
    warm = stats[0] if len(stats) > 1 else {}
    t = parsed.get("timings_us") or {}

    def ms(v):
        return None if v is None else v / 1000.0

    return {
        "summary": summary(
            n=timed.get("count"),
            mean=ms(timed.get("avg")),
            std=ms(timed.get("std")),
            min=ms(timed.get("min")),
            p50=ms(timed.get("median")),
            p95=ms(timed.get("p95")),
            max=ms(timed.get("max")),
            p5=ms(timed.get("p5")),
        ),
        "load_ms": ms(t.get("Init")) if "Init" in t else parsed.get("init_ms"),
        "first_inference_ms": ms(t.get("First inference")),
        "warmup_mean_ms": ms(t.get("Warmup (avg)")),
        "warmup_iters": warm.get("count"),
        "peak_rss_mb": parsed.get("peak_memory_mb")
        or (parsed.get("memory_delta_mb") or {}).get("overall"),
        "status": "ok" if timed and t else "error",
    }


def command(binary: str, graph: str, threads, delegate, policy: dict) -> list:
    """The benchmark_model command for a profile's format entry and timing policy."""
    cmd = [binary, f"--graph={graph}"]
    if threads:
        cmd.append(f"--num_threads={int(threads)}")
    cmd += DELEGATES.get((delegate or "xnnpack").lower(), DELEGATES["xnnpack"])
    cmd += [
        f"--warmup_runs={int(policy.get('warmup_min', 3))}",
        f"--warmup_min_secs={float(policy.get('warmup_max_s', 0.5)):g}",
        f"--num_runs={int(policy.get('min_iters', 50))}",
        f"--min_secs={float(policy.get('min_time_s', 1.0)):g}",
        f"--max_secs={float(policy.get('max_time_s', 150.0)):g}",
    ]
    return cmd
