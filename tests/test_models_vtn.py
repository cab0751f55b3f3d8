"""VTN (edgevid/models/vtn.py): Longformer attention against an independent dense reference, the
tiny config's forward, and the full variants' parameter counts (meta device, no full-size forward).
"""
from __future__ import annotations

import math

import pytest
import torch

from edgevid.models import create_model, get_spec, list_models
from edgevid.models.vtn import LongformerSelfAttention


def reference_longformer(m: LongformerSelfAttention, x: torch.Tensor, window: int, num_global: int):
    """Longformer attention written out densely, independently of the module's code paths.

    Local row i (i >= num_global): keys j with |i - j| <= window // 2, or j global; projections
    query/key/value. Global row i: every key; projections query_global/key_global/value_global.
    """
    B, N, D = x.shape
    h = m.heads
    d = D // h

    def proj(lin):
        return (x @ lin.weight.T + lin.bias).reshape(B, N, h, d).transpose(1, 2)  # (B, h, N, d)

    mask = torch.full((N, N), float("-inf"))
    for i in range(N):
        for j in range(N):
            if j < num_global or abs(i - j) <= window // 2:
                mask[i, j] = 0.0
    q, k, v = proj(m.query), proj(m.key), proj(m.value)
    local = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d) + mask, dim=-1) @ v
    qg, kg, vg = proj(m.query_global), proj(m.key_global), proj(m.value_global)
    glob = torch.softmax(qg @ kg.transpose(-2, -1) / math.sqrt(d), dim=-1) @ vg
    is_global_row = (torch.arange(N) < num_global).view(1, 1, N, 1)
    out = torch.where(is_global_row, glob, local)
    return out.transpose(1, 2).reshape(B, N, D)


@pytest.mark.parametrize("impl", ["dense", "sliding"])
@pytest.mark.parametrize("n, dim, heads, window, num_global", [
    (17, 64, 4, 18, 1),  # the official window (+-9) on CLS + 16 frames
    (7, 32, 2, 2, 1),  # vtn-tiny: +-1, the band really cuts
    (23, 32, 4, 4, 1),
    (12, 32, 2, 6, 2),  # two global tokens
])
def test_longformer_attention_matches_dense_reference(impl, n, dim, heads, window, num_global):
    torch.manual_seed(0)
    m = LongformerSelfAttention(dim, heads, window, impl).eval()
    for p in m.parameters():  # larger than the N(0, 0.02) init, so the softmax is far from uniform
        torch.nn.init.normal_(p, std=0.3)
    x = torch.randn(2, n, dim)
    with torch.no_grad():
        torch.testing.assert_close(m(x, num_global), reference_longformer(m, x, window, num_global),
                                   rtol=1e-5, atol=1e-5)


def test_longformer_window_is_local():
    """A frame far outside a local token's window changes only the global row and tokens near it."""
    torch.manual_seed(0)
    m = LongformerSelfAttention(16, 2, 4, "sliding").eval()  # +-2
    x = torch.randn(1, 12, 16)
    y = x.clone()
    y[0, 11] += 1.0
    with torch.no_grad():
        changed = (m(x) - m(y)).abs().amax(dim=-1)[0] > 1e-6
    assert changed.tolist() == [True] + [False] * 8 + [True] * 3  # CLS, then tokens 9..11


def test_vtn_tiny_forward_shape():
    spec = get_spec("vtn-tiny")
    assert spec.hidden and spec.input == (3, 6, 32, 32) and spec.num_classes == 10
    model = create_model("vtn-tiny")
    assert not model.training
    with torch.no_grad():
        y = model(torch.randn(2, *spec.input))
    assert y.shape == (2, 10)
    assert torch.isfinite(y).all()


def test_family_default_and_registry():
    assert get_spec("vtn").name == "vtn-vit-b"
    specs = {s.name: s for s in list_models() if s.family == "vtn"}
    assert set(specs) == {"vtn-vit-b", "vtn-mobilenet"}
    assert specs["vtn-vit-b"].arch_class == "attention-only"
    assert specs["vtn-mobilenet"].arch_class == "composite"
    assert all(s.input == (3, 16, 224, 224) and s.num_classes == 400 for s in specs.values())


# Closed forms of the parameter counts, written from the configs, not from the modules.
VIT_B16_FEATURES = 85_798_656  # timm vit_base_patch16_224: 86,567,656 less its 1000-class head
MOBILENETV2_FEATURES = 2_223_872  # torchvision mobilenet_v2: 3,504,872 less its classifier


def longformer_params(d: int, inter: int = 3072, layers: int = 3, positions: int = 288) -> int:
    linear = d * d + d
    layer = 7 * linear + (d * inter + inter) + (inter * d + d) + 2 * 2 * d  # 6 QKV + out, FFN, LNs
    return layers * layer + positions * d + 2 * d + 2 * d + d  # + pos, type, LN, CLS


def head_params(d: int, mlp: int = 768, classes: int = 400) -> int:
    return 2 * d + (d * mlp + mlp) + (mlp * classes + classes)


def meta_params(name: str) -> int:
    with torch.device("meta"):
        model = get_spec(name).build()
    return sum(p.numel() for p in model.parameters())


def test_vtn_vit_b_params_match_paper():
    spec = get_spec("vtn-vit-b")
    n = meta_params("vtn-vit-b")
    assert n == VIT_B16_FEATURES + longformer_params(768) + head_params(768)
    # Paper (Kinetics-400 table): 114.0M. Ours 113.50M; 1% tolerance (see the module docstring).
    assert n / 1e6 == pytest.approx(spec.paper_params_m, rel=0.01)


def test_vtn_mobilenet_params_closed_form():
    spec = get_spec("vtn-mobilenet")
    assert spec.paper_params_m is None and spec.paper_gflops is None  # not a paper model
    n = meta_params("vtn-mobilenet")
    assert n == MOBILENETV2_FEATURES + longformer_params(1280) + head_params(1280)


def test_vtn_vit_b_gflops_against_the_papers_full_video_figure():
    """The paper: 4218 GFLOPs for the full 250-frame video, 1 view. Ours counts every matmul
    (stats.py); counting only convolutions and linear layers (addmm) reproduces the paper's figure,
    i.e. the paper leaves out the attention matmuls (our reading; see the module docstring)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = get_spec("vtn-vit-b").build().eval()
        x = torch.empty(1, 3, 250, 224, 224)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    per_op = {str(k): v / 2e9 for k, v in counter.get_flop_counts()["Global"].items()}
    conv_linear = per_op["aten.convolution"] + per_op["aten.addmm"]
    assert conv_linear == pytest.approx(4218, rel=0.002)
    assert sum(per_op.values()) == pytest.approx(4397.3, rel=0.001)
