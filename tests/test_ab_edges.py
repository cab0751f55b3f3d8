"""edgevid ab at its edges: where each side is exported, a second Ctrl-C, the time cap between
trials, a single trial, runners that answer nonsense, and the words for an undecided gate."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ab_sources import Clock, Constructed, lost_after
from edgevid.analysis import ab as stats
from edgevid.analysis.ab_words import gate_words
from edgevid.run import ab as runner
from edgevid.run import ab_sides

ROOT = Path(__file__).resolve().parents[1]


def test_time_cap_starts_no_trial_that_cannot_end_in_time():
    """A trial here takes 1 s to start + 10 rounds x 2 blocks x 0.5 s = 11 s. With a 30 s cap
    the third trial (22 s -> 33 s) is not started: two whole trials, none cut short."""
    clock = Clock(0)
    plan = runner.Plan(rounds_per_trial=10, min_trials=5, max_trials=20, max_time_s=30.0)
    out = runner.run_ab(Constructed(clock=clock, ratio=1.0), plan, clock=clock, load=dict)
    assert out.stop_reason == "time cap"
    assert out.summary.trials == 2 and out.summary.rounds == 20
    assert out.seconds <= 30.0


def test_one_trial_decides_nothing():
    """A single process start shows none of the spread between starts: no verdict, no gate, even
    for a 20% slowdown whose rounds agree; its interval is still reported."""
    clock = Clock(0)
    plan = runner.Plan(rounds_per_trial=10, min_trials=3, max_time_s=5.0, fail_above=0.02)
    out = runner.run_ab(Constructed(clock=clock, ratio=1.2, block_s=0.1), plan, clock=clock, load=dict)
    s = out.summary
    assert s.trials == 1 and s.ci_low > 1.1  # reported
    assert s.verdict == "inconclusive" and s.gate == "undecided"
    assert "one trial cannot decide" in gate_words(s, out.stop_reason)
    two = stats.summarize(out.rounds + [dict(r, trial=1) for r in out.rounds], fail_above=0.02)
    assert two.trials == 2 and two.verdict == "slower" and two.gate == "fail"


def test_interrupt_keeps_the_outcome_even_when_interrupted_again_while_stopping():
    clock = Clock(0)

    def ctrl_c(n):
        if n == 7:
            raise KeyboardInterrupt

    class Stubborn(Constructed):
        def close(self):  # the second Ctrl-C, while the sides stop
            super().close()
            if self.closed == 1:
                raise KeyboardInterrupt

    src = Stubborn(clock=clock, on_block=ctrl_c)
    with pytest.raises(KeyboardInterrupt) as e:
        runner.run_ab(src, runner.Plan(max_time_s=1e9), clock=clock, load=dict)
    out = e.value.outcome  # type: ignore[attr-defined]
    assert out.stop_reason == "interrupted" and len(out.rounds) == 3  # blocks 1-6 = 3 rounds


def test_interrupt_during_the_final_analysis_keeps_the_rounds(monkeypatch):
    """Ctrl-C while the finished run summarises (a bootstrap): the rounds are still kept."""
    clock = Clock(0)
    plan = runner.Plan(rounds_per_trial=2, min_trials=2, max_trials=2, max_time_s=1e9)
    real = stats.summarize
    calls = []

    def summarize(*a, **k):
        calls.append(1)
        if len(calls) == 2:  # the run's summary after its one planned look (2 trials)
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(stats, "summarize", summarize)
    with pytest.raises(KeyboardInterrupt) as e:
        runner.run_ab(Constructed(clock=clock), plan, clock=clock, load=dict)
    out = e.value.outcome  # type: ignore[attr-defined]
    assert len(out.rounds) == 4 and out.stop_reason == "interrupted" and len(calls) == 3


def test_a_run_with_no_rounds_records_the_plan():
    clock = Clock(0)

    plan = runner.Plan(margin=0.05, fail_above=0.03, max_time_s=1e9)
    with pytest.raises(runner.SideFailed) as e:
        runner.run_ab(Constructed(clock=clock, on_block=lost_after(0)), plan, clock=clock, load=dict)
    s = e.value.outcome.summary  # type: ignore[attr-defined]
    assert s.rounds == 0 and s.margin == 0.05 and s.fail_above == 0.03


class Lines(runner.Channel):
    """A channel fed the given lines (what a serve process printed)."""

    def __init__(self, lines):
        super().__init__("new", timeout_s=2)
        for ln in lines:
            self.lines.put(ln)
        self.lines.put(None)

    def gone(self):
        return "runner process ended (exit 0)"


def test_a_runners_chatter_is_skipped_and_a_bad_answer_is_a_side_failure():
    ch = Lines(['{ not json, a library printing', "[1, 2]", '{"samples_ms": [3.0]}'])
    assert ch.receive() == {"samples_ms": [3.0]}
    with pytest.raises(runner.SideFailed, match="without times"):
        runner._samples("new", {"samples": [1.0]})
    with pytest.raises(runner.SideFailed, match="not positive"):
        runner._samples("new", {"samples_ms": [1.0, 0.0]})
    assert runner._samples("new", {"samples_ms": [1, 2.5]}) == [1.0, 2.5]


def test_undecided_gate_says_what_could_decide_it():
    s = stats.summarize(
        [{"trial": t, "base_ms": [10.0, 10.1], "new_ms": [10.2 + 0.3 * (t % 2), 10.2]}
         for t in range(3) for _ in range(4)], fail_above=0.02)  # fmt: skip
    assert s.gate == "undecided"
    assert "--max-trials" in gate_words(s, "trial cap")
    assert "--max-time" in gate_words(s, "time cap")
    failed = stats.Summary(**{**s.__dict__, "gate": None})
    assert "not decided (the run failed or was interrupted)" in gate_words(failed)


def _entry(fmt):
    from edgevid.run.bench import entries_for
    from edgevid.run.profiles import get_profile

    return entries_for(get_profile("desktop-cpu"), [fmt], None, {})[0]


def test_each_side_exports_where_it_cannot_replace_the_other(tmp_path):
    """The artifact folder's name holds no weights: two checkpoints of one model would share
    it, and NEW's export would replace BASE's artifact (both sides then measure NEW)."""
    from edgevid.models.ref import resolve

    art = tmp_path / "art"
    onnx, ov = _entry("onnx"), _entry("openvino")
    a, b = resolve("x3d-tiny", None, "a.pt"), resolve("x3d-tiny", None, "b.pt")
    same = {"base": (a, onnx, False), "new": (a, onnx, False)}
    assert ab_sides.export_roots(same, art) == {"base": art, "new": art}  # one artifact
    two = {"base": (a, onnx, False), "new": (b, onnx, False)}
    assert ab_sides.export_roots(two, art) == {"base": art, "new": art / "ab-new"}
    # BASE a folder NEW's export would write into: its ONNX, or the ONNX an OpenVINO export
    # starts from; NEW exports elsewhere. A folder outside those: nothing moves.
    folder = art / "x3d-tiny" / "onnx-fp32"
    for entry in (onnx, ov):
        sides = {"base": (folder, onnx, False), "new": (a, entry, False)}
        assert ab_sides.export_roots(sides, art)["new"] == art / "ab-new"
    sides = {"base": (tmp_path / "main" / "x3d-tiny" / "onnx-fp32", onnx, False),
             "new": (a, onnx, False)}  # fmt: skip
    assert ab_sides.export_roots(sides, art)["new"] == art
    # a model BASE beside a folder NEW: BASE moves
    sides = {"base": (a, onnx, False), "new": (folder, onnx, False)}
    assert ab_sides.export_roots(sides, art) == {"base": art / "ab-base", "new": art}
    # the same root spelled another way still finds BASE's folder
    sides = {"base": (folder, onnx, False), "new": (b, onnx, False)}
    other = art / "x3d-tiny" / ".."
    assert ab_sides.export_roots(sides, other)["new"] == other / "ab-new"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_ab_two_checkpoints_measure_two_artifacts(tmp_path):
    """`ab x3d-tiny x3d-tiny --base-weights a --new-weights b`: two artifacts, each made from its
    own checkpoint, and BASE's survives NEW's export."""
    code = ("import sys, torch; from edgevid.models import create_model\n"
            "m = create_model('x3d-tiny')\n"
            "for name, seed in (('a.pt', 1), ('b.pt', 2)):\n"
            "    torch.manual_seed(seed)\n"
            "    [p.data.normal_() for p in m.parameters()]\n"
            "    torch.save(m.state_dict(), name)\n")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)
    args = ["ab", "x3d-tiny", "x3d-tiny", "--base-weights", "a.pt", "--new-weights", "b.pt"]
    args += ["--to", "onnx", "--threads", "1", "--artifacts", "art", "--max-time", "1"]
    args += ["--block-s", "0.02", "--rounds", "2", "--min-trials", "2", "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "edgevid.cli", *args], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600)  # fmt: skip
    assert p.returncode == 0, p.stderr[-2000:]
    assert "it would replace the other side" in p.stderr
    sides = json.loads(p.stdout)["record"]["ab"]["sides"]
    dirs = {s: tmp_path / sides[s]["artifact_dir"] for s in runner.SIDES}
    assert dirs["base"] == tmp_path / "art" / "x3d-tiny" / "onnx-fp32"
    assert dirs["new"] == tmp_path / "art" / "ab-new" / "x3d-tiny" / "onnx-fp32"
    for side, weights in (("base", "a.pt"), ("new", "b.pt")):
        key = json.loads((dirs[side] / "artifact.json").read_text())["cache_key"]
        assert key["weights_sha256"] == _sha(tmp_path / weights)
    assert sides["base"]["sha256"] != sides["new"]["sha256"]
