"""`edgevid compare` wiring: exit codes and JSON. The statistics are tested on real runs in
test_compare.py; here a copy with every sample doubled stands in for a slower build."""
import json

from conftest import FAST, run_cli


def test_compare_cli_gate(workdir):
    proc = run_cli("bench", "x3d-tiny", "--to", "onnx", *FAST, "--results", "base", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    (base_file,) = (workdir / "base").rglob("*.json")
    record = json.loads(base_file.read_text())
    slow = workdir / "slow.json"
    slow.write_text(json.dumps({**record, "samples_ms": [2 * v for v in record["samples_ms"]]}))

    same = run_cli("compare", base_file, base_file, "--fail-above", "5%", "--json", cwd=workdir)
    assert same.returncode == 0, same.stderr
    out = json.loads(same.stdout)
    assert out["pairs"][0]["label"] == "no detectable change" and out["failing"] == []

    worse = run_cli("compare", base_file, slow, "--fail-above", "5%", "--json", cwd=workdir)
    assert worse.returncode == 1, worse.stderr
    out = json.loads(worse.stdout)
    assert out["pairs"][0]["label"] == "slower" and len(out["failing"]) == 1
    assert 1.9 < out["pairs"][0]["ratio"] < 2.1

    lenient = run_cli("compare", base_file, slow, "--fail-above", "150%", cwd=workdir)
    assert lenient.returncode == 0, lenient.stderr
    bad = run_cli("compare", base_file, slow, "--fail-above", "five", cwd=workdir)
    assert bad.returncode == 2 and "five" in bad.stderr
