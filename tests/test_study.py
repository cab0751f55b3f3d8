"""`edgevid study` on this CPU with tiny models: the plan, reduced inputs, resuming after an
interruption, the study report, and its HTML in headless chromium."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FAST, default_sigint, run_cli
from report_support import check_page

from edgevid.models import get_spec
from edgevid.report.model import report_from_dict
from edgevid.run.study import FULL, SPATIAL, TEMPORAL, Progress, reduce_input

MODELS = "x3d-tiny,vidtr-tiny,vast-test"
ARGS = [
    "--formats",
    "onnx,openvino,coreml",
    "--precision",
    "fp32",
    "--input-scale",
    "0.5",
    *FAST,
    "--artifacts",
    "art",
    "--results",
    "res",
    "--out",
    "rep",
]


def test_reduced_input_spatial_then_temporal_else_full():
    x3d = reduce_input(get_spec("x3d-tiny"), 0.5)
    assert (x3d.how, x3d.shape, x3d.reduced) == (SPATIAL, (3, 4, 16, 16), True)
    vtn = reduce_input(get_spec("vtn-tiny"), 0.5)  # fixed positional embedding: frames instead
    assert (vtn.how, vtn.shape) == (TEMPORAL, (3, 3, 32, 32))
    vidtr = reduce_input(get_spec("vidtr-tiny"), 0.5)  # takes no other shape
    assert (vidtr.how, vidtr.shape, vidtr.reduced) == (FULL, (3, 4, 32, 32), False)
    assert reduce_input(get_spec("x3d-tiny"), 1.0).reduced is False


def test_progress_estimate():
    p = Progress(10)
    p.reused = 4
    assert p.left_s is None and "estimating" in p.line()
    p.measured, p.measure_s = 2, 30.0
    assert p.done == 6 and p.todo == 4 and p.left_s == pytest.approx(60.0)
    assert "6/10 done (4 reused), 4 to do" in p.line() and "~1:00 left" in p.line()


def _files(work):
    return sorted((work / "res").rglob("*.json"))


def test_study_runs_resumes_and_reports(workdir):
    # A second local device: the same CPU under another profile name.
    prof = workdir / "cpu-b.yaml"
    from edgevid.run.profiles import get_profile

    prof.write_text(
        get_profile("desktop-cpu").path.read_text().replace("name: desktop-cpu", "name: cpu-b")
    )
    cmd = [
        sys.executable,
        "-m",
        "edgevid.cli",
        "study",
        "--device",
        f"desktop-cpu,{prof}",
        "--models",
        MODELS,
        *ARGS,
    ]
    # Interrupt the first run once two results are on disk.
    proc = subprocess.Popen(
        cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 600
    while len(_files(workdir)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    kept = len(_files(workdir))
    assert 2 <= kept < 12

    # Resume: only what is missing is measured.
    proc = run_cli(
        "study", "--device", f"desktop-cpu,{prof}", "--models", MODELS, *ARGS, "--json", cwd=workdir
    )
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(proc.stdout)["meta"][0]
    assert f"12 configurations ({12 - kept} measured in this run, {kept} reused" in meta
    assert len(_files(workdir)) == 12
    rep = report_from_dict(json.loads(proc.stdout))

    # A third run measures nothing.
    again = run_cli(
        "study", "--device", f"desktop-cpu,{prof}", "--models", MODELS, *ARGS, cwd=workdir
    )
    assert again.returncode == 0, again.stderr
    assert "12/12 done (12 reused), 0 to do" in again.stderr
    assert len(_files(workdir)) == 12

    md = (workdir / "rep" / "study.md").read_text()
    assert "Reduced input (--input-scale 0.5): x3d-tiny H, W ×0.5" in md
    assert "vidtr-tiny" in md.split("Ran at the default input")[1].splitlines()[0]
    for section in (
        "## Inputs",
        "## Rankings by p50",
        "## FLOPs and params vs latency",
        "## Classes vs the CNN baselines",
        "## Latency vs published accuracy",
        "## Failed or unsupported configurations",
    ):
        assert section in md
    # coreml is not among the desktop-cpu formats: listed, with the reason
    assert "| desktop-cpu | coreml | not among the formats of the desktop-cpu profile |" in md
    classes = next(t for t in rep.tables() if t.id == "classes")
    cnn = [r for r in classes.rows if r[classes.column("class")].text == "cnn"]
    assert len(cnn) == 4 and all(r[classes.column("slowdown")].value == 1.0 for r in cnn)
    corr = next(t for t in rep.tables() if t.id == "correlation")
    assert len(corr.rows) == 4  # 2 devices x 2 backends, all models (classes have < 3)
    ranks = [t for t in rep.tables() if t.id.startswith("rank-")]
    assert len(ranks) == 4 and all(len(t.rows) == 3 for t in ranks)
    assert any("(reduced)" in c.text for t in ranks for r in t.rows for c in r)
    csv_rows = (workdir / "rep" / "study.csv").read_text().splitlines()
    assert len(csv_rows) == 13

    html = workdir / "rep" / "study.html"
    assert html.stat().st_size < 5 * 2**20
    check_page(html, rep, workdir / "study.png")


@pytest.mark.skipif(
    not os.environ.get("EDGEVID_STUDY_DIR"),
    reason="set EDGEVID_STUDY_DIR to a folder `edgevid study` wrote",
)
def test_a_written_study_report_renders_in_the_browser(tmp_path):
    """The HTML a real `edgevid study` run wrote (e.g. the whole zoo on this CPU), checked in
    headless chromium against the report model it wrote beside it (study.json)."""
    d = Path(os.environ["EDGEVID_STUDY_DIR"])
    rep = report_from_dict(json.loads((d / "study.json").read_text()))
    html = d / "study.html"
    assert html.stat().st_size < 5 * 2**20
    shot = Path(os.environ.get("EDGEVID_STUDY_SCREENSHOT") or tmp_path / "study.png")
    check_page(html, rep, shot)
