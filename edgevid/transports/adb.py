"""The ``adb`` transport: an Android phone, with LiteRT's ``benchmark_model`` binary.

No Python on the phone: the host pushes the .tflite artifact (once per cache key) and the
benchmark_model binary from the profile (``connection.benchmark_model``, a path on the host; once
per sha256) into the work dir (``/data/local/tmp/edgevid``), runs it with the format entry's
threads and delegate (``device: xnnpack | gpu | nnapi``) and the timing policy's counts, and
parses its output (``edgevid/tools/benchmark_model.py``) into the record. Numerics cannot be
checked on the phone this way: the same .tflite file is checked on the host's LiteRT, and the
record says so. Every remote argument is quoted; the device's shell is ``sh -c``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Optional

from edgevid.tools import benchmark_model as bm
from edgevid.transports import remote_sh as sh
from edgevid.transports.base import ConnectionLost, DeviceUnreachable, RunSpec, Transport, stream
from edgevid.transports.bundle import artifact_key, artifact_label
from edgevid.procs import spawn, stop
from edgevid.transports.shprobe import parse as parse_probe
from edgevid.transports.shprobe import script as probe_script


class ADBTransport(Transport):
    kind = "adb"

    def adb_args(self) -> list:
        args = [os.path.expanduser(self.conn.adb)]
        if self.conn.serial:
            args += ["-s", self.conn.serial]
        return args

    def shell_args(self, script: str) -> list:
        """``adb shell`` takes one string for the device's shell: ``sh -c '<script>'``."""
        return self.adb_args() + ["shell", "sh -c " + sh.q(script)]

    def push_args(self, local: Path, remote: str) -> list:
        return self.adb_args() + ["push", str(local), remote]

    def _run(self, args: list, timeout: Optional[float] = None):
        if shutil.which(args[0]) is None and not os.access(args[0], os.X_OK):
            raise DeviceUnreachable(
                f"device {self.name!r}: adb not found ({args[0]}); install "
                "the Android platform tools (Debian: apt-get install adb)"
            )
        try:
            proc = subprocess.run(
                args,
                capture_output=True,
                text=True,
                timeout=timeout or self.conn.connect_timeout_s + 120,
            )
        except subprocess.TimeoutExpired:
            raise DeviceUnreachable(
                f"device {self.name!r} ({self.conn.describe()}) did not answer"
            ) from None
        return proc

    def _remote_path(self, p: str) -> str:
        return p.replace("~", "/data/local/tmp")

    def check(self, quick: bool = False) -> dict:
        with self._lock:
            if self._probe is not None and quick:
                return self._probe
            state = self._run(self.adb_args() + ["get-state"], self.conn.connect_timeout_s + 5)
            if state.returncode != 0 or "device" not in state.stdout:
                last = (state.stderr.strip().splitlines() or ["no device"])[-1]
                raise DeviceUnreachable(
                    f"cannot reach device {self.name!r} ({self.conn.describe()}): {last}"
                )
            proc = self._run(self.shell_args(probe_script(self.conn.workdir)))
            self._probe = parse_probe(proc.stdout, self.conn.workdir)
            return self._probe

    def streams(self) -> str:
        return "the stream scenario needs edgevid's runner; adb devices run benchmark_model"

    def missing(self, entry) -> str:
        if entry.format != "tflite":
            return (
                f"device {self.name!r} (adb) runs .tflite through LiteRT's benchmark_model "
                f"only, not {entry.format!r}"
            )
        binary = self.conn.benchmark_model
        if not binary or not Path(os.path.expanduser(binary)).is_file():
            return (
                f"device {self.name!r}: no benchmark_model binary on the host (set "
                f"connection.benchmark_model to the android_aarch64 build's path; got "
                f"{binary!r})"
            )
        self.check(quick=True)
        return ""

    def prepare(self, artifact_dir: Path, extra: Optional[dict] = None) -> dict:
        w = self._remote_path(self.conn.workdir)
        k = artifact_key(artifact_dir)
        binary = Path(os.path.expanduser(self.conn.benchmark_model or ""))
        bsha = hashlib.sha256(binary.read_bytes()).hexdigest()[:16]
        have = self._run(
            self.shell_args(
                f"test -x {sh.q(w)}/bin/{bsha}/benchmark_model && echo bin; "
                f"test -f {sh.q(w)}/artifacts/{sh.key(k)}/artifact.json && echo art"
            )
        )
        out: dict = {
            "bundle_sent": False,
            "artifact_sent": False,
            "bytes_sent": 0,
            "cache_key": k,
            "binary": f"{w}/bin/{bsha}/benchmark_model",
        }
        if "bin" not in have.stdout.split():
            self._run(self.shell_args(f"mkdir -p {sh.q(w)}/bin/{bsha}"))
            self._push(binary, f"{w}/bin/{bsha}/benchmark_model")
            self._run(self.shell_args(f"chmod 755 {sh.q(w)}/bin/{bsha}/benchmark_model"))
            out.update(bundle_sent=True, bytes_sent=binary.stat().st_size)
        if "art" not in have.stdout.split():
            self._run(self.shell_args(f"mkdir -p {sh.q(w)}/artifacts/.tmp-{k}"))
            for f in sorted(Path(artifact_dir).iterdir()):
                if f.is_file() and not f.name.startswith("."):
                    self._push(f, f"{w}/artifacts/.tmp-{k}/{f.name}")
                    out["bytes_sent"] += f.stat().st_size
            self._run(
                self.shell_args(
                    f"echo {sh.q(artifact_label(artifact_dir))} > {sh.q(w)}/artifacts/.tmp-{k}/"
                    f".edgevid-label && mv {sh.q(w)}/artifacts/.tmp-{k} {sh.q(w)}/artifacts/{k}"
                )
            )
            out["artifact_sent"] = True
        return out

    def _push(self, local: Path, remote: str) -> None:
        proc = self._run(self.push_args(local, remote), 600)
        if proc.returncode != 0:
            raise ConnectionLost(f"adb push to {self.name} failed: {proc.stderr.strip()[-300:]}")
        self.sent["bytes"] += local.stat().st_size

    def command(self, transfer: dict, manifest: dict, spec: RunSpec) -> list:
        graph = (
            f"{self._remote_path(self.conn.workdir)}/artifacts/{transfer['cache_key']}/"
            f"{manifest['file']}"
        )
        return bm.command(
            transfer["binary"], graph, spec.threads, spec.options.get("device"), spec.policy
        )

    def run(self, artifact_dir: Path, spec: RunSpec, log: Callable[[str], None]) -> dict:
        manifest = json.loads((Path(artifact_dir) / "artifact.json").read_text())
        try:
            transfer = self.prepare(artifact_dir)
        except DeviceUnreachable as e:
            raise ConnectionLost(str(e)) from None
        cmd = self.command(transfer, manifest, spec)
        proc = spawn(self.shell_args(" ".join(sh.q(c) for c in cmd) + " 2>&1"))
        try:
            res = stream(proc, spec.timeout_s, log)
        except BaseException:
            stop(proc)
            self._run(self.shell_args(f"pkill -f {sh.q(transfer['binary'])}"), 15)
            raise
        return record_from_output(
            res.stdout, manifest, artifact_dir, spec, cmd, res.rc, transfer, self.conn.describe()
        )


