"""edgevid ab: verdict logic, pairing and order, trials, sequential stop, errors, one CLI run."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgevid.analysis import ab as stats
from edgevid.analysis import ab_words
from edgevid.run import ab as runner
from edgevid.run import ab_sides

ROOT = Path(__file__).resolve().parents[1]


def _rounds(ratio: float, trials: int, per_trial: int, noise: float, seed: int = 1) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for t in range(trials):
        shift = rng.normal(0, noise / 2)  # a trial-level offset (process restart)
        for i in range(per_trial):
            load = 10 * (1 + abs(rng.normal(0, 0.3)))  # machine drift, shared by both sides
            base = load * (1 + rng.normal(0, noise, 8))
            new = load * ratio * (1 + shift) * (1 + rng.normal(0, noise, 8))
            out.append({"trial": t, "round": i, "base_ms": list(base), "new_ms": list(new)})
    return out


@pytest.mark.parametrize(
    "ratio,expected",
    [(1.0, "same"), (1.10, "slower"), (0.90, "faster")],
)
def test_verdict_on_constructed_rounds(ratio, expected):
    s = stats.summarize(_rounds(ratio, 5, 10, 0.01), margin=0.02)
    assert s.verdict == expected
    assert s.ci_low <= s.ratio <= s.ci_high
    assert s.rounds == 50 and s.trials == 5


def test_noisy_small_run_is_inconclusive():
    s = stats.summarize(_rounds(1.0, 2, 3, 0.2), margin=0.02)
    assert s.verdict == "inconclusive"


def test_margin_and_fail_above():
    assert stats.verdict(1.025, 1.04, 0.02) == "slower"
    assert stats.verdict(1.025, 1.04, 0.05) == "same"
    assert stats.verdict(1.01, 1.04, 0.02) == "inconclusive"  # straddles 1 + margin
    assert stats.verdict(0.95, 0.97, 0.02) == "faster"
    assert stats.verdict(float("nan"), 1.0, 0.02) == "inconclusive"
    assert stats.fails_gate(1.06, 0.05) and not stats.fails_gate(1.04, 0.05)
    assert not stats.fails_gate(1.06, None)


def test_gate_is_decided_on_either_side_of_its_threshold():
    assert stats.gate_result(1.025, 1.06, 0.02) == "fail"
    assert stats.gate_result(0.97, 1.015, 0.02) == "pass"  # not 2% slower, though not `same`
    assert stats.gate_result(1.01, 1.03, 0.02) == "undecided"  # straddles 1.02
    assert stats.gate_result(float("nan"), float("nan"), 0.02) == "undecided"
    assert stats.gate_result(1.5, 1.6, None) is None
    s = stats.summarize(_rounds(1.10, 5, 10, 0.01), margin=0.02, fail_above=0.05)
    assert s.gate == "fail" and s.decision_ci_low > 1.05 and s.settled()
    assert "gate --fail-above 5%: fail" in ab_words.gate_words(s)
    s = stats.summarize(_rounds(1.0, 5, 10, 0.01), margin=0.02, fail_above=0.05)
    assert s.gate == "pass" and s.decision_ci_high < 1.05 and "not 5% slower" in ab_words.gate_words(s)
    s = stats.summarize(_rounds(1.05, 5, 10, 0.01), margin=0.02, fail_above=0.05)
    assert s.verdict == "slower" and s.gate == "undecided" and not s.settled()


def test_trial_level_bootstrap_is_wider_than_rounds_alone():
    # rounds agree within each trial but trials disagree: the trial level must widen the CI
    trials = [[0.05] * 10, [-0.05] * 10, [0.0] * 10, [0.04] * 10]
    _, lo, hi = stats.hierarchical_ci(trials)
    flat = [sum(trials, [])]
    _, flo, fhi = stats.hierarchical_ci(flat)
    assert hi - lo > 2 * (fhi - flo)


def test_median_estimate_resists_rounds_that_met_different_states():
    # A shared machine: some rounds' two blocks meet different states (a burst in one block
    # only), giving log ratios far out in either tail. Constructed: true ratio 1.045, small
    # noise, and 20% of rounds off by +-0.5 in the log (symmetric, as counterbalancing makes it).
    rng = np.random.default_rng(5)
    trials = []
    for _ in range(8):
        lr = np.log(1.045) + rng.normal(0, 0.03, 20)
        hit = rng.random(20) < 0.2
        lr[hit] += rng.choice([-0.5, 0.5], hit.sum())
        trials.append(list(lr))
    est, lo, hi = stats.hierarchical_ci(trials)
    assert est == pytest.approx(math.exp(np.median(np.concatenate(trials))))
    assert lo > 1.02 and hi < 1.07  # settles "slower" at a 2% margin; the mean would not:
    mean = np.concatenate(trials).mean()
    spread = np.concatenate(trials).std() / np.sqrt(160)
    assert math.exp(mean - 2 * spread) < 1.02


class Recorded:
    """A block source replaying constructed blocks; counts processes like the real one."""

    def __init__(self, ratio=1.0, noise=0.01, seed=3, fail_at=None):
        self.rng = np.random.default_rng(seed)
        self.ratio, self.noise, self.fail_at = ratio, noise, fail_at
        self.calls: list = []
        self.opened = 0
        self.pid = 1000

    def open(self, trial):
        self.opened += 1
        ready = {}
        for side in ("base", "new"):
            self.pid += 1
            ready[side] = {"pid": self.pid, "numerics": {"ok": True}}
        return ready

    def block(self, side):
        self.calls.append(side)
        if self.fail_at is not None and len(self.calls) > self.fail_at:
            raise runner.SideFailed(side, "runner process ended (exit -9)")
        f = self.ratio if side == "new" else 1.0
        return list(10 * f * (1 + self.rng.normal(0, self.noise, 5)))

    def close(self):
        pass


class Clock:
    def __init__(self, step=0.1):
        self.t, self.step = 0.0, step

    def __call__(self):
        self.t += self.step
        return self.t


def test_rounds_are_paired_and_order_random_and_seeded():
    src = Recorded()
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
    again = runner.run_ab(Recorded(), plan, clock=Clock(), load=dict)
    assert orders == [tuple(r["order"]) for r in again.rounds]  # seeded
    other = runner.run_ab(Recorded(), runner.Plan(max_trials=3, seed=8), clock=Clock(), load=dict)
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
    src = Recorded()
    plan = runner.Plan(rounds_per_trial=4, min_trials=4, max_trials=4)
    out = runner.run_ab(src, plan, clock=Clock(), load=dict)
    assert src.opened == 4 and len(out.trials) == 4
    pids = [p for t in out.trials for p in t["pids"].values()]
    assert len(set(pids)) == 8  # a fresh pair of processes each trial


def test_sequential_stop_when_settled():
    plan = runner.Plan(rounds_per_trial=10, min_trials=3, max_trials=20, max_time_s=1e9)
    out = runner.run_ab(Recorded(ratio=1.2), plan, clock=Clock(), load=dict)
    assert out.stop_reason == "settled" and out.summary.verdict == "slower"
    assert out.summary.trials == 3  # the earliest look


def test_with_a_gate_the_run_stops_once_the_gate_is_decided():
    """An identical pair whose CI is too wide for `same` at +-0% margin still passes a 5% gate at
    the first look; without the gate the same data runs to the trial cap."""
    plan = runner.Plan(rounds_per_trial=4, min_trials=3, max_trials=8, max_time_s=1e9, margin=0.0)
    gated = dataclasses.replace(plan, fail_above=0.05)
    out = runner.run_ab(Recorded(ratio=1.0, noise=0.02), gated, clock=Clock(), load=dict)
    assert out.stop_reason == "settled" and out.summary.trials == 3
    assert out.summary.gate == "pass" and out.looks[-1]["gate"] == "pass"
    out = runner.run_ab(Recorded(ratio=1.0, noise=0.02), plan, clock=Clock(), load=dict)
    assert out.stop_reason == "trial cap" and out.summary.gate is None
    out = runner.run_ab(Recorded(ratio=1.2, noise=0.02), gated, clock=Clock(), load=dict)
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
    out = runner.run_ab(Recorded(ratio=1.02, noise=0.3), plan, clock=Clock(0.1), load=dict)
    assert out.stop_reason == "time cap"
    assert out.summary.verdict == "inconclusive"
    assert out.seconds <= 2.5


def test_side_lost_mid_run_keeps_rounds():
    plan = runner.Plan(rounds_per_trial=10, min_trials=3, max_trials=3)
    with pytest.raises(runner.SideFailed) as e:
        runner.run_ab(Recorded(fail_at=9), plan, clock=Clock(), load=dict)
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

    out = runner.run_ab(Recorded(ratio=1.1), runner.Plan(max_trials=3), clock=Clock(), load=dict)
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


class Replay:
    """A block source replaying constructed blocks (``blocks[trial][round][side]``)."""

    def __init__(self, blocks):
        self.blocks, self.trial, self.i = blocks, -1, {"base": 0, "new": 0}

    def open(self, trial):
        self.trial, self.i = trial, {"base": 0, "new": 0}
        return {
            s: {"pid": 2 * trial + k, "numerics": {"ok": True}} for k, s in enumerate(runner.SIDES)
        }

    def block(self, side):
        r = self.i[side]
        self.i[side] += 1
        return self.blocks[self.trial][r][side]

    def close(self):
        pass


def _null_blocks(seed, trials=20, rounds=5, n=5):
    """Both sides from one distribution: every settled verdict at margin 0 is a false one."""
    rng = np.random.default_rng(seed)
    return [[{s: list(10 * np.exp(rng.normal(0, 0.05, n))) for s in runner.SIDES}
             for _ in range(rounds)] for _ in range(trials)]  # fmt: skip


def test_planned_looks_and_their_confidence():
    assert stats.look_schedule(3, 20) == [3, 5, 8, 12, 20]
    assert stats.look_schedule(2, 4) == [2, 3, 4]
    assert stats.look_schedule(3, 3) == [3]
    assert stats.look_confidence(5) == pytest.approx(0.98)  # 1 - 0.10 / 5: one-sided 1% a look
    plan = runner.Plan(rounds_per_trial=5, min_trials=3, max_trials=20, margin=0.0)
    out = runner.run_ab(Replay(_null_blocks(1)), plan, clock=Clock(), load=dict)
    assert [lk["trials"] for lk in out.looks] == [3, 5, 8, 12, 20][: len(out.looks)]
    assert all(lk["confidence"] == pytest.approx(0.98) for lk in out.looks)
    s = out.summary  # the reported CI is the plain 95% one, inside the decision interval
    assert s.confidence == 0.95 and s.decision_confidence == pytest.approx(0.98)
    assert s.decision_ci_low <= s.ci_low <= s.ci_high <= s.decision_ci_high


def test_time_cap_between_looks_is_the_next_look():
    plan = runner.Plan(rounds_per_trial=5, min_trials=3, max_trials=20, margin=0.0,
                       max_time_s=5.5)  # fmt: skip
    out = runner.run_ab(Replay(_null_blocks(2)), plan, clock=Clock(0.1), load=dict)
    assert out.stop_reason == "time cap" and out.summary.trials == 4  # between looks 3 and 5
    assert out.looks[-1]["why"] == "final" and out.looks[-1]["rounds"] == out.summary.rounds
    assert len(out.looks) <= len(plan.looks())


def test_repeated_looks_keep_false_settles_bounded():
    """Identical distributions, margin 0: any settled verdict is false. Looking after every
    trial at the uncorrected decision level (90%: each end a one-sided 5% test) settles falsely
    more often than 5%; the planned, Bonferroni-adjusted looks keep each false claim (slower;
    faster) under 5% (plus binomial slack for 200 runs).

    The gate (--fail-above X) is covered by the same bound: its worst case is a true ratio of
    exactly 1 + X (then a decided gate is false either way), which is this null shifted by
    log(1 + X); at X = 0 and margin 0 its decisions are the verdict's (fail iff slower, pass iff
    faster), checked run by run on the first 20 seeds."""
    plan = runner.Plan(rounds_per_trial=5, min_trials=3, max_trials=20, margin=0.0)
    gated = dataclasses.replace(plan, fail_above=0.0)
    seeds = range(200)
    false = {"slower": 0, "faster": 0}
    uncorrected = 0
    for seed in seeds:
        blocks = _null_blocks(seed)
        out = runner.run_ab(Replay(blocks), plan, clock=Clock(), load=dict)
        if out.stop_reason == "settled":
            false[out.summary.verdict] += 1
        if seed < 20:
            g = runner.run_ab(Replay(blocks), gated, clock=Clock(), load=dict)
            assert (g.stop_reason, g.summary.trials) == (out.stop_reason, out.summary.trials)
            want = {"slower": "fail", "faster": "pass"}.get(out.summary.verdict, "undecided")
            assert g.summary.gate == want
        logs = [[stats.round_log_ratio(r["base"], r["new"]) for r in t] for t in blocks]
        for k in range(3, 21):
            _, lo, hi = stats.hierarchical_ci(logs[:k], confidence=stats.DECISION_CONFIDENCE)
            if stats.settled(stats.verdict(lo, hi, 0.0)):
                uncorrected += 1
                break
    n = len(seeds)
    bound = 0.05 + 2 * (0.05 * 0.95 / n) ** 0.5
    assert false["slower"] / n <= bound and false["faster"] / n <= bound, false
    corrected = sum(false.values())
    assert uncorrected > 2 * corrected and uncorrected / n > 0.05, (uncorrected, false)


def test_few_trials_that_differ_more_than_rounds_do_not_settle_falsely():
    """Process starts that differ more than rounds do (here a trial offset of SD 3% against
    round noise of 1%: a runtime or a VM whose processes land in different modes): a bootstrap
    over 3 trials cannot show a spread it did not sample (its range ends at theirs), so alone,
    even expanded for the number of trials, it settled falsely in about a fifth of such null
    runs at the planned looks. The decision interval also covers Student's t interval over the
    trials' medians (``stats.trial_interval``), which keeps each false claim under 5%."""
    looks, level = stats.look_schedule(3, 20), stats.look_confidence(5)
    n = 200
    false = {"slower": 0, "faster": 0}
    bootstrap_only = 0
    for seed in range(n):
        rng = np.random.default_rng(seed)
        trials = [list(rng.normal(0, 0.03) + rng.normal(0, 0.01, 10)) for _ in range(20)]
        found = [None, None]
        for k in looks:
            _, boot = stats.bootstrap_locations(trials[:k], seed=seed)
            lo, hi = stats.trial_interval(trials[:k], boot, level)
            blo, bhi = stats.interval(boot, stats.expanded_confidence(level, k))
            for i, (a, b) in enumerate(((lo, hi), (blo, bhi))):
                v = stats.verdict(a, b, 0.0)
                if found[i] is None and stats.settled(v):
                    found[i] = v
        if found[0]:
            false[found[0]] += 1
        bootstrap_only += found[1] is not None
    bound = 0.05 + 2 * (0.05 * 0.95 / n) ** 0.5
    assert false["slower"] / n <= bound and false["faster"] / n <= bound, false
    assert bootstrap_only / n > 0.12, bootstrap_only


def test_trial_interval_covers_the_bootstrap_and_the_t_interval():
    trials = [[0.0] * 5, [0.01] * 5, [0.02] * 5]
    _, boot = stats.bootstrap_locations(trials, seed=1)
    lo, hi = stats.trial_interval(trials, boot, 0.9)
    _, tlo, thi = stats.t_interval(trials, 0.9)
    assert (lo, hi) == pytest.approx((tlo, thi))  # 3 trials: t is wider than the range
    assert math.exp(min(boot)) >= lo and math.exp(max(boot)) <= hi
    one = [[0.0, 0.01, -0.01, 0.02, 0.0]]  # one trial: rounds are all there is
    _, boot1 = stats.bootstrap_locations(one, seed=1)
    assert stats.trial_interval(one, boot1, 0.9) == pytest.approx(stats.interval(boot1, 0.9))


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
