"""TimeSformer: Is Space-Time Attention All You Need for Video Understanding? (Bertasius, Wang,
Torresani, ICML 2021; arXiv:2102.05095).

Source followed: the official code, facebookresearch/TimeSformer (``timesformer/models/vit.py``:
``VisionTransformer`` with ``attention_type='divided_space_time'``, ``Block``), config
``configs/Kinetics/TimeSformer_divST_8x32_224.yaml``: ViT-B/16 (12 layers, d=768, 12 heads,
MLP 3072, GELU, LayerNorm eps 1e-6, qkv bias), 8 frames at 224^2.

- Tokens: a per-frame 16x16 patch conv (2D conv shared across frames), one class token; a
  spatial position embedding (197 x d, class token included) added per frame and a temporal
  embedding (8 x d) added per patch. Token order is space-major: patch n of frame t is token
  1 + n*T + t, as the official code and Hugging Face ``TimesformerModel`` lay it out.
- Divided space-time attention in every layer (paper Eq. 7-8): *temporal* attention first, among
  the T tokens at the same patch position (class token excluded), then a linear
  ``temporal_fc`` and the residual; then *spatial* attention among the 196 patches of the same
  frame plus a copy of the class token per frame; the T class-token outputs are averaged; the
  residual; then the MLP.
- Head: final LayerNorm, the class token, linear (logits).

Counts (edgevid.models.stats, 400 classes, 8x224^2): 121.57 M params (paper Table 1: 121.4 M),
195.8 GFLOPs; the paper gives 0.59 TFLOPs for 3 views (1 clip x 3 crops, Table 5), i.e. 196.7
GFLOPs a view, counted as multiply-adds like the zoo (fvcore). ``paper_gflops`` is that
per-view figure.

Checked against Hugging Face transformers' ``TimesformerModel`` (an independent port of the
official code): the same random weights give the same final hidden states
(tests/test_models_independent.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgevid.models._vit import Attention, Mlp
from edgevid.models.registry import Accuracy, register_model


@dataclass(frozen=True)
class TimeSformerConfig:
    num_frames: int = 8
    img_size: int = 224
    patch_size: int = 16
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    num_classes: int = 400


def divided_attention(x, temporal, spatial, temporal_fc, norm_t, norm_s, frames: int):
    """One divided space-time step on (B, 1 + N*T, C) tokens (space-major): returns the tokens
    after the temporal residual and the spatial residual (the MLP comes after)."""
    b, _, c = x.shape
    cls, xt = x[:, :1], x[:, 1:]
    n = xt.shape[1] // frames
    t_in = xt.reshape(b * n, frames, c)  # tokens at one patch position, over time
    xt = xt + temporal_fc(temporal(norm_t(t_in)).reshape(b, n * frames, c))
    s_in = xt.reshape(b, n, frames, c).transpose(1, 2).reshape(b * frames, n, c)
    s_in = torch.cat([cls.repeat(1, frames, 1).reshape(b * frames, 1, c), s_in], dim=1)
    s_out = spatial(norm_s(s_in))  # (B*T, 1 + N, C)
    cls_out = s_out[:, 0].reshape(b, frames, c).mean(dim=1, keepdim=True)
    s_out = s_out[:, 1:].reshape(b, frames, n, c).transpose(1, 2).reshape(b, n * frames, c)
    return torch.cat([cls, xt], dim=1) + torch.cat([cls_out, s_out], dim=1)


class DividedBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float, frames: int):
        super().__init__()
        self.frames = frames
        self.temporal_norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.temporal_attn = Attention(dim, heads)
        self.temporal_fc = nn.Linear(dim, dim)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = divided_attention(
            x,
            self.temporal_attn,
            self.attn,
            self.temporal_fc,
            self.temporal_norm1,
            self.norm1,
            self.frames,
        )
        return x + self.mlp(self.norm2(x))


class TimeSformer(nn.Module):
    def __init__(self, cfg: TimeSformerConfig):
        super().__init__()
        self.cfg = cfg
        d, p = cfg.embed_dim, cfg.patch_size
        n = (cfg.img_size // p) ** 2
        self.patch_embed = nn.Conv2d(3, d, p, p)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, d))
        self.time_embed = nn.Parameter(torch.zeros(1, cfg.num_frames, d))
        for prm in (self.cls_token, self.pos_embed, self.time_embed):
            nn.init.trunc_normal_(prm, std=0.02)
        self.blocks = nn.ModuleList(
            DividedBlock(d, cfg.num_heads, cfg.mlp_ratio, cfg.num_frames) for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.head_drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(d, cfg.num_classes)

    def features(self, x):  # (B, 3, T, H, W) -> (B, 1 + N*T, d) after the final norm
        b, c, t, h, w = x.shape
        x = self.patch_embed(x.transpose(1, 2).reshape(b * t, c, h, w))
        x = x.flatten(2).transpose(1, 2)  # (B*T, N, d)
        x = torch.cat([self.cls_token.expand(b * t, -1, -1), x], dim=1) + self.pos_embed
        cls = x[:b, :1]  # the official code keeps the first clip rows' class token
        x = x[:, 1:].reshape(b, t, -1, x.shape[-1]).transpose(1, 2) + self.time_embed
        x = torch.cat([cls, x.flatten(1, 2)], dim=1)  # space-major (n, t)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)

    def forward(self, x):
        return self.head(self.head_drop(self.features(x)[:, 0]))


@register_model(
    "timesformer",
    family="timesformer",
    arch_class="attention-only",
    input=(3, 8, 224, 224),
    num_classes=400,
    default=True,
    paper_params_m=121.4,
    paper_gflops=196.7,
    source="Bertasius et al., TimeSformer, ICML 2021, Table 1 (divided space-time, "
    "121.4M) and Table 5 (0.59 TFLOPs / 3 views); official config "
    "TimeSformer_divST_8x32_224.yaml",
    accuracy=Accuracy(
        top1=78.0, dataset="Kinetics-400", views="3x1", source="TimeSformer paper, Table 5"
    ),
)
def timesformer(num_classes: int = 400) -> TimeSformer:
    return TimeSformer(TimeSformerConfig(num_classes=num_classes))


TINY = TimeSformerConfig(
    num_frames=4, img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=10
)


@register_model(
    "timesformer-tiny",
    family="timesformer",
    arch_class="attention-only",
    input=(3, 4, 32, 32),
    num_classes=10,
    hidden=True,
    source="edgevid test config: TimeSformer, 2 divided layers, d=32, patch 8",
)
def timesformer_tiny(num_classes: int = 10) -> TimeSformer:
    from dataclasses import replace

    return TimeSformer(replace(TINY, num_classes=num_classes))