def host_numerics(artifact_dir: Path, manifest: dict) -> dict:
    """The same .tflite file on the host's LiteRT: the phone's run cannot check its outputs."""
    try:
        from edgevid.runners import litert
        from edgevid.runners.artifact import check_numerics, reference_inputs
        from edgevid.runners.run import RunOptions

        session = litert.load(artifact_dir, manifest, RunOptions(threads=1))
        out = check_numerics(manifest, session.infer(reference_inputs(manifest)))
        out["checked_on"] = "host LiteRT, same .tflite file (benchmark_model prints no outputs)"
        return out
    except Exception as e:  # noqa: BLE001 - no LiteRT on the host: say so
        return {
            "max_abs_diff": None,
            "top1_agree": None,
            "ok": None,
            "reason": f"not checked: benchmark_model prints no outputs and the host's "
            f"LiteRT could not run the file ({type(e).__name__}: {e})"[:500],
        }


def record_from_output(
    text: str,
    manifest: dict,
    artifact_dir: Path,
    spec: RunSpec,
    cmd: list,
    rc,
    transfer: dict,
    target: str,
) -> dict:
    from edgevid.runners.record import record_for_artifact

    parsed = bm.parse(text)
    got = bm.fields(parsed)
    status = got.pop("status") if rc == 0 else "error"
    rec = record_for_artifact(
        manifest,
        spec.threads,
        status=status,
        runtime="benchmark_model",
        timing_policy=spec.policy,
        timing_source="benchmark_model",
        tool_command=" ".join(sh.q(c) for c in cmd),
        benchmark_model=parsed,
        summary=got.pop("summary"),
        transfer=transfer,
        transport={"type": "adb", "target": target},
    )
    if status != "ok":
        tail = " | ".join(ln.strip() for ln in text.splitlines()[-4:] if ln.strip())
        rec["reason"] = f"benchmark_model exited with {rc}: {tail}"[:2000]
    rec.update({k: v for k, v in got.items() if v is not None})
    rec["numerics"] = host_numerics(Path(artifact_dir), manifest)
    rec["env"] = {"runtimes": {"benchmark_model": None}, "python": None}
    return rec
