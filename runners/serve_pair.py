"""Relay of a remote A/B: both sides' serve-mode runners on the device, behind one pipe.

    python -m runners.serve_pair --side NAME ARTIFACT_DIR OPTIONS_JSON [--side ...]

``edgevid ab`` on a remote device starts this once, over one SSH session, and drives both sides
through it: every trial's processes are started here, on the device, so a trial costs no new
connection. Protocol, one JSON object per line:

* on start it prints ``{"relay": "ready", "pid": ..., "sides": [...]}``;
* ``{"start": NAME, "gen": G}`` starts (after stopping any live one) ``python -m runners.serve
  ARTIFACT_DIR --options OPTIONS_JSON`` for that side, with this relay's Python; ``G`` (an
  integer the host chooses, one per start) tags everything that process says;
* ``{"to": NAME, "cmd": {...}}`` passes one command line to that side's live process
  (runners/serve.py's protocol: ``{"n": 20}``, ``{"seconds": 0.25}``);
* ``{"stop": NAME}`` asks that side's process to quit and waits for it (killed after 5 s);
* each line a side prints comes back as ``{"side": NAME, "gen": G, "line": TEXT}``; when the
  process ends, ``{"side": NAME, "gen": G, "exit": RC, "stderr": [last lines]}``;
* a command it cannot follow is answered ``{"relay_error": TEXT}``;
* ``{"quit": true}`` or the end of stdin (the connection dropped) stops both sides and ends it.

The serve processes die with the relay (runners/watchdog.py: the relay is their parent).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from typing import Dict, List, Optional

from .watchdog import PARENT_ENV

_out = threading.Lock()


def _say(obj: dict) -> None:
    with _out:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


class Side:
    """One side's serve process: started, spoken to, stopped by the relay."""

    def __init__(self, name: str, artifact_dir: str, options: str):
        self.name, self.artifact_dir, self.options = name, artifact_dir, options
        self.proc: Optional[subprocess.Popen] = None
        self.gen = -1

    def start(self, gen: int) -> None:
        self.stop()
        package = __package__ or "runners"
        cmd = [sys.executable, "-m", package + ".serve", self.artifact_dir]
        cmd += ["--options", self.options]
        env = dict(os.environ)
        env[PARENT_ENV] = str(os.getpid())
        self.gen = gen
        self.proc = proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        tail: List[str] = []

        def drain() -> None:
            assert proc.stderr is not None
            for raw in proc.stderr:
                tail.append(raw.decode("utf-8", "replace").rstrip())
                del tail[:-20]

        def read() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                _say({"side": self.name, "gen": gen, "line": raw.decode("utf-8", "replace")})
            rc = proc.wait()
            err.join(timeout=2)
            _say({"side": self.name, "gen": gen, "exit": rc, "stderr": tail[-8:]})

        err = threading.Thread(target=drain, daemon=True)
        err.start()
        threading.Thread(target=read, daemon=True).start()

    def send(self, cmd: dict) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None or proc.stdin is None:
            raise ValueError(f"side {self.name} has no live process")
        try:
            proc.stdin.write((json.dumps(cmd) + "\n").encode())
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # its end is reported by the reader ("exit")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.write(b'{"quit": true}\n')
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def handle(sides: Dict[str, Side], cmd: dict) -> bool:
    """Follow one command; False when the relay should end."""
    if cmd.get("quit"):
        return False
    for verb in ("start", "to", "stop"):
        if verb in cmd:
            side = sides.get(cmd[verb])
            if side is None:
                raise ValueError(f"no side {cmd[verb]!r} (sides: {', '.join(sides)})")
            if verb == "start":
                gen = cmd.get("gen", 0)
                if not isinstance(gen, int):
                    raise ValueError("gen must be an integer")
                side.start(gen)
            elif verb == "to":
                if not isinstance(cmd.get("cmd"), dict):
                    raise ValueError("'to' needs a 'cmd' object")
                side.send(cmd["cmd"])
            else:
                side.stop()
            return True
    raise ValueError("a command is start, to, stop or quit")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m runners.serve_pair", description=__doc__.split("\n")[0]
    )
    p.add_argument(
        "--side", nargs=3, action="append", required=True, metavar=("NAME", "DIR", "OPTIONS")
    )
    a = p.parse_args(argv)
    sides = {name: Side(name, d, opts) for name, d, opts in a.side}
    _say({"relay": "ready", "pid": os.getpid(), "sides": list(sides)})
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                cmd = json.loads(line)
                if not isinstance(cmd, dict):
                    raise ValueError("a command is a JSON object")
                if not handle(sides, cmd):
                    break
            except ValueError as e:
                _say({"relay_error": str(e)})
    finally:
        for side in sides.values():
            side.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
