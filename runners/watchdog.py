"""Die with the process that started this runner (``edgevid bench`` sets EDGEVID_PARENT_PID).

On Linux the kernel is asked for SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``
through ctypes); elsewhere a daemon thread polls the parent pid once a second (between the timing
loop's iterations as far as the GIL goes; it costs nothing measurable). Either way, a runner
whose parent is already gone when it starts exits at once.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PARENT_ENV = "EDGEVID_PARENT_PID"
PR_SET_PDEATHSIG = 1
EXIT_ORPHANED = 143


def _pdeathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def start_parent_watchdog() -> None:
    text = os.environ.get(PARENT_ENV)
    if not text or not text.isdigit():
        return
    parent = int(text)
    kernel = _pdeathsig()
    if os.getppid() != parent:  # the parent died before we were set up (or is not ours)
        os._exit(EXIT_ORPHANED)
    if kernel:
        return

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(EXIT_ORPHANED)
            time.sleep(1.0)

    threading.Thread(target=watch, name="edgevid-parent-watchdog", daemon=True).start()
