"""`edgevid ab` on a remote (ssh) device: both sides run there, behind one connection.

One SSH session runs the device-side relay (``runners/serve_pair.py``, started by
edgevid/transports/ssh_pair.py after the bundle and both artifacts went through the transport's
cache). Each trial's serve processes are started, spoken to and stopped through the relay, so
restarts cost no new connection. ``RelaySource`` is ``ProcessSource`` (edgevid/run/ab.py) with
``RelaySide`` channels instead of local processes: the coordinator, the stop rule and the
statistics are the same code for a local and a remote run.
"""

from __future__ import annotations

import json
import queue
import threading
from typing import Optional

from edgevid.run.ab import Channel, Plan, ProcessSource, SideFailed, SideSpec
from edgevid.transports.base import MISSING_MARK, PID_MARK


class Relay:
    """The relay's pipe: commands down, tagged lines routed to the live ``RelaySide``."""

    def __init__(self, proc, timeout_s: float = 120.0):
        self.proc = proc
        self.pid: list = []  # the relay's pid on the device, once it said so
        self.tail: list = []  # its last stderr lines (ssh's, the script's)
        self.routes: dict = {}  # (side, gen) -> RelaySide
        self.gen = 0
        self.ended = False
        self._ready: "queue.Queue[Optional[dict]]" = queue.Queue()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()
        try:
            hello = self._ready.get(timeout=timeout_s)
        except queue.Empty:
            hello = None
        if hello is None:
            raise RelayFailed(self.why(), missing=any(MISSING_MARK in ln for ln in self.tail))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # a runtime's own chatter
            if not isinstance(msg, dict):
                continue  # chatter that happens to parse (a number printed by a login script)
            if msg.get("relay") == "ready":
                self._ready.put(msg)
                continue
            side = self.routes.get((msg.get("side"), msg.get("gen")))
            if side is None:
                continue  # a stopped process's last words
            if "line" in msg:
                side.lines.put(msg["line"])
            elif "exit" in msg:
                side.exit = (msg["exit"], msg.get("stderr") or [])
                side.lines.put(None)
        try:
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired: still reported as ended
            pass
        self.ended = True
        self._ready.put(None)
        for side in list(self.routes.values()):
            side.lines.put(None)

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line.startswith(PID_MARK) and line[len(PID_MARK) :].strip().isdigit():
                self.pid.append(int(line[len(PID_MARK) :]))
            elif line.strip():
                self.tail = (self.tail + [line.strip()])[-8:]

    def why(self) -> str:
        code = self.proc.poll()
        last = self.tail[-1] if self.tail else f"exit {code}"
        if code == 255:
            return f"connection to the device lost: {last}"
        return f"the relay on the device ended ({last})"

    def send(self, cmd: dict) -> None:
        assert self.proc.stdin is not None
        with self._lock:
            try:
                self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                raise RelayFailed(self.why()) from None

    def start(self, spec: SideSpec) -> "RelaySide":
        self.gen += 1
        side = RelaySide(self, spec.name, self.gen)
        self.routes = {k: v for k, v in self.routes.items() if k[0] != spec.name}
        self.routes[(spec.name, self.gen)] = side
        try:
            self.send({"start": spec.name, "gen": self.gen})
        except RelayFailed as e:
            raise SideFailed(spec.name, str(e)) from None
        return side


class RelayFailed(RuntimeError):
    def __init__(self, message: str, missing: bool = False):
        super().__init__(message)
        self.missing = missing


class RelaySide(Channel):
    """One side's serve process on the device, reached through the relay."""

    def __init__(self, relay: Relay, name: str, gen: int):
        super().__init__(name)
        self.relay, self.gen = relay, gen
        self.exit: Optional[tuple] = None
        if relay.ended:
            self.lines.put(None)

    def gone(self) -> str:
        if self.exit is None:
            return self.relay.why()
        code, tail = self.exit
        last = next((ln for ln in reversed(tail) if ln.strip()), "")
        return f"runner process ended on the device (exit {code}){': ' + last if last else ''}"

    def send(self, cmd: dict) -> None:
        try:
            self.relay.send({"to": self.name, "cmd": cmd})
        except RelayFailed as e:
            raise SideFailed(self.name, str(e)) from None

    def close(self) -> None:
        if self.exit is None and not self.relay.ended:
            try:
                self.relay.send({"stop": self.name})
            except RelayFailed:
                pass


class RelaySource(ProcessSource):
    """Both sides on an ssh device, through one relay for the whole run."""

    def __init__(self, transport, sides: list, plan: Plan):
        super().__init__(sides, plan, start=lambda spec: self._relay().start(spec))
        self.transport = transport
        self.relay: Optional[Relay] = None
        self.run_id = ""
        self.transfers: dict = {}

    def _relay(self) -> Relay:
        """The relay, started on first use (so that a relay that does not come up is a side
        failure of the run, with its outcome, like any other; a transport that cannot prepare
        the device at all raises its own error before any round)."""
        from edgevid.transports import ssh_pair

        if self.relay is not None:
            return self.relay
        specs = [(s.name, s.artifact_dir, s.options) for s in self.sides.values()]
        for attempt in range(2):
            proc, self.run_id, self.transfers = ssh_pair.start_relay(self.transport, specs)
            try:
                self.relay = Relay(proc)
                return self.relay
            except RelayFailed as e:
                ssh_pair.stop_relay(self.transport, proc, [], self.run_id, grace_s=2)
                if not (e.missing and attempt == 0):
                    raise SideFailed("device", str(e)) from None
                self.transport._known = False  # the device's cache changed: probe it again
                self.transport._probe = None
        raise AssertionError("unreachable")

    def shutdown(self) -> None:
        from edgevid.transports import ssh_pair

        self.close()
        if self.relay is None:
            return
        try:
            self.relay.send({"quit": True})
        except RelayFailed:
            pass
        ssh_pair.stop_relay(self.transport, self.relay.proc, self.relay.pid, self.run_id)

    def describe(self) -> dict:
        """What the record says of the transport: its target and what was sent."""
        conn = self.transport.conn
        return {"type": "ssh", "target": conn.describe(), "transfer": self.transfers}
