"""The transport seam: how the host reaches a device. Every transport has the same parts:

- ``check(quick)``: the device probe (``runners/probe.py`` there, or a shell probe where the
  device has no Python): what the device has. ``missing(entry)`` reads it to say, before anything
  is exported, why a format cannot run there ("" when it can).
- ``prepare(artifact_dir)``: send the runner bundle (once per version) and the artifact (once
  per cache key) into the device's work dir; returns what was sent.
- ``run(artifact_dir, spec, log)``: the runner's JSON command line on the device, progress lines
  streamed to ``log``, the record fetched back.
- ``cache()`` / ``prune(keys)``: the device's artifact cache. ``close()``: nothing left behind.

The runner's command line is the protocol; ``runners/`` knows nothing of transports.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from edgevid.errors import UserError
from edgevid.transports.connection import Connection

PROGRESS = re.compile(r"^\[runner\] (?P<stage>[\w-]+): (?P<n>\d+) iterations")
RECORD_MARK = "@@edgevid-record"
PROBE_MARK = "@@edgevid-probe"
PID_MARK = "@@edgevid-pid "
MISSING_MARK = "@@edgevid-missing "
#: what a device installs for a format's runner (the runner needs numpy + this, never torch)
DEVICE_INSTALL = {
    "onnx": "pip install numpy onnxruntime",
    "openvino": "pip install numpy openvino",
    "tflite": "pip install numpy ai-edge-litert (or tflite-runtime)",
    "tensorrt": "TensorRT ships with JetPack (python3-libnvinfer, trtexec)",
    "coreml": "pip install numpy coremltools (macOS)",
}


class DeviceUnreachable(UserError):
    """The device did not answer (nothing was measured): one line, exit 2."""


class HostKeyError(UserError):
    """The device's host key is unknown or changed: refused, with its fingerprint."""


class ConnectionLost(RuntimeError):
    """The connection dropped while a configuration ran: that one is recorded as an error."""


@dataclass
class RunSpec:
    """What one configuration needs on the device; becomes the runner's command line."""

    threads: Optional[int]
    policy: dict  # TimingPolicy.to_dict() (a TimingPolicy is converted)
    options: dict  # RunOptions fields (a RunOptions is converted)
    timeout_s: float = 1800.0
    device_name: Optional[str] = None
    stream: Optional[dict] = None  # StreamOptions fields: the stream scenario (None: timing loop)

    def __post_init__(self):
        # typed settings (TimingPolicy, RunOptions, StreamOptions) travel as objects up to here
        for name in ("policy", "options", "stream"):
            value = getattr(self, name)
            if hasattr(value, "to_dict"):
                setattr(self, name, value.to_dict())

    def runner_args(self, artifact: str, out: str, quiet: bool = False) -> list:
        import json

        args = [
            artifact,
            "--policy",
            json.dumps(self.policy, sort_keys=True, allow_nan=False),
            "--options",
            json.dumps(self.options, sort_keys=True, allow_nan=False),
            "--out",
            out,
        ]
        if self.stream:
            args += ["--stream", json.dumps(self.stream, sort_keys=True, allow_nan=False)]
        if self.threads:
            args += ["--threads", str(int(self.threads))]
        if self.device_name:
            args += ["--device-name", self.device_name]
        if quiet:
            args.append("--quiet")
        return args


@dataclass
class Streamed:
    rc: Optional[int]
    stdout: str
    tail: list = field(default_factory=list)  # last stderr lines that were not progress
    pid: Optional[int] = None  # the runner's pid on the device, once it said so


