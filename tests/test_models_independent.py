"""Zoo models against independent implementations, with the same random weights.

- TimeSformer and ViViT against Hugging Face transformers (``TimesformerModel``, ``VivitModel``,
  both in the environment): tiny configs of both, weights copied key by key, outputs compared.
- X3D, R(2+1)D's (2+1)D conv and MViT's shared parts against PyTorchVideo 0.1.5 (PyPI).
  PyTorchVideo imports a few torchvision functions at import time (transforms and video I/O
  helpers none of these builders use); CPU torchvision cannot be installed here, so
  ``_stand_in_torchvision`` puts a small stand-in module for exactly those names into
  ``sys.modules`` before the import. Nothing the compared models compute goes through it.
"""
from __future__ import annotations

import pytest
import torch

from edgevid.models import create_model

torch.set_grad_enabled(False)


def _copy_linear(dst, weight, bias=None):
    dst.weight.copy_(weight)
    if bias is not None:
        dst.bias.copy_(bias)


# -- TimeSformer vs transformers.TimesformerModel -------------------------------------------------


def _hf_attn_to_ours(ours, hf_attn):
    _copy_linear(ours.qkv, hf_attn.attention.qkv.weight, hf_attn.attention.qkv.bias)
    _copy_linear(ours.proj, hf_attn.output.dense.weight, hf_attn.output.dense.bias)


def test_timesformer_matches_huggingface():
    transformers = pytest.importorskip("transformers")
    from edgevid.models.timesformer import TINY

    cfg = transformers.TimesformerConfig(
        image_size=TINY.img_size, patch_size=TINY.patch_size, num_frames=TINY.num_frames,
        hidden_size=TINY.embed_dim, num_hidden_layers=TINY.depth,
        num_attention_heads=TINY.num_heads, intermediate_size=int(TINY.embed_dim * 4),
        hidden_act="gelu", attention_type="divided_space_time", qkv_bias=True)
    torch.manual_seed(1)
    hf = transformers.TimesformerModel(cfg).eval()
    for p in hf.parameters():  # HF initialises some tensors to zero: randomise all of them
        p.normal_(0, 0.2)
    ours = create_model("timesformer-tiny")
    emb = hf.embeddings
    ours.patch_embed.weight.copy_(emb.patch_embeddings.projection.weight)
    ours.patch_embed.bias.copy_(emb.patch_embeddings.projection.bias)
    ours.cls_token.copy_(emb.cls_token)
    ours.pos_embed.copy_(emb.position_embeddings)
    ours.time_embed.copy_(emb.time_embeddings)
    for mine, layer in zip(ours.blocks, hf.encoder.layer):
        _hf_attn_to_ours(mine.temporal_attn, layer.temporal_attention)
        _hf_attn_to_ours(mine.attn, layer.attention)
        _copy_linear(mine.temporal_fc, layer.temporal_dense.weight, layer.temporal_dense.bias)
        for a, b in ((mine.temporal_norm1, layer.temporal_layernorm),
                     (mine.norm1, layer.layernorm_before), (mine.norm2, layer.layernorm_after)):
            _copy_linear(a, b.weight, b.bias)
        _copy_linear(mine.mlp[0], layer.intermediate.dense.weight, layer.intermediate.dense.bias)
        _copy_linear(mine.mlp[2], layer.output.dense.weight, layer.output.dense.bias)
    _copy_linear(ours.norm, hf.layernorm.weight, hf.layernorm.bias)

    x = torch.randn(2, 3, TINY.num_frames, TINY.img_size, TINY.img_size)
    want = hf(pixel_values=x.transpose(1, 2)).last_hidden_state
    got = ours.features(x)
    diff = (got - want).abs().max().item()
    print(f"timesformer vs transformers.TimesformerModel: max |diff| = {diff:.3g}")
    assert want.abs().max() > 1e-2
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


# -- ViViT factorised encoder vs transformers.VivitModel (used piecewise) ------------------------


def _hf_vivit(transformers, cfg, frames, layers):
    hc = transformers.VivitConfig(
        num_frames=frames, image_size=cfg.img_size, tubelet_size=[cfg.tubelet, cfg.patch_size,
                                                                  cfg.patch_size],
        hidden_size=cfg.embed_dim, num_hidden_layers=layers, num_attention_heads=cfg.num_heads,
        intermediate_size=int(cfg.embed_dim * cfg.mlp_ratio), hidden_act="gelu",
        layer_norm_eps=1e-6, qkv_bias=True)
    m = transformers.VivitModel(hc, add_pooling_layer=False).eval()
    for p in m.parameters():
        p.normal_(0, 0.2)
    return m


