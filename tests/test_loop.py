"""The shared timing loop and its statistics. The stopping rule, warm-up detection and caps run
on recorded or constructed streams of iteration times through the loop's injected clocks
(tests/timing_support.py), so they do not depend on how fast or steady this machine is; one test
drives a real runtime and checks only the shape of the result."""
import numpy as np
import pytest
from scipy import stats as sps
from timing_support import Replay, recorded

from edgevid.artifacts.export import export
from edgevid.models.ref import resolve
from edgevid.runners.loop import TimingPolicy, _rel_halfwidth, median_ci, run_loop, summarize
from edgevid.runners.run import RunOptions, run_artifact


def test_median_ci_covers_the_median_at_about_95_percent():
    rng = np.random.default_rng(0)
    true_median = sps.lognorm(s=0.5, scale=10).median()
    hits = 0
    for _ in range(400):
        lo, hi = median_ci(rng.lognormal(np.log(10), 0.5, size=60))
        hits += lo <= true_median <= hi
    assert 0.92 <= hits / 400 <= 0.99


def test_median_ci_matches_the_exact_binomial_interval():
    x = np.arange(1.0, 101.0)
    lo, hi = median_ci(x)
    exact = sps.quantile_test(x, q=np.median(x)).confidence_interval(0.95)
    assert abs(lo - exact.low) <= 1 and abs(hi - exact.high) <= 1


def test_summary_matches_numpy():
    x = np.random.default_rng(1).gamma(4, 2, size=500)
    s = summarize(x)
    assert s["n"] == 500
    for key, q in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99)):
        assert s[key] == pytest.approx(np.percentile(x, q))
    assert s["mean"] == pytest.approx(x.mean()) and s["std"] == pytest.approx(x.std(ddof=1))
    assert s["min"] == x.min() and s["max"] == x.max()
    assert s["outliers"] > 0  # a gamma tail has some, and they are counted, not dropped


def _steady():
    return recorded("timing_streams.json")["steady"]


def test_loop_converges_on_a_steady_workload():
    """The recorded steady stream (tests/data/timing_streams.json) meets a 5% target."""
    policy = TimingPolicy(min_iters=20, min_time_s=0.3, max_time_s=20, target_ci=0.05)
    r = Replay(_steady()).run(policy)
    assert r.stop_reason == "converged"
    assert len(r.samples_ms) >= 20
    assert policy.warmup_min <= len(r.warmup_ms) <= policy.warmup_max
    s = summarize(r.samples_ms)
    assert (s["ci95_high"] - s["ci95_low"]) / 2 <= 0.05 * s["p50"]


def test_loop_reports_the_cap_when_the_target_is_unreachable():
    policy = TimingPolicy(min_iters=5, min_time_s=0.1, max_time_s=0.5, target_ci=1e-12)
    r = Replay(_steady()).run(policy)
    assert r.stop_reason == "time-cap"
    # the cap ends the loop at the first call that reaches it
    assert sum(r.samples_ms) >= 500 - 1e-6 and sum(r.samples_ms[:-1]) < 500 + 1e-6
    policy = TimingPolicy(min_iters=5, min_time_s=0.1, max_time_s=60, max_iters=30, target_ci=1e-12)
    r = Replay(_steady()).run(policy)
    assert r.stop_reason == "iter-cap" and len(r.samples_ms) == 30


#: 1/128 s: sums of it are exact in binary floating point, so no boundary is decided by rounding.
T = 7.8125


