"""OpenVINO ``benchmark_app`` statistics reports: ``-report_type no_counters|average_counters
-report_folder DIR`` writes ``benchmark_report.csv`` (sections "Command line parameters",
"Configuration setup", "Execution results"; ``key;value`` rows), and with ``-json_stats`` the
same as ``benchmark_report.json`` (``cmd_options``, ``configuration_setup``,
``execution_results``). Source: openvino tools/benchmark_tool (``utils/statistics_report.py``,
``StatisticsReport`` / ``JsonStatisticsReport``). "latency (ms)" is the ``-latency_percentile``
percentile (default 50, the median); "avg/min/max latency" are in ms; times are ms."""

from __future__ import annotations

import json

from edgevid.tools import summary

NAME = "benchmark_app"
FORMAT = "openvino"
SECTIONS = {
    "Command line parameters": "cmd_options",
    "Configuration setup": "configuration_setup",
    "Execution results": "execution_results",
}


def detect(text: str) -> bool:
    t = text.lstrip()
    return t.startswith("Command line parameters") or (
        '"execution_results"' in t and '"cmd_options"' in t
    )


def parse(text: str) -> dict:
    t = text.lstrip()
    if t.startswith("{"):
        return json.loads(t)
    out: dict = {}
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line in SECTIONS:
            section = out.setdefault(SECTIONS[line], {})
            continue
        if section is not None and ";" in line:
            key, _, value = line.partition(";")
            section[key.strip()] = value.strip()
    return out


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fields(parsed: dict) -> dict:
    ex = parsed.get("execution_results") or {}
    cmd = parsed.get("cmd_options") or {}
    cfg = parsed.get("configuration_setup") or {}
    pct = _num(cmd.get("-latency_percentile")) or 50.0
    n = _num(ex.get("total number of iterations"))
    key = "p50" if pct == 50 else f"p{pct:g}"
    lat = {key: _num(ex.get("latency (ms)"))} if key in ("p50", "p90", "p95", "p99") else {}
    extra = {} if lat else {f"p{pct:g}": _num(ex.get("latency (ms)"))}
    threads = _num(cmd.get("-nthreads"))
    return {
        "summary": summary(
            n=int(n) if n is not None else None,
            mean=_num(ex.get("avg latency")),
            min=_num(ex.get("min latency")),
            max=_num(ex.get("max latency")),
            **lat,
            **extra,
        ),
        "load_ms": (_num(ex.get("read model time (ms)")) or 0)
        + (_num(ex.get("compile model time (ms)")) or 0)
        if ex.get("compile model time (ms)")
        else None,
        "compile_ms": _num(ex.get("compile model time (ms)")),
        "first_inference_ms": _num(ex.get("first inference time (ms)")),
        "throughput_fps": _num(ex.get("throughput")),
        "threads": int(threads) if threads else None,
        "runtime_settings": {
            "device": cfg.get("target device") or cmd.get("-d"),
            "api": cfg.get("API"),
            "streams": cfg.get("number of CPU streams"),
            "infer_requests": cfg.get("number of parallel infer requests"),
            "precision": cfg.get("precision"),
        },
        "tool_command": " ".join(f"{k} {v}".strip() for k, v in cmd.items()),
    }
