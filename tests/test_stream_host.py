"""The stream scenario on the host (issue 20): `edgevid bench --scenario stream` on a tiny stream
model and a tiny clip model, the scenario in the result identity and file name, the refusals
(exit 2, one line, before any export), the report's "Does it keep up?" section, the study."""

import json
from pathlib import Path

import pytest

from conftest import run_cli

QUICK = ["--threads", "1", "--to", "onnx", "--min-iters", "3", "--warmup-min", "1", "--warmup-max", "2"]


def bench(workdir, *args, arts=None):
    extra = ["--artifacts", arts] if arts else []
    return run_cli("bench", *args, *QUICK, *extra, "--json", cwd=workdir, timeout=600)


@pytest.fixture(scope="module")
def arts(tmp_path_factory):
    """One artifact folder for the module: each tiny model is exported once."""
    return tmp_path_factory.mktemp("stream-host-artifacts")


def test_bench_stream_model_and_clip_model(workdir, arts):
    p = bench(workdir, "movinet-tiny-stream", "--scenario", "stream", "--fps", "20",
              "--duration", "0.5", arts=arts)
    assert p.returncode == 0, p.stderr
    (r,) = json.loads(p.stdout)
    assert r["status"] == "ok" and r["scenario"] == "stream"
    assert r["scenario_label"] == "stream@20fps queue"
    assert r["stream_options"]["fps"] == 20 and r["stream_options"]["duration_s"] == 0.5
    s = r["stream"]
    assert s["mode"] == "stateful stream" and s["frames"] == 10
    assert {"fps_sustained", "deadline_misses", "dropped", "latency_ms", "peak_rss_mb"} <= set(s)
    assert "idle gaps" in (r["energy"].get("scope") or r["energy"].get("reason", "idle gaps"))
    stream_file = Path(r["result_path"])
    assert "stream_20fps_queue" in stream_file.name

    # A clip model as a sliding window: --clip sets the exported T.
    p = bench(workdir, "movinet-tiny", "--scenario", "stream", "--fps", "30", "--clip", "4",
              "--stride", "2", "--duration", "0.5", "--drop-policy", "drop-oldest", arts=arts)
    assert p.returncode == 0, p.stderr
    (c,) = json.loads(p.stdout)
    assert c["input_shape"][2] == 4 and c["stream"]["clip"] == 4 and c["stream"]["stride"] == 2
    assert c["scenario_label"] == "stream@30fps clip4/2 drop-oldest(1)"

    # The latency run of the same model: its own identity and its own file.
    p = bench(workdir, "movinet-tiny-stream", arts=arts)
    assert p.returncode == 0, p.stderr
    (lat,) = json.loads(p.stdout)
    from edgevid.results.select import identity

    assert lat.get("scenario") in (None, "latency") and "stream" not in lat
    assert identity(lat)[:-1] == identity(r)[:-1] and identity(lat) != identity(r)
    assert identity(lat)[-1] == "" and Path(lat["result_path"]) != stream_file
    assert stream_file.exists()

    # The report of all three: the "Does it keep up?" section, markdown and HTML.
    out = workdir / "rep"
    out.mkdir()
    p = run_cli("report", "results", "--md", out / "r.md", cwd=workdir)
    assert p.returncode == 0, p.stderr
    md = (out / "r.md").read_text()
    assert "Does it keep up?" in md and "stream@30fps clip4/2 drop-oldest(1)" in md


@pytest.mark.parametrize("args,message", [
    (["movinet-tiny", "--scenario", "stream", "--fps", "0"], "--fps must be above 0"),
    (["movinet-tiny", "--scenario", "stream", "--fps", "10", "--clip", "4", "--stride", "5"],
     "--stride (5) must not exceed --clip (4)"),
    (["movinet-tiny-stream", "--scenario", "stream", "--fps", "10", "--clip", "4"],
     "for clip models"),
    (["movinet-tiny", "--fps", "10"], "--fps: stream settings need --scenario stream"),
    (["movinet-tiny", "--scenario", "strem", "--fps", "10"], "--scenario"),
    (["movinet-tiny", "--scenario", "stream"], "--fps"),
])
def test_bad_stream_input_exits_2_before_export(workdir, args, message):
    p = bench(workdir, *args)
    assert p.returncode == 2, p.stderr
    assert message in p.stdout + p.stderr
    assert not (workdir / "artifacts").exists()  # nothing exported