def test_stopping_rule_needs_count_and_time_then_checks_every_5_percent():
    """A constant stream has a CI of zero width: it stops at the first check at which both
    minimums are met -- 64 calls (0.5 s), though 20 were enough by count."""
    policy = TimingPolicy(warmup_min=0, min_iters=20, min_time_s=0.5, max_time_s=5, target_ci=0.01)
    r = Replay([T] * 200).run(policy)
    assert r.stop_reason == "converged" and len(r.samples_ms) == 64
    assert len(r.warmup_ms) == 6  # two flat windows of 3 at once
    # A stream that only settles later: checks come every max(1, n // 20) calls after n = 20,
    # so it stops at the first check point at which the median's CI is narrow enough.
    noisy = list(np.random.default_rng(3).lognormal(np.log(10), 0.3, 400))
    policy = TimingPolicy(warmup_min=0, min_iters=20, min_time_s=0, max_time_s=60, target_ci=0.05)
    r = Replay([T] * 6 + noisy).run(policy)
    n = len(r.samples_ms)
    assert r.stop_reason == "converged" and _rel_halfwidth(r.samples_ms) <= 0.05
    checks, k = [], 20
    while k <= n:
        checks.append(k)
        k += max(1, k // 20)
    assert n == checks[-1]
    assert all(_rel_halfwidth(r.samples_ms[:c]) > 0.05 for c in checks[:-1])


def test_warm_up_stops_when_iteration_times_stop_trending():
    """Warm-up ends at the first call after which the median of the last 3 calls is within 5% of
    the median of the 3 before; the timed samples start with the next call."""
    trend = [40.0, 30.0, 22.0, 17.0, 14.0, 12.0, 11.0, 10.4, 10.2, 10.1, 10.0, 10.0]
    stream = trend + [10.0 + 0.01 * i for i in range(100)]
    policy = TimingPolicy(warmup_min=3, min_iters=10, min_time_s=0, target_ci=0.5)
    r = Replay(stream).run(policy)
    # after call 12: median(10.1, 10.0, 10.0) = 10.0 is within 5% of median(11, 10.4, 10.2)
    # = 10.4; after call 11: 10.1 vs 11.0 is not
    expected = 12
    assert len(r.warmup_ms) == expected and r.warmup_ms == stream[:expected]
    assert r.samples_ms[0] == stream[expected]
    # a stream that keeps trending is cut by warmup_max, then by the warm-up time cap
    falling = [100.0 * 0.8**i for i in range(60)]
    r = Replay(falling + [1.0] * 100).run(TimingPolicy(warmup_max=20, min_iters=5, min_time_s=0))
    assert len(r.warmup_ms) == 20
    slow = [1000.0 / (i + 1) for i in range(40)]  # 1 s, 0.5 s, ...: 2.45 s in 6, 2.59 s in 7
    policy = TimingPolicy(warmup_max=50, warmup_max_s=2.5, min_iters=5, min_time_s=0)
    r = Replay(slow + [1.0] * 100).run(policy)
    assert sum(r.warmup_ms[:-1]) < 2500 <= sum(r.warmup_ms)


def test_sampler_runs_between_iterations_every_period():
    readings = []
    policy = TimingPolicy(warmup_min=0, min_iters=200, min_time_s=1.0, max_time_s=1.0,
                          sample_every_s=0.25)
    r = Replay([T] * 300).run(policy, sampler=lambda: readings.append(1) or {})
    assert r.stop_reason == "time-cap" and len(r.samples_ms) == 128
    assert len(r.sampled) == len(readings) == 4  # at 0.25, 0.5, 0.75 and 1.0 s


def test_loop_on_a_real_runtime(tmp_path):
    """The loop drives a real ONNX Runtime session; what it stops on depends on this machine, so
    only the shape of the result is checked."""
    from edgevid.runners import onnxruntime as ort_runner
    from edgevid.runners.artifact import load_manifest, reference_inputs

    d = export(resolve("x3d-tiny"), "onnx", root=tmp_path / "a")
    m = load_manifest(d)
    sess = ort_runner.load(d, m, RunOptions(threads=1))
    inputs = reference_inputs(m)
    policy = TimingPolicy(min_iters=5, min_time_s=0.05, max_time_s=0.5, warmup_max=5)
    r = run_loop(lambda: sess.infer(inputs), policy)
    assert r.stop_reason in ("converged", "time-cap", "iter-cap")
    assert len(r.samples_ms) >= 1 and all(t > 0 for t in r.samples_ms)
    assert 1 <= len(r.warmup_ms) <= 5


def test_unknown_timing_setting_is_rejected():
    with pytest.raises(ValueError, match="min_itrs"):
        TimingPolicy.from_dict({"min_itrs": 3})


def test_runtime_failure_becomes_an_error_record(tmp_path):
    import json
    import shutil

    from edgevid.runners.artifact import manifest_digest

    src = export(resolve("x3d-tiny"), "onnx", root=tmp_path / "a")
    d = tmp_path / "broken"
    shutil.copytree(src, d)
    m = json.loads((d / "artifact.json").read_text())
    m["runner"] = "onnxruntime"
    m["inputs"][0]["shape"] = [1, 3, 4, 33, 32]  # the runtime rejects the input
    m["manifest_sha256"] = manifest_digest(m)  # a self-consistent manifest, a wrong input shape
    (d / "artifact.json").write_text(json.dumps(m))
    record = run_artifact(d, RunOptions(threads=1), TimingPolicy(min_time_s=0.1, max_time_s=0.2))
    assert record["status"] == "error"
    assert "INVALID_ARGUMENT" in record["reason"] or "dimension" in record["reason"].lower()
    assert record["samples_ms"] == [] and record["env"]["runtimes"]["onnxruntime"]