def _vivit_layers_to_ours(enc, hf):
    for mine, layer in zip(enc.layers, hf.layers):
        a = layer.attention
        mine.attn.qkv.weight.copy_(torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]))
        mine.attn.qkv.bias.copy_(torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias]))
        _copy_linear(mine.attn.proj, a.o_proj.weight, a.o_proj.bias)
        _copy_linear(mine.norm1, layer.layernorm_before.weight, layer.layernorm_before.bias)
        _copy_linear(mine.norm2, layer.layernorm_after.weight, layer.layernorm_after.bias)
        _copy_linear(mine.mlp[0], layer.mlp.fc1.weight, layer.mlp.fc1.bias)
        _copy_linear(mine.mlp[2], layer.mlp.fc2.weight, layer.mlp.fc2.bias)
    _copy_linear(enc.norm, hf.layernorm.weight, hf.layernorm.bias)


def test_vivit_factorised_encoder_matches_huggingface_piecewise():
    transformers = pytest.importorskip("transformers")
    from edgevid.models.vivit import TINY

    torch.manual_seed(2)
    spatial = _hf_vivit(transformers, TINY, TINY.tubelet, TINY.spatial_depth)
    temporal = _hf_vivit(transformers, TINY, TINY.tubelet, TINY.temporal_depth)
    ours = create_model("vivit-tiny")
    emb = spatial.embeddings
    ours.tubelet_embed.weight.copy_(emb.patch_embeddings.projection.weight)
    ours.tubelet_embed.bias.copy_(emb.patch_embeddings.projection.bias)
    ours.spatial_cls.copy_(emb.cls_token)
    ours.spatial_pos.copy_(emb.position_embeddings)
    _vivit_layers_to_ours(ours.spatial, spatial)
    _vivit_layers_to_ours(ours.temporal, temporal)

    x = torch.randn(2, 3, TINY.num_frames, TINY.img_size, TINY.img_size)
    got_s = ours.spatial_tokens(x)  # (B, T', d)
    # HF's VivitModel on each 2-frame slice is the spatial encoder; its class token is the output.
    slices = x.transpose(1, 2).split(TINY.tubelet, dim=1)
    want_s = torch.stack([spatial(pixel_values=s).last_hidden_state[:, 0] for s in slices], dim=1)
    d_s = (got_s - want_s).abs().max().item()
    torch.testing.assert_close(got_s, want_s, rtol=1e-4, atol=1e-4)

    tokens = torch.cat([ours.temporal_cls.expand(2, -1, -1), got_s], dim=1) + ours.temporal_pos
    h = tokens
    for layer in temporal.layers:
        h = layer(h, None)
    want_t = temporal.layernorm(h)
    got_t = ours.temporal_tokens(got_s)
    d_t = (got_t - want_t).abs().max().item()
    print(f"vivit vs transformers.VivitModel: spatial max |diff| = {d_s:.3g}, "
          f"temporal {d_t:.3g}")
    torch.testing.assert_close(got_t, want_t, rtol=1e-4, atol=1e-4)


# -- PyTorchVideo 0.1.5 (X3D, R(2+1)D's (2+1)D conv, MViT v1's pooling-attention block) -----------


@pytest.fixture(scope="module")
def pytorchvideo(tmp_path_factory):
    return _import_pytorchvideo(tmp_path_factory.mktemp("tv"))


def _import_pytorchvideo(root):
    """Import pytorchvideo with a stand-in for torchvision (see the module docstring).

    pytorchvideo.models.head does ``from torchvision.ops import RoIAlign`` (for its detection
    head, unused here); that is the only torchvision name the model builders touch. The stand-in
    is a real package on disk holding a class that refuses to be instantiated, so any use of it
    fails loudly instead of computing something."""
    import sys

    pytest.importorskip("fvcore", reason="pytorchvideo needs fvcore (dev extra)")
    try:
        import torchvision  # noqa: F401 - a real torchvision, if one is ever installed
    except ImportError:
        pkg = root / "torchvision"
        pkg.mkdir()
        (pkg / "__init__.py").write_text('"""edgevid test stand-in: see tests/"""\n')
        (pkg / "ops.py").write_text(
            "class RoIAlign:\n"
            "    def __init__(self, *a, **k):\n"
            "        raise RuntimeError('torchvision stand-in: RoIAlign is not available')\n")
        sys.path.insert(0, str(root))
    pytest.importorskip("pytorchvideo.models.x3d")
    import pytorchvideo

    return pytorchvideo


