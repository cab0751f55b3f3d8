"""`edgevid import`: other tools' measurements as edgevid results.

Fixtures in tests/data/ and where they come from:
- benchmark_app_2026.4_no_counters.{csv,json}: REAL output, recorded here with OpenVINO 2026.4.1's
  benchmark_app on the x3d-tiny ONNX artifact: ``benchmark_app -m model.onnx -d CPU -hint none
  -nstreams 1 -nireq 1 -nthreads 2 -t 3 -api sync -report_type no_counters -report_folder csv``
  (and ``-json_stats`` for the JSON one); benchmark_app_2026.4_stdout.log is its console output.
- benchmark_model_*_reconstructed.log: RECONSTRUCTED (no Android device or benchmark_model
  binary here) from tensorflow/lite/tools/benchmark/benchmark_model.cc
  (BenchmarkLoggingListener::OnBenchmarkEnd) and the Stat::OutputToStream line format, with
  made-up numbers; the "old" one has the pre-percentile stat lines.
- perf_test_1.2x_reconstructed.log: RECONSTRUCTED from onnxruntime/test/perftest/
  performance_runner.cc (PerformanceRunner::Run) and PerformanceResult::DumpToFile's summary.
- trtexec_exportTimes_reconstructed.json: RECONSTRUCTED from TensorRT's samples/trtexec/tracer.py
  field names (startInMs ... latencyMs, endToEndMs) with generated numbers.
- trtexec_10.16_excerpt.log: a real trtexec log excerpt (see runners/trtexec.py).
"""
import json
from pathlib import Path

import pytest
from conftest import run_cli

from edgevid.results.imports import detect, import_file
from edgevid.runners.record import REQUIRED_KEYS

DATA = Path(__file__).parent / "data"


def test_benchmark_app_csv_and_json_reports_agree_with_its_console(tmp_path):
    rec = import_file(DATA / "benchmark_app_2026.4_no_counters.csv", "x3d-tiny", "desktop-cpu")
    assert set(REQUIRED_KEYS) <= set(rec) and rec["status"] == "ok"
    assert rec["format"] == "openvino" and rec["threads"] == 2
    s = rec["summary"]
    # console: Count 1177 iterations, Median 1.22 ms, Average 2.39, Min 0.14, Max 16.17
    assert (s["n"], s["p50"], s["mean"], s["min"], s["max"]) == (1177, 1.22, 2.39, 0.14, 16.17)
    assert s["p90"] is None and s["std"] is None  # not reported, not invented
    assert rec["first_inference_ms"] == 6.88 and rec["throughput_fps"] == 392.24
    assert rec["numerics"]["ok"] is None and "not checked" in rec["numerics"]["reason"]
    js = import_file(DATA / "benchmark_app_2026.4_no_counters.json", "x3d-tiny", "desktop-cpu")
    assert js["summary"]["n"] == 1025 and js["summary"]["p50"] == 2.65
    console = (DATA / "benchmark_app_2026.4_stdout.log").read_text()
    assert "Median:        1.22 ms" in console and "Count:            1177" in console


def test_benchmark_model_with_and_without_percentiles():
    rec = import_file(DATA / "benchmark_model_2.x_reconstructed.log", "x3d-tiny", "android-phone")
    s = rec["summary"]
    assert rec["format"] == "tflite" and s["n"] == 244
    assert s["p50"] == pytest.approx(40.731) and s["mean"] == pytest.approx(40.9803)
    assert s["p95"] == pytest.approx(42.904) and s["p5"] == pytest.approx(40.012)
    assert rec["first_inference_ms"] == pytest.approx(61.25) and rec["load_ms"] == 84.207
    assert rec["warmup_iters"] == 121 and rec["peak_rss_mb"] == pytest.approx(52.7773)
    old = import_file(DATA / "benchmark_model_old_reconstructed.log", "x3d-tiny", "phone")
    assert old["summary"]["p50"] is None and old["summary"]["mean"] == pytest.approx(104.036)


def test_perf_test_and_trtexec_times():
    rec = import_file(DATA / "perf_test_1.2x_reconstructed.log", "x3d-tiny", "pi")
    s = rec["summary"]
    assert rec["format"] == "onnx" and s["n"] == 200
    assert s["p50"] == pytest.approx(11.9105) and s["p999"] == pytest.approx(18.9732)
    assert s["mean"] == pytest.approx(12.06035) and rec["load_ms"] == pytest.approx(184.123)
    assert rec["first_inference_ms"] == 14 and rec["peak_rss_mb"] == pytest.approx(178.95, 0.01)
    trt = import_file(DATA / "trtexec_exportTimes_reconstructed.json", "x3d-tiny", "orin",
                      precision="fp16")
    rows = json.loads((DATA / "trtexec_exportTimes_reconstructed.json").read_text())
    assert trt["format"] == "tensorrt" and trt["precision"] == "fp16"
    assert trt["samples_ms"] == [r["latencyMs"] for r in rows]
    assert trt["gpu_samples_ms"] == [r["computeMs"] for r in rows]
    assert trt["summary"]["n"] == 60 and trt["summary"]["ci95_low"] is not None
    log = import_file(DATA / "trtexec_10.16_excerpt.log", "x3d-tiny", "gpu", precision="fp16")
    assert log["summary"]["p50"] is not None and log["timing_source"] == "trtexec log"


def test_unknown_file_is_one_line_exit_2(tmp_path):
    (tmp_path / "x.txt").write_text("hello\n")
    with pytest.raises(Exception, match="could not tell which tool"):
        detect("hello")
    proc = run_cli("import", tmp_path / "x.txt", "--model", "x3d-tiny", "--device", "d",
                   cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_import_cli_stores_a_result_that_history_finds(tmp_path):
    proc = run_cli("import", DATA / "benchmark_app_2026.4_no_counters.csv", "--model",
                   "x3d-tiny", "--device", "nuc", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)
    assert (tmp_path / rec["result_path"]).is_file() and rec["source"] == "import:benchmark_app"
    hist = run_cli("history", "x3d-tiny", "--device", "nuc", "--json", cwd=tmp_path)
    assert hist.returncode == 0, hist.stderr
    assert json.loads(hist.stdout)[0]["p50"] == 1.22
