"""What this device has, as JSON: ``python -m runners.probe [--workdir DIR] [--quick]``.

Run by ``edgevid devices check`` (and before ``edgevid bench`` on a remote device, which chooses
formats by what the *device* reports). Standard library only, numpy and the runtimes imported if
present; Python 3.8 compatible. Anything not readable is ``null`` with no guess.

Reports: arch, OS, kernel, Python, numpy, each runtime's version with its providers / devices
(ONNX Runtime execution providers, OpenVINO devices, TensorRT and trtexec, LiteRT, Core ML compute
units), free disk in the work dir, readable thermal zones and CPU clocks, on a Jetson the power
mode (``nvpmodel -q``) and clock state (``jetson_clocks --show``), on a Raspberry Pi
``vcgencmd get_throttled``, and what the work dir's cache holds.
"""

from __future__ import annotations

import argparse
import glob
import importlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys

PROBE_VERSION = 1
#: import name -> distribution names that provide it
MODULES = {
    "numpy": ("numpy",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"),
    "openvino": ("openvino",),
    "ai_edge_litert": ("ai-edge-litert",),
    "tflite_runtime": ("tflite-runtime",),
    "tensorrt": ("tensorrt", "tensorrt-cu12"),
    "coremltools": ("coremltools",),
    "cuda": ("cuda-python", "cuda-bindings"),
}
PROGRAMS = {
    "trtexec": ("trtexec", "/usr/src/tensorrt/bin/trtexec", "/usr/local/tensorrt/bin/trtexec"),
    "nvpmodel": ("nvpmodel", "/usr/sbin/nvpmodel"),
    "jetson_clocks": ("jetson_clocks", "/usr/bin/jetson_clocks"),
    "vcgencmd": ("vcgencmd", "/usr/bin/vcgencmd"),
}


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip().rstrip("\x00")
    except (OSError, UnicodeDecodeError):
        return None


def _found(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _dist_version(module):
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        metadata = None
    for dist in MODULES.get(module, (module,)):
        try:
            if metadata is not None:
                return metadata.version(dist)
        except Exception:  # noqa: BLE001 - PackageNotFoundError and broken metadata alike
            continue
    try:
        return str(getattr(importlib.import_module(module), "__version__", "unknown"))
    except Exception:  # noqa: BLE001
        return "unknown"


def _run(cmd, timeout=10):
    """Output of a diagnostic command, or its error (e.g. 'needs root')."""
    try:
        p = subprocess.run(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            universal_newlines=True,
            timeout=timeout,
        )
        text = p.stdout.strip()
        return {"ok": p.returncode == 0, "output": "\n".join(text.splitlines()[:20])}
    except (OSError, subprocess.SubprocessError) as e:
        return {"ok": False, "output": "{}: {}".format(type(e).__name__, e)}


def _program(name):
    for cand in PROGRAMS[name]:
        path = (
            shutil.which(cand) if "/" not in cand else (cand if os.access(cand, os.X_OK) else None)
        )
        if path:
            return path
    return None


def _runtime_details(modules, quick):
    out = {}
    if modules.get("onnxruntime"):
        try:
            import onnxruntime

            out["onnxruntime"] = {
                "version": onnxruntime.__version__,
                "providers": list(onnxruntime.get_available_providers()),
            }
        except Exception as e:  # noqa: BLE001
            out["onnxruntime"] = {"version": modules["onnxruntime"], "error": str(e)[:300]}
    litert = modules.get("ai_edge_litert") or modules.get("tflite_runtime")
    if litert:
        out["litert"] = {
            "version": litert,
            "module": "ai_edge_litert" if modules.get("ai_edge_litert") else "tflite_runtime",
            "delegates": ["xnnpack"],
        }
    if modules.get("coremltools"):
        out["coreml"] = {
            "version": modules["coremltools"],
            "can_predict": sys.platform == "darwin",
            "compute_units": ["ALL", "CPU_AND_NE", "CPU_AND_GPU", "CPU_ONLY"],
        }
    trtexec = _program("trtexec")
    if modules.get("tensorrt") or trtexec:
        out["tensorrt"] = {
            "version": modules.get("tensorrt"),
            "trtexec": trtexec,
            "cuda_python": modules.get("cuda"),
        }
    if modules.get("openvino"):
        info = {"version": modules["openvino"]}
        if not quick:
            try:
                import openvino

                info["devices"] = list(openvino.Core().available_devices)
            except Exception as e:  # noqa: BLE001
                info["error"] = str(e)[:300]
        out["openvino"] = info
    return out


def _thermal():
    zones = []
    for z in sorted(glob.glob("/sys/class/thermal/thermal_zone*")):
        raw = _read(os.path.join(z, "temp"))
        if raw is not None and raw.lstrip("-").isdigit():
            zones.append(
                {"path": z, "type": _read(os.path.join(z, "type")), "temp_c": int(raw) / 1000.0}
            )
    clocks = []
    for f in sorted(glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq")):
        raw = _read(f)
        if raw is not None and raw.isdigit():
            clocks.append({"path": f, "mhz": int(raw) / 1000.0})
    return zones, clocks


def _cache(workdir):
    if not workdir:
        return None
    out = {"bundles": [], "artifacts": []}
    for kind in out:
        d = os.path.join(workdir, kind)
        if os.path.isdir(d):
            out[kind] = sorted(n for n in os.listdir(d) if not n.startswith("."))
    return out


def probe(workdir=None, quick=False):
    uname = platform.uname()
    modules = {m: (_dist_version(m) if _found(m) else None) for m in MODULES}
    model = _read("/proc/device-tree/model")
    os_release = None
    text = _read("/etc/os-release") or ""
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            os_release = line.split("=", 1)[1].strip('"')
    if sys.platform == "darwin":
        os_release = "macOS " + platform.mac_ver()[0]
    programs = {p: _program(p) for p in PROGRAMS}
    zones, clocks = _thermal()
    info = {
        "probe_version": PROBE_VERSION,
        "arch": uname.machine,
        "os": uname.system,
        "os_release": os_release,
        "kernel": uname.release,
        "hostname": uname.node,
        "device_model": model,
        "python": sys.version.split()[0],
        "python_path": sys.executable,
        "numpy": modules.get("numpy"),
        "modules": modules,
        "runtimes": _runtime_details(modules, quick),
        "programs": programs,
        "cpu_count": os.cpu_count(),
        "workdir": workdir,
        "disk_free_bytes": None,
        "thermal_zones": zones,
        "clocks": clocks,
        "jetson": None,
        "raspberry_pi": None,
        "cache": _cache(workdir),
    }
    if workdir:
        try:
            os.makedirs(workdir, exist_ok=True)
            info["disk_free_bytes"] = shutil.disk_usage(workdir).free
        except OSError:
            pass
    l4t = _read("/etc/nv_tegra_release")
    if l4t or programs["nvpmodel"]:
        info["jetson"] = {
            "l4t": (l4t or "").splitlines()[0] if l4t else None,
            "nvpmodel": _run([programs["nvpmodel"], "-q"]) if programs["nvpmodel"] else None,
            "jetson_clocks": _run([programs["jetson_clocks"], "--show"])
            if programs["jetson_clocks"] and not quick
            else None,
        }
    if programs["vcgencmd"] or (model or "").startswith("Raspberry Pi"):
        info["raspberry_pi"] = {
            "model": model,
            "throttled": _run([programs["vcgencmd"], "get_throttled"])
            if programs["vcgencmd"]
            else None,
        }
    return info


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m runners.probe", description=__doc__.split("\n")[0])
    p.add_argument("--workdir", default=None, help="the work dir whose free disk and cache to list")
    p.add_argument("--quick", action="store_true", help="skip slow device enumerations")
    a = p.parse_args(argv)
    print("@@edgevid-probe")
    print(json.dumps(probe(a.workdir, a.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
