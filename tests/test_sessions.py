"""Sessions (issue 13): fresh runner processes, interleaved; between-session statistics; the
session method of `compare` (pass / fail / inconclusive)."""

from __future__ import annotations

import json
import math
from datetime import datetime

import pytest
from conftest import FAST, run_cli
from scipy import stats

from edgevid.analysis.sessions import (
    _u_null_counts,
    compare_sessions,
    order_ci,
    session_summary,
    shift_ci,
)
from edgevid.run.sessions import SessionPlan, cool_down, measure


def test_u_null_distribution_and_shift_ci():
    for n, m in ((3, 3), (4, 6), (5, 5)):
        counts = _u_null_counts(n, m)
        assert sum(counts) == math.comb(n + m, n) and len(counts) == n * m + 1
        assert counts == counts[::-1]  # symmetric
    base = [10.0, 10.3, 9.8, 10.1, 10.05]
    new = [v * 1.1 for v in base]
    est, lo, hi, conf = shift_ci(base, new)
    assert est == pytest.approx(1.1) and lo <= 1.1 <= hi and conf >= 0.95
    # the interval inverts the exact U test: it excludes 1 iff p < 0.05
    p = stats.mannwhitneyu(base, new, alternative="two-sided", method="exact").pvalue
    assert (lo > 1) == (p < 0.05)


def test_order_ci_coverage():
    lo, hi, conf = order_ci([5, 1, 4, 2, 3])
    assert (lo, hi) == (1, 5) and conf == pytest.approx(1 - 2 / 32)
    lo, hi, conf = order_ci(range(10))
    assert (lo, hi) == (1, 8) and conf >= 0.95
    s = session_summary([10, 11, 12])
    assert s["median"] == 11 and s["n_sessions"] == 3 and s["cv"] == pytest.approx(1 / 11)


def test_verdicts():
    base = [10.0, 10.2, 9.9, 10.1, 10.05]
    same = compare_sessions(base, [10.1, 10.0, 10.15, 9.95, 10.1], 0.05)
    assert same["verdict"] == "pass"
    slower = compare_sessions(base, [11.0, 11.1, 10.9, 11.2, 11.05], 0.05)
    assert slower["verdict"] == "fail" and slower["p_mannwhitney"] < 0.05
    small = compare_sessions(base, [v * 1.02 for v in base], 0.05)
    assert small["verdict"] == "pass"  # real, but below the threshold
    few = compare_sessions(base[:3], [13.0, 14.0, 12.0], 0.05)
    assert few["verdict"] == "inconclusive" and few["more_sessions"] >= 1  # 3 v 3: p >= 0.1
    noisy = compare_sessions(base, [10.1, 10.0, 10.2, 14.0, 10.1], 0.05)
    assert noisy["verdict"] == "inconclusive" and noisy["spread_changed"]
    assert "more session" in noisy["reason"]
    assert compare_sessions(base[:2], base[:2], 0.05)["verdict"] == "inconclusive"


def test_cooldown_waits_for_temperature_then_pause():
    """No thermal zone is readable on this machine: the temperature path is driven by a reading
    function standing in for the sysfs zone; the pause path is real."""
    readings = iter([60.0, 55.0, 51.0, 49.0])
    slept = []
    plan = SessionPlan(sessions=2, cooldown=True, cooldown_delta_c=3.0, poll_s=0.0)
    got = cool_down(plan, 47.0, read=lambda: next(readings), sleep=slept.append)
    assert got["method"] == "temperature" and got["temp_c"] == 49.0 and not got["timed_out"]
    assert got["target_c"] == 50.0 and len(slept) == 3
    got = cool_down(SessionPlan(cooldown=True, cooldown_pause_s=0.05), None, read=lambda: None)
    assert got["method"] == "pause" and got["waited_s"] >= 0.05


def _fake_session(p50s: dict):
    """``run_one`` for :func:`measure`: configuration ``entry`` gets its next recorded median."""
    calls = []

    def run_one(ref, entry):
        k = sum(1 for c in calls if c == entry)
        calls.append(entry)
        med = p50s[entry][k]
        return {"status": "ok", "samples_ms": [med] * 3, "summary": {"p50": med, "n": 3}}

    return run_one, calls


