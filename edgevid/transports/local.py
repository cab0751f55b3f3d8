"""The ``local`` transport: the runner in a fresh Python process on this machine (clean memory,
honest peak RSS). This machine is the device, so what it can run is what is installed here.

``spawn`` is the one place a runner-side process is started (the ssh and adb clients too), so
that process-group and parent-death handling live in one function.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable

from edgevid.procs import PARENT_ENV, kill_group
from edgevid.transports.base import RunSpec, Transport, probe_from, stream


#: Set on Ctrl-C while several devices run at once: every transport stops and raises.
CANCEL = threading.Event()
_active: set = set()
_active_lock = threading.Lock()


def spawn(cmd: list, stdin=subprocess.DEVNULL, cwd=None) -> subprocess.Popen:
    """Start a process whose stdout and stderr the caller reads (``base.stream``)."""
    if CANCEL.is_set():
        raise KeyboardInterrupt
    # Its own process group, told our pid: it dies with us (edgevid/procs.py, runners/watchdog.py)
    env = {**os.environ, PARENT_ENV: str(os.getpid())}
    proc = subprocess.Popen(
        [str(c) for c in cmd],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
        start_new_session=(os.name == "posix"),
    )
    with _active_lock:
        _active.add(proc)
    return proc


def stop_all() -> None:
    """Ctrl-C with several devices: stop every process ``spawn`` started that still runs (an
    ssh client's end closes the device's stdin: its watchdog then stops the runner there)."""
    CANCEL.set()
    with _active_lock:
        procs = [p for p in _active if p.poll() is None]
    for p in procs:
        stop(p, grace_s=2)


def stop(proc: subprocess.Popen, grace_s: float = 3.0) -> None:
    """Terminate, then kill, and reap."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM) if os.name == "posix" else proc.terminate()
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            kill_group(proc)


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
