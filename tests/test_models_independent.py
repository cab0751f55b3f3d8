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
