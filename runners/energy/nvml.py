"""NVIDIA GPUs: NVML's total-energy counter (``nvidia-ml-py``, imported as ``pynvml``).

``nvmlDeviceGetTotalEnergyConsumption`` gives millijoules since the driver was loaded (Volta and
newer); energy over a window is the difference of two readings. One rail per GPU (``gpu0``...),
the total is their sum. The board's other parts (CPU, memory) are not in it. The counter moves in
steps: on an H200 (driver 580.159) five reads in a row gave the same value, so a window must be
long against its update period (seconds, not milliseconds).
"""

from __future__ import annotations

from typing import Dict, List, Optional

from .base import NotAvailable, Source


class Nvml(Source):
    NAME = "nvml"
    KIND = "counter"

    def __init__(self, nvml, handles: list, names: List[str]):
        rails = [f"gpu{i}" for i in range(len(handles))]
        note = "GPU board energy only (NVML total-energy counter); " + ", ".join(names)
        super().__init__(rails, rails, note)
        self._nvml, self._handles = nvml, handles

    def read(self) -> Dict[str, float]:
        get = self._nvml.nvmlDeviceGetTotalEnergyConsumption
        return {r: get(h) / 1e3 for r, h in zip(self.rails, self._handles)}


def open(indices: Optional[List[int]] = None) -> Nvml:  # noqa: A001
    try:
        import pynvml
    except ImportError:
        raise NotAvailable("nvidia-ml-py is not installed (pip install nvidia-ml-py)") from None
    try:
        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in (indices or range(count))]
        names = [str(pynvml.nvmlDeviceGetName(h)) for h in handles]
        for h in handles:
            pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
    except Exception as e:  # noqa: BLE001 - NVMLError_* : no driver, no GPU, not supported
        raise NotAvailable(f"NVML: {type(e).__name__}: {e}") from None
    if not handles:
        raise NotAvailable("NVML sees no GPU")
    return Nvml(pynvml, handles, names)
