"""The ``local`` transport: the runner in a fresh Python process on this machine (clean memory,
honest peak RSS). This machine is the device, so what it can run is what is installed here.

Processes are started with ``edgevid.procs.spawn``, the one place a runner-side process is
started (the ssh and adb clients too).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

from edgevid.procs import spawn, stop
from edgevid.transports.base import RunSpec, Transport, probe_from, stream


class LocalTransport(Transport):
    kind = "local"

    def check(self, quick: bool = False) -> dict:
        with self._lock:
            if self._probe is None or not quick:
                cmd = [sys.executable, "-m", "edgevid.runners.probe"] + (
                    ["--quick"] if quick else []
                )
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
                probe = probe_from(proc.stdout)
                if probe is None:
                    raise RuntimeError(f"device probe failed: {proc.stderr.strip()[-500:]}")
                self._probe = probe
            return self._probe

    def missing(self, entry) -> str:
        from edgevid.backends import get_backend
        from edgevid.errors import MissingBackend

        try:
            get_backend(entry.format).require()
        except MissingBackend as e:
            return str(e)
        return ""

    def run(self, artifact_dir: Path, spec: RunSpec, log: Callable[[str], None]) -> dict:
        with tempfile.TemporaryDirectory(prefix="edgevid-run-") as tmp:
            out = Path(tmp) / "record.json"
            cmd = [
                sys.executable,
                "-m",
                "edgevid.runners",
                *spec.runner_args(str(artifact_dir), str(out)),
            ]
            proc = spawn(cmd)
            try:
                res = stream(proc, spec.timeout_s, log)
            except TimeoutError:
                stop(proc)
                raise RuntimeError(f"runner did not finish within {spec.timeout_s:.0f} s") from None
            except BaseException:
                stop(proc)
                raise
            if res.rc != 0 or not out.is_file():
                tail = " | ".join(res.tail[-5:])
                raise RuntimeError(f"runner exited with code {res.rc}: {tail}"[:2000])
            return json.loads(out.read_text())
