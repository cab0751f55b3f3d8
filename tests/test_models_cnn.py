"""The CNN and attention-block families of zoo II (MoViNet, TSM, R(2+1)D, I3D + non-local):
counts against the papers, and each family's defining op against its written definition."""
from __future__ import annotations

import functools

import pytest
import torch

from edgevid.models import create_model, get_spec
from edgevid.models.stats import spec_stats

torch.set_grad_enabled(False)


@functools.lru_cache(maxsize=None)
def stats(name):
    return spec_stats(get_spec(name))


A2_GAP = pytest.mark.xfail(strict=True, reason=(
    "MoViNet-A2 built from the released BLOCK_SPECS['a2'] has 5.25M params / 11.6 GFLOPs at "
    "50x224^2, 9% / 12% above the paper's 4.8M / 10.3G. The released checkpoints' sizes follow "
    "our counts (test_params_track_the_official_checkpoints); we follow the code."))

CNN_PARAMS = ["movinet-a0", "movinet-a1", pytest.param("movinet-a2", marks=A2_GAP),
              "movinet-a0-causal", "tsm-mobilenetv2", "r2plus1d-18", "i3d-nl-r50"]


@pytest.mark.parametrize("name", CNN_PARAMS)
def test_params_within_3_percent_of_paper(name):
    spec = get_spec(name)
    assert spec.paper_params_m, f"{name} has no paper figure"
    assert stats(name).params / 1e6 == pytest.approx(spec.paper_params_m, rel=0.03)


@pytest.mark.parametrize("name", ["movinet-a0", "movinet-a1",
                                  pytest.param("movinet-a2", marks=A2_GAP)])
def test_gflops_match_paper(name):
    spec = get_spec(name)
    assert stats(name).gflops == pytest.approx(spec.paper_gflops, rel=0.03)


def movinet_stats(model_id, shape):
    from edgevid.models.movinet import MoViNet, MoViNetConfig
    from edgevid.models.stats import count_model

    return count_model(lambda: MoViNet(MoViNetConfig(model_id=model_id)), shape)


# Paper Table 3 GFLOPs of the larger variants, at their official inputs (C, T, H, W).
LARGER = {"a3": ((3, 120, 256, 256), 56.9), "a4": ((3, 80, 290, 290), 105.0),
          "a5": ((3, 120, 320, 320), 281.0)}


@pytest.mark.parametrize("model_id", sorted(LARGER))
def test_released_specs_of_larger_variants_reproduce_paper_gflops(model_id):
    """The block and counting code is checked beyond the zoo's A0-A2: built from the released
    A3-A5 specs, the FLOPs land within 3% of the paper, so the A2 gap is not in the blocks."""
    shape, paper = LARGER[model_id]
    assert movinet_stats(model_id, shape).gflops == pytest.approx(paper, rel=0.03)


# The official model zoo's checkpoint sizes (tensorflow/models official/projects/movinet
# README, "Base Models": checkpoint (12 MB) ... (72 MB)). fp32 weights are 4 bytes a parameter;
# the archives also hold BN statistics and are gzip-compressed, so the bound is loose (8%), yet
# tight enough to tell our counts (A3 7.4M -> 29.6 MB) from the paper's (A3 5.3M -> 21.2 MB).
CHECKPOINT_MB = {"a0": 12, "a1": 18, "a2": 20, "a3": 29, "a4": 44, "a5": 72}
INPUTS = {"a0": (3, 8, 172, 172), "a1": (3, 8, 172, 172), "a2": (3, 8, 224, 224),
          **{k: v[0] for k, v in LARGER.items()}}


@pytest.mark.parametrize("model_id", sorted(CHECKPOINT_MB))
def test_params_track_the_official_checkpoints(model_id):
    params = movinet_stats(model_id, INPUTS[model_id]).params
    assert params * 4 / 1e6 == pytest.approx(CHECKPOINT_MB[model_id], rel=0.08)


def test_classes_and_inputs():
    for name, cls in (("movinet-a0", "cnn"), ("tsm-mobilenetv2", "cnn"), ("r2plus1d-18", "cnn"),
                      ("i3d-nl-r50", "attention-block")):
        assert get_spec(name).arch_class == cls
    assert get_spec("movinet").name == "movinet-a0"
    assert get_spec("movinet-a0").input == (3, 50, 172, 172)
    assert get_spec("movinet-a2").input == (3, 50, 224, 224)
    assert get_spec("tsm-mobilenetv2").input == (3, 8, 224, 224)


# -- TSM: the temporal shift -----------------------------------------------------------------------


def shift_by_definition(x, n_segment, fold_div):
    """The official ``TemporalShift.shift`` (mit-han-lab), written with explicit slices."""
    nt, c, h, w = x.shape
    x = x.view(nt // n_segment, n_segment, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]  # shift left
    out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]  # shift right
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]  # not shifted
    return out.view(nt, c, h, w)


def test_temporal_shift_matches_its_definition():
    from edgevid.models.tsm import temporal_shift

    x = torch.randn(2 * 8, 16, 3, 3)
    torch.testing.assert_close(temporal_shift(x, 8, 8), shift_by_definition(x, 8, 8),
                               rtol=0, atol=0)
    # One eighth of the channels each way: channel 0 of frame t is channel 0 of frame t+1.
    y = temporal_shift(x, 8, 8).view(2, 8, 16, 3, 3)
    xv = x.view(2, 8, 16, 3, 3)
    assert torch.equal(y[:, 3, 0], xv[:, 4, 0]) and torch.equal(y[:, 3, 2], xv[:, 2, 2])
    assert torch.equal(y[:, 3, 5], xv[:, 3, 5]) and (y[:, 7, :2] == 0).all()


