"""``trtexec --exportTimes=FILE`` JSON (one object per query: ``startComputeMs``, ``computeMs``,
``latencyMs``, ``h2dMs``, ``d2hMs``, ``endToEndMs``; TensorRT samples/common/sampleReporting.cpp
``exportJSONTrace``) or a trtexec log (its performance summary). Parsing is
``runners/trtexec.py``'s, shared with the TensorRT runner and the trtexec-only device path."""

from __future__ import annotations

import json

from edgevid.runners.loop import summarize
from edgevid.runners.trtexec import parse_log, parse_times, summary_fields

NAME = "trtexec"
FORMAT = "tensorrt"


def detect(text: str) -> bool:
    t = text.lstrip()
    return (t.startswith("[") and "computeMs" in t[:2000]) or "TensorRT.trtexec" in text


def parse(text: str, warmup_ms=None) -> dict:
    t = text.lstrip()
    if t.startswith("[") and "computeMs" in t[:2000]:
        return {"times": parse_times(t, warmup_ms), "queries": len(json.loads(t))}
    return {"log": parse_log(text)}


def fields(parsed: dict) -> dict:
    if "times" in parsed:
        lat, gpu = parsed["times"]["latency_ms"], parsed["times"]["gpu_ms"]
        return {
            "samples_ms": lat,
            "summary": summarize(lat),
            "gpu_samples_ms": gpu,
            "gpu_summary": summarize(gpu),
            "timing_source": "trtexec --exportTimes",
        }
    f = summary_fields(parsed["log"])
    return {
        "summary": f["summary"],
        "gpu_summary": f["gpu_summary"],
        "throughput_qps": f["throughput_qps"],
        "load_ms": f["deserialize_ms"],
        "build_ms": f["build_ms"],
        "timing_source": "trtexec log",
        "status": f["status"],
        "gpu_name": f["gpu_name"],
    }
