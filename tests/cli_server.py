"""The client side of tests/cli_zygote.py: one fork server per pytest process, started on first
use and stopped at exit; ``run_forked`` runs one CLI command through it."""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ZYGOTE = Path(__file__).with_name("cli_zygote.py")
_server: Optional[subprocess.Popen] = None


def _start() -> subprocess.Popen:
    global _server
    if _server is not None and _server.poll() is None:
        return _server
    _server = subprocess.Popen(
        [sys.executable, str(ZYGOTE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        bufsize=1,
    )  # fmt: skip
    ready = _server.stdout.readline()  # type: ignore[union-attr]
    if not ready.startswith('{"ready"'):
        raise RuntimeError(f"tests/cli_zygote.py did not start (said {ready!r})")
    return _server


@atexit.register
def _stop() -> None:
    if _server is not None and _server.poll() is None:
        _server.stdin.close()  # type: ignore[union-attr]
        try:
            _server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _server.kill()


def _line(server: subprocess.Popen, deadline: float) -> dict:
    out = server.stdout
    assert out is not None
    if not select.select([out], [], [], max(0.0, deadline - time.monotonic()))[0]:
        raise TimeoutError
    line = out.readline()
    if not line:
        raise RuntimeError("tests/cli_zygote.py ended")
    return json.loads(line)


def run_forked(argv: list, cwd, env: dict, timeout: float) -> subprocess.CompletedProcess:
    """``argv`` (``python -m edgevid.cli ...``) run as a child of the fork server."""
    server = _start()
    with tempfile.TemporaryDirectory(prefix="edgevid-cli-") as d:
        out, err = os.path.join(d, "stdout"), os.path.join(d, "stderr")
        req = {"args": argv[3:], "cwd": str(cwd), "env": env, "stdout": out, "stderr": err}
        server.stdin.write(json.dumps(req) + "\n")  # type: ignore[union-attr]
        server.stdin.flush()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        pid = _line(server, deadline)["pid"]
        try:
            rc = _line(server, deadline)["rc"]
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            _line(server, time.monotonic() + 30)
            raise subprocess.TimeoutExpired(argv, timeout) from None
        read = lambda p: Path(p).read_text(errors="replace")  # noqa: E731
        return subprocess.CompletedProcess(argv, rc, read(out), read(err))
