"""``labgrid-client -x COORDINATOR ...`` as a small typed client: places, reservations, the
resources of a locked place; each failure one clear UserError line (transports/labgrid.py)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from typing import Optional

from edgevid.errors import UserError


def _client_program() -> str:
    """labgrid-client from EDGEVID_LABGRID_CLIENT, else next to this Python (the same venv),
    else on PATH."""
    given = os.environ.get("EDGEVID_LABGRID_CLIENT")
    if given:
        return given
    here = os.path.join(os.path.dirname(sys.executable), "labgrid-client")
    return here if os.access(here, os.X_OK) else "labgrid-client"


CLIENT = _client_program()


# ---------------------------------------------------------------------------- the client


class Client:
    """``labgrid-client -x COORDINATOR ...``; each failure becomes one clear UserError line."""

    def __init__(self, coordinator: str):
        self.coordinator = coordinator

    def run(self, *args: str, timeout: float = 60, check: bool = True) -> str:
        cmd = [CLIENT, "-x", self.coordinator, *args]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except FileNotFoundError:
            raise UserError(
                f"{CLIENT} not found: install labgrid (pip install 'edgevid[lab]')"
            ) from None
        except subprocess.TimeoutExpired:
            raise UserError(f"labgrid coordinator {self.coordinator} did not answer") from None
        if p.returncode != 0 and check:
            why = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
            if "connect" in why.lower() or "unavailable" in why.lower():
                why = f"cannot reach the labgrid coordinator {self.coordinator} ({why})"
            raise UserError(why.replace("labgrid-client: error: ", "labgrid: "))
        return p.stdout

    def places(self) -> dict:
        return _blocks(self.run("-v", "places"), "Place")

    def reservations(self) -> list:
        got = _blocks(self.run("reservations"), "Reservation")
        return [dict(v, token=k) for k, v in got.items()]  # in queue order (prio, created)

    def resources(self, place: str) -> dict:
        """The acquired resources of a locked place: {class: params}, from ``show``."""
        text = self.run("-p", place, "show")
        out: dict = {}
        name: Optional[str] = None
        buf: list = []
        for line in text.splitlines() + ["Acquired resource 'end' (x):"]:
            m = re.match(r"^Acquired resource '([^']+)' \(([^)]*)\):", line)
            if m:
                if name:
                    try:
                        out[name] = ast.literal_eval("\n".join(buf))
                    except (ValueError, SyntaxError):
                        pass
                name, buf = m.group(2), []
            elif name:
                buf.append(line)
        return out


def _blocks(text: str, head: str) -> dict:
    """labgrid-client's ``Place 'x':`` / ``Reservation 'x':`` blocks as dicts of fields."""
    out: dict = {}
    cur: Optional[dict] = None
    key = None
    for line in text.splitlines():
        m = re.match(rf"^{head} '([^']+)':", line)
        if m:
            cur = out[m.group(1)] = {}
            continue
        if cur is None or not line.strip():
            continue
        if line.startswith("    ") and key:
            cur.setdefault(key, []).append(line.strip())
        elif line.startswith("  "):
            key, _, value = line.strip().partition(":")
            cur[key] = value.strip() or []
    for fields in out.values():
        tags = fields.get("tags")
        fields["tags"] = dict(t.split("=", 1) for t in tags.split(", ")) if tags else {}
        if isinstance(fields.get("filters"), list):  # ['main: soc=x'] -> 'soc=x'
            fields["filters"] = " ".join(f.partition(": ")[2] for f in fields["filters"])
    return out
