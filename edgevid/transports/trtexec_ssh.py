"""TensorRT on a device with no Python (a Jetson Nano on JetPack 4.6): the host drives trtexec.

The host sends the ONNX artifact and the manifest's reference input as raw binary files
(``inputs/<name>.bin``, what ``--loadInputs`` reads); on the device the engine is built once with
``trtexec --saveEngine`` into ``$W/engines/<key>-<precision>.engine`` (kept: a cache), then timed
with ``trtexec --loadEngine --loadInputs --exportTimes --exportOutput``. The host parses the log,
the per-query times (host latency H2D + compute + D2H as ``samples_ms``, GPU compute as
``gpu_samples_ms``) and the outputs, and checks numerics against the manifest's reference.
Commands come from ``runners/trtexec.py`` (the same builder the TensorRT runner uses).
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import numpy as np

from edgevid.runners.artifact import check_numerics, reference_inputs
from edgevid.runners.loop import summarize
from edgevid.runners.record import record_for_artifact
from edgevid.runners.trtexec import (
    bench_command,
    build_command,
    command_line,
    parse_log,
    parse_outputs,
    parse_times,
)
from edgevid.transports import remote_sh as sh
from edgevid.transports.base import PID_MARK, RECORD_MARK, ConnectionLost, DeviceUnreachable, stream
from edgevid.procs import spawn

TRTEXEC = "/usr/src/tensorrt/bin/trtexec"
MARKS = ("@@edgevid-log", "@@edgevid-times", "@@edgevid-output")


def input_files(manifest: dict) -> dict:
    """{relative path: raw bytes} of the reference input, as trtexec --loadInputs reads it."""
    return {
        f"inputs/{name}.bin": np.ascontiguousarray(arr).tobytes()
        for name, arr in reference_inputs(manifest).items()
    }


def _quote(args: list, names: dict) -> str:
    out = []
    for a in args:
        a = str(a)
        # always single-quoted, so that a placeholder can close, expand and reopen the quote
        word = "'" + a.replace("'", "'\"'\"'") + "'" if any(p in a for p in names) else sh.q(a)
        for ph, var in names.items():
            word = word.replace(ph, "'\"" + var + "\"'")
        out.append(word)
    return " ".join(out)


def commands(manifest: dict, key: str, trtexec: str, policy: dict) -> tuple:
    """(build command, bench command) as argv lists with @@A / @@E / @@R placeholders."""
    build = dict(manifest.get("build") or {})
    onnx = f"@@A/{manifest['file']}"
    b = build_command(onnx, "@@E.tmp", build, trtexec=trtexec)
    inputs = {name: f"@@A/inputs/{name}.bin" for name in (i["name"] for i in manifest["inputs"])}
    t = bench_command(
        "@@E",
        trtexec=trtexec,
        warmup_ms=int(1000 * float(policy.get("warmup_max_s", 0.5))),
        duration_s=float(policy.get("min_time_s", 3.0)),
        iterations=int(policy.get("min_iters", 10)),
        inputs=inputs,
        export_times="@@R/times.json",
        export_output="@@R/output.json",
    )
    return b, t


def script(workdir: str, key: str, precision: str, run_id: str, build: list, bench: list) -> str:
    names = {"@@A": "$A", "@@E": "$E", "@@R": "$R"}
    rid = sh.key(run_id)
    return (
        sh.header(workdir)
        + f"""A="$W/artifacts/{sh.key(key)}"; R="$W/runs/{rid}"
E="$W/engines/{sh.key(key)}-{sh.q(precision)}.engine"
[ -f "$A/artifact.json" ] || {{ echo {sh.q("@@edgevid-missing artifact")} >&2
  exit {sh.MISSING_RC}; }}
mkdir -p "$W/engines" "$R" && touch "$A/.edgevid-label"
exec 3<&0
( if [ ! -f "$E" ]; then {_quote(build, names)} && mv "$E.tmp" "$E"; fi && \\
  {_quote(bench, names)} ) >"$R/log.txt" 2>&1 </dev/null 3<&- &
pid=$!
echo "{PID_MARK}$pid" >&2
( cat <&3 >/dev/null
  command -v pkill >/dev/null 2>&1 && pkill -TERM -P "$pid"
  kill -TERM "$pid"; sleep 2; kill -KILL "$pid"; rm -rf "$R" "$E.tmp" ) >/dev/null 2>&1 &
