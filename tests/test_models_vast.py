"""VAST (edgevid/models/vast.py): the Affine-Shift mixer against its written definition, the
tiny config's forward, and the full variants' parameter counts (meta device, no full-size forward).
"""
from __future__ import annotations

import itertools

import pytest
import torch

from edgevid.models import create_model, get_spec, list_models
from edgevid.models.stats import spec_stats
from edgevid.models.vast import AffineShift, VASTConfig, shift_groups

# The definition, written out independently of the module: 8 equal channel groups on
# channels-last (B, T, H, W, C) tokens; group g moves by DIRS[g] = (dt, dh, dw), i.e.
# out[t, h, w] = in[t - dt, h - dh, w - dw], and is 0 where that source is outside the clip.
DIRS = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1), (0, 0, 0), (0, 0, 0)]


def reference_shift(v: torch.Tensor) -> torch.Tensor:
    B, T, H, W, C = v.shape
    per = C // len(DIRS)
    out = torch.zeros_like(v)
    for b, c, t, h, w in itertools.product(range(B), range(C), range(T), range(H), range(W)):
        dt, dh, dw = DIRS[c // per]
        st, sh, sw = t - dt, h - dh, w - dw
        if 0 <= st < T and 0 <= sh < H and 0 <= sw < W:
            out[b, t, h, w, c] = v[b, st, sh, sw, c]
    return out


def reference_affine_shift(m: AffineShift, x: torch.Tensor) -> torch.Tensor:
    """v = x Wv + bv; [s, b] = x Wa + ba; y = (Shift(v) * (1 + s) + b) Wo + bo, token by token."""
    C = x.shape[-1]
    v = x @ m.v.weight.T + m.v.bias
    a = x @ m.affine.weight.T + m.affine.bias
    scale, bias = a[..., :C], a[..., C:]
    u = reference_shift(v)
    return (u * (1 + scale) + bias) @ m.proj.weight.T + m.proj.bias


def test_shift_matches_definition():
    torch.manual_seed(0)
    v = torch.randn(2, 3, 4, 5, 16)
    torch.testing.assert_close(shift_groups(v, 2), reference_shift(v), rtol=0, atol=0)


def test_affine_shift_mixer_matches_definition():
    torch.manual_seed(0)
    m = AffineShift(16).eval()
    x = torch.randn(1, 3, 4, 5, 16)
    with torch.no_grad():
        torch.testing.assert_close(m(x), reference_affine_shift(m, x), rtol=1e-5, atol=1e-5)


def test_shift_has_no_wraparound():
    # A one-hot token at the clip's last frame must leave the clip for the +T group, not wrap to t=0.
    v = torch.zeros(1, 3, 2, 2, 8)
    v[0, 2, 0, 0, :] = 1.0
    out = shift_groups(v, 1)
    assert out[0, 0, 0, 0, 0] == 0  # +T group: nothing wraps round
    assert out[0, 1, 0, 0, 1] == 1  # -T group moved one frame back
    assert out[0, 2, 0, 0, 6] == 1 and out[0, 2, 0, 0, 7] == 1  # in-place groups


def test_vast_test_forward_shape():
    spec = get_spec("vast-test")
    assert spec.hidden and spec.input == (3, 4, 32, 32) and spec.num_classes == 10
    model = create_model("vast-test")
    with torch.no_grad():
        y = model(torch.randn(2, *spec.input))
    assert y.shape == (2, 10)
    assert torch.isfinite(y).all()


def test_family_default_and_registry():
    assert get_spec("vast").name == "vast-tiny"
    names = {s.name for s in list_models() if s.family == "vast"}
    assert names == {"vast-tiny", "vast-small"}
    for name in names:
        spec = get_spec(name)
        assert spec.arch_class == "attention-block"
        assert spec.input == (3, 8, 224, 224) and spec.num_classes == 400


def expected_params(cfg: VASTConfig) -> int:
    """Parameter count written out by hand from the architecture, for comparison with the module."""
    widths = [cfg.embed_dim * 2 ** i for i in range(len(cfg.depths))]
    kt, kh, kw = cfg.patch_size
    r = int(cfg.mlp_ratio)
    n = cfg.in_chans * kt * kh * kw * widths[0] + widths[0] + 2 * widths[0]  # conv + bias + LN
    for i, (c, depth) in enumerate(zip(widths, cfg.depths)):
        if i > 0:
            p = widths[i - 1]
            n += 2 * 4 * p + 4 * p * 2 * p  # merge: LN(4p) + Linear(4p, 2p, no bias)
        # block: 2 LN, v (c^2+c), affine (2c^2+2c), proj (c^2+c), fc1 (rc^2+rc), fc2 (rc^2+c)
        n += depth * (2 * 2 * c + 4 * c * c + 4 * c + 2 * r * c * c + r * c + c)
    n += 2 * widths[-1] + widths[-1] * cfg.num_classes + cfg.num_classes  # LN + head
    return n


FULL = {"vast-tiny": VASTConfig(depths=(2, 2, 6, 2)), "vast-small": VASTConfig(depths=(2, 2, 18, 2))}


@pytest.mark.parametrize("name", sorted(FULL))
def test_params_match_written_architecture(name):
    assert spec_stats(get_spec(name)).params == expected_params(FULL[name])


#: Tolerance against the paper's reported params: 10% (our stage layout is our reading).
PAPER_TOLERANCE = 0.10


@pytest.mark.parametrize("name", sorted(FULL))
def test_params_vs_paper(name):
    spec = get_spec(name)
    params_m = spec_stats(spec).params / 1e6
    # Sanity bound that holds whatever the paper says: a Swin-T/S-sized network at 400 classes.
    assert 20 < params_m < 60
    if spec.paper_params_m is None:
        pytest.skip(f"{name}: the paper's param count could not be verified (paper_params_m=None)")
    assert abs(params_m - spec.paper_params_m) <= PAPER_TOLERANCE * spec.paper_params_m
