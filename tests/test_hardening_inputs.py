"""Issue 9, defects 4, 7, 9, 11, 12, 14: outputs never replace what a path is, output locations
are checked before any work, names stay inside their roots, bad manifests are one line, --json
errors are JSON, absurd shapes and thread counts are caught. Real CLI on x3d-tiny; no mocks."""
import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import FAST, run_cli


def _one_line(proc, code, *needles):
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def results_dir(workdir):
    p = run_cli("bench", "x3d-tiny", "--to", "onnx", *FAST, cwd=workdir)
    assert p.returncode == 0, p.stderr
    return workdir / "results"


def test_md_writes_through_a_symlink_and_refuses_fifos_devices_folders(workdir, results_dir):
    target = workdir / "real.md"
    target.write_text("old")
    (workdir / "link.md").symlink_to(target)
    p = run_cli("report", "results", "--md", "link.md", cwd=workdir)
    assert p.returncode == 0, p.stderr
    assert (workdir / "link.md").is_symlink()
    assert target.read_text().startswith("# edgevid report")
    os.mkfifo(workdir / "pipe.md")
    _one_line(run_cli("report", "results", "--md", "pipe.md", cwd=workdir, timeout=60), 2,
              "--md pipe.md", "FIFO", "not a regular file")
    assert (workdir / "pipe.md").exists() and not (workdir / "pipe.md").is_file()
    _one_line(run_cli("report", "results", "--md", "/dev/null", cwd=workdir), 2, "a device")
    _one_line(run_cli("report", "results", "--md", "results", cwd=workdir), 2, "a folder")
    # the same helper guards the matrix's --md, the runner's --out and --db
    _one_line(run_cli("matrix", "x3d-tiny", "--to", "onnx", "--md", "pipe.md", cwd=workdir,
                      timeout=60), 2, "--md pipe.md", "FIFO")
    _one_line(run_cli("bench", "x3d-tiny", "--to", "onnx", "--db", "pipe.md", cwd=workdir,
                      timeout=60), 2, "--db pipe.md", "FIFO")
    art = workdir / "artifacts/x3d-tiny/onnx-fp32"
    runner = subprocess.run([sys.executable, "-m", "edgevid.runners", str(art), "--out",
                             str(workdir / "pipe.md")], capture_output=True, text=True,
                            timeout=60)
    assert runner.returncode == 2 and "FIFO" in runner.stderr, runner.stderr
    (workdir / "rec-target.json").write_text("")
    (workdir / "rec.json").symlink_to(workdir / "rec-target.json")
    runner = subprocess.run([sys.executable, "-m", "edgevid.runners", str(art), "--out",
                             str(workdir / "rec.json"), "--policy",
                             json.dumps({"min_iters": 3, "min_time_s": 0.0, "max_time_s": 0.5})],
                            capture_output=True, text=True, timeout=300)
    assert runner.returncode == 0, runner.stderr
    assert (workdir / "rec.json").is_symlink()
    assert json.loads((workdir / "rec-target.json").read_text())["status"] == "ok"


def test_unwritable_outputs_are_refused_before_any_work(workdir):
    (workdir / "afile").write_text("x")
    cases = [
        (("bench", "x3d-tiny", "--results", "afile/x"), "--results afile/x"),
        (("bench", "x3d-tiny", "--db", "afile/x.sqlite"), "--db afile/x.sqlite"),
        (("bench", "x3d-tiny", "--artifacts", "afile/a"), "--artifacts afile/a"),
        (("matrix", "x3d-tiny", "--md", "afile/m.md"), "--md afile/m.md"),
        (("matrix", "x3d-tiny", "--results", "afile"), "--results afile"),
        (("export", "x3d-tiny", "--to", "onnx", "--artifacts", "afile"), "--artifacts afile"),
        (("report", "afile", "--md", "afile/r.md"), "--md afile/r.md"),
    ]
    for args, needle in cases:
        p = run_cli(*args, cwd=workdir, timeout=300)  # the timeout guards a hang only
        _one_line(p, 2, needle)
    # before any work: nothing was exported or measured (the evidence, not how long it took)
    assert not (workdir / "artifacts").exists() and not (workdir / "results").exists()


