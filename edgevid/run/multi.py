"""Several devices at once: ``edgevid bench MODEL --device raspberry-pi-5,jetson-orin-nano``.

Each device gets its own thread and runs its configurations one at a time (a device is never
shared between two measurements); exports are serialised by bench's export lock. One progress
line per device. Ctrl-C stops every device's runner (``procs.stop_all``).
"""

from __future__ import annotations

import threading
from typing import Callable

from edgevid.errors import UserError


def bench_devices(
    refs_for: Callable,
    profiles: list,
    entries_for: Callable,
    cfg_for: Callable,
    on_result: Callable,
    on_progress: Callable[[str, str], None],
) -> tuple:
    """Run ``bench`` on each profile concurrently. Returns (records, {device: error text})."""
    from edgevid.run.bench import bench
    from edgevid.procs import stop_all

    records: list = []
    errors: dict = {}
    lock = threading.Lock()

    def one(profile):
        try:
            got = bench(
                refs_for(profile),
                profile,
                entries_for(profile),
                cfg_for(profile),
                on_result=lambda r: _locked(lock, on_result, r),
                log=lambda m: on_progress(profile.name, m),
            )
            with lock:
                records.extend(got)
            on_progress(profile.name, f"done: {len(got)} configuration(s)")
        except UserError as e:
            errors[profile.name] = str(e)
            on_progress(profile.name, f"failed: {e}")
        except KeyboardInterrupt:
            errors[profile.name] = "interrupted"

    threads = [threading.Thread(target=one, args=(p,), daemon=True, name=p.name) for p in profiles]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(timeout=0.2)
    except KeyboardInterrupt:
        stop_all()
        for t in threads:
            t.join(timeout=30)
        raise
    order = {p.name: i for i, p in enumerate(profiles)}
    records.sort(key=lambda r: order.get(r.get("device"), 0))
    return records, errors


def _locked(lock, fn, arg):
    with lock:
        fn(arg)
