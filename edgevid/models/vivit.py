"""ViViT: A Video Vision Transformer (Arnab et al., ICCV 2021; arXiv:2103.15691), Model 2:
the factorised encoder.

Source followed: the official code, google-research/scenic (``scenic/projects/vivit/model.py``,
``ViViT`` with ``model: factorized_encoder``;
``configs/kinetics400/vivit_base_factorised_encoder``),
and the paper's Table 2 (model variants, ViViT-B, tubelet 16x2).

- Tubelet embedding: a 2x16x16 conv, stride 2x16x16 (paper Sec. 3.2): 32 frames -> T' = 16
  temporal indices of 14x14 = 196 tokens.
- Spatial encoder (L_s = 12, ViT-B: d=768, 12 heads, MLP 3072, GELU, LayerNorm eps 1e-6) run
  independently on each temporal index: a class token is prepended to the 196 tokens, one learned
  position embedding (197 x d) shared by all indices is added, 12 pre-norm layers, final LN.
- Temporal encoder (L_t = 4, same width): the T' spatial class-token outputs, a temporal class
  token prepended, a learned (T'+1) x d position embedding, 4 layers, final LN.
- Head: the temporal class token, linear (logits).

Counts (edgevid.models.stats, 400 classes, 32x224^2): 115.06 M params and 283.3 GFLOPs; the
paper's Table 2 lists 115.1 M and 284.4 GFLOPs for this model (multiply-adds, the zoo's
convention); tests/test_models_transformers.py checks both within 3%.

Checked against Hugging Face transformers' ``VivitModel`` (which implements Model 1, the
unfactorised encoder, so it is used piecewise): a ``VivitModel`` built for one 2-frame tubelet
slice is exactly the factorised model's spatial encoder (tubelet conv, class token, position
embedding, layers, final LN), and a ``VivitModel``'s encoder + final LN is the temporal encoder;
with the same random weights, the spatial class tokens and the temporal encoder's output match
(tests/test_models_independent.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from edgevid.models._vit import Encoder
from edgevid.models.registry import Accuracy, register_model


@dataclass(frozen=True)
class ViViTConfig:
    num_frames: int = 32
    img_size: int = 224
    patch_size: int = 16
    tubelet: int = 2
    embed_dim: int = 768
    spatial_depth: int = 12
    temporal_depth: int = 4
    num_heads: int = 12
    mlp_ratio: float = 4.0
    num_classes: int = 400


class ViViTFactorisedEncoder(nn.Module):
    def __init__(self, cfg: ViViTConfig):
        super().__init__()
        self.cfg = cfg
        d, p, tt = cfg.embed_dim, cfg.patch_size, cfg.tubelet
        n, t = (cfg.img_size // p) ** 2, cfg.num_frames // tt
        self.tubelet_embed = nn.Conv3d(3, d, (tt, p, p), (tt, p, p))
        self.spatial_cls = nn.Parameter(torch.zeros(1, 1, d))
        self.spatial_pos = nn.Parameter(torch.zeros(1, n + 1, d))
        self.spatial = Encoder(d, cfg.spatial_depth, cfg.num_heads, cfg.mlp_ratio)
        self.temporal_cls = nn.Parameter(torch.zeros(1, 1, d))
        self.temporal_pos = nn.Parameter(torch.zeros(1, t + 1, d))
        self.temporal = Encoder(d, cfg.temporal_depth, cfg.num_heads, cfg.mlp_ratio)
        self.head = nn.Linear(d, cfg.num_classes)
        for prm in (self.spatial_pos, self.temporal_pos):
            nn.init.normal_(prm, std=0.02)

    def spatial_tokens(self, x):  # (B, 3, T, H, W) -> spatial class tokens (B, T', d)
        x = self.tubelet_embed(x)  # (B, d, T', h, w)
        b, d, t = x.shape[:3]
        x = x.flatten(3).permute(0, 2, 3, 1).reshape(b * t, -1, d)  # (B*T', N, d)
        x = torch.cat([self.spatial_cls.expand(b * t, -1, -1), x], dim=1) + self.spatial_pos
        return self.spatial(x)[:, 0].reshape(b, t, d)

    def temporal_tokens(self, s):  # (B, T', d) -> (B, 1 + T', d) after the final LN
        s = torch.cat([self.temporal_cls.expand(s.shape[0], -1, -1), s], dim=1)
        return self.temporal(s + self.temporal_pos)

    def forward(self, x):
        return self.head(self.temporal_tokens(self.spatial_tokens(x))[:, 0])


@register_model(
    "vivit-b-fe",
    family="vivit",
    arch_class="attention-only",
    input=(3, 32, 224, 224),
    num_classes=400,
    default=True,
    paper_params_m=115.1,
    paper_gflops=284.4,
    source="Arnab et al., ViViT, ICCV 2021, Table 2 (Model 2 factorised encoder, "
    "ViViT-B 16x2, L_t=4); scenic projects/vivit factorized_encoder",
    accuracy=Accuracy(
        top1=78.8, dataset="Kinetics-400", views="1x4", source="ViViT paper, Table 2"
    ),
)
def vivit_b_fe(num_classes: int = 400) -> ViViTFactorisedEncoder:
    return ViViTFactorisedEncoder(ViViTConfig(num_classes=num_classes))


TINY = ViViTConfig(
    num_frames=4,
    img_size=32,
    patch_size=8,
    embed_dim=32,
    spatial_depth=2,
    temporal_depth=1,
    num_heads=2,
    num_classes=10,
)


@register_model(
    "vivit-tiny",
    family="vivit",
    arch_class="attention-only",
    input=(3, 4, 32, 32),
    num_classes=10,
    hidden=True,
    source="edgevid test config: ViViT factorised encoder, 2 spatial + 1 temporal layers, d=32",
)
def vivit_tiny(num_classes: int = 10) -> ViViTFactorisedEncoder:
    return ViViTFactorisedEncoder(replace(TINY, num_classes=num_classes))
