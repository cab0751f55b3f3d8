"""Measurement you can trust: throttling flags, pinning, history, atomic result files, noise
(the stopping rule on recorded steady and noisy iteration times)."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import FAST, json_out, run_cli
from timing_support import Replay, recorded

from edgevid.runners.loop import TimingPolicy, summarize
from edgevid.runners.run import throttling


def test_throttling_flags_clock_drop_and_temperature():
    before = {"temps_c": {"cpu": 50.0}, "clocks_mhz": {"cpu0": 2000.0, "cpu1": 2000.0}}
    steady = {"temps_c": {"cpu": 60.0}, "clocks_mhz": {"cpu0": 1990.0, "cpu1": 2010.0}}
    dropped = {"temps_c": {"cpu": 60.0}, "clocks_mhz": {"cpu0": 1200.0, "cpu1": 1400.0}}
    hot = {"temps_c": {"cpu": 97.5}, "clocks_mhz": {"cpu0": 2000.0, "cpu1": 2000.0}}
    assert throttling(before, [steady], steady, 95)["throttled"] is False
    t = throttling(before, [dropped], steady, 95)
    assert t["throttled"] is True and "2000 to 1300 MHz" in t["throttle_reason"]
    t = throttling(before, [steady], hot, 95)
    assert t["throttled"] is True and "97.5 C" in t["throttle_reason"]
    nothing = {"temps_c": None, "clocks_mhz": None}
    t = throttling(nothing, [], nothing, 95)
    assert t["throttled"] is None and "not available" in t["throttle_reason"]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU pinning needs Linux")
def test_pinning_and_history(workdir):
    proc = run_cli("bench", "x3d-tiny", "--to", "onnx", "--pin", "0", *FAST, "--json", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    rec = json_out(proc)[0]
    assert rec["affinity"] == [0]
    assert rec["env"]["cores_available"] == 1
    proc = run_cli("bench", "x3d-tiny", "--to", "onnx", "--threads", "1", *FAST, "--json",
                   cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("history", "x3d-tiny", "--json", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["threads"] for r in rows] == [2, 1]
    assert all(r["p50"] > 0 and r["format"] == "onnx" for r in rows)
    proc = run_cli("history", "x3d-nope", cwd=workdir)
    assert proc.returncode == 2 and "no results for model 'x3d-nope'" in proc.stderr


WRITER = """
import json, sys
from edgevid.runners.record import write_atomic
record = {"samples_ms": [float(i) for i in range(200000)], "n": 0}
n = 0
while True:
    n += 1
    record["n"] = n
    write_atomic(sys.argv[1], json.dumps(record))
"""


def test_result_file_is_whole_when_the_writer_is_killed(tmp_path):
    """SIGKILL at varying points of a loop of atomic writes: the file is never half-written. Each
    kill comes after the writer's first whole write (polled for, so how fast this machine starts
    Python does not matter), at a different point of the writes that follow."""
    for i in range(6):
        target = tmp_path / f"r{i}.json"
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
        try:
            deadline = time.monotonic() + 120  # a hang guard, not a speed requirement
            while not target.exists():
                assert proc.poll() is None, "the writer exited"
                assert time.monotonic() < deadline, "no write in 120 s"
                time.sleep(0.01)
            time.sleep(0.037 * i)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        data = json.loads(target.read_text())  # raises if half-written
        assert len(data["samples_ms"]) == 200000 and data["n"] >= 1


def test_stopping_rule_steady_vs_noisy():
    """The stopping rule on recorded iteration times (tests/data/timing_streams.json: x3d-tiny on
    ONNX Runtime, ~5 ms a call, recorded on a quiet machine and with 3 competing processes per
    core switching on and off at random), replayed through the loop's clocks. Target: CI
    half-width of the median within 3%. The steady stream reaches it well before its 10 s cap;
    the noisy one's CI stays wider, so it runs to its 4 s cap."""
    streams = recorded("timing_streams.json")
    steady_policy = TimingPolicy(min_iters=20, min_time_s=0.5, max_time_s=10.0, target_ci=0.03)
    steady = Replay(streams["steady"]).run(steady_policy)
    noisy_policy = TimingPolicy(min_iters=20, min_time_s=0.5, max_time_s=4.0, target_ci=0.03)
    noisy = Replay(streams["noisy"]).run(noisy_policy)
    assert steady.stop_reason == "converged", steady.stop_reason
    assert summarize(steady.samples_ms)["ci95_rel_halfwidth"] <= 0.03
    assert sum(steady.samples_ms) < 10_000
    assert noisy.stop_reason == "time-cap", noisy.stop_reason
    noisy_ci = summarize(noisy.samples_ms)["ci95_rel_halfwidth"]
    assert noisy_ci > 0.03
