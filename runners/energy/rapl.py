"""Intel / AMD RAPL through the Linux powercap interface (``/sys/class/powercap``).

Each zone ``intel-rapl:N`` (package N; AMD CPUs use the same driver and names) and its subzones
``intel-rapl:N:M`` (``core``, ``uncore``, ``dram``) have ``name``, ``energy_uj`` (cumulative
microjoules) and ``max_energy_range_uj`` (where the counter wraps). Documented in the kernel's
``Documentation/power/powercap/powercap.rst``. The total is the sum of the package zones
(subzones are parts of a package). Since Linux 5.10 ``energy_uj`` is readable by root only
(mode 0400, the PLATYPUS side channel, CVE-2020-8694): a normal user gets "not available" with
that reason. ``intel-rapl-mmio`` zones duplicate the package counters and are skipped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict

from .base import NotAvailable, Source, read_number, read_text

ROOT = "/sys/class/powercap"
ZONE = re.compile(r"^(intel|amd)-rapl:\d+(:\d+)?$")
ROOT_ONLY = (
    "RAPL energy_uj is readable by root only (mode 0400 since Linux 5.10, CVE-2020-8694): run "
    "the runner as root or grant read access to {path}"
)


class Rapl(Source):
    NAME = "rapl"
    KIND = "counter"

    def __init__(self, zones: Dict[str, Path]):
        names = list(zones)
        top = [n for n in names if "/" not in n]  # subzones are "package-0/core", parts of it
        packages = [n for n in top if n.startswith("package")]
        super().__init__(names, packages or top, "")
        self.zones = zones
        self.wrap_j = {
            n: (read_number(p / "max_energy_range_uj") or 0) / 1e6 for n, p in zones.items()
        }

    def read(self) -> Dict[str, float]:
        out = {}
        for n, p in self.zones.items():
            uj = read_number(p / "energy_uj")
            if uj is None:
                raise NotAvailable(f"{p / 'energy_uj'} stopped being readable")
            out[n] = uj / 1e6
        return out


def open(root: str = ROOT) -> Rapl:  # noqa: A001 - every source module has open()
    base = Path(root)
    dirs = sorted(p for p in base.glob("*rapl:*") if ZONE.match(p.name)) if base.is_dir() else []
    if not dirs:
        raise NotAvailable(f"no RAPL zones under {root} (not an Intel/AMD CPU, or no powercap)")
    zones: Dict[str, Path] = {}
    for d in dirs:
        label = read_text(d / "name") or d.name
        parent = d.name.rsplit(":", 1)[0] if d.name.count(":") == 2 else None
        key = label if parent is None else f"{read_text(base / parent / 'name') or parent}/{label}"
        if key in zones:  # two packages: package-0 and package-1 are distinct; subzones qualified
            key = f"{key}@{d.name}"
        zones[key] = d
    for d in zones.values():
        f = d / "energy_uj"
        if not os.access(str(f), os.R_OK) or read_number(f) is None:
            raise NotAvailable(ROOT_ONLY.format(path=f))
    return Rapl(zones)