def _x3d_key(k: str, block_names: list) -> str:
    """pytorchvideo create_x3d state-dict key -> edgevid x3d key."""
    import re

    fixed = {"blocks.0.conv.conv_t": "stem.0", "blocks.0.conv.conv_xy": "stem.1",
             "blocks.0.norm": "stem.2", "blocks.5.pool.pre_conv": "head_pre.0.0",
             "blocks.5.pool.pre_norm": "head_pre.0.1", "blocks.5.pool.post_conv": "head_post",
             "blocks.5.proj": "proj"}
    for a, b in fixed.items():
        if k.startswith(a + "."):
            return b + k[len(a):]
    m = re.match(r"blocks\.(\d)\.res_blocks\.(\d+)\.(.*)", k)
    blk = f"blocks.{block_names.index((int(m.group(1)), int(m.group(2))))}"
    rest = m.group(3)
    for a, b in (("branch1_conv", "shortcut.0"), ("branch1_norm", "shortcut.1"),
                 ("branch2.conv_a", "conv_a.0"), ("branch2.norm_a", "conv_a.1"),
                 ("branch2.conv_b", "conv_b.0"), ("branch2.norm_b.0", "conv_b.1"),
                 ("branch2.norm_b.1.block.0", "se.fc1"), ("branch2.norm_b.1.block.2", "se.fc2"),
                 ("branch2.norm_b", "conv_b.1"), ("branch2.conv_c", "conv_c.0"),
                 ("branch2.norm_c", "conv_c.1")):
        if rest.startswith(a + "."):
            return f"{blk}.{b}{rest[len(a):]}"
    raise KeyError(k)


def test_x3d_xs_matches_pytorchvideo(pytorchvideo):
    """X3D-XS, whole network. One known difference: pytorchvideo's ``create_x3d_res_block``
    gives the stage-1 projection shortcut (24 -> 24 channels, stride 2) no BatchNorm, where
    SlowFast's X3D (which the zoo follows) has one; that BN is set to the identity here."""
    from pytorchvideo.models.x3d import create_x3d

    torch.manual_seed(3)
    ref = create_x3d(input_clip_length=4, input_crop_size=64, model_num_class=400,
                     head_activation=None).eval()
    for name, t in ref.state_dict().items():  # random BN statistics too
        if t.is_floating_point():
            t.copy_(torch.rand_like(t) + 0.5 if "running_var" in name
                    else torch.randn_like(t) * 0.3)
    ours = create_model("x3d-xs")
    names = [(s, j) for s in range(1, 5) for j in range(len(ref.blocks[s].res_blocks))]
    state = {_x3d_key(k, names): v for k, v in ref.state_dict().items()}
    bn = ours.blocks[0].shortcut[1]
    state.update({"blocks.0.shortcut.1.weight": torch.ones(24), "blocks.0.shortcut.1.bias":
                  torch.zeros(24), "blocks.0.shortcut.1.running_mean": torch.zeros(24),
                  "blocks.0.shortcut.1.running_var": torch.full((24,), 1.0 - bn.eps),
                  "blocks.0.shortcut.1.num_batches_tracked": torch.tensor(0)})
    ours.load_state_dict(state, strict=True)
    x = torch.randn(2, 3, 4, 64, 64)
    want, got = ref(x), ours(x)
    diff = (got - want).abs().max().item()
    print(f"x3d-xs vs pytorchvideo create_x3d: max |diff| = {diff:.3g} "
          f"(output scale {want.abs().max().item():.3g})")
    scale = want.abs().max().item()
    assert scale > 1e-2
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5 * scale)


