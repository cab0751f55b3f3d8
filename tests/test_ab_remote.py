"""`edgevid ab` on a remote device over SSH, for real: the loopback sshd of sshd_device.py, a
device Python with numpy + ONNX Runtime only, both sides run there through one relay
(runners/serve_pair.py) behind one SSH connection."""
import json
import re
import time

import pytest
from conftest import run_cli
from sshd_device import start_device, stop_device
from test_ab import wrong_artifact

AB_FAST = ["--threads", "1", "--max-time", "8", "--block-s", "0.05", "--rounds", "3",
           "--min-trials", "2", "--json"]  # fmt: skip


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    dev = start_device(tmp_path_factory.mktemp("sshd"))
    yield dev
    stop_device(dev)


def _serve_pids(dev) -> list:
    """The relay and serve processes on the 'device' (its venv's python, runners.serve*)."""
    import psutil

    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and cmd[0] == dev.python and any(c.startswith("runners.serve") for c in cmd):
            out.append(p.pid)
    return out


def _logins(dev) -> int:
    return len(re.findall(r"Accepted publickey", (dev.root / "sshd.log").read_text()))


def _gone(dev, timeout=15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _serve_pids(dev):
            return True
        time.sleep(0.2)
    return False


def test_remote_ab_end_to_end(device, tmp_path):
    prof = device.profile("abdev", workdir=tmp_path / "dev")
    arts = tmp_path / "arts"
    args = ["ab", "x3d-tiny", "x3d-tiny@3x4x32x40", "--to", "onnx", "--device", prof,
            "--artifacts", arts, *AB_FAST]  # fmt: skip
    before = _logins(device)
    p = run_cli(*args, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert _logins(device) - before == 1  # probe, transfers, relay and every trial: one login
    out = json.loads(p.stdout)
    assert out["verdict"] in ("slower", "faster", "same", "inconclusive")
    assert out["rounds"] >= 3 and out["base_p50"] > 0 and out["new_p50"] > 0
    pids = [q for t in out["pids"] for q in t.values()]
    assert len(set(pids)) == len(pids) == 2 * out["trials"]  # fresh processes per trial
    rec = out["record"]
    assert rec["status"] == "ok" and rec["numerics"]["ok"] is True
    tr = rec["ab"]["transport"]
    assert tr["type"] == "ssh" and set(tr["transfer"]) == {"base", "new"}
    keys = {s: t["cache_key"] for s, t in tr["transfer"].items()}
    assert all(t["artifact_sent"] for t in tr["transfer"].values())
    assert sorted(d.name for d in (tmp_path / "dev" / "artifacts").iterdir()) == sorted(
        keys.values())
    assert rec["ab"]["sides"]["base"]["python"] == device.python
    assert _gone(device), "relay or serve process left running on the device"

    # again: both artifacts come from the device's cache, nothing is sent
    p = run_cli(*args, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    tr2 = json.loads(p.stdout)["record"]["ab"]["transport"]["transfer"]
    assert not any(t["artifact_sent"] or t["bundle_sent"] for t in tr2.values())
    assert {s: t["cache_key"] for s, t in tr2.items()} == keys
    assert _gone(device)


def test_remote_ab_side_with_failing_numerics(device, tmp_path):
    """A side made deliberately wrong (see test_ab.wrong_artifact) refuses the remote run too."""
    prof = device.profile("abnum", workdir=tmp_path / "dev")
    p = run_cli("export", "x3d-tiny", "--to", "onnx", "--artifacts", "art", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    good = tmp_path / "art" / "x3d-tiny" / "onnx-fp32"
    bad = wrong_artifact(good, tmp_path / "wrong")
    p = run_cli("ab", bad, good, "--device", prof, *AB_FAST, cwd=tmp_path)
    assert p.returncode == 1, p.stderr[-2000:]
    out = json.loads(p.stdout)
    assert out["error"].startswith("base:") and "numerics" in out["error"]
    assert out["verdict"] is None and out["rounds"] == 0
    assert _gone(device)


def test_remote_ab_refuses_other_pythons(device, tmp_path):
    prof = device.profile("abpy", workdir=tmp_path / "dev")
    p = run_cli("ab", "x3d-tiny", "x3d-tiny", "--device", prof, "--base-python", "/usr/bin/python3",
                cwd=tmp_path)  # fmt: skip
    assert p.returncode == 2 and "--base-python" in p.stderr


def test_remote_ab_connection_lost_mid_run(device, tmp_path):
    """The SSH session killed mid-run: exit 1, the rounds so far kept, nothing left running on
    the device (the relay ends at its stdin's EOF, the serve processes with the relay)."""
    import os
    import signal
    import subprocess
    import sys

    prof = device.profile("abcut", workdir=tmp_path / "dev")
    arts = tmp_path / "arts"
    args = ["ab", "x3d-tiny", "x3d-tiny", "--to", "onnx", "--device", str(prof), "--artifacts",
            str(arts), "--threads", "1", "--max-time", "300", "--block-s", "0.05", "--rounds",
            "3", "--min-trials", "20", "--margin", "0%", "--json"]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "edgevid.cli", *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        for line in proc.stderr:  # wait for the second trial's first round
            if line.startswith("trial 2 round 1"):
                break
        for pid in device.session_pids():
            os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err[-2000:]
    res = json.loads(out)
    assert "lost" in res["error"] or "ended" in res["error"], res["error"]
    assert res["rounds"] >= 3 and res["verdict"] is None
    assert res["record"]["status"] == "error"
    assert _gone(device), "relay or serve process left running on the device"


def test_remote_ab_ctrl_c(device, tmp_path):
    """Ctrl-C mid-run: exit 130, nothing left running on the device."""
    import signal
    import subprocess
    import sys

    from conftest import default_sigint

    prof = device.profile("abint", workdir=tmp_path / "dev")
    args = ["ab", "x3d-tiny", "x3d-tiny", "--to", "onnx", "--device", str(prof), "--artifacts",
            str(tmp_path / "arts"), "--threads", "1", "--max-time", "300", "--block-s", "0.05",
            "--rounds", "3", "--min-trials", "20", "--margin", "0%"]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "edgevid.cli", *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)  # fmt: skip
    try:
        for line in proc.stderr:
            if line.startswith("trial 1 round 2"):
                break
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert _gone(device), "relay or serve process left running on the device"
