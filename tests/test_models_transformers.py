"""The attention-only and composite families of zoo II (TimeSformer, ViViT, Video Swin, MViTv2,
UniFormer, VideoLightFormer): counts against the papers, and each family's defining op against
its written definition (dense, masked reference implementations; no reshapes shared with the
models)."""
from __future__ import annotations

import functools
import itertools

import pytest
import torch

from edgevid.models import create_model, get_spec
from edgevid.models.stats import spec_stats

torch.set_grad_enabled(False)

PAPER = ["timesformer", "vivit-b-fe", "video-swin-t", "mvitv2-s", "uniformer-s"]


@functools.lru_cache(maxsize=None)
def stats(name):
    return spec_stats(get_spec(name))


@pytest.mark.parametrize("name", PAPER)
def test_params_within_3_percent_of_paper(name):
    spec = get_spec(name)
    assert stats(name).params / 1e6 == pytest.approx(spec.paper_params_m, rel=0.03)


@pytest.mark.parametrize("name", PAPER)
def test_gflops_within_3_percent_of_paper(name):
    spec = get_spec(name)
    assert stats(name).gflops == pytest.approx(spec.paper_gflops, rel=0.03)


def test_classes():
    for name in PAPER:
        assert get_spec(name).arch_class == "attention-only"
        assert get_spec(name).accuracy is not None
    assert get_spec("videolightformer").arch_class == "composite"


def _randomise(module, std=0.3):
    for p in module.parameters():
        p.normal_(0, std)
    return module


def dense_attention(attn_module, x, allowed, bias=None):
    """Multi-head attention over all N tokens of x (N, C) with an (N, N) boolean mask, using
    ``attn_module``'s qkv/proj weights: the written definition softmax(q k^T/sqrt(d) + b) v."""
    c = x.shape[1]
    h = attn_module.heads
    d = c // h
    qkv = x @ attn_module.qkv.weight.T + attn_module.qkv.bias
    q, k, v = qkv[:, :c], qkv[:, c:2 * c], qkv[:, 2 * c:]
    outs = []
    for i in range(h):
        s = slice(i * d, (i + 1) * d)
        logits = q[:, s] @ k[:, s].T / d ** 0.5
        if bias is not None:
            logits = logits + bias[i]
        logits = logits.masked_fill(~allowed, float("-inf"))
        outs.append(torch.softmax(logits, -1) @ v[:, s])
    return torch.cat(outs, -1) @ attn_module.proj.weight.T + attn_module.proj.bias


# -- TimeSformer: divided space-time attention -----------------------------------------------------


def test_divided_attention_matches_written_definition():
    """Paper Eq. 7-8: each patch token attends in time to the tokens at its position (class
    token excluded); then in space to its frame's patches and the class token; the class token's
    spatial output is the mean over frames of its per-frame attention."""
    from edgevid.models.timesformer import DividedBlock, divided_attention

    torch.manual_seed(0)
    C, H, N, T = 8, 2, 4, 3
    blk = _randomise(DividedBlock(C, H, 4.0, T).double())
    x = torch.randn(1, 1 + N * T, C, dtype=torch.float64)
    got = divided_attention(x, blk.temporal_attn, blk.attn, blk.temporal_fc, blk.temporal_norm1,
                            blk.norm1, T)[0]
    pos = [(n, t) for n in range(N) for t in range(T)]  # token 1 + n*T + t (space-major)
    patches = x[0, 1:]
    same_n = torch.tensor([[a[0] == b[0] for b in pos] for a in pos])
    t_out = dense_attention(blk.temporal_attn, blk.temporal_norm1(patches), same_n)
    xt = patches + t_out @ blk.temporal_fc.weight.T + blk.temporal_fc.bias
    want = torch.zeros_like(got)
    want[1:] = xt
    cls_acc = torch.zeros(C, dtype=x.dtype)
    for t in range(T):  # spatial attention inside frame t, with the class token
        idx = [i for i, p in enumerate(pos) if p[1] == t]
        seq = torch.cat([x[0, :1], xt[idx]], dim=0)
        out = dense_attention(blk.attn, blk.norm1(seq), torch.ones(len(seq), len(seq),
                                                                   dtype=torch.bool))
        want[[1 + i for i in idx]] += out[1:]
        cls_acc += out[0] / T
    want[0] = x[0, 0] + cls_acc
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


# -- Video Swin: shifted 3D windows with their masks -----------------------------------------------


