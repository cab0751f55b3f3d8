"""The common interface of the energy sources (standard library only).

A source reads either cumulative energy counters (``KIND = "counter"``: joules per rail since some
origin, differences taken over the window, wrap-around handled with ``wrap_j``) or instantaneous
power (``KIND = "power"``: watts per rail, integrated over the samples). ``total`` names the rail
(or rails, summed) that stand for the whole device; other rails are reported beside it.
Every source module has ``open(**where) -> Source``, raising :class:`NotAvailable` with the reason
when nothing is readable (no such hardware, no permission, tool missing). Nothing is ever guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional


class NotAvailable(Exception):
    """This source cannot be read here; the message says why."""


class Source:
    NAME = ""
    KIND = "power"  # or "counter"

    def __init__(self, rails: List[str], total: List[str], note: str = ""):
        self.rails = rails
        self.total = total
        self.note = note
        self.wrap_j: Dict[str, float] = {}

    def read(self) -> Dict[str, float]:
        """Joules (counter) or watts (power) per rail, now."""
        raise NotImplementedError

    def describe(self) -> dict:
        return {
            "source": self.NAME,
            "kind": self.KIND,
            "rails": list(self.rails),
            "total_of": list(self.total),
            "note": self.note,
        }


def read_text(path) -> Optional[str]:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def read_number(path) -> Optional[float]:
    text = read_text(path)
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