def test_refusals_of_the_host_checks():
    from edgevid.errors import UserError
    from edgevid.models.ref import ModelRef, resolve
    from edgevid.run import stream as st
    from edgevid.runners.stream import StreamOptions

    opts = StreamOptions(scenario="stream", fps=30)
    flat = ModelRef("onnx", "x.onnx", "flat", (1, 3, 32, 32))
    with pytest.raises(UserError, match="no time axis"):
        st.stream_ref(flat, opts)
    ref = st.stream_ref(resolve("movinet-tiny"), StreamOptions(scenario="stream", fps=30, clip=3))
    assert ref.input_shape[2] == 3
    manifest = {  # a stream model's artifact whose state was not declared
        "model": "movinet-tiny-stream",
        "inputs": [{"name": "frames", "shape": [1, 3, 1, 32, 32]},
                   {"name": "s0", "shape": [1, 8, 2, 16, 16]}],
    }
    with pytest.raises(UserError, match="state"):
        st.check_artifact(manifest, opts)
    assert st.for_scenario(["a", "movinet-a0-stream"], None) == ["a"]
    assert st.for_scenario(["a", "movinet-a0-stream"], "stream") == ["a", "movinet-a0-stream"]


def stream_record(model, fps, misses, dropped, energy=None):
    from edgevid.runners.record import new_record

    arrival = [i * 1e3 / fps for i in range(20)]
    return new_record(
        model=model, format="onnx", precision="fp32", device="cpu-x", input_shape=[1, 3, 1, 8, 8],
        threads=1, status="ok", kind="bench", scenario="stream",
        stream_options={"fps": fps, "clip": None, "stride": None, "drop_policy": "queue",
                        "max_queue": None},
        stream={"mode": "stateful stream", "fps_target": fps, "fps_sustained": fps * 0.9,
                "frames_per_inference_step": 1, "inferences": 20, "dropped": dropped,
                "unfinished": 0, "deadline_misses": misses,
                "latency_ms": {"p50": 5.0, "p99": 9.0}, "peak_rss_mb": 120.0,
                "max_sustainable_fps": 80.0,
                "records": {"arrival_ms": arrival, "end_ms": [a + 5 for a in arrival]}},
        energy=energy or {"available": False, "reason": "not available: rapl: no permission"},
        samples_ms=[5.0] * 20, summary={"p50": 5.0, "n": 20},
    )


def test_report_section_renders_markdown_and_html():
    from edgevid.report import to_html, to_markdown
    from edgevid.report.build import results_report

    records = [
        stream_record("m-fast", 30.0, 0, 0,
                      {"available": True, "mj_per_inference": 12.5, "scope": "whole window"}),
        stream_record("m-slow", 30.0, 7, 3),
    ]
    rep = results_report(records)
    sec = next(s for s in rep.sections if s.id == "stream")
    table = next(b for b in sec.blocks[1].blocks if hasattr(b, "rows"))
    assert table.values("keeps_up") == [True, False]
    assert table.values("energy") == [12.5, None]
    md = to_markdown.render(rep)
    assert "Does it keep up?" in md and "stream@30fps queue" in md
    assert "not available: rapl: no permission" in md
    html = to_html.render(rep)
    assert "Does it keep up?" in html and 'data-kind="stream"' in html and "<svg" in html


def test_study_with_the_stream_scenario(workdir, arts):
    p = run_cli("study", "--artifacts", arts, "--models", "movinet-tiny-stream",
                "--formats", "onnx", "--threads", "1",
                "--scenario", "stream", "--fps", "20", "--duration", "0.5",
                "--warmup-min", "1", "--warmup-max", "2",
                "--out", workdir / "study", cwd=workdir, timeout=600)
    assert p.returncode == 0, p.stderr
    files = list((workdir / "results").rglob("*.json"))
    (r,) = [json.loads(f.read_text()) for f in files if f.name != "index.sqlite"]
    assert r["scenario"] == "stream" and r["stream"]["inferences"] > 0
    md = (workdir / "study" / "study.md").read_text()
    assert "Does it keep up?" in md and "Scenario: stream@20fps queue." in md
    # resumed: a result of the same scenario (identity incl. the stream label) is found on disk
    p = run_cli("study", "--models", "movinet-tiny-stream", "--formats", "onnx", "--threads", "1",
                "--scenario", "stream", "--fps", "20", "--duration", "0.5", "--json",
                "--out", workdir / "study", cwd=workdir, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "0 measured in this run, 1 reused" in json.loads(p.stdout)["meta"][0]
