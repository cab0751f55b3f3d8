"""Child processes that die with their parent: the runner subprocess of a local bench.

A child is started in its own process group, and on Linux asks the kernel for SIGKILL when its
parent dies (``prctl(PR_SET_PDEATHSIG)``, through ctypes, set between fork and exec). Elsewhere
the runner's own watchdog thread (``runners/watchdog.py``) exits when its parent pid changes,
told which pid to watch by ``EDGEVID_PARENT_PID``. When the parent stops waiting (timeout,
Ctrl-C, SIGTERM turned into KeyboardInterrupt), the child's whole process group is killed.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from typing import Optional

PR_SET_PDEATHSIG = 1
PARENT_ENV = "EDGEVID_PARENT_PID"
_LINUX = sys.platform.startswith("linux")
_libc = None
if _LINUX:
    try:  # loaded before any fork: dlopen between fork and exec is not safe
        _libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        _libc = None


def _child_setup(parent: int):
    def setup():  # runs in the child between fork and exec
        os.setpgid(0, 0)
        if _libc is not None:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
    return setup


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


def run_tied(cmd: list, timeout_s: Optional[float] = None,
             env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True, timeout=...)`` for a child that
    never outlives this process. Raises subprocess.TimeoutExpired after killing it."""
    env = dict(os.environ if env is None else env)
    kwargs = {}
    if os.name == "posix":
        kwargs["preexec_fn"] = _child_setup(os.getpid())
        if _libc is None:
            env[PARENT_ENV] = str(os.getpid())
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except BaseException:  # timeout, KeyboardInterrupt, SystemExit: the child goes too
        kill_group(proc)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
