"""Lab devices through a real labgrid coordinator + exporter (tests/lab_coordinator.py) whose
NetworkService points at the loopback sshd: reserve, wait in the queue, lock, run over ssh,
release; two clients serialised on one place; two places held by one bench; SIGKILL recovery;
bad input in one line, exit 2."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import pytest
from conftest import ROOT, run_cli
from lab_coordinator import start_lab, stop_lab, user
from sshd_device import free_port, start_device, stop_device

SLOW = {"min_iters": 5, "min_time_s": 4.0, "max_time_s": 6.0, "warmup_max": 3}
FAST = {"min_iters": 5, "min_time_s": 0.2, "max_time_s": 1.0, "warmup_max": 3, "target_ci": 1.0}


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    dev = start_device(tmp_path_factory.mktemp("sshd"))
    yield dev
    stop_device(dev)


@pytest.fixture(scope="module")
def lab(device, tmp_path_factory):
    server = start_lab(tmp_path_factory.mktemp("lab"), device.port, user())
    yield server
    stop_lab(server)


@pytest.fixture(scope="module")
def arts(tmp_path_factory):
    return tmp_path_factory.mktemp("artifacts")


def profile(device, tmp, name, conn, timing):
    text = (f"name: {name}\ndescription: labgrid loop\narch: x86_64\nos: linux\n"
            f"connection:\n  type: labgrid\n{conn}"
            f"  key: {device.root / 'id_ed25519'}\n  known_hosts: {device.known_hosts}\n"
            f"  python: {device.python}\n  workdir: {tmp / 'dev'}\n"
            "formats:\n  - format: onnx\n    provider: CPUExecutionProvider\nthreads: 1\ntiming:\n"
            + "".join(f"  {k}: {v}\n" for k, v in timing.items()))
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    return path


def env(lab, tmp):
    return {"LG_COORDINATOR": lab.address, "EDGEVID_LAB_STATE": str(tmp / "labstate")}


def bench_cmd(prof, tmp, arts, results="results"):
    return [sys.executable, "-m", "edgevid.cli", "bench", "x3d-tiny", "--device", str(prof),
            "--json", "--artifacts", str(arts), "--results", str(tmp / results)]


def window(rec):
    a, b = rec["env"]["lab"]["window"]
    return datetime.fromisoformat(a), datetime.fromisoformat(b)


def free_and_unreserved(lab):
    assert lab.client("places", "-a").stdout.strip() == ""  # no place acquired
    assert lab.client("reservations").stdout.strip() == ""


def test_place_free_runs_and_fingerprints(lab, device, arts, tmp_path):
    prof = profile(device, tmp_path, "labtags", "  tags: {soc: loopnano}\n", FAST)
    p = run_cli(*bench_cmd(prof, tmp_path, arts)[3:], cwd=tmp_path, env=env(lab, tmp_path))
    assert p.returncode == 0, p.stderr
    (rec,) = json.loads(p.stdout)
    assert rec["status"] == "ok" and rec["device"] == "labtags"  # grouped by profile
    fp = rec["env"]["lab"]
    assert fp["place"] == "loop1" and fp["tags"] == {"soc": "loopnano", "rack": "a"}
    assert fp["exporter"].startswith("exp1")
    assert "locked place loop1" in p.stderr
    free_and_unreserved(lab)


def test_two_clients_one_place_serialised(lab, device, arts, tmp_path):
    prof = profile(device, tmp_path, "labplace", "  place: loop1\n", SLOW)
    e = {**os.environ, **env(lab, tmp_path)}
    first = subprocess.Popen(bench_cmd(prof, tmp_path, arts, "r1"), cwd=tmp_path, env=e,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    second = subprocess.Popen(bench_cmd(prof, tmp_path, arts, "r2"), cwd=tmp_path, env=e,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out1, err1 = first.communicate(timeout=600)
    out2, err2 = second.communicate(timeout=600)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    both = [json.loads(out1)[0], json.loads(out2)[0]]
    waited = err1 if "waiting for" in err1 else err2
    assert "waiting for place loop1: 1 of 1 in the queue" in waited  # the second one waited
    (a0, a1), (b0, b1) = sorted(window(r) for r in both)
    assert a1 <= b0, (a0, a1, b0, b1)  # measurement windows do not overlap
    free_and_unreserved(lab)


def test_two_places_reserved_at_once(lab, device, arts, tmp_path):
    """``--device A,B`` with two lab boards (one by place name, one by a tag filter): each place
    reserved and locked, both measured, both released after."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = profile(device, tmp_path / "a", "labone", "  place: loop1\n", FAST)
    two = profile(device, tmp_path / "b", "labtwo", "  tags: {soc: loopnano2}\n", FAST)
    p = run_cli("bench", "x3d-tiny", "--device", f"{one},{two}", "--json", "--artifacts", arts,
                "--results", tmp_path / "r", cwd=tmp_path, env=env(lab, tmp_path))
    assert p.returncode == 0, p.stderr
    recs = {r["device"]: r for r in json.loads(p.stdout)}
    assert set(recs) == {"labone", "labtwo"}
    assert all(r["status"] == "ok" for r in recs.values())
    assert recs["labone"]["env"]["lab"]["place"] == "loop1"
    assert recs["labtwo"]["env"]["lab"]["place"] == "loop2"
    assert recs["labtwo"]["env"]["lab"]["tags"] == {"soc": "loopnano2", "rack": "b"}
    assert "locked place loop1" in p.stderr and "locked place loop2" in p.stderr
    assert len(list((tmp_path / "r").rglob("*.json"))) == 2
    free_and_unreserved(lab)
    assert not list((tmp_path / "labstate").glob("*.json"))  # nothing left for a reaper


