"""Video Mobile-Former (edgevid/models/mobile_former.py): the two cross-attention bridges against
an independent softmax(QK^T / sqrt(d)) V reference, the tiny config's forward, and the full
variants' parameter counts (meta device, no full-size forward).

The video paper's per-variant params/GFLOPs could not be read (see the module docstring), so the
parameter check is against what is published and verified: each variant's backbone, built as the
image model (temporal kernel 1, 1000 classes), must match the Mobile-Former paper's / official
README's parameter count within 2% (and its multiply-adds at 224x224 within 5%).
"""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from edgevid.models import create_model, get_spec, list_models
from edgevid.models.mobile_former import (
    IMAGE_REFERENCE,
    VARIANT_BACKBONE,
    Former2Mobile,
    Mobile2Former,
    VideoMobileFormer,
    _cfg,
)
from edgevid.models.stats import count_model, spec_stats

PARAMS_REL_TOL = 0.02  # our image-equivalent backbone vs the Mobile-Former paper's params
FLOPS_REL_TOL = 0.05  # ... and vs its multiply-adds (element-wise ops are not counted here)


def _attention(q, k, v):
    """softmax(q k^T / sqrt(d)) v for one head, written out with exp/sum."""
    s = q @ k.T / math.sqrt(q.shape[-1])
    e = torch.exp(s - s.max(dim=-1, keepdim=True).values)
    return (e / e.sum(dim=-1, keepdim=True)) @ v


def _layer_norm(x, weight, bias, eps=1e-5):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * weight + bias


def reference_mobile_to_former(m: Mobile2Former, x, z):
    """Per sample and head: Q = z Wq + bq, K = V = the features (L x C/h); gate; proj; add; LN."""
    B, C = x.shape[:2]
    ch = C // m.heads
    out = []
    for b in range(B):
        feats = x[b].reshape(C, -1).T  # (L, C)
        q = z[b] @ m.q.weight.T + m.q.bias  # (M, C)
        heads = [_attention(q[:, h * ch:(h + 1) * ch], feats[:, h * ch:(h + 1) * ch],
                            feats[:, h * ch:(h + 1) * ch]) for h in range(m.heads)]
        a = torch.cat(heads, dim=-1)  # (M, C)
        if m.gate is not None:
            g = z[b] @ m.gate.weight.T + m.gate.bias
            a = a * 2.0 * torch.clamp(g + 3.0, 0.0, 6.0) / 6.0
        y = z[b] + a @ m.proj.weight.T + m.proj.bias
        out.append(_layer_norm(y, m.norm.weight, m.norm.bias, m.norm.eps))
    return torch.stack(out)


def reference_former_to_mobile(m: Former2Mobile, x, z):
    """Per sample and head: Q = the features (L x C/h), K = z Wk + bk, V = z Wv + bv; add."""
    B, C = x.shape[:2]
    ch = C // m.heads
    out = []
    for b in range(B):
        feats = x[b].reshape(C, -1).T  # (L, C)
        k = z[b] @ m.k.weight.T + m.k.bias  # (M, C)
        v = z[b] @ m.v.weight.T + m.v.bias
        heads = [_attention(feats[:, h * ch:(h + 1) * ch], k[:, h * ch:(h + 1) * ch],
                            v[:, h * ch:(h + 1) * ch]) for h in range(m.heads)]
        a = torch.cat(heads, dim=-1)  # (L, C)
        out.append(x[b] + a.T.reshape(x.shape[1:]))
    return torch.stack(out)


@pytest.fixture
def bridge_inputs():
    torch.manual_seed(0)
    return torch.randn(2, 16, 3, 4, 5), torch.randn(2, 3, 32)  # (B, C, T, H, W), (B, M, d)


def test_bridge_shapes(bridge_inputs):
    x, z = bridge_inputs
    with torch.no_grad():
        assert Mobile2Former(16, 32, heads=2).eval()(x, z).shape == (2, 3, 32)
        assert Former2Mobile(16, 32, heads=2).eval()(x, z).shape == (2, 16, 3, 4, 5)


@pytest.mark.parametrize("dynamic", [True, False])
def test_mobile_to_former_matches_reference(bridge_inputs, dynamic):
    x, z = bridge_inputs
    m = Mobile2Former(16, 32, heads=2, dynamic=dynamic).eval()
    with torch.no_grad():
        torch.testing.assert_close(m(x, z), reference_mobile_to_former(m, x, z),
                                   rtol=1e-5, atol=1e-5)


def test_former_to_mobile_matches_reference(bridge_inputs):
    x, z = bridge_inputs
    m = Former2Mobile(16, 32, heads=2).eval()
    with torch.no_grad():
        torch.testing.assert_close(m(x, z), reference_former_to_mobile(m, x, z),
                                   rtol=1e-5, atol=1e-5)


def test_tiny_forward_shape_and_seeding():
    spec = get_spec("video-mobile-former-tiny")
    assert spec.hidden and spec.input == (3, 4, 32, 32) and spec.num_classes == 10
    a, b = create_model("video-mobile-former-tiny"), create_model("video-mobile-former-tiny")
    assert not a.training and a.cfg.token_num == 3
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    with torch.no_grad():
        out = a(torch.randn(2, *spec.input))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_family_registration():
    specs = [s for s in list_models() if s.family == "video-mobile-former"]
    assert {s.name for s in specs} == set(VARIANT_BACKBONE)
    assert get_spec("video-mobile-former").name == "video-mobile-former-1g"
    for s in specs:
        assert s.arch_class == "composite" and s.num_classes == 400
        assert s.input[0] == 3 and s.input[2:] == (224, 224)


FULL = sorted(VARIANT_BACKBONE)


@pytest.mark.parametrize("name", FULL)
def test_full_variant_params_match_the_papers(name):
    spec = get_spec(name)
    backbone = VARIANT_BACKBONE[name]
    paper_params_m, paper_mflops = IMAGE_REFERENCE[backbone]
    image_cfg = dataclasses.replace(_cfg(backbone, 1000), dw_kernel_t=1)
    image = count_model(lambda: VideoMobileFormer(image_cfg), (3, 1, 224, 224))
    assert image.params / 1e6 == pytest.approx(paper_params_m, rel=PARAMS_REL_TOL)
    assert image.gflops * 1e3 == pytest.approx(paper_mflops, rel=FLOPS_REL_TOL)

    st = spec_stats(spec)
    if spec.paper_params_m is not None:  # the video paper's own numbers, if ever filled in
        assert st.params / 1e6 == pytest.approx(spec.paper_params_m, rel=0.05)
    if spec.paper_gflops is not None:
        assert st.gflops == pytest.approx(spec.paper_gflops, rel=0.10)
    # The video variant = the image backbone with a 400-class head and (3,3,3) depthwise kernels:
    # fewer params than the 1000-class image model, and a name that says its GFLOPs.
    assert 0.8 * image.params < st.params < image.params
    label = name.rsplit("-", 1)[1]
    named = float(label[:-1]) / (1000 if label.endswith("m") else 1)
    assert st.gflops == pytest.approx(named, rel=0.10)
