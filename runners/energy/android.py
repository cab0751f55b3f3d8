"""Android: the battery's current x voltage (``/sys/class/power_supply/battery``).

``current_now`` (microamps) and ``voltage_now`` (microvolts), as the kernel's
``Documentation/ABI/testing/sysfs-class-power`` defines them. The sign of the current differs
between vendors (Android's BatteryManager: negative = discharging), so its magnitude is used.
While the battery charges (``status`` ``Charging`` or ``Full``: USB connected) its current is not
the device's draw: not available then; measure on battery (adb over Wi-Fi). Many fuel gauges
update only every few seconds: the sampling interval is reported with the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from .base import NotAvailable, Source, read_number, read_text

ROOT = "/sys/class/power_supply/battery"


class Battery(Source):
    NAME = "android-battery"
    KIND = "power"

    def __init__(self, root: Path):
        super().__init__(["battery"], ["battery"], "battery |current_now| x voltage_now")
        self.root = root

    def read(self) -> Dict[str, float]:
        ua, uv = read_number(self.root / "current_now"), read_number(self.root / "voltage_now")
        if ua is None or uv is None:
            raise NotAvailable(f"{self.root}: current_now or voltage_now stopped being readable")
        return {"battery": abs(ua) * uv / 1e12}


def open(root: str = ROOT) -> Battery:  # noqa: A001
    d = Path(root)
    if read_number(d / "current_now") is None or read_number(d / "voltage_now") is None:
        raise NotAvailable(f"no readable current_now and voltage_now under {root}")
    status = read_text(d / "status")
    if status in ("Charging", "Full"):
        raise NotAvailable(
            f"the battery is {status.lower()}: its current is not the device's draw; "
            "measure on battery (unplug USB, adb over Wi-Fi)"
        )
    return Battery(d)
