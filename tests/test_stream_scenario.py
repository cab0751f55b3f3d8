"""The runner's stream scenario on a simulated clock (deterministic), the max-fps search, the
options' checks, and one real run through the runner's command line."""
import json
import subprocess
import sys

import pytest

from edgevid.runners.settings import SettingError
from edgevid.runners.stream import StreamOptions, records, run_stream, summarize_stream, sustainable
from edgevid.runners.stream_search import find_max_fps


class SimClock:
    """Time advances only by sleeping or by inferring (``service`` seconds per inference)."""

    def __init__(self, service):
        self.now, self.service = 0.0, service

    def clock(self):
        return self.now

    def sleep(self, s):
        self.now += s

    def infer(self, last):
        self.now += self.service(last) if callable(self.service) else self.service


def simulate(service, fps, frames, step=1, first=0, **kw):
    c = SimClock(service)
    return run_stream(c.infer, fps, frames, step, first, clock=c.clock, sleep=c.sleep, **kw)


def test_keeping_up_no_misses_latency_is_service_time():
    run = simulate(0.010, fps=25, frames=50)
    s = summarize_stream(run)
    assert s["inferences"] == 50 and s["dropped"] == 0 and s["deadline_misses"] == 0
    assert s["latency_ms"]["p50"] == pytest.approx(10.0) and s["latency_ms"]["max"] == pytest.approx(10.0)
    assert s["fps_sustained"] == pytest.approx(25.0)
    assert records(run)["arrival_ms"][:3] == [0.0, 40.0, 80.0]
    assert set(records(run)["queue_depth"]) == {0}


def test_queue_grows_when_too_slow_and_drop_oldest_drops():
    q = summarize_stream(simulate(0.060, fps=25, frames=50))  # 60 ms per frame, 40 ms apart
    assert q["dropped"] == 0 and q["deadline_misses"] > 40
    assert q["latency_ms"]["max"] > 1000 and q["queue_depth_max"] > 10
    assert q["fps_sustained"] == pytest.approx(1 / 0.060)
    d = summarize_stream(simulate(0.060, fps=25, frames=50, policy="drop-oldest"))
    assert d["dropped"] > 10 and d["queue_depth_max"] <= 1
    assert d["latency_ms"]["max"] < 130  # never more than one waiting
    assert d["inferences"] + d["dropped"] == 50


def test_sliding_window_every_stride_frames_and_deadline_is_next_arrival():
    run = simulate(0.030, fps=100, frames=40, step=4, first=7)  # clip 8, stride 4
    assert run.frame == [7, 11, 15, 19, 23, 27, 31, 35, 39]
    assert summarize_stream(run)["deadline_misses"] == 0  # 30 ms < 40 ms to the next clip
    slow = summarize_stream(simulate(0.045, fps=100, frames=40, step=4, first=7))
    assert slow["deadline_misses"] > 0


def test_queue_left_after_drain_is_unfinished():
    s = summarize_stream(simulate(1.0, fps=10, frames=20, drain_s=0.5))
    assert s["unfinished"] > 0 and not sustainable(s, 0.01)


def test_max_fps_search_brackets_the_service_rate():
    service = 0.020  # 50 fps at most

    def trial(fps):
        return summarize_stream(simulate(service, fps=fps, frames=int(fps * 2) + 1))

    out = find_max_fps(trial, first_guess=10.0)
    assert 45 <= out["max_sustainable_fps"] <= 50.0
    assert out["first_unsustainable_fps"] > out["max_sustainable_fps"]
    assert all(t["sustainable"] == (t["fps"] <= 50.0) for t in out["trials"])


def test_options_checks():
    with pytest.raises(SettingError, match="must not exceed"):
        StreamOptions(scenario="stream", fps=10, clip=4, stride=8)
    for bad in ({"fps": 0}, {"fps": -1}):
        with pytest.raises(SettingError, match="fps"):
            StreamOptions(scenario="stream", **bad)
    with pytest.raises(SettingError, match="needs"):
        StreamOptions(scenario="stream")
    with pytest.raises(SettingError, match="one of"):
        StreamOptions(drop_policy="newest")
    assert StreamOptions(scenario="stream", find_max_fps=True).fps is None


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    from edgevid.artifacts.export import export
    from edgevid.models.ref import resolve

    root = tmp_path_factory.mktemp("stream-run")
    return {
        "stream": export(resolve("movinet-tiny-stream"), "onnx", root=root),
        "clip": export(resolve("movinet-tiny"), "onnx", root=root),
    }


def runner(*args):
    return subprocess.run(
        [sys.executable, "-m", "edgevid.runners", *map(str, args), "--threads", "1", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )


def test_runner_stream_run_and_sliding_window(artifacts):
    p = runner(artifacts["stream"], "--scenario", "stream", "--fps", "20", "--duration", "0.5")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    s = r["stream"]
    assert r["status"] == "ok" and r["scenario"] == "stream" and s["mode"] == "stateful stream"
    assert s["frames"] == 10 and s["inferences"] + s["dropped"] + s["unfinished"] == 10
    assert set(s["latency_ms"]) >= {"p50", "p90", "p99", "max"} and s["peak_rss_mb"] > 0
    assert len(s["records"]["end_ms"]) == s["inferences"] and r["stream_state"]["tensors"] == 10
    p = runner(artifacts["clip"], "--scenario", "stream", "--fps", "60", "--clip", "6",
               "--stride", "3", "--duration", "0.5", "--drop-policy", "drop-oldest")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)["stream"]
    assert s["mode"] == "sliding-window clip" and s["clip"] == 6 and s["stride"] == 3
    assert s["records"]["frame"][:1] == [5]


@pytest.mark.parametrize("args,message", [
    (["--fps", "0"], "--fps must be above 0"),
    (["--fps", "10", "--clip", "6", "--stride", "7"], "--stride (7) must not exceed --clip (6)"),
    (["--fps", "10", "--clip", "8"], "--clip is 8 but the artifact takes T=6"),
])
def test_runner_bad_stream_input_exits_2(artifacts, args, message):
    p = runner(artifacts["clip"], "--scenario", "stream", *args)
    assert p.returncode == 2 and message in p.stderr and p.stderr.count("\n") == 1


def test_runner_stream_artifact_refuses_clip(artifacts):
    p = runner(artifacts["stream"], "--scenario", "stream", "--fps", "10", "--clip", "1")
    assert p.returncode == 2 and "for clip models" in p.stderr