def test_r2plus1d_conv_matches_pytorchvideo(pytorchvideo):
    """R(2+1)D's factorised conv against ``pytorchvideo.layers.Conv2plus1d`` (spatial first,
    BN + ReLU between). PyTorchVideo's R(2+1)D network is R50 (bottleneck), so only this op and
    the M_i rule are compared, not R(2+1)D-18 as a whole."""
    from pytorchvideo.layers.convolutions import Conv2plus1d

    from edgevid.models.r2plus1d import Conv2Plus1D, midplanes

    torch.manual_seed(4)
    cin, cout = 16, 24
    mid = midplanes(cin, cout)
    assert mid == (cin * cout * 27) // (cin * 9 + 3 * cout)  # paper Eq. 1
    ours = Conv2Plus1D(cin, cout, mid, stride=2).eval()
    for name, t in ours.state_dict().items():
        if t.is_floating_point():
            t.copy_(torch.rand_like(t) + 0.5 if "running_var" in name else torch.randn_like(t))
    ref = Conv2plus1d(conv_t=torch.nn.Conv3d(mid, cout, (3, 1, 1), (2, 1, 1), (1, 0, 0),
                                             bias=False),
                      norm=torch.nn.BatchNorm3d(mid), activation=torch.nn.ReLU(),
                      conv_xy=torch.nn.Conv3d(cin, mid, (1, 3, 3), (1, 2, 2), (0, 1, 1),
                                              bias=False),
                      conv_xy_first=True).eval()
    ref.conv_xy.weight.copy_(ours[0].weight)
    ref.norm.load_state_dict(ours[1].state_dict())
    ref.conv_t.weight.copy_(ours[3].weight)
    x = torch.randn(2, cin, 8, 16, 16)
    diff = (ours(x) - ref(x)).abs().max().item()
    print(f"r2plus1d Conv2Plus1D vs pytorchvideo Conv2plus1d: max |diff| = {diff:.3g}")
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_mvit_pooling_attention_block_matches_pytorchvideo_v1(pytorchvideo):
    """MViTv2's block with its two v2 additions switched off (no relative positions, no residual
    pooling) is MViT v1's ``MultiScaleBlock``: pooling attention with conv pooling + LayerNorm
    on q, k, v, a strided q, the max-pooled skip. Same weights, same output."""
    from dataclasses import replace

    from pytorchvideo.layers.attention import MultiScaleBlock as V1Block

    from edgevid.models.mvitv2 import TINY, MultiScaleBlock

    torch.manual_seed(5)
    dim, heads, thw = 16, 2, (2, 8, 8)
    cfg = replace(TINY, rel_pos=False, residual_pooling=False)
    ours = MultiScaleBlock(dim, dim, heads, thw, (1, 2, 2), (1, 4, 4), cfg).eval()
    ref = V1Block(dim, dim, heads, qkv_bias=True, kernel_q=(3, 3, 3), kernel_kv=(3, 3, 3),
                  stride_q=(1, 2, 2), stride_kv=(1, 4, 4), norm_layer=torch.nn.LayerNorm).eval()
    for p in ours.parameters():
        p.normal_(0, 0.3)
    a = ref.attn
    w, b = ours.attn.qkv.weight.chunk(3), ours.attn.qkv.bias.chunk(3)
    for lin, wi, bi in zip((a.q, a.k, a.v), w, b):
        _copy_linear(lin, wi, bi)
    _copy_linear(a.proj, ours.attn.proj.weight, ours.attn.proj.bias)
    for name in "qkv":
        getattr(a, f"pool_{name}").weight.copy_(getattr(ours.attn, f"pool_{name}").conv.weight)
        norm = getattr(ours.attn, f"pool_{name}").norm
        _copy_linear(getattr(a, f"norm_{name}"), norm.weight, norm.bias)
    ref.norm1.eps = ref.norm2.eps = 1e-6  # the MViTv2 config's eps (v1 block default 1e-5)
    _copy_linear(ref.norm1, ours.norm1.weight, ours.norm1.bias)
    _copy_linear(ref.norm2, ours.norm2.weight, ours.norm2.bias)
    _copy_linear(ref.mlp.fc1, ours.mlp[0].weight, ours.mlp[0].bias)
    _copy_linear(ref.mlp.fc2, ours.mlp[2].weight, ours.mlp[2].bias)
    x = torch.randn(2, 1 + 2 * 8 * 8, dim)
    got, got_thw = ours(x, thw)
    want, want_thw = ref(x, list(thw))
    assert tuple(got_thw) == tuple(want_thw) == (2, 4, 4)
    diff = (got - want).abs().max().item()
    print(f"mvitv2 block (v2 parts off) vs pytorchvideo MViT v1 MultiScaleBlock: "
          f"max |diff| = {diff:.3g}")
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
