"""A/B on an ssh device: the relay (``runners/serve_pair.py``) started over one SSH session.

``start_relay`` sends the runner bundle and both artifacts the way ``bench`` does (the
transport's ``prepare``: once per version / cache key), then starts the relay with the device's
Python and returns the ssh process: its stdin carries the relay's commands, its stdout the
relay's tagged lines. ``stop_relay`` ends it and, if it lingers, stops it on the device.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

from edgevid.procs import spawn
from edgevid.transports import remote_sh as sh


def start_relay(transport, sides: list) -> tuple:
    """(ssh process, run id, {side: transfer}) for ``sides`` [(name, artifact dir, options)]."""
    transfers, pairs = {}, []
    for name, artifact_dir, options in sides:
        t = transport.prepare(Path(artifact_dir))
        transfers[name] = t
        text = json.dumps(options, sort_keys=True, allow_nan=False)
        pairs.append((name, t["cache_key"], text))
    script = sh.serve_pair(transport.conn.workdir, transport._py(), transport.bundle, pairs)
    proc = spawn(transport.ssh_args() + [sh.wrap(script)], stdin=subprocess.PIPE)
    return proc, secrets.token_hex(8), transfers


def stop_relay(transport, proc, pid: list, run_id: str, grace_s: float = 10.0) -> None:
    """Close the relay's stdin (it stops both sides and exits); past ``grace_s``, stop it on
    the device over a fresh connection."""
    try:
        if proc.stdin:
            proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        transport.stop_run(proc, pid, run_id)
