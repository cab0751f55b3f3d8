"""Native benchmark tools: their output parsed into edgevid record fields (``edgevid import``),
and, where a device has no Python, driven by edgevid itself (trtexec on a Jetson Nano, LiteRT's
benchmark_model on an Android phone).

One module per tool, the same parts in each: ``NAME``, ``FORMAT`` (the edgevid format its
numbers belong to), ``detect(text) -> bool``, ``parse(text) -> dict`` (every number the tool
printed, under its own names) and ``fields(parsed) -> dict`` (record fields: ``summary`` with
edgevid's keys, None where the tool does not print that statistic -- nothing is invented).
"""

from __future__ import annotations

TOOLS = ("benchmark_app", "trtexec_times", "benchmark_model", "perf_test", "xcode")


def module(name: str):
    import importlib

    return importlib.import_module(f"edgevid.tools.{name}")


def summary(
    n=None, mean=None, std=None, min=None, p50=None, p90=None, p95=None, p99=None, max=None, **extra
) -> dict:
    """A record ``summary`` with every key edgevid's have; None where not reported."""
    out = {
        "n": n,
        "mean": mean,
        "std": std,
        "min": min,
        "p50": p50,
        "p90": p90,
        "p95": p95,
        "p99": p99,
        "max": max,
        "ci95_low": None,
        "ci95_high": None,
    }
    out.update({k: v for k, v in extra.items() if v is not None})
    return out
