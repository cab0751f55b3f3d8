"""Issue 9, defects 1, 2, 14 (batch in folder names) and the converter log: the artifact cache is
keyed on content, every file of an artifact is hashed and checked, converter chatter goes to
export.log. Real CLI, real converters, x3d-tiny and small user models; no mocks."""
import json
import subprocess
import sys

from conftest import FAST, run_cli

USER_MOD = """
import torch
from helpers import WIDTH
def build():
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 2 * 4 * 4, WIDTH))
"""


def _flip(path, at=100):
    with open(path, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 0xFF]))


def _save_weights(workdir, name, seed):
    code = ("import torch, sys; from edgevid.models import create_model; m = create_model("
            "'x3d-tiny'); torch.manual_seed(int(sys.argv[2]));\n"
            "for p in m.parameters(): p.data.normal_()\n"
            "torch.save(m.state_dict(), sys.argv[1])")
    subprocess.run([sys.executable, "-c", code, str(workdir / name), str(seed)], check=True)


def test_changed_weights_content_is_re_exported(workdir):
    _save_weights(workdir, "w.pt", 1)
    first = run_cli("export", "x3d-tiny", "--to", "onnx", "--weights", "w.pt", cwd=workdir)
    assert first.returncode == 0, first.stderr
    art = workdir / "artifacts/x3d-tiny/onnx-fp32"
    ref1 = json.loads((art / "artifact.json").read_text())["reference"]["outputs"][0]["values"]
    again = run_cli("export", "x3d-tiny", "--to", "onnx", "--weights", "w.pt", cwd=workdir)
    assert "reusing" in again.stderr
    _save_weights(workdir, "w.pt", 2)  # same path, other weights
    third = run_cli("export", "x3d-tiny", "--to", "onnx", "--weights", "w.pt", cwd=workdir)
    assert third.returncode == 0, third.stderr
    assert "reusing" not in third.stderr
    assert "re-exporting" in third.stderr
    assert "weights" in third.stderr and "changed since export" in third.stderr
    ref2 = json.loads((art / "artifact.json").read_text())["reference"]["outputs"][0]["values"]
    assert ref1 != ref2