def test_sigkill_leaves_lock_next_edgevid_frees_it(lab, device, arts, tmp_path):
    prof = profile(device, tmp_path, "labkill", "  place: loop1\n", SLOW)
    e = {**os.environ, **env(lab, tmp_path)}
    victim = subprocess.Popen(bench_cmd(prof, tmp_path, arts, "rk"), cwd=tmp_path, env=e,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    assert victim.stderr is not None
    for line in victim.stderr:
        if "locked place loop1" in line:
            break
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    # labgrid never expires a locked place: it is still held by this host/user ...
    assert "loop1" in lab.client("places", "-a").stdout
    # ... until the next edgevid here sees that the owner process is gone and frees it
    p = run_cli(*bench_cmd(profile(device, tmp_path, "labnext", "  place: loop1\n", FAST),
                           tmp_path, arts, "rn")[3:], cwd=tmp_path, env=env(lab, tmp_path))
    assert p.returncode == 0, p.stderr
    assert f"freed loop1 left by edgevid pid {victim.pid}" in p.stderr
    free_and_unreserved(lab)


def test_live_lock_is_never_stolen(lab, device, tmp_path):
    from edgevid.transports import labgrid as lg

    os.environ["EDGEVID_LAB_STATE"] = str(tmp_path / "labstate")
    try:
        client = lg.Client(lab.address)
        held = lg.reserve(client, lg.Want(place="loop1"), lambda m: None)  # this process: alive
        assert lg.reap(client, lambda m: None) == 0
        assert "loop1" in lab.client("places", "-a").stdout
        lg.release(client, held.token, held.place)
    finally:
        del os.environ["EDGEVID_LAB_STATE"]
    free_and_unreserved(lab)


def test_bad_lab_input_is_one_line_exit_2(lab, device, arts, tmp_path):
    lab.client("-p", "bare", "create")
    lab.client("-p", "bare", "set-tags", "soc=bare")
    cases = [
        ("--device", "lab:soc=loopnano", "--coordinator", f"127.0.0.1:{free_port()}",
         "cannot reach the labgrid coordinator"),
        ("--device", "lab:soc=nosuchboard", "--coordinator", lab.address,
         "no labgrid place matches soc=nosuchboard"),
        ("--device", "lab:bare", "--coordinator", lab.address,
         "labgrid place bare has no NetworkService resource"),
    ]
    for *args, says in cases:
        p = run_cli("bench", "x3d-tiny", *args, "--artifacts", arts, cwd=tmp_path,
                    env={"EDGEVID_LAB_STATE": str(tmp_path / "st")}, timeout=300)
        assert p.returncode == 2, p.stderr
        assert says in p.stderr and "Traceback" not in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) <= 3, p.stderr  # progress lines + the error
        assert p.stderr.strip().splitlines()[-1].startswith("error:")
    assert not (tmp_path / "results").exists()
    free_and_unreserved(lab)
    lab.client("-p", "bare", "delete")


def test_lab_list_shows_places_and_tags(lab, tmp_path):
    p = run_cli("lab", "list", "--coordinator", lab.address, "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    (loop1,) = [r for r in got["places"] if r["place"] == "loop1"]
    assert loop1["tags"]["soc"] == "loopnano" and loop1["holder"] is None
    assert ROOT.is_dir()


def test_sigterm_releases_the_place(lab, device, arts, tmp_path):
    prof = profile(device, tmp_path, "labterm", "  place: loop1\n", SLOW)
    e = {**os.environ, **env(lab, tmp_path)}
    proc = subprocess.Popen(bench_cmd(prof, tmp_path, arts, "rt"), cwd=tmp_path, env=e,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "locked place loop1" in line:
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=120)
    assert rc == 130, (rc, proc.stderr.read())
    free_and_unreserved(lab)
    assert not list((tmp_path / "labstate").glob("*.json"))  # nothing left for a reaper
