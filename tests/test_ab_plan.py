"""benchmarks/ab_plan.py (replaying recorded `edgevid ab` runs under candidate plans) and the
estimator options it shares with edgevid/analysis/ab.py. Constructed recordings, no timing."""

import importlib.util
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from edgevid.analysis import ab as stats

ROOT = Path(__file__).resolve().parents[1]


def _plan_module():
    spec = importlib.util.spec_from_file_location("ab_plan", ROOT / "benchmarks" / "ab_plan.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("ab_plan", mod)  # its dataclasses look their module up there
    spec.loader.exec_module(sys.modules["ab_plan"])
    mod = sys.modules["ab_plan"]
    return mod


@pytest.mark.parametrize("trim", [0.5, 0.25, 0.1, 0.0])
def test_bootstrap_rows_use_the_same_location_as_the_estimate(trim):
    rng = np.random.default_rng(3)
    for c in (1, 2, 5, 10, 11):
        x = np.sort(rng.normal(size=c))
        padded = np.concatenate([x, [np.inf] * 3])[None]
        got = stats._sorted_location(padded, np.array([c]), trim)[0]
        assert got == pytest.approx(stats.location(x, trim))
    assert stats.location([1, 2, 3, 100], 0.25) == pytest.approx(2.5)  # the middle half's mean
    assert stats.location([1, 2, 3, 100], 0.5) == pytest.approx(2.5)


def test_whole_trial_resampling_keeps_each_trials_rounds_together():
    trials = [[0.0, 0.0, 0.3], [1.0, 1.0, 1.3], [2.0, 2.0, 2.3]]
    possible = set()
    for combo in itertools.combinations_with_replacement(range(3), 3):
        possible.add(round(float(np.median(np.concatenate([trials[i] for i in combo]))), 9))
    _, whole = stats.bootstrap_locations(trials, 500, seed=1, within=False)
    assert {round(float(v), 9) for v in whole} <= possible
    _, mixed = stats.bootstrap_locations(trials, 500, seed=1, within=True)
    assert not {round(float(v), 9) for v in mixed} <= possible  # rounds resampled: other values


def _recording(tmp_path: Path, ratio: float, trials=6, rounds=10, noise=0.01) -> Path:
    """An `edgevid ab --json` output: 0.5 s rounds, a 1 s restart between trials."""
    rng = np.random.default_rng(0)
    out, t = [], 0.0
    for k in range(trials):
        for i in range(rounds):
            base = list(10 * np.exp(rng.normal(0, noise, 5)))
            new = list(10 * ratio * np.exp(rng.normal(0, noise, 5)))
            out.append({"trial": k, "round": i, "t": t, "base_ms": base, "new_ms": new})
            t += 0.5
        t += 1.0
    path = tmp_path / f"rec-{ratio}.json"
    path.write_text(json.dumps({"record": {"ab": {"rounds": out}}}))
    return path


def test_replay_times_and_decisions(tmp_path):
    plan = _plan_module()
    rec = plan.load(_recording(tmp_path, 1.10))
    assert rec["round_s"] == pytest.approx(0.5) and rec["restart_s"] == pytest.approx(1.0)
    c = plan.Candidate("default")
    rng = np.random.default_rng(0)
    gate, seconds, n = plan.replay(rec, c, rng, 0.02, 120.0, 200)
    assert (gate, n) == ("fail", 3) and seconds == pytest.approx(3 * (10 * 0.5 + 1.0))
    gate, _, _ = plan.replay(rec, c, rng, 0.02, 120.0, 200, shift=1.0)  # moved to no change
    assert gate == "pass"
    # the cap: 12 s allows two 6 s trials, so the final look comes at 2, before min_trials
    gate, seconds, n = plan.replay(rec, c, rng, 0.02, 12.0, 200)
    assert (gate, n) == ("fail", 2) and seconds == pytest.approx(12.0)


def test_replay_uses_the_candidates_rounds_and_block_statistic(tmp_path):
    plan = _plan_module()
    rec = plan.load(_recording(tmp_path, 1.10, rounds=10))
    short = plan.Candidate("r4", rounds=4, min_trials=2, planned=(2, 4))
    gate, seconds, n = plan.replay(rec, short, np.random.default_rng(0), 0.02, 120.0, 200)
    assert gate == "fail" and n == 2 and seconds == pytest.approx(2 * (4 * 0.5 + 1.0))
    assert set(rec["logs"]) == {"median", "mean", "min"}
    assert all(math.isclose(a, math.log(1.10), abs_tol=0.05) for t in rec["logs"]["min"] for a in t)


def test_t_interval_over_trial_medians():
    trials = [[0.0, 0.0, 0.5], [0.01, -0.3, 0.01], [0.02, 0.02, 0.02]]  # medians 0, 0.01, 0.02
    est, lo, hi = stats.t_interval(trials, 0.95)
    half = 4.302652729911275 * 0.01 / math.sqrt(3)  # t(0.975, 2 df) x SD / sqrt(k)
    assert est == pytest.approx(math.exp(0.01))
    assert (lo, hi) == pytest.approx((math.exp(0.01 - half), math.exp(0.01 + half)))
    one = stats.t_interval(trials[:1], 0.95)
    assert one[0] == pytest.approx(1.0) and math.isnan(one[1]) and math.isnan(one[2])


def test_shift_puts_each_plans_own_estimand_on_the_boundary(tmp_path):
    """--shift 1.02 moves a recording so that the plan's estimand is exactly 1.02: the pooled
    median of the rounds for a bootstrap plan, the mean of the trials' medians for a t plan
    (with skewed trials the two differ, and each plan must be judged at its own boundary)."""
    plan = _plan_module()
    rec = plan.load(_recording(tmp_path, 1.0, trials=5, noise=0.05))
    rec["logs"]["median"][0] = [v + 0.2 for v in rec["logs"]["median"][0]]  # one outlying trial
    boot, t = plan.Candidate("default"), plan.Candidate("t", t=True)
    pooled = plan.plan_pool(rec, boot, 1.02)
    assert stats.location(np.concatenate(pooled)) == pytest.approx(math.log(1.02))
    means = plan.plan_pool(rec, t, 1.02)
    assert np.mean([stats.location(x) for x in means]) == pytest.approx(math.log(1.02))
    assert stats.location(np.concatenate(means)) != pytest.approx(math.log(1.02), abs=1e-3)


def test_pocock_candidate_holds_the_boundary_its_alpha_says():
    plan = _plan_module()
    alpha = plan.pocock_alpha(paths=50_000)
    assert plan.PLANS["pocockh"].alpha == pytest.approx(alpha, abs=0.01)
    assert alpha > round(1 - stats.DECISION_CONFIDENCE, 6)  # wider a look than Bonferroni
    equal = plan.pocock_alpha((1, 2, 3, 4, 5), paths=50_000)  # Pocock's constant 2.121 (z)
    assert equal / 5 / 2 == pytest.approx(0.0170, abs=0.001)