def test_profile_and_model_names_stay_inside_their_roots(workdir):
    for i, name in enumerate(["../../escaped", "/tmp/abs-escape", ".."]):
        prof = workdir / f"evil{i}.yaml"
        prof.write_text(yaml.safe_dump({"name": name, "connection": {"type": "local"},
                                        "formats": ["onnx"], "threads": 1}))
        p = run_cli("bench", "x3d-tiny", "--device", prof, *FAST, "--json", cwd=workdir)
        assert p.returncode == 0, p.stderr
        (record,) = json.loads(p.stdout)
        saved = (workdir / record["result_path"]).resolve()
        assert (workdir / "results").resolve() in saved.parents, saved
    assert not (workdir.parent.parent / "escaped").exists()
    assert not os.path.exists("/tmp/abs-escape")
    parts = {p.relative_to(workdir / "results").parts[0]
             for p in (workdir / "results").rglob("*.json")}
    assert parts == {"escaped", "tmp-abs-escape", "unnamed"}


def _artifact(workdir):
    p = run_cli("export", "x3d-tiny", "--to", "onnx", cwd=workdir)
    assert p.returncode == 0, p.stderr
    return workdir / "artifacts/x3d-tiny/onnx-fp32"


@pytest.mark.parametrize("field,value,needle", [
    ("inputs", "video", "field 'inputs'"),
    ("inputs", [{"name": "video", "shape": "1x3x4x32x32"}], "field 'inputs[0].shape'"),
    ("inputs", [{"name": 5, "shape": [1, 3, 4, 32, 32]}], "field 'inputs[0].name'"),
    ("file", 7, "field 'file'"),
    ("file", "../../etc/passwd", "field 'file'"),
    ("reference", {"seed": "1234", "outputs": []}, "field 'reference.seed'"),
    ("reference", {"seed": 1, "outputs": [{"shape": [1, 2], "values": "x"}]},
     "field 'reference.outputs[0].values'"),
    ("files", ["model.onnx"], "field 'files'"),
    ("runner", "../os", "field 'runner'"),
])
def test_manifest_with_wrong_types_is_one_line(workdir, field, value, needle):
    art = workdir / "art"
    if not art.exists():
        src = _artifact(workdir)
        art.mkdir()
        for f in src.iterdir():
            (art / f.name).write_bytes(f.read_bytes())
    m = json.loads((art / "artifact.json").read_text())
    m[field] = value
    (art / "artifact.json").write_text(json.dumps(m))
    p = subprocess.run([sys.executable, "-m", "edgevid.runners", str(art)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(art / "artifact.json") in lines[0] and needle in lines[0], \
        p.stderr


def test_json_errors_are_json_on_stdout(workdir):
    for args, code in [(("bench", "x3d-tiny", "--to", "onnxx", "--json"), 2),
                       (("bench", "x3d-tiny", "--threads", "abc", "--json"), 2),
                       (("models", "--json", "--no-such-flag"), 2),
                       (("history", "x3d-tiny", "--json"), 2),
                       (("export", "nope-model", "--to", "onnx", "--json"), 2)]:
        p = run_cli(*args, cwd=workdir)
        assert p.returncode == code, (args, p.stderr)
        obj = json.loads(p.stdout)
        assert set(obj) == {"error", "exit_code"} and obj["exit_code"] == code
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and obj["error"] in \
            " ".join(p.stderr.split()), (args, p.stderr)


def test_absurd_input_shape_and_threads(workdir):
    p = run_cli("bench", "x3d-tiny", "--input-shape", "3x1000x4000x4000", cwd=workdir)
    _one_line(p, 2, "3x1000x4000x4000", "192 GB", "4 GiB")  # refused up front: nothing made
    assert not (workdir / "artifacts").exists() and not (workdir / "results").exists()
    p = run_cli("export", "x3d-tiny", "--to", "onnx", "--input-shape", "64x3x1000x400x400",
                cwd=workdir)
    _one_line(p, 2, "GiB")
    cores = os.cpu_count()
    p = run_cli("bench", "x3d-tiny", "--to", "onnx", "--threads", str(cores + 2), *FAST,
                cwd=workdir)
    assert p.returncode == 0, p.stderr
    assert f"--threads {cores + 2} is more than this machine's {cores} CPU cores" in \
        " ".join(p.stderr.split())
