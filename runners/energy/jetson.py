"""NVIDIA Jetson: the INA3221 power monitors through the Linux hwmon driver.

Per channel ``N`` (Linux ``Documentation/hwmon/ina3221.rst``): ``inN_label`` (the rail, e.g.
``VDD_IN``), ``inN_input`` (bus voltage, mV) and ``currN_input`` (current, mA); power is their
product. The chips sit at ``/sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*`` (JetPack 5 and newer)
and appear under ``/sys/class/hwmon`` with ``name`` ``ina3221``. ``VDD_IN`` is the module's input
(its total, per NVIDIA's Jetson power guides); the other rails are parts of it. Where no rail is
called ``VDD_IN``, the total is the sum of the rails (stated in ``total_of``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

from .base import NotAvailable, Source, read_number, read_text

ROOT = "/sys/class/hwmon"
TOTAL_RAIL = "VDD_IN"


class Ina3221(Source):
    NAME = "jetson-ina3221"
    KIND = "power"

    def __init__(self, channels: Dict[str, Tuple[Path, Path]]):
        rails = list(channels)
        total = [r for r in rails if r.split("@")[0] == TOTAL_RAIL] or rails
        super().__init__(rails, total, "INA3221 bus voltage x current per rail")
        self.channels = channels

    def read(self) -> Dict[str, float]:
        out = {}
        for rail, (volt, curr) in self.channels.items():
            mv, ma = read_number(volt), read_number(curr)
            if mv is None or ma is None:
                raise NotAvailable(f"{volt} or {curr} stopped being readable")
            out[rail] = mv * ma / 1e6
        return out


def open(root: str = ROOT) -> Ina3221:  # noqa: A001
    chips = [d for d in sorted(Path(root).glob("hwmon*")) if read_text(d / "name") == "ina3221"]
    if not chips:
        raise NotAvailable(f"no INA3221 hwmon device under {root} (not a Jetson, or JetPack < 5)")
    channels: Dict[str, Tuple[Path, Path]] = {}
    for chip in chips:
        for label in sorted(chip.glob("in[0-9]_label")):
            n = label.name[2:-6]
            volt, curr = chip / f"in{n}_input", chip / f"curr{n}_input"
            name = read_text(label) or f"in{n}"
            if read_number(volt) is None or read_number(curr) is None:
                continue  # a channel without a shunt (disconnected) reads nothing
            channels[name if name not in channels else f"{name}@{chip.name}"] = (volt, curr)
    if not channels:
        raise NotAvailable(f"INA3221 under {root}: no readable channel (permissions?)")
    return Ina3221(channels)
