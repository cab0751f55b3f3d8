"""X3D against its paper, and the zoo listing contract."""
import json

import pytest
import torch
from conftest import run_cli

from edgevid.models import create_model, get_spec, list_models
from edgevid.models.stats import spec_stats


@pytest.mark.parametrize("name", ["x3d-xs", "x3d-s", "x3d-m"])
def test_x3d_params_and_gflops_match_the_paper(name):
    spec = get_spec(name)
    st = spec_stats(spec)
    assert st.params / 1e6 == pytest.approx(spec.paper_params_m, rel=0.02)
    assert st.gflops == pytest.approx(spec.paper_gflops, rel=0.05)


def test_family_name_means_default_variant_and_models_are_seeded():
    assert get_spec("x3d").name == "x3d-xs"
    a, b = create_model("x3d-tiny"), create_model("x3d-tiny")
    assert not a.training
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    out = a(torch.randn(2, 3, 4, 32, 32))
    assert out.shape == (2, 10)


def test_weights_round_trip_and_mismatch(tmp_path):
    from edgevid.errors import UserError

    m = create_model("x3d-tiny", seed=7)
    path = tmp_path / "ckpt.pt"
    torch.save({"state_dict": m.state_dict()}, path)
    loaded = create_model("x3d-tiny", weights=str(path))
    for pa, pb in zip(m.parameters(), loaded.parameters()):
        assert torch.equal(pa, pb)
    with pytest.raises(UserError, match="do not fit"):
        create_model("x3d-xs", weights=str(path))


def test_models_json_contract(tmp_path):
    proc = run_cli("models", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    names = {r["name"] for r in rows}
    assert {"x3d-xs", "x3d-s", "x3d-m"} <= names and "x3d-tiny" not in names
    for r in rows:
        assert {"name", "class", "input", "params", "gflops", "source"} <= set(r)
        assert len(r["input"]) == 4 and r["params"] > 0 and r["gflops"] > 0 and r["source"]
    assert len(rows) == len(list_models())
