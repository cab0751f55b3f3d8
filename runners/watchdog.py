"""Exit when the process that started this runner is gone (where the host could not ask the
kernel for a parent-death signal): a daemon thread polls the parent pid once a second, between
the timing loop's iterations as far as the GIL goes; it costs nothing measurable."""
from __future__ import annotations

import os
import threading
import time

PARENT_ENV = "EDGEVID_PARENT_PID"


def start_parent_watchdog() -> None:
    text = os.environ.get(PARENT_ENV)
    if not text or not text.isdigit():
        return
    parent = int(text)

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(143)
            time.sleep(1.0)

    threading.Thread(target=watch, name="edgevid-parent-watchdog", daemon=True).start()
