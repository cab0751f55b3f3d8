"""`edgevid bench` on a remote device over SSH, for real: Debian's sshd on loopback (its own host
key, user key and config in a temp dir; see sshd_device.py) and a device Python that has only
numpy + ONNX Runtime. The host reaches it through an ssh_config alias, as a user's
~/.ssh/config would."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import default_sigint, run_cli
from sshd_device import free_port, start_device, stop_device

from edgevid.runners.record import REQUIRED_KEYS

FAST = {"min_iters": 5, "min_time_s": 0.2, "max_time_s": 1.0, "warmup_max": 5, "target_ci": 1.0}


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    dev = start_device(tmp_path_factory.mktemp("sshd"))
    yield dev
    stop_device(dev)


@pytest.fixture(scope="module")
def arts(tmp_path_factory):
    return tmp_path_factory.mktemp("artifacts")


def bench(profile, tmp, arts, *models, extra=()):
    return run_cli("bench", *(models or ["x3d-tiny"]), "--device", profile, "--json",
                   "--artifacts", arts, "--results", tmp / "results", *extra, cwd=tmp)


def test_device_python_has_no_torch_or_edgevid(device):
    for mod in ("torch", "edgevid"):
        p = subprocess.run([device.python, "-c", f"import {mod}"], capture_output=True,
                           cwd=device.root, env={"PATH": "/usr/bin:/bin"})
        assert p.returncode != 0


def test_remote_bench_record_and_cache(device, arts, tmp_path):
    prof = device.profile("cache", workdir=tmp_path / "dev")
    first = bench(prof, tmp_path, arts)
    assert first.returncode == 0, first.stderr
    (rec,) = json.loads(first.stdout)
    assert rec["status"] == "ok", rec["reason"]
    assert rec["numerics"]["ok"] and rec["summary"]["p50"] > 0 and rec["device"] == "cache"
    assert "torch" not in rec["env"]["runtimes"] and "onnxruntime" in rec["env"]["runtimes"]
    t = rec["transfer"]
    assert t["bundle_sent"] and t["artifact_sent"] and t["bytes_sent"] > 10_000

    second = bench(prof, tmp_path, arts)
    assert second.returncode == 0, second.stderr
    (rec2,) = json.loads(second.stdout)
    assert rec2["status"] == "ok"
    t2 = rec2["transfer"]
    assert (t2["bundle_sent"], t2["artifact_sent"], t2["bytes_sent"]) == (False, False, 0)
    assert t2["cache_key"] == t["cache_key"]
    assert [p.name for p in (tmp_path / "dev" / "artifacts").iterdir()] == [t["cache_key"]]
    assert not list((tmp_path / "dev" / "runs").iterdir())  # nothing left half-written

    # the same schema as a local run of the same artifact
    local = tmp_path / "local.yaml"
    local.write_text("name: here\nconnection: {type: local}\nformats:\n  - format: onnx\n"
                     "    provider: CPUExecutionProvider\nthreads: 1\ntiming:\n"
                     + "".join(f"  {k}: {v}\n" for k, v in FAST.items()))
    loc = bench(local, tmp_path, arts)
    (lrec,) = json.loads(loc.stdout)
    assert lrec["status"] == "ok"
    assert set(REQUIRED_KEYS) <= set(rec)
    assert set(rec) - {"transfer", "transport"} == set(lrec)
    assert lrec["artifact_sha256"] == rec["artifact_sha256"]

    listing = run_cli("devices", "cache", prof, "--json", cwd=tmp_path)
    rows = json.loads(listing.stdout)
    assert {r["kind"] for r in rows} == {"artifact", "bundle"}
    assert any(r["label"] == "x3d-tiny onnx fp32" for r in rows)
    pruned = run_cli("devices", "prune", prof, t["cache_key"], "--json", cwd=tmp_path)
    assert json.loads(pruned.stdout)["removed"] == [t["cache_key"]]
    assert not list((tmp_path / "dev" / "artifacts").iterdir())


def test_unknown_host_key_is_refused_with_fingerprint(device, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    prof = device.profile("stranger", known_hosts=empty, workdir=tmp_path / "dev")
    proc = run_cli("devices", "check", prof, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and device.fingerprint in lines[0]
    assert "edgevid devices trust stranger" in lines[0]
    assert empty.read_text() == ""  # nothing was trusted behind the user's back

    wrong = run_cli("devices", "trust", prof, "--fingerprint", "SHA256:" + "A" * 43, cwd=tmp_path)
    assert wrong.returncode == 2 and empty.read_text() == ""
    ok = run_cli("devices", "trust", prof, "--fingerprint", device.fingerprint, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert run_cli("devices", "check", prof, "--json", cwd=tmp_path).returncode == 0


def test_closed_port_fails_within_timeout_with_one_line(device, tmp_path, arts):
    prof = device.profile("closed", port=free_port(), connect_timeout_s=3)
    proc = bench(prof, tmp_path, arts)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "cannot reach device 'closed'" in err[0], proc.stderr
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").rglob("*.json"))


def _mux_pids() -> set:
    """OpenSSH connection masters ('ssh: <socket> [mux]'): edgevid must close its own."""
    import psutil

    return {p.pid for p in psutil.process_iter(["cmdline"])
            if "[mux]" in " ".join(p.info["cmdline"] or [])}


def _wait(cond, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return None


def test_connection_killed_mid_run_keeps_measured(device, tmp_path, arts):
    prof = device.profile("flaky", workdir=tmp_path / "dev", timing={
        "min_iters": 5, "min_time_s": 4.0, "max_time_s": 30.0, "warmup_max": 5})
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgevid.cli", "bench", "x3d-tiny", "vidtr-tiny", "--device",
         str(prof), "--json", "--artifacts", str(arts), "--results", str(tmp_path / "results")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait(lambda: list((tmp_path / "results").rglob("x3d-tiny*/*.json")) or
                     list((tmp_path / "results").rglob("*x3d-tiny*.json")), 300), "no 1st record"
        assert _wait(device.runner_pids, 300), "second configuration never started"
        time.sleep(0.5)
        for pid in device.session_pids():  # the server's session processes
            os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    first, second = json.loads(out)
    assert first["model"] == "x3d-tiny" and first["status"] == "ok"
    assert second["model"] == "vidtr-tiny" and second["status"] == "error"
    assert "lost" in second["reason"], second["reason"]
    assert _wait(lambda: not device.runner_pids(), 15), "runner left running on the device"


def test_shell_metacharacters_run_nothing_else(device, tmp_path, arts):
    src = next(Path(arts).rglob("x3d-tiny/onnx-fp32/model.onnx"), None)
    if src is None:
        bench(device.profile("prep", workdir=tmp_path / "dev"), tmp_path, arts)
        src = next(Path(arts).rglob("x3d-tiny/onnx-fp32/model.onnx"))
    odd = tmp_path / "a dir;touch PWN1" / "m$(touch PWN2)';touch PWN3;'`touch PWN4`.onnx"
    odd.parent.mkdir()
    odd.write_bytes(src.read_bytes())
    prof = device.profile("odd", workdir=tmp_path / "dev", formats=(
        "  - format: onnx\n    provider: CPUExecutionProvider\n"
        "    device: \"x';touch PWN5;'$(touch PWN6)\"\n"))
    proc = bench(prof, tmp_path, arts, str(odd))
    assert proc.returncode == 0, proc.stderr
    (rec,) = json.loads(proc.stdout)
    assert rec["status"] == "ok" and rec["numerics"]["ok"] is not False
    places = [tmp_path, tmp_path / "dev", Path.home(), Path("/"), odd.parent]
    places += list((tmp_path / "dev" / "bundles").iterdir())
    assert not [p for d in places for p in d.glob("PWN*")]

    bad = tmp_path / "bad.yaml"
    bad.write_text(prof.read_text().replace(f"workdir: {tmp_path / 'dev'}",
                                            "workdir: /tmp/x;touch PWN7"))
    proc = bench(bad, tmp_path, arts)
    assert proc.returncode == 2 and "connection.workdir" in proc.stderr
    assert not list(Path("/tmp").glob("x;touch*"))


def test_ctrl_c_leaves_no_runner_on_the_device(device, tmp_path, arts):
    prof = device.profile("slow", workdir=tmp_path / "dev", timing={
        "min_iters": 5, "min_time_s": 120.0, "max_time_s": 300.0, "warmup_max": 5})
    masters = _mux_pids()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgevid.cli", "bench", "x3d-tiny", "--device", str(prof),
         "--artifacts", str(arts), "--results", str(tmp_path / "results")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_sigint)
    try:
        assert _wait(device.runner_pids, 300), "the runner never started on the device"
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert _wait(lambda: not device.runner_pids(), 15), "runner left running on the device"
    assert not list((tmp_path / "dev" / "runs").glob("*"))
    assert _wait(lambda: not (_mux_pids() - masters), 15), "ssh connection left open on the host"


def test_trtexec_only_device_jetson_nano_path(device, tmp_path, arts):
    """The jetson-nano profile's path (``python: none``): the host drives trtexec over SSH.
    Stand-in: no GPU or TensorRT here, so ``trtexec`` on the device is test_tensorrt.py's
    stand-in script (its "engine" is the ONNX file run by ONNX Runtime, printing trtexec's
    lines); everything else -- sshd, the transfer, the quoting, --loadInputs of the reference
    input, --exportTimes/--exportOutput, the engine cache and the host-side numerics -- is real."""
    from test_tensorrt import FAKE_TRTEXEC

    fake = tmp_path / "bin" / "trtexec"
    fake.parent.mkdir()
    fake.write_text(FAKE_TRTEXEC.format(python=device.python))
    fake.chmod(0o755)
    prof = device.profile("nano", workdir=tmp_path / "dev", formats=(
        f"  - format: tensorrt\n    precision: fp16\n    trtexec: {fake}\n"))
    prof.write_text(prof.read_text().replace(f"python: {device.python}", "python: none"))
    check = run_cli("devices", "check", prof, "--json", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    probe = json.loads(check.stdout)
    assert probe["probe"]["python"] is None and probe["formats"][0]["runnable"]

    first = bench(prof, tmp_path, arts, extra=("--to", "tensorrt", "--precision", "fp16"))
    assert first.returncode == 0, first.stderr
    (rec,) = json.loads(first.stdout)
    assert rec["status"] == "ok", rec["reason"]
    assert rec["numerics"]["ok"] and "exportOutput" in rec["numerics"]["checked_on"]
    assert len(rec["samples_ms"]) == 16 and rec["gpu_summary"]["p50"] == 0.5  # warm-up dropped
    assert rec["build_ms"] == 1500 and rec["transfer"]["artifact_sent"]
    assert "--loadInputs=video:" in rec["trtexec_command"]
    engines = list((tmp_path / "dev" / "engines").glob("*.engine"))  # (+ the stand-in's .flags)
    assert len(engines) == 1

    second = bench(prof, tmp_path, arts, extra=("--to", "tensorrt", "--precision", "fp16"))
    (rec2,) = json.loads(second.stdout)
    assert rec2["status"] == "ok" and rec2.get("build_ms") is None  # the cached engine
    assert not rec2["transfer"]["artifact_sent"] and rec2["transfer"]["bytes_sent"] == 0
    assert not list((tmp_path / "dev" / "runs").iterdir())


def test_several_devices_at_once_and_host_override(device, tmp_path, arts):
    a = device.profile("left", workdir=tmp_path / "left")
    b = device.profile("right", workdir=tmp_path / "right")
    proc = bench(f"{a},{b}", tmp_path, arts)
    assert proc.returncode == 0, proc.stderr
    recs = json.loads(proc.stdout)
    assert [r["device"] for r in recs] == ["left", "right"]
    assert all(r["status"] == "ok" and r["numerics"]["ok"] for r in recs)
    assert "left" in proc.stderr and "right" in proc.stderr  # a progress line per device

    # --host user@addr:port instead of the profile's host (key and known_hosts from the profile)
    prof = device.profile("elsewhere", workdir=tmp_path / "else", extra_conn=(
        f"  key: {device.root / 'id_ed25519'}\n  known_hosts: {device.known_hosts}\n"))
    prof.write_text(prof.read_text().replace("host: edgevid-loop-elsewhere", "host: nowhere"))
    user = os.environ.get("USER") or "root"
    chk = run_cli("devices", "check", prof, "--host", f"{user}@127.0.0.1:{device.port}",
                  "--json", cwd=tmp_path)
    assert chk.returncode == 0, chk.stderr
    assert json.loads(chk.stdout)["probe"]["numpy"]


def test_stream_scenario_over_ssh(device, tmp_path, arts):
    """The stream options travel in the run's spec to the device's runner (`--stream JSON`)."""
    prof = device.profile("streamer", workdir=tmp_path / "dev")
    p = bench(prof, tmp_path, arts, "movinet-tiny-stream",
              extra=("--scenario", "stream", "--fps", "20", "--duration", "0.5"))
    assert p.returncode == 0, p.stderr
    (rec,) = json.loads(p.stdout)
    assert rec["status"] == "ok", rec["reason"]
    assert rec["transport"]["type"] == "ssh" and rec["scenario_label"] == "stream@20fps queue"
    s = rec["stream"]
    assert s["mode"] == "stateful stream" and s["fps_target"] == 20 and s["frames"] == 10
    assert "stream_20fps_queue" in Path(rec["result_path"]).name