def stream(
    proc,
    timeout_s: float,
    log: Callable[[str], None] = lambda m: None,
    label: str = "",
    on_pid: Callable[[int], None] = lambda p: None,
) -> Streamed:
    """Read a started process to its end: stderr line by line (progress -> ``log``), stdout
    whole. Raises ``TimeoutError`` (the process still running) past ``timeout_s``."""
    out_chunks: list = []
    tail: deque = deque(maxlen=8)
    res = Streamed(None, "")

    def read_err():
        for raw in iter(proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            m = PROGRESS.match(line)
            if m:
                log(f"{label}{m['stage']}: {m['n']} iterations")
            elif line.startswith(PID_MARK) and line[len(PID_MARK) :].strip().isdigit():
                res.pid = int(line[len(PID_MARK) :])
                on_pid(res.pid)
            elif line.strip():
                tail.append(line.strip())

    def read_out():
        for chunk in iter(lambda: proc.stdout.read(65536), b""):
            out_chunks.append(chunk)

    threads = [
        threading.Thread(target=read_err, daemon=True),
        threading.Thread(target=read_out, daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        res.rc = proc.wait(timeout=timeout_s)
        from edgevid.procs import CANCEL

        if CANCEL.is_set():
            raise KeyboardInterrupt
    except Exception as e:  # subprocess.TimeoutExpired
        if type(e).__name__ == "TimeoutExpired":
            raise TimeoutError(f"did not finish within {timeout_s:.0f} s") from None
        raise
    for t in threads:
        t.join(timeout=5)
    res.stdout = b"".join(out_chunks).decode("utf-8", "replace")
    res.tail = list(tail)
    return res


def record_from(stdout: str) -> Optional[dict]:
    """The record the device printed after the last record mark (runtimes may print before)."""
    import json

    head, mark, body = stdout.rpartition(RECORD_MARK + "\n")
    if not mark:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def probe_from(stdout: str) -> Optional[dict]:
    import json

    _, mark, body = stdout.rpartition(PROBE_MARK + "\n")
    if not mark:
        return None
    try:
        return json.loads(body.strip().splitlines()[0])
    except (ValueError, IndexError):
        return None


def missing_on_device(entry, probe: dict, device: str) -> str:
    """Why ``entry`` (a profile FormatEntry) cannot run on a device that reported ``probe``;
    "" when it can. Reads the device's report only, never the host's packages."""
    from edgevid.backends import get_backend

    backend = get_backend(entry.format)
    modules = probe.get("modules") or {}
    programs = probe.get("programs") or {}
    python = probe.get("python")
    for need in backend.packages:
        alts = need.split("|")
        ok = any(
            (programs.get(a[4:]) if a.startswith("bin:") else (python and modules.get(a)))
            for a in alts
        )
        if not ok:
            names = " or ".join(a.replace("bin:", "the program ") for a in alts)
            where = "" if python else " (no Python on the device: only native tools run there)"
            hint = (
                f"; on the device: {DEVICE_INSTALL[backend.name]}"
                if python and backend.name in DEVICE_INSTALL
                else ""
            )
            return f"device {device!r} lacks {names} for format {backend.name!r}{where}{hint}"
    provider = (entry.options or {}).get("provider")
    if backend.name == "onnx" and provider:
        have = ((probe.get("runtimes") or {}).get("onnxruntime") or {}).get("providers") or []
        if provider not in have:
            return (
                f"device {device!r}: ONNX Runtime there has no {provider} (it has "
                f"{', '.join(have) or 'none'})"
            )
    if backend.name == "coreml" and not ((probe.get("runtimes") or {}).get("coreml") or {}).get(
        "can_predict"
    ):
        return f"device {device!r} is not macOS: Core ML predicts on macOS/iOS only"
    return ""


class Transport:
    """The interface; see the module docstring. ``name`` is the device profile's name."""

    kind = "base"

    def __init__(self, name: str, conn: Connection):
        self.name, self.conn = name, conn
        self._probe: Optional[dict] = None
        self._lock = threading.Lock()
        self.sent = {"bundle": 0, "artifact": 0, "bytes": 0}  # this session's transfers

    def check(self, quick: bool = False) -> dict:
        raise NotImplementedError

    def missing(self, entry) -> str:
        return missing_on_device(entry, self.check(quick=True), self.name)

    def prepare(self, artifact_dir: Path) -> dict:
        return {"bundle_sent": False, "artifact_sent": False, "bytes_sent": 0}

    def run(self, artifact_dir: Path, spec: RunSpec, log: Callable[[str], None]) -> dict:
        raise NotImplementedError

    def streams(self) -> str:
        """Why this transport cannot run the stream scenario ("" when it can: it runs edgevid's
        runner, which takes ``--stream``)."""
        return ""

    def cache(self) -> list:
        return []

    def prune(self, keys: Optional[list] = None) -> list:
        return []

    def close(self) -> None:
        pass
