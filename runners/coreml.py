"""Core ML runner: a .mlpackage artifact through coremltools' predict, on macOS only.

Compute units from ``options.device``: ``cpu`` (CPU_ONLY), ``gpu`` (CPU_AND_GPU), ``ane``
(CPU_AND_NE), ``all`` or unset (ALL). Core ML predicts only on Apple platforms: elsewhere ``load``
raises ``Unsupported`` and the run is recorded as ``unsupported`` -- never a made-up number.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import numpy as np

from .record import Unsupported
from .session import Session as BaseSession

NAME = "coreml"
COMPUTE_UNITS = {
    "cpu": "CPU_ONLY",
    "cpu_only": "CPU_ONLY",
    "gpu": "CPU_AND_GPU",
    "cpu_and_gpu": "CPU_AND_GPU",
    "ane": "CPU_AND_NE",
    "npu": "CPU_AND_NE",
    "cpu_and_ne": "CPU_AND_NE",
    "all": "ALL",
    "": "ALL",
}
OFF_APPLE = "Core ML predicts on macOS/iOS only; the artifact was built and validated here"


def version() -> str:
    try:
        import coremltools
    except ImportError:
        return "coremltools not installed"
    return coremltools.__version__


class Session(BaseSession):
    def __init__(self, model, input_names: list, output_names: list, settings: dict):
        self._model = model
        self._inputs = input_names
        self._outputs = output_names
        self.settings = settings

    def infer(self, inputs: dict) -> list:
        result = self._model.predict({n: inputs[n] for n in self._inputs})
        return [np.asarray(result[n], dtype=np.float32) for n in self._outputs]


def load(artifact_dir, manifest: dict, options) -> Session:
    if sys.platform != "darwin":
        raise Unsupported(f"{OFF_APPLE} ({platform.system() or sys.platform})")
    try:
        import coremltools as ct
    except ImportError:
        raise Unsupported("coremltools is not installed: pip install coremltools") from None
    device = (options.device or "").lower()
    if device not in COMPUTE_UNITS:
        raise ValueError(f"unknown Core ML device {options.device!r}: use cpu, gpu, ane or all")
    units = COMPUTE_UNITS[device]
    model = ct.models.MLModel(
        str(Path(artifact_dir) / manifest["file"]), compute_units=getattr(ct.ComputeUnit, units)
    )
    settings = {
        "compute_units": units,
        "compute_units_in_force": str(getattr(model, "compute_unit", units)),
        "threads": "not settable (Core ML schedules its own)",
        "macos": platform.mac_ver()[0] or None,
    }
    return Session(
        model,
        [s["name"] for s in manifest["inputs"]],
        [s["name"] for s in manifest["outputs"]],
        settings,
    )