def test_changed_helper_module_of_a_user_callable_is_re_exported(workdir):
    (workdir / "helpers.py").write_text("WIDTH = 3\n")
    (workdir / "usermod.py").write_text(USER_MOD)
    env = {"PYTHONPATH": str(workdir)}
    args = ("export", "usermod:build", "--to", "onnx", "--input-shape", "3x2x4x4")
    first = run_cli(*args, "--json", cwd=workdir, env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["outputs"][0]["shape"] == [1, 3]
    sources = json.loads(first.stdout)["cache_key"]["sources"]
    assert any(p.endswith("helpers.py") for p in sources), sources
    assert not any("site-packages" in p for p in sources)
    assert "reusing" in run_cli(*args, cwd=workdir, env=env).stderr
    (workdir / "helpers.py").write_text("WIDTH = 5\n")  # only the imported helper changes
    second = run_cli(*args, "--json", cwd=workdir, env=env)
    assert second.returncode == 0, second.stderr
    assert "helpers.py changed since export" in second.stderr
    assert json.loads(second.stdout)["outputs"][0]["shape"] == [1, 5]


def test_tampered_artifact_is_re_exported_and_refused_by_the_runner(workdir):
    ok = run_cli("export", "x3d-tiny", "--to", "openvino", cwd=workdir)
    assert ok.returncode == 0, ok.stderr
    art = workdir / "artifacts/x3d-tiny/openvino-fp32"
    manifest = json.loads((art / "artifact.json").read_text())
    assert set(manifest["files"]) == {"model.xml", "model.bin"}
    _flip(art / "model.bin")
    runner = subprocess.run([sys.executable, "-m", "edgevid.runners", str(art)],
                            capture_output=True, text=True)
    assert runner.returncode == 2, runner.stderr
    assert "model.bin does not match the sha256" in runner.stderr
    assert "Traceback" not in runner.stderr
    again = run_cli("export", "x3d-tiny", "--to", "openvino", cwd=workdir)
    assert again.returncode == 0, again.stderr
    assert "re-exporting" in again.stderr and "model.bin changed since export" in again.stderr
    _flip(workdir / "artifacts/x3d-tiny/onnx-fp32/model.onnx", 300)
    third = run_cli("export", "x3d-tiny", "--to", "onnx", cwd=workdir)
    assert "model.onnx changed since export" in third.stderr, third.stderr
    # A bench on a tampered artifact re-exports it: never an `ok` on the wrong file.
    _flip(art / "model.bin")
    bench = run_cli("bench", "x3d-tiny", "--to", "openvino", "--precision", "fp32", *FAST,
                    "--json", cwd=workdir)
    assert bench.returncode == 0, bench.stderr
    (record,) = json.loads(bench.stdout)
    assert record["status"] == "ok" and record["numerics"]["ok"] is True


def test_edited_manifest_is_refused(workdir):
    assert run_cli("export", "x3d-tiny", "--to", "onnx", cwd=workdir).returncode == 0
    art = workdir / "artifacts/x3d-tiny/onnx-fp32"
    m = json.loads((art / "artifact.json").read_text())
    m["reference"]["outputs"][0]["values"][0] += 1.0
    (art / "artifact.json").write_text(json.dumps(m))
    runner = subprocess.run([sys.executable, "-m", "edgevid.runners", str(art)],
                            capture_output=True, text=True)
    assert runner.returncode == 2 and "was edited after export" in runner.stderr
    again = run_cli("export", "x3d-tiny", "--to", "onnx", cwd=workdir)
    assert "artifact.json was edited since export" in again.stderr, again.stderr


def test_batch_size_is_part_of_the_artifact_folder(workdir):
    for shape in ("2x3x4x32x32", "4x3x4x32x32"):
        p = run_cli("export", "x3d-tiny", "--to", "onnx", "--input-shape", shape, cwd=workdir)
        assert p.returncode == 0, p.stderr
    folders = sorted(d.name for d in (workdir / "artifacts/x3d-tiny").iterdir())
    assert folders == ["onnx-fp32-2x3x4x32x32", "onnx-fp32-4x3x4x32x32"]
    m = json.loads((workdir / "artifacts/x3d-tiny/onnx-fp32-4x3x4x32x32/artifact.json")
                   .read_text())
    assert m["inputs"][0]["shape"] == [4, 3, 4, 32, 32]
    bench = run_cli("bench", "x3d-tiny", "--to", "onnx", "--input-shape", "2x3x4x32x32", *FAST,
                    cwd=workdir)
    assert bench.returncode == 0, bench.stderr
    assert "2x3x4x32x32" in bench.stdout  # the table's input column keeps the batch
    (saved,) = (workdir / "results").rglob("*.json")
    assert "-2x3x4x32x32-" in saved.name


def test_converter_chatter_goes_to_export_log(workdir):
    """The LiteRT conversion prints TensorFlow/torchao warnings: they land in export.log."""
    p = run_cli("export", "x3d-tiny", "--to", "tflite", cwd=workdir)
    assert p.returncode == 0, p.stderr
    log = (workdir / "artifacts/x3d-tiny/tflite-fp32/export.log").read_text()
    assert log.strip(), "the converter printed nothing?"
    first = next(ln for ln in log.splitlines() if ln.strip())
    terminal = p.stdout + p.stderr
    assert first not in terminal
    # only edgevid's own lines reach the terminal
    assert [ln for ln in p.stderr.splitlines() if ln.strip()] == [
        "exporting x3d-tiny to tflite fp32"]
    (line,) = [ln for ln in p.stdout.splitlines() if ln.strip()]
    assert line.startswith("✓ artifacts/x3d-tiny/tflite-fp32/model.tflite")
    manifest = json.loads((workdir / "artifacts/x3d-tiny/tflite-fp32/artifact.json").read_text())
    assert "export.log" not in manifest["files"]


def test_verbose_shows_converter_output_and_failures_point_to_the_log(workdir):
    (workdir / "chatty.py").write_text(
        "import os, sys, torch\n"
        "def build():\n"
        "    print('CHATTER-ON-STDOUT')\n"
        "    print('CHATTER-ON-STDERR', file=sys.stderr)\n"
        "    os.write(2, b'NATIVE-CHATTER\\n')\n"
        "    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(96, 3))\n"
        "def broken():\n"
        "    print('CONVERTER-SAID-THIS', file=sys.stderr)\n"
        "    class Bad(torch.nn.Module):\n"
        "        def forward(self, x):\n"
        "            raise RuntimeError('this layer cannot be exported')\n"
        "    return Bad()\n")
    env = {"PYTHONPATH": str(workdir)}
    quiet = run_cli("export", "chatty:build", "--to", "onnx", "--input-shape", "3x2x4x4",
                    cwd=workdir, env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert "CHATTER" not in quiet.stdout + quiet.stderr
    log = (workdir / "artifacts/chatty.build/onnx-fp32-3x2x4x4/export.log").read_text()
    assert "CHATTER-ON-STDOUT" in log and "CHATTER-ON-STDERR" in log and "NATIVE-CHATTER" in log
    loud = run_cli("--verbose", "export", "chatty:build", "--to", "onnx", "--input-shape",
                   "3x2x4x4", "--force", cwd=workdir, env=env)
    assert loud.returncode == 0 and "CHATTER-ON-STDERR" in loud.stderr
    bad = run_cli("export", "chatty:broken", "--to", "onnx", "--input-shape", "3x2x4x4",
                  cwd=workdir, env=env)
    assert bad.returncode == 1, bad.stderr  # ran and failed
    assert "this layer cannot be exported" in bad.stderr
    log = workdir / "artifacts/.logs/chatty.broken.onnx-fp32-3x2x4x4.export.log"
    assert str(log.relative_to(workdir)) in " ".join(bad.stderr.split())
    assert "CONVERTER-SAID-THIS" in log.read_text()
    assert not (workdir / "artifacts/chatty.broken").exists()  # no empty model folder


def test_zoo_cache_key_covers_the_helpers_a_family_builds_with(workdir):
    """A zoo artifact is stale when the family file *or* a zoo helper it builds with changes
    (TSM's inverted residuals live in edgevid/models/_mobilenet.py); registry edits do not count."""
    from edgevid.artifacts.cache import cache_key, family_sources
    from edgevid.models.ref import resolve

    names = lambda m: sorted(p.rsplit("/", 1)[-1] for p in family_sources(resolve(m)))  # noqa: E731
    assert names("tsm-mobilenetv2") == ["_mobilenet.py", "tsm.py"]
    assert names("videolightformer") == ["_mobilenet.py", "_vit.py", "videolightformer.py"]
    assert names("x3d-tiny") == ["x3d.py"]
    key = cache_key(resolve("tsm-mobilenetv2"), {})
    assert any(p.endswith("edgevid/models/_mobilenet.py") for p in key["sources"])
