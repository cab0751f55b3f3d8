"""Child processes that die with their parent, and the registry of the ones still running.

``spawn`` is the one place a runner-side process is started (the local runner, and the ssh and adb
clients), so that process-group and parent-death handling live in one function; ``stop_all``
(Ctrl-C while several devices run) stops every one of them, and ``CANCEL`` tells the transports.

A child is started in its own session and process group (``start_new_session``: done by the
interpreter between fork and exec, no Python code runs there, so no at-fork hooks of threaded
libraries such as JAX) and is told its parent's pid in ``EDGEVID_PARENT_PID``. The runner then
asks the kernel for SIGKILL when that parent dies (Linux: ``prctl(PR_SET_PDEATHSIG)``), or polls
the parent pid from a watchdog thread elsewhere (``runners/watchdog.py``). When the parent stops
waiting (timeout, Ctrl-C, SIGTERM turned into KeyboardInterrupt), it kills the child's whole
process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading

PARENT_ENV = "EDGEVID_PARENT_PID"


def kill_group(proc: subprocess.Popen) -> None:
    """Kill ``proc`` and everything in its process group; reap it."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


#: Set on Ctrl-C or SIGTERM (``cli/app.py``) and by ``stop_all``: no runner starts, and every
#: transport raises KeyboardInterrupt once the runner it waits on has ended.
CANCEL = threading.Event()
_active: set = set()
_active_lock = threading.Lock()


def spawn(cmd: list, stdin=subprocess.DEVNULL, cwd=None) -> subprocess.Popen:
    """Start a process whose stdout and stderr the caller reads (``base.stream``)."""
    if CANCEL.is_set():
        raise KeyboardInterrupt
    # Its own process group, told our pid: it dies with us (runners/watchdog.py)
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