wd=$!
exec 3<&-
wait "$pid"; rc=$?
kill "$wd" 2>/dev/null
echo {MARKS[0]}; cat "$R/log.txt" 2>/dev/null; echo
echo {MARKS[1]}; cat "$R/times.json" 2>/dev/null; echo
echo {MARKS[2]}; cat "$R/output.json" 2>/dev/null; echo
echo {RECORD_MARK}
rm -rf "$R" "$E.tmp"
exit $rc
"""
    )


def split(stdout: str) -> dict:
    parts: dict = {}
    cur = None
    buf: list = []
    for line in stdout.splitlines():
        if line.strip() in (*MARKS, RECORD_MARK):
            if cur:
                parts[cur] = "\n".join(buf)
            cur, buf = line.strip(), []
        elif cur:
            buf.append(line)
    return {
        "log": parts.get(MARKS[0], ""),
        "times": parts.get(MARKS[1], ""),
        "output": parts.get(MARKS[2], ""),
    }


def to_record(manifest: dict, parts: dict, spec, command: str) -> dict:
    """The bench record from what trtexec wrote; every number from trtexec's own files."""
    log = parse_log(parts["log"])
    rec = record_for_artifact(
        manifest,
        spec.threads,
        status="error",
        runtime="trtexec",
        timing_policy=spec.policy,
        timing_source="trtexec --exportTimes",
        trtexec_command=command,
        trtexec=log,
    )
    if not parts["times"].strip() or not log.get("passed"):
        tail = " | ".join(ln for ln in parts["log"].splitlines()[-4:] if ln.strip())
        rec["reason"] = f"trtexec failed on the device: {tail}"[:2000]
        return rec
    times = parse_times(parts["times"], log.get("warmup_ms"))
    lat, gpu = times["latency_ms"], times["gpu_ms"]
    rec.update(
        status="ok",
        samples_ms=lat,
        summary=summarize(lat),
        gpu_samples_ms=gpu,
        gpu_summary=summarize(gpu),
        warmup_iters=log.get("warmup_queries"),
        load_ms=None if log.get("deserialize_s") is None else log["deserialize_s"] * 1e3,
        build_ms=None if log.get("build_s") is None else log["build_s"] * 1e3,
        stop_reason="trtexec --duration",
    )
    if parts["output"].strip():
        outs = parse_outputs(parts["output"])
        name = manifest["outputs"][0]["name"]
        dims, values = outs.get(name) or next(iter(outs.values()))
        rec["numerics"] = check_numerics(manifest, [np.asarray(values).reshape(dims)])
        rec["numerics"]["checked_on"] = "host, from trtexec --exportOutput on the reference input"
    else:
        rec["numerics"] = {
            "max_abs_diff": None,
            "top1_agree": None,
            "ok": None,
            "reason": "trtexec wrote no outputs",
        }
    rec["env"] = {
        "runtimes": {"tensorrt": log.get("tensorrt_version")},
        "gpu": log.get("device"),
        "python": None,
    }
    return rec


def run(transport, artifact_dir: Path, spec, log) -> dict:
    """Run one configuration on an ssh transport whose device has no Python."""
    manifest = json.loads((artifact_dir / "artifact.json").read_text())
    trtexec = spec.options.get("trtexec") or TRTEXEC
    try:
        transfer = transport.prepare(artifact_dir, extra=input_files(manifest))
    except DeviceUnreachable as e:
        raise ConnectionLost(str(e)) from None
    b, t = commands(manifest, transfer["cache_key"], trtexec, spec.policy)
    run_id = secrets.token_hex(8)
    text = script(
        transport.conn.workdir, transfer["cache_key"], manifest["precision"], run_id, b, t
    )
    proc = spawn(transport.ssh_args() + [sh.wrap(text)], stdin=subprocess.PIPE)
    pid: list = []
    try:
        res = stream(proc, spec.timeout_s, log, on_pid=pid.append)
    except BaseException:
        transport.stop_run(proc, pid, run_id)
        raise
    finally:
        if proc.stdin:
            proc.stdin.close()
    if RECORD_MARK not in res.stdout:
        if res.rc == 255:
            raise ConnectionLost(
                f"connection to device {transport.name!r} lost during the run: "
                f"{res.tail[-1] if res.tail else 'ssh exited with 255'}"
            )
        raise RuntimeError(
            f"trtexec run failed on {transport.name} (exit {res.rc}): " + " | ".join(res.tail[-4:])
        )
    rec = to_record(manifest, split(res.stdout), spec, command_line(t))
    rec["env"].update({k: transport.probed().get(k) for k in ("arch", "os", "kernel", "hostname")})
    rec["transfer"] = transfer
    rec["transport"] = {"type": "ssh", "target": transport.conn.describe(), "python": None}
    return rec
