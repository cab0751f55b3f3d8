"""The shared timing loop and its statistics, on a real runtime."""
import numpy as np
import pytest
from scipy import stats as sps

from edgevid.artifacts.export import export
from edgevid.models.ref import resolve
from edgevid.runners.loop import TimingPolicy, median_ci, run_loop, summarize
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


@pytest.fixture(scope="module")
def ort_session(tmp_path_factory):
    from edgevid.runners import onnxruntime as ort_runner
    from edgevid.runners.artifact import load_manifest, reference_inputs

    d = export(resolve("x3d-tiny"), "onnx", root=tmp_path_factory.mktemp("a"))
    m = load_manifest(d)
    sess = ort_runner.load(d, m, RunOptions(threads=1))
    inputs = reference_inputs(m)
    return lambda: sess.infer(inputs)


def test_loop_converges_on_a_steady_workload(ort_session):
    policy = TimingPolicy(min_iters=20, min_time_s=0.3, max_time_s=20, target_ci=0.05)
    r = run_loop(ort_session, policy)
    assert r.stop_reason == "converged"
    assert len(r.samples_ms) >= 20
    assert policy.warmup_min <= len(r.warmup_ms) <= policy.warmup_max
    s = summarize(r.samples_ms)
    assert (s["ci95_high"] - s["ci95_low"]) / 2 <= 0.05 * s["p50"]


def test_loop_reports_the_cap_when_the_target_is_unreachable(ort_session):
    policy = TimingPolicy(min_iters=5, min_time_s=0.1, max_time_s=0.5, target_ci=1e-12)
    r = run_loop(ort_session, policy)
    assert r.stop_reason == "time-cap"
    policy = TimingPolicy(min_iters=5, min_time_s=0.1, max_time_s=60, max_iters=30, target_ci=1e-12)
    assert run_loop(ort_session, policy).stop_reason == "iter-cap"


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
