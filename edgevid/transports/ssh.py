"""The ``ssh`` transport, with the system OpenSSH client (``ssh``).

Why OpenSSH and not a Python library: it is what the user already configured -- host aliases in
~/.ssh/config, their agent, ProxyJump hosts, known_hosts -- and it honours all of it natively.
Options edgevid always sets: ``BatchMode=yes`` (never prompt), ``StrictHostKeyChecking=yes``
(unknown keys are refused; ``edgevid devices trust NAME`` adds one after showing its
fingerprint), ``ConnectTimeout`` from the profile, and keep-alives so a dead link is noticed.

Every remote command is a POSIX-sh script from ``remote_sh`` with each value quoted; files go as
tar streams over the same connection and are unpacked into a temp dir that is then renamed.

One connection per device for the whole run: OpenSSH's own multiplexing (``ControlMaster=auto``,
a control socket in a private temp dir), so a configuration costs a new session, not a new
handshake; the master is closed (``ssh -O exit``) when edgevid exits. ``EDGEVID_SSH_MULTIPLEX=0``
turns it off.
"""

from __future__ import annotations

import atexit
import math
import os
import shutil
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

from edgevid.transports import remote_sh as sh
from edgevid.transports import ssh_keys
from edgevid.transports.base import (
    MISSING_MARK,
    ConnectionLost,
    DeviceUnreachable,
    HostKeyError,
    RunSpec,
    Transport,
    probe_from,
    record_from,
    stream,
)
from edgevid.transports.bundle import artifact_key, artifact_tar, bundle_bytes, bundle_digest
from edgevid.procs import spawn, stop

UNKNOWN_KEY = ("Host key verification failed", "host key is known", "No matching host key")
CHANGED_KEY = "REMOTE HOST IDENTIFICATION HAS CHANGED"


def _expand(p: str) -> str:
    return os.path.expanduser(p)


