"""ONNX Runtime's ``onnxruntime_perf_test`` output.

What it prints: onnxruntime/test/perftest/performance_runner.cc (``PerformanceRunner::Run``)::

    Session creation time cost: 0.217932 s
    First inference time cost: 196 ms
    Total inference time cost: 0.49481 s
    Total inference requests: 5
    Average inference time cost: 98.96 ms        (1.2x; 1.2x+: "Average inference time cost total:")
    Total inference run time: 0.494854 s
    Number of inferences per second: 10.104
    Avg CPU usage: 11 %
    Peak working set size: 271122432 bytes

then the result summary (``PerformanceResult::DumpToFile`` to stdout without a result file)::

    Avg CPU usage:11
    Peak working set size:271122432
    Runs:5
    Min Latency: 0.0958204 s
    Max Latency: 0.101519 s
    P50 Latency: 0.0995086 s      (and P90, P95, P99, P999)
"""

from __future__ import annotations

import re

from edgevid.tools import summary

NAME = "perf_test"
FORMAT = "onnx"
_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 ()]*?)\s*:\s*([-+\d.eE]+)\s*(s|ms|bytes|%)?\s*$")


def detect(text: str) -> bool:
    return "Session creation time cost" in text or "P50 Latency" in text


def parse(text: str) -> dict:
    out: dict = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            key, value, unit = m.group(1), float(m.group(2)), m.group(3) or ""
            key = (
                "Average inference time cost"
                if key.startswith("Average inference time cost")
                else key
            )
            out.setdefault(key, {"value": value, "unit": unit})
    return out


def _ms(parsed: dict, key: str):
    v = parsed.get(key)
    if v is None:
        return None
    return v["value"] * {"s": 1000.0, "ms": 1.0}.get(v["unit"], 1000.0 if "Latency" in key else 1)


def fields(parsed: dict) -> dict:
    n = (parsed.get("Runs") or parsed.get("Total inference requests") or {}).get("value")
    peak = (parsed.get("Peak working set size") or {}).get("value")
    return {
        "summary": summary(
            n=int(n) if n is not None else None,
            mean=_ms(parsed, "Average inference time cost"),
            min=_ms(parsed, "Min Latency"),
            p50=_ms(parsed, "P50 Latency"),
            p90=_ms(parsed, "P90 Latency"),
            p95=_ms(parsed, "P95 Latency"),
            p99=_ms(parsed, "P99 Latency"),
            max=_ms(parsed, "Max Latency"),
            p999=_ms(parsed, "P999 Latency"),
        ),
        "load_ms": _ms(parsed, "Session creation time cost"),
        "first_inference_ms": _ms(parsed, "First inference time cost"),
        "throughput_fps": (parsed.get("Number of inferences per second") or {}).get("value"),
        "peak_rss_mb": peak / 2**20 if peak else None,
        "avg_cpu_percent": (parsed.get("Avg CPU usage") or {}).get("value"),
    }