def test_session_ci_stops_each_configuration_at_its_target():
    """The sequential stop on given session medians: at least 3 sessions, then a configuration
    stops once the CI of its session medians is within the target; the others go on, in order.
    Steady: 10.0, 10.1, 9.9 -> CI 9.9..10.1, half-width 1% after 3. Spread: 10, 14, 8, ...:
    the CI is min..max (n <= 5) or 8..14 at 6, a half-width of 26-30%, never 5%: the cap, 6."""
    p50s = {
        "steady": [10.0, 10.1, 9.9, 10.0, 10.0, 10.0],
        "spread": [10.0, 14.0, 8.0, 13.0, 9.0, 12.0],
    }
    run_one, calls = _fake_session(p50s)
    ref = type("Ref", (), {"name": "m"})()
    plan = SessionPlan(sessions=6, target_ci=0.05)
    got = list(measure([ref], ["steady", "spread"], run_one, plan))
    assert calls == ["steady", "spread"] * 3 + ["spread"] * 3
    steady, spread = got
    assert steady["session_stop_reason"] == "converged" and len(steady["sessions"]) == 3
    assert steady["session_summary"]["ci_rel_halfwidth"] == pytest.approx(0.01)
    assert spread["session_stop_reason"] == "session-cap" and len(spread["sessions"]) == 6
    assert [s["round"] for s in spread["sessions"]] == list(range(6))


def test_bench_sessions_interleave_and_compare(workdir):
    args = [
        "bench",
        "x3d-tiny",
        "--to",
        "onnx",
        "--to",
        "openvino",
        "--sessions",
        "3",
        "--cooldown",
        "--cooldown-pause",
        "0.1",
        *FAST,
        "--json",
    ]
    proc = run_cli(*args, "--results", "base", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    assert [r["format"] for r in records] == ["onnx", "openvino"]
    starts = []
    for r in records:
        assert r["status"] == "ok" and len(r["sessions"]) == 3
        assert r["session_summary"]["n_sessions"] == 3
        assert sum(len(s["samples_ms"]) for s in r["sessions"]) == len(r["samples_ms"])
        for s in r["sessions"]:
            assert s["p50"] > 0 and s["samples_ms"] and s["wall_s"] > 0
            assert s["cooldown"]["method"] in ("none", "pause", "temperature")
            starts.append((s["round"], datetime.fromisoformat(s["started_at"]), r["format"]))
        assert [s["cooldown"]["method"] for s in r["sessions"]][1:] != ["none", "none"]
    # A B A B A B: every session of round k starts before any of round k + 1
    ordered = sorted(starts, key=lambda t: (t[0], t[2] != "onnx"))
    assert [t[1] for t in ordered] == sorted(t[1] for t in starts)
    proc = run_cli(*args, "--results", "new", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("compare", "base", "new", "--fail-above", "5%", "--json", cwd=workdir)
    assert proc.returncode in (0, 1), proc.stderr
    out = json.loads(proc.stdout)
    assert {p["method"] for p in out["pairs"]} == {"sessions"}
    assert len(out["sessions"]) == 2
    for v in out["sessions"]:
        assert v["verdict"] in ("pass", "fail", "inconclusive") and v["n_base"] == 3
    proc = run_cli("report", "base", cwd=workdir)
    assert "## Between-session spread" in proc.stdout


def test_single_sessions_say_within_run_and_session_ci_stops(workdir):
    one = ["bench", "x3d-tiny", "--to", "onnx", *FAST]
    assert run_cli(*one, "--results", "a", cwd=workdir).returncode == 0
    assert run_cli(*one, "--results", "b", cwd=workdir).returncode == 0
    proc = run_cli("compare", "a", "b", cwd=workdir)
    assert "within-run noise only" in proc.stderr
    proc = run_cli(*one, "--sessions", "4", "--session-ci", "0.5", "--json", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)[0]
    # Where it stops depends on this machine's spread; that it stops where the rule says does
    # not (the rule itself: test_session_ci_stops_each_configuration_at_its_target).
    p50s = [s["p50"] for s in r["sessions"]]
    halves = [session_summary(p50s[:k])["ci_rel_halfwidth"] for k in range(3, len(p50s) + 1)]
    assert 3 <= len(p50s) <= 4
    if r["session_stop_reason"] == "converged":
        assert halves[-1] <= 0.5 and all(h > 0.5 for h in halves[:-1])
    else:
        assert r["session_stop_reason"] == "session-cap" and len(p50s) == 4
        assert all(h > 0.5 for h in halves)


@pytest.mark.parametrize(
    "bad",
    [
        ["--sessions", "0"],
        ["--sessions", "2", "--session-ci", "0.1"],
        ["--session-ci", "2", "--sessions", "4"],
    ],
)
def test_bad_session_options(workdir, bad):
    proc = run_cli("bench", "x3d-tiny", "--to", "onnx", *bad, cwd=workdir)
    assert proc.returncode == 2 and "session" in proc.stderr
