"""Child processes that die with their parent: the runner subprocess of a local bench.

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
from typing import Optional

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


def run_tied(
    cmd: list, timeout_s: Optional[float] = None, env: Optional[dict] = None
) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True, timeout=...)`` for a child that
    never outlives this process. Raises subprocess.TimeoutExpired after killing it."""
    env = dict(os.environ if env is None else env)
    env[PARENT_ENV] = str(os.getpid())
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=(os.name == "posix"),
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except BaseException:  # timeout, KeyboardInterrupt, SystemExit: the child goes too
        kill_group(proc)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