class SSHTransport(Transport):
    kind = "ssh"

    def __init__(self, name, conn):
        super().__init__(name, conn)
        self.bundle = bundle_digest()
        self._have: set = set()  # artifact keys known to be in the device's cache
        self._known = False  # whether _have reflects a probe of the device
        self._have_bundle = False
        self._unreported_bundle = 0
        self._control: Optional[str] = None  # the control socket's folder, once made
        if os.environ.get("EDGEVID_SSH_MULTIPLEX", "1") != "0":
            self._control = tempfile.mkdtemp(prefix="evssh-")
            atexit.register(self.close)

    # ------------------------------------------------------------------ ssh itself

    def ssh_args(self, strict: str = "yes", known_hosts: Optional[str] = None) -> list:
        c = self.conn
        args = [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            f"StrictHostKeyChecking={strict}",
            "-o",
            f"ConnectTimeout={max(1, math.ceil(c.connect_timeout_s))}",
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=3",
            "-o",
            "LogLevel=ERROR",
        ]
        if c.ssh_config:
            args[1:1] = ["-F", _expand(c.ssh_config)]
        kh = known_hosts or (_expand(c.known_hosts) if c.known_hosts else None)
        if kh:
            args += ["-o", f"UserKnownHostsFile={kh}"]
        if known_hosts:
            args += ["-o", "GlobalKnownHostsFile=/dev/null"]
        if c.port:
            args += ["-p", str(c.port)]
        if c.key:
            args += ["-i", _expand(c.key), "-o", "IdentitiesOnly=yes"]
        if c.user:
            args += ["-l", c.user]
        if self._control and not known_hosts:
            args += [
                "-o",
                "ControlMaster=auto",
                "-o",
                f"ControlPath={self._control}/%C",
                "-o",
                "ControlPersist=120",
            ]
        else:
            args += ["-o", "ControlMaster=no", "-o", "ControlPath=none"]
        return args + ["--", c.host]

    def close(self) -> None:
        """Close the shared connection (its master process) and its socket folder."""
        control = self._control
        if not control:
            return
        args = self.ssh_args()
        self._control = None
        try:
            subprocess.run(
                args[:-2] + ["-O", "exit"] + args[-2:],
                capture_output=True,
                timeout=10,
                stdin=subprocess.DEVNULL,
            )
        except (subprocess.TimeoutExpired, OSError):
            pass
        shutil.rmtree(control, ignore_errors=True)

    def _timeout(self, nbytes: int = 0) -> float:
        return self.conn.connect_timeout_s + 60 + nbytes / 2e6

    def _sh(self, script: str, data: Optional[bytes] = None, timeout: Optional[float] = None):
        cmd = self.ssh_args() + [sh.wrap(script)]
        try:
            proc = subprocess.run(
                cmd,
                input=data or b"",
                capture_output=True,
                timeout=timeout or self._timeout(len(data or b"")),
            )
        except subprocess.TimeoutExpired:
            raise DeviceUnreachable(
                f"device {self.name!r} ({self.conn.describe()}) did not "
                f"answer within {timeout or self._timeout():.0f} s"
            ) from None
        if proc.returncode == 255:
            self._fail(proc.stderr.decode("utf-8", "replace"))
        return proc

    def _fail(self, stderr: str):
        lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
        if any(CHANGED_KEY in ln for ln in lines):
            fp = self._fingerprints_or_reason()
            raise HostKeyError(
                f"the host key of device {self.name!r} ({self.conn.describe()}) has CHANGED "
                f"(now {fp}): refused. If the device was reinstalled, remove the old key "
                f"(ssh-keygen -R HOST) and run `edgevid devices trust {self.name}`"
            )
        if any(any(m in ln for m in UNKNOWN_KEY) for ln in lines):
            fp = self._fingerprints_or_reason()
            raise HostKeyError(
                f"the host key of device {self.name!r} ({self.conn.describe()}) is not known: "
                f"{fp}. Check it is the device's (there: ssh-keygen -lf "
                f"/etc/ssh/ssh_host_ed25519_key.pub), then run `edgevid devices trust "
                f"{self.name}`"
            )
        last = lines[-1] if lines else "ssh exited with code 255"
        raise DeviceUnreachable(
            f"cannot reach device {self.name!r} ({self.conn.describe()}, "
            f"timeout {self.conn.connect_timeout_s:g} s): {last}"
        )

    # ------------------------------------------------------------------ host keys

    def host_key(self) -> tuple:
        """(known_hosts lines, fingerprint lines) of the key the device presents now."""
        return ssh_keys.host_key(self.ssh_args, self._timeout())

    def _fingerprints_or_reason(self) -> str:
        return ssh_keys.describe(self.host_key()[1])

    def trust(self, lines: list) -> Path:
        return ssh_keys.trust(ssh_keys.known_hosts_file(self.conn, self.ssh_args), lines)

    # ------------------------------------------------------------------ the seam

    def check(self, quick: bool = False) -> dict:
        with self._lock:
            if self._probe is not None and quick:
                return self._probe
            if self.conn.python is None:
                from edgevid.transports import shprobe

                proc = self._sh(shprobe.script(self.conn.workdir))
                probe = shprobe.parse(proc.stdout.decode("utf-8", "replace"), self.conn.workdir)
            else:
                probe = self._python_probe(quick)
            self._probe = probe
            cache = probe.get("cache") or {}
            self._have = set(cache.get("artifacts") or [])
            self._known = True
            self._have_bundle = self.bundle in (cache.get("bundles") or [])
            return probe

    def streams(self) -> str:
        if self.conn.python is None:
            return (
                "the stream scenario needs edgevid's runner (python on the device); "
                "this ssh device runs trtexec"
            )
        return ""

    def probed(self) -> dict:
        """What the last device check found ({} before the first): arch, os, kernel, ..."""
        return dict(self._probe or {})

    def missing(self, entry) -> str:
        why = super().missing(entry)
        exe = (entry.options or {}).get("trtexec")
        if why and self.conn.python is None and entry.format == "tensorrt" and exe:
            ok = self._sh(f"test -x {sh.path(str(exe))}").returncode == 0
            return "" if ok else f"device {self.name!r} has no trtexec at {exe}"
        return why

    def _py(self) -> str:
        if self.conn.python is None:
            raise RuntimeError(f"device {self.name!r} has no Python (python: none)")
        return self.conn.python

    def _python_probe(self, quick: bool) -> dict:
        for attempt in range(2):
            proc = self._sh(sh.probe(self.conn.workdir, self._py(), self.bundle, quick))
            out = proc.stdout.decode("utf-8", "replace")
            probe = probe_from(out)
            if probe is not None:
                return probe
            if MISSING_MARK + "python" in out:
                raise DeviceUnreachable(
                    f"device {self.name!r} has no Python at {self.conn.python!r}: set "
                    f"connection.python in its profile (or python: none for native tools only)"
                )
            if MISSING_MARK + "bundle" in out and attempt == 0:
                self._send_bundle()
                continue
            err = " | ".join(proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:])
            raise DeviceUnreachable(
                f"device {self.name!r}: the probe failed (exit "
                f"{proc.returncode}): {err or out.strip()[-300:]}"
            )
        raise DeviceUnreachable(f"device {self.name!r}: the probe failed")

    def _send_bundle(self) -> int:
        data = bundle_bytes()
        proc = self._sh(sh.receive(self.conn.workdir, "bundles", self.bundle, gzip=True), data)
        if proc.returncode != 0:
            raise RuntimeError(
                "could not install the runner bundle on the device: "
                + proc.stderr.decode("utf-8", "replace").strip()[-300:]
            )
        self.sent["bundle"] += 1
        self.sent["bytes"] += len(data)
        self._have_bundle = True
        self._unreported_bundle = len(data)  # the next record says it was sent
        return len(data)

    def prepare(self, artifact_dir: Path, extra: Optional[dict] = None) -> dict:
        t0 = time.perf_counter()
        if not self._known:
            self.check(quick=True)
        out: dict = {"bundle_sent": False, "artifact_sent": False, "bytes_sent": 0}
        if self.conn.python is not None and not self._have_bundle:
            self._send_bundle()
        if self._unreported_bundle:
            out.update(bundle_sent=True, bytes_sent=self._unreported_bundle)
            self._unreported_bundle = 0
        k = artifact_key(artifact_dir)
        if k not in self._have:
            data = artifact_tar(artifact_dir, extra)
            proc = self._sh(sh.receive(self.conn.workdir, "artifacts", k, gzip=False), data)
            if proc.returncode != 0:
                raise RuntimeError(
                    "could not send the artifact to the device: "
                    + proc.stderr.decode("utf-8", "replace").strip()[-300:]
                )
            self._have.add(k)
            self.sent["artifact"] += 1
            self.sent["bytes"] += len(data)
            out.update(artifact_sent=True, bytes_sent=out["bytes_sent"] + len(data))
        out.update(cache_key=k, setup_s=round(time.perf_counter() - t0, 4))
        return out

    def run(self, artifact_dir: Path, spec: RunSpec, log: Callable[[str], None]) -> dict:
        if self.conn.python is None:
            from edgevid.transports import trtexec_ssh

            return trtexec_ssh.run(self, Path(artifact_dir), spec, log)
        for attempt in range(2):
            try:
                transfer = self.prepare(artifact_dir)
            except DeviceUnreachable as e:
                raise ConnectionLost(str(e)) from None
            record = self._run_once(transfer["cache_key"], spec, log)
            if record is not None:
                record["transfer"] = transfer
                record["transport"] = {"type": "ssh", "target": self.conn.describe()}
                return record
            self._known, self._probe = False, None  # the cache changed under us: look again
        raise RuntimeError("the device's cache lost the artifact twice in a row")

    def _run_once(self, key: str, spec: RunSpec, log) -> Optional[dict]:
        run_id = secrets.token_hex(8)
        args = spec.runner_args("@@A", "@@OUT")
        script = sh.run(self.conn.workdir, self._py(), self.bundle, key, run_id, args)
        proc = spawn(self.ssh_args() + [sh.wrap(script)], stdin=subprocess.PIPE)
        pid: list = []
        try:
            res = stream(proc, spec.timeout_s, log, on_pid=pid.append)
        except TimeoutError:
            self.stop_run(proc, pid, run_id)
            raise RuntimeError(
                f"runner did not finish within {spec.timeout_s:.0f} s (stopped on the device)"
            ) from None
        except BaseException:  # Ctrl-C: stop the runner on the device too
            self.stop_run(proc, pid, run_id)
            raise
        finally:
            if proc.stdin:
                proc.stdin.close()
        record = record_from(res.stdout)
        if record is not None:
            return record
        tail = " | ".join(res.tail[-4:])
        if res.rc == sh.MISSING_RC and MISSING_MARK in tail:
            return None
        if res.rc == 255:
            if not pid:
                try:
                    self._fail("\n".join(res.tail))
                except DeviceUnreachable as e:
                    raise ConnectionLost(str(e)) from None
            raise ConnectionLost(
                f"connection to device {self.name!r} lost during the run: "
                f"{res.tail[-1] if res.tail else 'ssh exited with 255'}"
            )
        raise RuntimeError(f"runner exited with code {res.rc} on {self.name}: {tail}"[:2000])

    def stop_run(self, proc, pid: list, run_id: str) -> None:
        """Close our side (the device's watchdog then stops the runner) and, to be sure, stop
        that pid over a fresh connection."""
        stop(proc, grace_s=2)
        if pid:
            try:
                subprocess.run(
                    self.ssh_args() + [sh.wrap(sh.kill(pid[0], self.conn.workdir, run_id))],
                    capture_output=True,
                    timeout=self.conn.connect_timeout_s + 5,
                    stdin=subprocess.DEVNULL,
                )
            except (subprocess.TimeoutExpired, OSError):
                pass

    def cache(self) -> list:
        proc = self._sh(sh.cache_list(self.conn.workdir))
        rows = []
        for line in proc.stdout.decode("utf-8", "replace").splitlines():
            parts = line.split(" ", 4)
            if len(parts) >= 4 and parts[0] in ("artifact", "bundle"):
                rows.append(
                    {
                        "kind": parts[0],
                        "key": parts[1],
                        "kb": int(parts[2] or 0),
                        "last_used": int(parts[3] or 0),
                        "label": parts[4] if len(parts) > 4 else "",
                        "current": parts[0] == "bundle" and parts[1] == self.bundle,
                    }
                )
        return rows

    def prune(self, keys: Optional[list] = None) -> list:
        rows = self.cache()
        chosen = [
            r
            for r in rows
            if (keys is None and not r["current"]) or (keys is not None and r["key"] in keys)
        ]
        if not chosen:
            return []
        arts = [r["key"] for r in chosen if r["kind"] == "artifact"]
        bundles = [r["key"] for r in chosen if r["kind"] == "bundle"]
        proc = self._sh(sh.prune(self.conn.workdir, arts, bundles))
        self._known, self._probe = False, None
        return [line.split()[1] for line in proc.stdout.decode().splitlines() if " " in line]
