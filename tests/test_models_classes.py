"""Study classes and published accuracy in the zoo listing: `edgevid models --class`, the
`accuracy` object, and `bench --all --class`."""
import json

from conftest import run_cli

from edgevid.models import ARCH_CLASSES, list_models


def test_every_variant_has_a_known_class_and_well_formed_accuracy():
    for spec in list_models(include_hidden=True):
        assert spec.arch_class in ARCH_CLASSES
        acc = spec.accuracy
        if acc is not None:
            assert 0 < acc.top1 < 100 and acc.dataset.startswith("Kinetics")
            crops, clips = acc.views.split("x")
            assert int(crops) >= 1 and int(clips) >= 1 and acc.source
        if spec.hidden:
            assert acc is None  # test configs were never trained
    every = {s.arch_class for s in list_models()}
    assert every == set(ARCH_CLASSES)


def test_models_class_filter_and_accuracy_json(tmp_path):
    proc = run_cli("models", "--class", "cnn", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    names = {r["name"] for r in rows}
    assert {"x3d-xs", "movinet-a0", "tsm-mobilenetv2", "r2plus1d-18"} <= names
    assert all(r["class"] == "cnn" for r in rows)
    x3d = next(r for r in rows if r["name"] == "x3d-m")
    assert x3d["accuracy"] == {"top1": 76.0, "dataset": "Kinetics-400", "views": "3x10",
                               "source": "X3D paper, Table 4"}
    assert next(r for r in rows if r["name"] == "r2plus1d-18")["accuracy"] is None


def test_models_bad_class_is_exit_2(tmp_path):
    proc = run_cli("models", "--class", "rnn", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown class 'rnn'" in proc.stderr


def test_bench_class_needs_all(tmp_path):
    proc = run_cli("bench", "x3d-tiny", "--class", "cnn", cwd=tmp_path)
    assert proc.returncode == 2 and "--class filters --all" in proc.stderr
    proc = run_cli("bench", "--all", "--class", "nope", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown class" in proc.stderr
