"""Raspberry Pi 5: the PMIC's ADCs through ``vcgencmd pmic_read_adc``.

Its output is one line per reading, ``NAME_A current(i)=0.123A`` or ``NAME_V volt(i)=0.8V``; a rail
with both (``VDD_CORE_A`` and ``VDD_CORE_V``) gives power = V x A. The total is the sum of those
rails: the PMIC's own outputs, not the 5 V input (``EXT5V_V`` has no current reading), so USB,
Ethernet and fan draw outside them are not counted (stated in the result's note). One
``vcgencmd`` process per sample: keep the sampling interval at 0.2 s or more.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Callable, Dict, Optional

from .base import NotAvailable, Source

LINE = re.compile(r"^\s*(\S+)_([AV])\s+(?:current|volt)\(\d+\)=([-+0-9.eE]+)[AV]\s*$")
COMMAND = ("vcgencmd", "pmic_read_adc")


def parse(text: str) -> Dict[str, float]:
    """Watts per rail from ``vcgencmd pmic_read_adc`` output (rails with current and voltage)."""
    amps: Dict[str, float] = {}
    volts: Dict[str, float] = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            (amps if m.group(2) == "A" else volts)[m.group(1)] = float(m.group(3))
    return {r: amps[r] * volts[r] for r in amps if r in volts}


def _run() -> str:
    return subprocess.run(COMMAND, capture_output=True, text=True, timeout=5, check=True).stdout


class Pmic(Source):
    NAME = "rpi5-pmic"
    KIND = "power"

    def __init__(self, run: Callable[[], str], rails):
        super().__init__(
            list(rails),
            list(rails),
            "sum of the PMIC rails (V x A); the 5 V input and USB/peripheral draw are not included",
        )
        self._run = run

    def read(self) -> Dict[str, float]:
        return parse(self._run())


def open(run: Optional[Callable[[], str]] = None) -> Pmic:  # noqa: A001
    if run is None:
        if shutil.which(COMMAND[0]) is None:
            raise NotAvailable("vcgencmd not found (not a Raspberry Pi)")
        run = _run
    try:
        rails = parse(run())
    except (OSError, subprocess.SubprocessError) as e:
        raise NotAvailable(f"vcgencmd pmic_read_adc failed: {e}") from None
    if not rails:
        raise NotAvailable(
            "vcgencmd pmic_read_adc gave no rail with current and voltage "
            "(a Raspberry Pi 5 is needed)"
        )
    return Pmic(run, sorted(rails))
