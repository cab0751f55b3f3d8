"""What the device is and what state it is in: environment fingerprint, memory, thermals, clocks.

Standard library only. Anything not readable on a platform is reported as ``None`` ("not
available"), never guessed.
"""

from __future__ import annotations

import glob
import os
import platform
import socket
import sys
from pathlib import Path
from typing import Optional


def _read(path) -> Optional[str]:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def cpu_model() -> Optional[str]:
    text = _read("/proc/cpuinfo")
    if text:
        for line in text.splitlines():
            key = line.split(":")[0].strip().lower()
            if key in ("model name", "hardware", "cpu model", "processor") and ":" in line:
                value = line.split(":", 1)[1].strip()
                if value and not value.isdigit():
                    return value
        model = _read("/proc/device-tree/model")  # Raspberry Pi, Jetson
        if model:
            return model.rstrip("\x00")
    return platform.processor() or None


def fingerprint(runtime_versions: Optional[dict] = None) -> dict:
    uname = platform.uname()
    return {
        "host": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cores_logical": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "machine": uname.machine,
        "os": f"{uname.system} {uname.release}",
        "os_version": uname.version,
        "python": sys.version.split()[0],
        "numpy": _numpy_version(),
        "runtimes": dict(runtime_versions or {}),
        "governor": governor(),
    }


def _numpy_version() -> Optional[str]:
    try:
        import numpy

        return numpy.__version__
    except ImportError:  # pragma: no cover - numpy is required by the runners
        return None


def governor() -> Optional[str]:
    govs = sorted(
        {
            g
            for g in (
                _read(p)
                for p in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor")
            )
            if g
        }
    )
    return ",".join(govs) if govs else None


def thermal_state(zones=None, freq_paths=None) -> dict:
    """Temperatures (deg C) per thermal zone and current CPU clocks (MHz), where readable.

    ``zones``/``freq_paths`` come from the device profile; by default every Linux thermal zone and
    every CPU's scaling_cur_freq.
    """
    temps = {}
    for zone in zones or sorted(glob.glob("/sys/class/thermal/thermal_zone*")):
        raw = _read(Path(zone) / "temp") if Path(zone).is_dir() else _read(zone)
        if raw and raw.lstrip("-").isdigit():
            name = _read(Path(zone) / "type") if Path(zone).is_dir() else None
            temps[name or Path(zone).name] = int(raw) / 1000.0
    clocks = {}
    for path in freq_paths or sorted(
        glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq")
    ):
        raw = _read(path)
        if raw and raw.isdigit():
            cpu = Path(path).parts[-3] if "cpufreq" in path else path
            clocks[cpu] = int(raw) / 1000.0
    return {"temps_c": temps or None, "clocks_mhz": clocks or None}


def rss_mb() -> Optional[float]:
    """Current resident set size of this process."""
    status = _read("/proc/self/status")
    if status:
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    try:
        import psutil  # optional off Linux

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        return None


def peak_rss_mb() -> Optional[float]:
    """Peak resident set size of this process so far (VmHWM on Linux, ru_maxrss elsewhere)."""
    status = _read("/proc/self/status")
    if status:
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0
    except ImportError:
        return None
