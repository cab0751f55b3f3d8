"""Defect 10: every number is type- and range-checked once, for the CLI and profiles alike, and
the error names the flag, or the file and field; records are strict JSON (no NaN/Infinity).
Real CLI on x3d-tiny; the bad cases stop before anything is exported or measured."""
import json
import math

import pytest
from conftest import FAST, run_cli


def _refused(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    text = " ".join(proc.stderr.split())
    assert text.startswith("error:"), proc.stderr
    for needle in needles:
        assert needle in text, text


@pytest.mark.parametrize("args,needles", [
    (["--target-ci", "nan"], ["--target-ci", "finite"]),
    (["--target-ci", "inf"], ["--target-ci", "finite"]),
    (["--target-ci", "0"], ["--target-ci", "above 0"]),
    (["--target-ci", "-0.5"], ["--target-ci", "above 0"]),
    (["--min-time", "-1"], ["--min-time", "at least 0"]),
    (["--min-time", "2", "--max-time", "1"], ["--min-time (2) must not exceed --max-time (1)"]),
    (["--warmup-min", "9", "--warmup-max", "3"], ["--warmup-min (9) must not exceed --warmup-max"]),
    (["--min-iters", "0"], ["--min-iters", "at least 1"]),
    (["--threads", "0"], ["--threads", "at least 1"]),
    (["--max-time", "1", "--min-time", "5"], ["--min-time (5) must not exceed --max-time (1)"]),
])
def test_bad_cli_numbers_are_refused_naming_the_flag(workdir, args, needles):
    proc = run_cli("bench", "x3d-tiny", "--to", "onnx", *args, cwd=workdir)
    _refused(proc, *needles)
    assert not (workdir / "artifacts").exists() and not (workdir / "results").exists()


def test_a_flag_that_contradicts_the_profile_names_both(workdir):
    # desktop-cpu's timing has max_time_s 30
    proc = run_cli("bench", "x3d-tiny", "--to", "onnx", "--min-time", "40", cwd=workdir)
    _refused(proc, "--min-time (40) must not exceed timing.max_time_s of device profile",
             "desktop-cpu.yaml")


PROFILE = """\
name: bad-numbers
connection: {{type: local}}
formats: [onnx]
{body}
"""


@pytest.mark.parametrize("body,needles", [
    ("timing: {min_iters: many}", ["field 'timing.min_iters' must be an integer", "'many'"]),
    ("timing: {min_time_s: -5}", ["field 'timing.min_time_s' must be at least 0"]),
    ("timing: {target_ci: .nan}", ["field 'timing.target_ci' must be a finite number"]),
    ("timing: {min_time_s: 3, max_time_s: 1}",
     ["field 'timing.min_time_s' (3) must not exceed field 'timing.max_time_s' (1)"]),
    ("timing: {min_iterations: 3}", ["field 'timing.min_iterations' is not a timing setting"]),
    ("thermal: {limit_c: hot}", ["field 'thermal.limit_c' must be a number", "'hot'"]),
    ("thermal: {limit_c: 1000}", ["field 'thermal.limit_c' must be at most 200"]),
    ("thermal: {zones: [1, 2]}", ["field 'thermal.zones' item 0 must be a non-empty string"]),
    ("threads: -2", ["field 'threads' must be at least 1"]),
    ("threads: 2.5", ["field 'threads' must be an integer"]),
])
def test_bad_profile_numbers_are_refused_naming_file_and_field(workdir, body, needles):
    path = workdir / "bad.yaml"
    path.write_text(PROFILE.format(body=body))
    proc = run_cli("bench", "x3d-tiny", "--device", path, *FAST, cwd=workdir)
    _refused(proc, f"device profile {path}", *needles)
    assert not (workdir / "artifacts").exists()


def test_bad_format_option_type_in_a_profile(workdir):
    path = workdir / "bad.yaml"
    path.write_text("name: x\nconnection: {type: local}\nformats:\n"
                    "  - {format: tflite, xnnpack: sometimes}\n")
    proc = run_cli("devices", cwd=workdir, env={"EDGEVID_PROFILES": str(workdir)})
    _refused(proc, "field 'formats[0].xnnpack' must be true or false", "'sometimes'")


def test_records_are_strict_json(workdir):
    """One timed iteration: the CI of the median is undefined (NaN in numpy); the record says
    null, and every file and the --json output parse with a parser that refuses NaN."""
    proc = run_cli("bench", "x3d-tiny", "--to", "onnx", "--min-iters", "1", "--min-time", "0",
                   "--max-time", "0", "--warmup-max", "0", "--warmup-min", "0", "--json",
                   cwd=workdir)
    assert proc.returncode == 0, proc.stderr

    def refuse(token):
        raise AssertionError(f"non-standard JSON constant {token}")

    (record,) = json.loads(proc.stdout, parse_constant=refuse)
    assert record["status"] == "ok" and record["summary"]["n"] == 1
    assert record["summary"]["ci95_low"] is None and record["summary"]["ci95_high"] is None
    (path,) = (workdir / "results").rglob("*.json")
    saved = json.loads(path.read_text(), parse_constant=refuse)
    assert saved["timing_policy"]["max_time_s"] == 0.0
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in saved["summary"].values())


def test_the_runner_refuses_nan_in_its_json_command_line(workdir):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "edgevid.runners", str(workdir), "--policy",
                           '{"target_ci": NaN}'], capture_output=True, text=True)
    assert proc.returncode == 2 and "NaN is not valid JSON" in proc.stderr, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "edgevid.runners", str(workdir), "--options",
                           '{"threads": "four"}'], capture_output=True, text=True)
    assert proc.returncode == 2 and "threads must be an integer" in proc.stderr, proc.stderr
