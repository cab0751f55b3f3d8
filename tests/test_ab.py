"""edgevid ab's coordinator and CLI: pairing and order, trials, sequential stop, errors, CLI runs,
the report (verdict logic on constructed rounds: test_ab_stats.py)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ab_sources import Clock, Constructed, lost_after
from edgevid.run import ab as runner
from edgevid.run import ab_sides

ROOT = Path(__file__).resolve().parents[1]


def test_rounds_are_paired_and_order_random_and_seeded():
    src = Constructed()
    plan = runner.Plan(rounds_per_trial=10, min_trials=3, max_trials=3, seed=7)
    out = runner.run_ab(src, plan, clock=Clock(), load=dict)
    orders = [tuple(r["order"]) for r in out.rounds]
    assert len(out.rounds) == 30
    assert all(sorted(o) == ["base", "new"] for o in orders)  # both sides every round
    assert {("base", "new"), ("new", "base")} <= set(orders)  # both orders occur
    for a, b in zip(orders[::2], orders[1::2]):  # counterbalanced: a pair's second is reversed
        assert b == a[::-1]
    for t in range(3):  # so each trial has each side first equally often
        firsts = [r["order"][0] for r in out.rounds if r["trial"] == t]
        assert firsts.count("base") == firsts.count("new") == 5
    again = runner.run_ab(Constructed(), plan, clock=Clock(), load=dict)
    assert orders == [tuple(r["order"]) for r in again.rounds]  # seeded
    other = runner.run_ab(Constructed(), runner.Plan(max_trials=3, seed=8), clock=Clock(), load=dict)
    assert orders != [tuple(r["order"]) for r in other.rounds]


def test_block_warmup_is_untimed_and_checked():
    from edgevid.runners import serve

    calls = []
    cmd = serve.parse_command('{"n": 3, "warmup": 2}')
    samples, _ = serve.run_command(lambda: calls.append(1), cmd)
    assert len(calls) == 5 and len(samples) == 3  # two untimed calls, three timed
    assert serve.parse_command('{"seconds": 0.1}')["warmup"] == 0
    for bad in ('{"n": 3, "warmup": -1}', '{"n": 3, "warmup": 1.5}', '{"n": 3, "warmup": true}'):
        with pytest.raises(ValueError, match="warmup"):
            serve.parse_command(bad)
    sent = []

    class Side:
        def send(self, cmd):
            sent.append(cmd)

        def receive(self, timeout_s=None):
            sent.append(timeout_s)
            return {"samples_ms": [1.0]}

    src = runner.ProcessSource([], runner.Plan(block_n=4, block_warmup=1))
    src.live = {"base": Side()}
    assert src.block("base") == [1.0] and sent == [{"n": 4, "warmup": 1}, runner.BLOCK_TIMEOUT_S]


def test_processes_restarted_per_trial():
    src = Constructed()
    plan = runner.Plan(rounds_per_trial=4, min_trials=4, max_trials=4)
    out = runner.run_ab(src, plan, clock=Clock(), load=dict)
    assert src.opened == 4 and len(out.trials) == 4
    pids = [p for t in out.trials for p in t["pids"].values()]
    assert len(set(pids)) == 8  # a fresh pair of processes each trial


def test_sequential_stop_when_settled():
    plan = runner.Plan(rounds_per_trial=10, min_trials=3, max_trials=20, max_time_s=1e9)
    out = runner.run_ab(Constructed(ratio=1.2), plan, clock=Clock(), load=dict)
    assert out.stop_reason == "settled" and out.summary.verdict == "slower"
    assert out.summary.trials == 3  # the earliest look


def test_with_a_gate_the_run_stops_once_the_gate_is_decided():
    """An identical pair whose CI is too wide for `same` at +-0% margin still passes a 5% gate at
    the first look; without the gate the same data runs to the trial cap."""
    plan = runner.Plan(rounds_per_trial=4, min_trials=3, max_trials=8, max_time_s=1e9, margin=0.0)
    gated = dataclasses.replace(plan, fail_above=0.05)
    out = runner.run_ab(Constructed(ratio=1.0, noise=0.02), gated, clock=Clock(), load=dict)
    assert out.stop_reason == "settled" and out.summary.trials == 3
    assert out.summary.gate == "pass" and out.looks[-1]["gate"] == "pass"
    out = runner.run_ab(Constructed(ratio=1.0, noise=0.02), plan, clock=Clock(), load=dict)
    assert out.stop_reason == "trial cap" and out.summary.gate is None
    out = runner.run_ab(Constructed(ratio=1.2, noise=0.02), gated, clock=Clock(), load=dict)
    assert out.summary.trials == 3 and out.summary.gate == "fail" == out.looks[-1]["gate"]


def test_start_order_of_the_sides_is_random_per_trial_and_seeded():
    started = []

    class Ready(runner.Channel):
        def __init__(self, spec):
            super().__init__(spec.name)
            started.append(spec.name)
            self.lines.put(json.dumps({"ready": True, "pid": len(started)}))

        def close(self):
            pass

    sides = [runner.SideSpec(s, Path("unused")) for s in runner.SIDES]
    src = runner.ProcessSource(sides, runner.Plan(seed=11), start=Ready)
    firsts = []
    for trial in range(40):
        ready = src.open(trial)
        assert list(ready) == started[-2:] and sorted(started[-2:]) == ["base", "new"]
        firsts.append(started[-2])
    assert 10 <= firsts.count("base") <= 30  # both orders, neither nearly always
    again = runner.ProcessSource(sides, runner.Plan(seed=11), start=Ready)
    started.clear()
    assert [again.open(t) and started[-2] for t in range(40)] == firsts  # seeded


def test_time_cap_gives_inconclusive():
    plan = runner.Plan(rounds_per_trial=10, min_trials=3, max_trials=20, max_time_s=2.0)
    out = runner.run_ab(Constructed(ratio=1.02, noise=0.3), plan, clock=Clock(0.1), load=dict)
    assert out.stop_reason == "time cap"
    assert out.summary.verdict == "inconclusive"
    assert out.seconds <= 2.5


def test_side_lost_mid_run_keeps_rounds():
    plan = runner.Plan(rounds_per_trial=10, min_trials=3, max_trials=3)
    with pytest.raises(runner.SideFailed) as e:
        runner.run_ab(Constructed(on_block=lost_after(9)), plan, clock=Clock(), load=dict)
    assert e.value.exit_code == 1
    assert len(e.value.outcome.rounds) == 4  # type: ignore[attr-defined]
    assert e.value.outcome.stop_reason.startswith("failed")  # type: ignore[attr-defined]


def test_pairing_checks():
    a = {"inputs": [{"name": "x", "shape": [1, 3, 4, 32, 32]}]}
    b = {"inputs": [{"name": "x", "shape": [1, 3, 4, 32, 40]}]}
    c = {"inputs": [{"name": "clip", "shape": [1, 3, 4, 32, 32]}]}
    ab_sides.check_pairing(a, a, False)
    ab_sides.check_pairing(a, b, True)
    from edgevid.errors import UserError

    with pytest.raises(UserError, match="different input shapes"):
        ab_sides.check_pairing(a, b, False)
    with pytest.raises(UserError, match="different inputs"):
        ab_sides.check_pairing(a, c, True)


def _edgevid(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "edgevid.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )


def test_cli_ab_end_to_end(tmp_path):
    """x3d-tiny exported twice (two input sizes) and compared for a few seconds: structure only."""
    md, html = tmp_path / "ab.md", tmp_path / "ab.html"
    args = ["ab", "x3d-tiny", "x3d-tiny@3x4x32x40", "--to", "onnx", "--threads", "1"]
    args += ["--max-time", "4", "--block-s", "0.05", "--rounds", "3", "--min-trials", "2"]
    args += ["--md", str(md), "--html", str(html), "--json"]
    p = _edgevid(*args, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout)
    for k in ("verdict", "ratio", "ci_low", "ci_high", "rounds", "trials", "seconds"):
        assert k in out
    assert out["verdict"] in ("slower", "faster", "same", "inconclusive")
    assert out["base_p50"] > 0 and out["new_p50"] > 0 and out["rounds"] >= 3
    assert out["load"] and "loadavg" in out["load"][0]
    pids = [p for t in out["pids"] for p in t.values()]
    assert len(set(pids)) == len(pids) == 2 * out["trials"]
    rec = json.loads((tmp_path / out["result_path"]).read_text())
    assert rec["kind"] == "ab" and rec["status"] == "ok"
    assert rec["numerics"]["ok"] is True
    assert "NEW is" in md.read_text() and "<svg" in html.read_text()
    # the stored ab record is not a bench result: compare and report leave it out
    assert rec["samples_ms"] == []


def test_cli_ab_bad_input(tmp_path):
    p = _edgevid("ab", "x3d-tiny", "no-such-model", "--to", "onnx", "--json", cwd=tmp_path)
    assert p.returncode == 2
    assert "error" in json.loads(p.stdout)
    p = _edgevid("ab", "x3d-tiny", "x3d-tiny", "--margin", "lots", cwd=tmp_path)
    assert p.returncode == 2 and "threshold" in p.stderr


def test_cli_ab_side_that_cannot_load(tmp_path):
    """A tampered artifact: one clear line, exit 2, the (empty) run kept as an error record."""
    import shutil

    p = _edgevid("export", "x3d-tiny", "--to", "onnx", "--artifacts", "art", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    good = tmp_path / "art" / "x3d-tiny" / "onnx-fp32"
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    (bad / "model.onnx").write_bytes(b"not a model")
    p = _edgevid("ab", str(good), str(bad), "--max-time", "3", "--json", cwd=tmp_path)
    assert p.returncode == 2, p.stderr[-2000:]
    out = json.loads(p.stdout)
    assert out["error"].startswith("new:") and out["rounds"] == 0
    assert out["record"]["status"] == "error"
    assert [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]


def test_serve_dies_with_its_parent(tmp_path):
    """The serve-mode runner honours the parent-death watchdog (runners/watchdog.py)."""
    import signal
    import time

    p = _edgevid("export", "x3d-tiny", "--to", "onnx", "--artifacts", "art", cwd=tmp_path)
    assert p.returncode == 0
    art = tmp_path / "art" / "x3d-tiny" / "onnx-fp32"
    parent = (
        "import subprocess, sys, os\n"
        "from edgevid import procs\n"
        f"c = procs.spawn([sys.executable, '-m', 'edgevid.runners.serve', {str(art)!r}],"
        " stdin=subprocess.PIPE)\n"
        "print(c.pid, flush=True); print(c.stdout.readline().decode()[:40], flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    assert "ready" in proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the serve process outlived its parent")


def test_report_shows_stored_ab_records():
    """`edgevid report` renders an ab record (verdict in words, the rounds' plot), built from the
    record alone."""
    from edgevid.report.build import results_report
    from edgevid.report.to_html import render as html
    from edgevid.report.to_markdown import render as md
    from edgevid.runners.record import new_record

    out = runner.run_ab(Constructed(ratio=1.1), runner.Plan(max_trials=3), clock=Clock(), load=dict)
    rec = new_record(
        kind="ab", model="x3d-tiny", format="onnx", precision="fp32", device="d", status="ok",
        input_shape=[1, 3, 4, 32, 32], threads=1, created_at="2026-12-04T00:00:00+00:00",
        ab={
            "summary": out.summary.to_dict(), "seconds": out.seconds,
            "stop_reason": out.stop_reason, "load": [], "rounds": out.rounds,
            "plan": {"block_s": 0.25, "rounds_per_trial": 10},
            "sides": {s: {"artifact_dir": s, "numerics": {"ok": True}} for s in runner.SIDES},
        },
    )  # fmt: skip
    rep = results_report([rec])
    text = md(rep)
    assert "NEW is 10" in text and "slower" in text
    assert "<svg" in html(rep)


def wrong_artifact(good: Path, dest: Path) -> Path:
    """A copy of ``good`` that is deliberately made WRONG: its stored reference outputs are
    negated and shifted, and the manifest's digest is recomputed, so the artifact loads and runs
    as a consistent one but its real outputs disagree with its own reference (no mock: the real
    runtime computes the outputs and the real numerics check rejects them)."""
    import shutil

    from edgevid.runners.artifact import manifest_digest

    shutil.copytree(good, dest)
    m = json.loads((dest / "artifact.json").read_text())
    out = m["reference"]["outputs"][0]
    out["values"] = [1.0 - float(v) for v in np.asarray(out["values"]).ravel()]
    if "manifest_sha256" in m:
        m["manifest_sha256"] = manifest_digest(m)
    (dest / "artifact.json").write_text(json.dumps(m, indent=2))
    return dest


def test_cli_ab_side_with_failing_numerics(tmp_path):
    """A side whose outputs disagree with its manifest's reference refuses the run: exit 1, the
    side named, no verdict anywhere."""
    p = _edgevid("export", "x3d-tiny", "--to", "onnx", "--artifacts", "art", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    good = tmp_path / "art" / "x3d-tiny" / "onnx-fp32"
    bad = wrong_artifact(good, tmp_path / "wrong")
    p = _edgevid("ab", str(good), str(bad), "--threads", "1", "--max-time", "20", "--json",
                 cwd=tmp_path)  # fmt: skip
    assert p.returncode == 1, p.stderr[-2000:]
    out = json.loads(p.stdout)
    assert out["error"].startswith("new:") and "numerics" in out["error"]
    assert out["verdict"] is None and out["rounds"] == 0 and out["looks"] == []
    rec = out["record"]
    assert rec["status"] == "error" and rec["verdict"] is None
    assert rec["ab"]["summary"]["verdict"] is None
    assert rec["numerics"]["ok"] is False
    from edgevid.report.ab import ab_report
    from edgevid.report.to_markdown import render

    text = render(ab_report(rec))
    assert "no verdict" in text and "FAIL" in text
    p = _edgevid("ab", str(good), str(bad), "--threads", "1", "--max-time", "20", "--no-save",
                 cwd=tmp_path)  # fmt: skip
    assert p.returncode == 1
    assert "new:" in p.stderr and "numerics" in p.stderr
    assert not any(v in p.stderr for v in ("slower", "faster", "same", "inconclusive"))