def swin_reference(blk, x):
    """One Swin block by definition, on (D, H, W, C) without rolls or window reshapes: token p
    attends to q iff floor((p_i - s_i) / w_i) == floor((q_i - s_i) / w_i) on every axis (s = 0
    for a regular block): the shifted grid of windows, cut at the map's edge instead of wrapped.
    Bias: the table entry at their relative offset."""
    from edgevid.models.swin3d import get_window_size

    d, h, w, c = x.shape
    ws, ss = get_window_size((d, h, w), blk.window, blk.shift)
    coords = list(itertools.product(range(d), range(h), range(w)))
    cid = torch.tensor([[(p[i] - ss[i]) // ws[i] for i in range(3)] for p in coords])
    allowed = (cid[:, None, :] == cid[None, :, :]).all(-1)
    table = blk.attn.relative_position_bias_table
    win = blk.attn.window
    rel = torch.tensor(coords)[:, None, :] - torch.tensor(coords)[None, :, :]
    rel_c = rel + torch.tensor([win[0] - 1, win[1] - 1, win[2] - 1])
    flat = (rel_c[..., 0] * (2 * win[1] - 1) + rel_c[..., 1]) * (2 * win[2] - 1) + rel_c[..., 2]
    flat = flat.clamp(0, table.shape[0] - 1)  # pairs outside a window are masked anyway
    bias = table[flat].permute(2, 0, 1)
    y = x.reshape(-1, c)
    a = dense_attention(blk.attn, blk.norm1(y), allowed, bias)
    y = y + a
    return (y + blk.mlp(blk.norm2(y))).reshape(d, h, w, c)


@pytest.mark.parametrize("shifted", [False, True])
@pytest.mark.parametrize("size", [(4, 8, 8), (4, 4, 4)])
def test_shifted_window_block_matches_written_definition(shifted, size):
    from edgevid.models.swin3d import SwinBlock3D

    torch.manual_seed(1)
    window = (2, 4, 4)
    shift = (1, 2, 2) if shifted else (0, 0, 0)
    blk = _randomise(SwinBlock3D(16, 2, window, shift, 2.0).double(), 0.2)
    x = torch.randn(1, *size, 16, dtype=torch.float64)
    torch.testing.assert_close(blk(x)[0], swin_reference(blk, x[0]), rtol=1e-9, atol=1e-9)


def test_swin_mask_values_and_window_shrink():
    from edgevid.models.swin3d import compute_mask, get_window_size

    mask = compute_mask(4, 8, 8, (2, 4, 4), (1, 2, 2))
    assert mask.shape == (2 * 2 * 2, 32, 32)
    assert set(mask.unique().tolist()) == {0.0, -100.0}
    assert (mask[0] == 0).all()  # the first window never straddles a wrap
    assert (mask[-1] != 0).any()  # the last one does, on every axis
    assert get_window_size((16, 7, 7), (8, 7, 7), (4, 3, 3)) == ((8, 7, 7), (4, 0, 0))


# -- MViTv2: pooling attention, decomposed relative positions, residual pooling --------------------


def test_decomposed_rel_pos_matches_loop_definition():
    from edgevid.models.mvitv2 import decomposed_rel_pos

    torch.manual_seed(2)
    c, q_thw, k_thw = 4, (2, 4, 4), (2, 2, 2)
    rt, rh, rw = (torch.randn(2 * n - 1, c, dtype=torch.float64) for n in (2, 4, 4))
    q = torch.randn(1, 1, 2 * 16, c, dtype=torch.float64)
    got = decomposed_rel_pos(q, q_thw, k_thw, rt, rh, rw)[0, 0]

    def dist(i, j, qn, kn):
        return int(i * max(kn / qn, 1.0) - j * max(qn / kn, 1.0) + (kn - 1) * max(qn / kn, 1.0))

    qs = list(itertools.product(*(range(n) for n in q_thw)))
    ks = list(itertools.product(*(range(n) for n in k_thw)))
    for a, (t, h, w) in enumerate(qs):
        for b, (t2, h2, w2) in enumerate(ks):
            want = (q[0, 0, a] @ rt[dist(t, t2, 2, 2)] + q[0, 0, a] @ rh[dist(h, h2, 4, 2)]
                    + q[0, 0, a] @ rw[dist(w, w2, 4, 2)])
            assert abs(got[a, b] - want) < 1e-10


def test_pooling_attention_matches_written_definition():
    """Pooling attention (MViTv2 Eq. 1-4): Q, K, V = pooled projections (depthwise conv over the
    T x H x W grid, class token passed through, then LayerNorm); attention with the decomposed
    relative term; the pooled Q added back (residual pooling); output projection."""
    from edgevid.models.mvitv2 import TINY, MultiScaleAttention, decomposed_rel_pos

    torch.manual_seed(3)
    dim, heads, thw = 8, 2, (2, 4, 4)
    m = _randomise(MultiScaleAttention(dim, dim, heads, thw, (1, 2, 2), (1, 2, 2), TINY).double())
    x = torch.randn(1, 1 + 32, dim, dtype=torch.float64)
    got, out_thw = m(x, thw)
    assert out_thw == (2, 2, 2) and got.shape == (1, 9, dim)
    dh = dim // heads
    qkv = x[0] @ m.qkv.weight.T + m.qkv.bias
    heads_out = []
    for i in range(heads):
        def pool(t, p):
            grid = t[1:].T.reshape(1, dh, *thw)
            pooled = torch.nn.functional.conv3d(grid, p.conv.weight, None, p.conv.stride,
                                                p.conv.padding, groups=dh)
            seq = torch.cat([t[:1], pooled.flatten(2)[0].T], dim=0)
            return torch.nn.functional.layer_norm(seq, (dh,), p.norm.weight, p.norm.bias)
        q = pool(qkv[:, i * dh:(i + 1) * dh], m.pool_q)
        k = pool(qkv[:, dim + i * dh:dim + (i + 1) * dh], m.pool_k)
        v = pool(qkv[:, 2 * dim + i * dh:2 * dim + (i + 1) * dh], m.pool_v)
        logits = q @ k.T / dh ** 0.5
        logits[1:, 1:] += decomposed_rel_pos(q[None, None, 1:], (2, 2, 2), (2, 2, 2),
                                             m.rel_pos_t, m.rel_pos_h, m.rel_pos_w)[0, 0]
        o = torch.softmax(logits, -1) @ v
        o[1:] += q[1:]  # residual pooling, patch tokens only
        heads_out.append(o)
    want = torch.cat(heads_out, -1) @ m.proj.weight.T + m.proj.bias
    torch.testing.assert_close(got[0], want, rtol=1e-10, atol=1e-10)


def test_mvitv2_s_schedule():
    model = create_model("mvitv2-tiny")
    assert [b.attn.pool_q.conv.stride for b in model.blocks] == [(1, 1, 1), (1, 2, 2), (1, 1, 1)]
    full = get_spec("mvitv2-s").build()
    kv = [b.attn.pool_k.conv.stride for b in full.blocks]
    assert kv == [(1, 8, 8)] + [(1, 4, 4)] * 2 + [(1, 2, 2)] * 11 + [(1, 1, 1)] * 2
    assert [b.attn.heads for b in full.blocks] == [1, 2, 2] + [4] * 11 + [8, 8]


# -- UniFormer: local vs global relation aggregation -----------------------------------------------


def test_uniformer_local_blocks_are_local_and_global_blocks_global():
    from edgevid.models.uniformer import CBlock, SABlock

    torch.manual_seed(4)
    local, glob = CBlock(8, 2.0).eval(), SABlock(8, 2, 2.0).eval()
    for blk in (local, glob):
        for mod in blk.modules():
            if isinstance(mod, torch.nn.BatchNorm3d):
                mod.running_var.fill_(1.0)
    x = torch.randn(1, 8, 8, 12, 12)
    y = x.clone()
    y[:, :, 7, 11, 11] += 5.0  # one far corner token
    # Local MHRA: receptive field 3 (position) + 5 (aggregation) -> the origin cannot see it.
    assert torch.equal(local(x)[:, :, 0, 0, 0], local(y)[:, :, 0, 0, 0])
    # Global MHRA: every token attends to every other.
    assert not torch.allclose(glob(x)[:, :, 0, 0, 0], glob(y)[:, :, 0, 0, 0])


# -- VideoLightFormer: per-frame CNN and spatial transformer, then joint over all tokens -----------


def test_videolightformer_structure():
    model = create_model("videolightformer-tiny")
    x = torch.randn(1, 3, 4, 32, 32)
    y = x.clone()
    y[:, :, 3] = torch.randn_like(y[:, :, 3])  # change the last frame only
    def spatial_tokens(inp):
        b, c, t, h, w = inp.shape
        f = model.proj(model.cnn(inp.transpose(1, 2).reshape(b * t, c, h, w)))
        tok = f.flatten(2).transpose(1, 2) + model.spatial_pos
        for blk in model.spatial:
            tok = blk(tok)
        return tok.reshape(b, t, -1, tok.shape[-1])
    a, b = spatial_tokens(x), spatial_tokens(y)
    torch.testing.assert_close(a[:, :3], b[:, :3])  # per frame: frames 0..2 untouched
    assert not torch.allclose(model(x), model(y))  # the joint stage mixes all frames
    assert model(x).shape == (1, 10)


def test_window_partition_equals_the_official_rank8_form():
    from edgevid.models.swin3d import window_partition, window_reverse

    x = torch.randn(2, 4, 6, 8, 3)
    ws = (2, 3, 4)
    b, d, h, w, c = x.shape
    want = x.reshape(b, d // 2, 2, h // 3, 3, w // 4, 4, c).permute(0, 1, 3, 5, 2, 4, 6, 7)
    want = want.reshape(-1, 24, c)
    assert torch.equal(window_partition(x, ws), want)
    assert torch.equal(window_reverse(want, ws, b, d, h, w), x)