def test_residual_shift_placement():
    from edgevid.models._mobilenet import InvertedResidual
    from edgevid.models.tsm import TemporalShift

    model = create_model("tsm-mobilenetv2")
    blocks = [m for m in model.modules() if isinstance(m, InvertedResidual)]
    shifted = [b for b in blocks if isinstance(b.conv[0], TemporalShift)]
    # Official rule: residual blocks with an expansion layer; 10 of MobileNetV2's 17 blocks.
    assert len(blocks) == 17 and len(shifted) == 10
    assert all(b.use_res for b in shifted)
    # Residual shift: the identity path is not shifted.
    blk = shifted[0]
    x = torch.randn(8, blk.conv[-1].num_features, 6, 6)
    want = x + blk.conv[1:](blk.conv[0].net(shift_by_definition(x, 8, 8)))
    torch.testing.assert_close(blk(x), want)


# -- MoViNet: causal padding and the cumulative-average SE -----------------------------------------


def test_causal_pad_and_cumulative_mean_by_definition():
    from edgevid.models.movinet import causal_pad, cumulative_mean

    x = torch.randn(2, 3, 5, 4, 4)
    p = causal_pad(x, 3)
    assert p.shape[2] == 7 and (p[:, :, :2] == 0).all() and torch.equal(p[:, :, 2:], x)
    cm = cumulative_mean(x)
    for t in range(5):
        torch.testing.assert_close(cm[:, :, t, 0, 0], x[:, :, :t + 1].mean(dim=(2, 3, 4)))


def _features(model, x):
    return model.project(model.blocks(model.stem(x)))


def test_causal_movinet_never_sees_the_future_and_base_does():
    causal = create_model("movinet-tiny")
    assert causal.cfg.causal
    x = torch.randn(1, 3, 6, 32, 32)
    y = x.clone()
    y[:, :, 3:] = torch.randn_like(y[:, :, 3:])  # change frames 3..5
    a, b = _features(causal, x), _features(causal, y)
    torch.testing.assert_close(a[:, :, :3], b[:, :, :3])  # frames 0..2 unchanged
    assert not torch.allclose(a[:, :, 3:], b[:, :, 3:])
    from edgevid.models.movinet import MoViNet, MoViNetConfig

    torch.manual_seed(0)
    base = MoViNet(MoViNetConfig(model_id="tiny", causal=False, num_classes=10)).eval()
    a, b = _features(base, x), _features(base, y)
    assert not torch.allclose(a[:, :, :3], b[:, :, :3])  # symmetric padding + global SE


def test_movinet_2plus1d_feature_conv():
    from edgevid.models.movinet import feature_conv

    conv = feature_conv(8, (5, 3, 3), (1, 2, 2), causal=True, conv_type="2plus1d")
    assert [m.conv.kernel_size for m in conv] == [(1, 3, 3), (5, 1, 1)]
    assert conv[1].causal and conv[0].conv.stride == (1, 2, 2)


# -- R(2+1)D: M_i keeps the 3D conv's parameters ---------------------------------------------------


def test_r2plus1d_midplanes_keep_3d_params():
    from edgevid.models.r2plus1d import Conv2Plus1D, midplanes

    for cin, cout in ((64, 64), (64, 128), (256, 512)):
        m = midplanes(cin, cout)
        conv = Conv2Plus1D(cin, cout, m)
        factored = conv[0].weight.numel() + conv[3].weight.numel()
        full = cin * cout * 27
        assert full - (cin * 9 + 3 * cout) < factored <= full


# -- Non-local: the block against its written definition, and where the blocks sit -----------------


def test_nonlocal_block_matches_written_definition():
    from edgevid.models.nonlocal_net import NonLocalBlock

    torch.manual_seed(0)
    blk = NonLocalBlock(8).eval()
    for p in blk.parameters():
        p.normal_(0, 0.5)
    x = torch.randn(1, 8, 2, 4, 4)
    theta = torch.einsum("oc,cthw->othw", blk.theta.weight[:, :, 0, 0, 0], x[0]) + \
        blk.theta.bias[:, None, None, None]
    xp = torch.nn.functional.max_pool3d(x, (1, 2, 2))
    phi = torch.einsum("oc,cthw->othw", blk.phi.weight[:, :, 0, 0, 0], xp[0]) + \
        blk.phi.bias[:, None, None, None]
    g = torch.einsum("oc,cthw->othw", blk.g.weight[:, :, 0, 0, 0], xp[0]) + \
        blk.g.bias[:, None, None, None]
    th, ph, gg = theta.flatten(1).T, phi.flatten(1).T, g.flatten(1).T  # (N, C'), (N', C')
    y = torch.zeros_like(th)
    for i in range(th.shape[0]):  # y_i = sum_j softmax_j(theta_i . phi_j / sqrt(C')) g_j
        w = torch.softmax(ph @ th[i] / th.shape[1] ** 0.5, dim=0)
        y[i] = (w[:, None] * gg).sum(0)
    z = blk.bn(blk.out(y.T.reshape(1, 4, 2, 4, 4)))
    torch.testing.assert_close(blk(x), x + z, rtol=1e-5, atol=1e-5)


def test_nonlocal_positions_follow_the_config():
    from edgevid.models.nonlocal_net import NonLocalBlock

    model = create_model("i3d-nl-r50")
    where = []
    for s, stage in enumerate(model.stages):
        j = -1
        for m in stage:
            if isinstance(m, NonLocalBlock):
                where.append((s + 2, j))  # res{s+2}, after bottleneck j
            else:
                j += 1
    assert where == [(3, 1), (3, 3), (4, 1), (4, 3), (4, 5)]
