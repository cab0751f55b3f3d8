"""VideoLightFormer-style composite transformer (Koot & Lu, "VideoLightFormer: Lightweight
Action Recognition using Transformers", 2021; companion of the study behind edgevid).

What the sources say (PAPERS.md; the paper's abstract): a per-frame 2D CNN, then a per-frame
*spatial* transformer, then a *spatio-temporal* transformer over all frames' tokens, then an MLP
head. No official code or configuration is public, so the sizes are ours, chosen to sit in the
study's lightweight regime and written here so they are easy to change (``VLFConfig``):

- 2D CNN: MobileNetV2 (width 1.0, torchvision's settings) up to its last inverted-residual stage
  (320 channels at stride 32: 7x7 for 224^2), per frame, without its 1280-channel 1x1 conv;
  a 1x1 conv projects to d = 192.
- Spatial transformer: per frame, the 49 tokens plus a learned spatial position embedding,
  2 pre-norm layers (3 heads, MLP 4d, GELU).
- Spatio-temporal transformer: all T*49 tokens of the clip, a learned temporal embedding added
  per frame, one class token, 2 pre-norm layers (joint attention over 1 + T*49 tokens), LN.
- MLP head on the class token: Linear(d, d) -> GELU -> dropout 0.5 -> Linear(d, classes).
- Input 8 frames x 224^2 (the study's lightweight setting).

No published parameter or FLOP counts exist for these choices: ``paper_params_m`` /
``paper_gflops`` are left empty and the tests check the count against the closed form instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from edgevid.models._mobilenet import SETTINGS, InvertedResidual, conv_bn_relu6
from edgevid.models._vit import Block
from edgevid.models.registry import register_model


@dataclass(frozen=True)
class VLFConfig:
    num_frames: int = 8
    img_size: int = 224
    settings: tuple = SETTINGS
    stem: int = 32
    dim: int = 192
    heads: int = 3
    spatial_depth: int = 2
    temporal_depth: int = 2
    mlp_ratio: float = 4.0
    dropout: float = 0.5
    num_classes: int = 400


class VideoLightFormer(nn.Module):
    def __init__(self, cfg: VLFConfig):
        super().__init__()
        self.cfg = cfg
        layers, cin = [conv_bn_relu6(3, cfg.stem, 3, 2)], cfg.stem
        stride = 2
        for t, c, n, s in cfg.settings:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
            stride *= s
        self.cnn = nn.Sequential(*layers)
        d = cfg.dim
        self.proj = nn.Conv2d(cin, d, 1)
        n_tok = (cfg.img_size // stride) ** 2
        self.spatial_pos = nn.Parameter(torch.zeros(1, n_tok, d))
        self.spatial = nn.ModuleList(
            Block(d, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.spatial_depth)
        )
        self.temporal_pos = nn.Parameter(torch.zeros(1, cfg.num_frames, 1, d))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.spatiotemporal = nn.ModuleList(
            Block(d, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.temporal_depth)
        )
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.head = nn.Sequential(
            nn.Linear(d, d), nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(d, cfg.num_classes)
        )
        for p in (self.spatial_pos, self.temporal_pos, self.cls_token):
            nn.init.trunc_normal_(p, std=0.02)

    def forward(self, x):  # (B, 3, T, H, W)
        b, c, t, h, w = x.shape
        f = self.proj(self.cnn(x.transpose(1, 2).reshape(b * t, c, h, w)))  # (B*T, d, h', w')
        tok = f.flatten(2).transpose(1, 2) + self.spatial_pos  # (B*T, N, d)
        for blk in self.spatial:
            tok = blk(tok)
        tok = tok.reshape(b, t, -1, tok.shape[-1]) + self.temporal_pos
        tok = torch.cat([self.cls_token.expand(b, -1, -1), tok.flatten(1, 2)], dim=1)
        for blk in self.spatiotemporal:
            tok = blk(tok)
        return self.head(self.norm(tok)[:, 0])


@register_model(
    "videolightformer",
    family="videolightformer",
    arch_class="composite",
    input=(3, 8, 224, 224),
    num_classes=400,
    default=True,
    source="Koot & Lu, VideoLightFormer (2021), architecture as its abstract "
    "describes; sizes are edgevid's (no official config): MobileNetV2 -> "
    "2 spatial + 2 spatio-temporal layers, d=192",
    notes="no official code: sizes chosen by edgevid (see its docstring)",
)
def videolightformer(num_classes: int = 400) -> VideoLightFormer:
    return VideoLightFormer(VLFConfig(num_classes=num_classes))


TINY = VLFConfig(
    num_frames=4,
    img_size=32,
    settings=((1, 8, 1, 1), (4, 16, 2, 2)),
    stem=8,
    dim=16,
    heads=2,
    spatial_depth=1,
    temporal_depth=1,
    num_classes=10,
)


@register_model(
    "videolightformer-tiny",
    family="videolightformer",
    arch_class="composite",
    input=(3, 4, 32, 32),
    num_classes=10,
    hidden=True,
    source="edgevid test config: VideoLightFormer with a 2-stage CNN, d=16, "
    "1 spatial + 1 spatio-temporal layer",
)
def videolightformer_tiny(num_classes: int = 10) -> VideoLightFormer:
    return VideoLightFormer(replace(TINY, num_classes=num_classes))
