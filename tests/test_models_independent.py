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
