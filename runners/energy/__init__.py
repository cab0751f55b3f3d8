"""Energy per inference on the device: one small module per source, one meter for all.

Sources (each ``open() -> Source`` or ``NotAvailable`` with the reason): ``rapl`` (Intel/AMD
powercap counters; root-only on Linux 5.10+), ``nvml`` (NVIDIA total-energy counter,
nvidia-ml-py), ``jetson-ina3221`` (Jetson hwmon rails), ``rpi5-pmic`` (``vcgencmd
pmic_read_adc``), ``android-battery`` (battery current x voltage). ``auto`` takes the first that
opens, in that order, and lists why each other one did not.

zeus (ml.energy's zeus-ml) was considered: it wraps NVML, RAPL and Jetson for training jobs, but
needs Python 3.9+ and pulls pydantic and more into a runner that must stay numpy + one runtime on
Python 3.8 devices, and has no Raspberry Pi PMIC or Android battery source. The few sysfs reads
here are all it would do for us.
"""

from __future__ import annotations

import importlib
from typing import Dict, Optional, Tuple

from .base import NotAvailable, Source

#: option value -> module, in the order ``auto`` tries them
SOURCES = {
    "rapl": "rapl",
    "nvml": "nvml",
    "jetson-ina3221": "jetson",
    "rpi5-pmic": "rpi",
    "android-battery": "android",
}
CHOICES = ("auto", "off", *SOURCES)


def open_source(choice: str = "auto") -> Tuple[Optional[Source], Dict[str, str]]:
    """(the source, or None; why each source tried is not available)."""
    reasons: Dict[str, str] = {}
    for name in SOURCES if choice == "auto" else (choice,):
        module = importlib.import_module(f"{__name__}.{SOURCES[name]}")
        try:
            return module.open(), reasons
        except NotAvailable as e:
            reasons[name] = str(e)
    return None, reasons
