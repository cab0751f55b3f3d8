"""UniFormer: Unified Transformer for Efficient Spatiotemporal Representation Learning (Li et al.,
ICLR 2022; arXiv:2201.04676): UniFormer-S.

Source followed: the official code, Sense-X/UniFormer (``video_classification/slowfast/models/
uniformer.py``: ``Uniformer``, ``CBlock``, ``SABlock``, ``SpeicalPatchEmbed``, ``PatchEmbed``),
config ``exp/uniformer_s16x4_k400/config.yaml``, and the paper's Kinetics-400 table (UniFormer-S
16x4: 80.8 top-1, 41.8 GFLOPs x 1x4 views, 21.4 M params).

- Stages of depth 3-4-8-3, widths 64-128-320-512, head dim 64 (heads 1-2-5-8), MLP ratio 4.
- Patch embeddings: stage 1 a 3x4x4 conv, stride (2,4,4), temporal padding 1 (16x224^2 ->
  8x56x56); stages 2-4 a 1x2x2 conv, stride (1,2,2); each followed by LayerNorm over channels.
- Every block starts with a dynamic position embedding: x + DWConv3x3x3(x).
- Stages 1-2, local MHRA (``CBlock``): x + Conv1x1(DWConv5x5x5(Conv1x1(BN(x)))), then
  x + MLP(BN(x)) with 1x1x1-conv MLP and GELU.
- Stages 3-4, global MHRA (``SABlock``): x + MHSA(LN(x)) over all T*H*W tokens, then
  x + MLP(LN(x)).
- Head: BatchNorm, global average pool, linear (logits).

Counts (edgevid.models.stats, 400 classes, 16x224^2): 21.40 M params, 41.7 GFLOPs; the paper's
21.4 M and 41.8 GFLOPs (multiply-adds via fvcore, as the zoo) are checked within 3%. No
UniFormer package is installable from the index; the structure follows the official file, and
the local/global blocks are unit-tested against their written definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import nn

from edgevid.models._vit import Attention, Mlp
from edgevid.models.registry import Accuracy, register_model


@dataclass(frozen=True)
class UniFormerConfig:
    depths: tuple = (3, 4, 8, 3)
    dims: tuple = (64, 128, 320, 512)
    local_stages: int = 2
    head_dim: int = 64
    mlp_ratio: float = 4.0
    num_classes: int = 400


class PatchEmbed(nn.Module):
    def __init__(self, cin, cout, kernel, stride, padding=(0, 0, 0)):
        super().__init__()
        self.proj = nn.Conv3d(cin, cout, kernel, stride, padding)
        self.norm = nn.LayerNorm(cout)

    def forward(self, x):
        x = self.proj(x)
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)


class CBlock(nn.Module):
    """Local MHRA: relation aggregation by a 5x5x5 depthwise conv (official ``CBlock``)."""

    def __init__(self, dim: int, mlp_ratio: float):
        super().__init__()
        self.pos_embed = nn.Conv3d(dim, dim, 3, padding=1, groups=dim)
        self.norm1 = nn.BatchNorm3d(dim)
        self.conv1 = nn.Conv3d(dim, dim, 1)
        self.attn = nn.Conv3d(dim, dim, 5, padding=2, groups=dim)
        self.conv2 = nn.Conv3d(dim, dim, 1)
        self.norm2 = nn.BatchNorm3d(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Conv3d(dim, hidden, 1), nn.GELU(), nn.Conv3d(hidden, dim, 1))

    def forward(self, x):
        x = x + self.pos_embed(x)
        x = x + self.conv2(self.attn(self.conv1(self.norm1(x))))
        return x + self.mlp(self.norm2(x))


class SABlock(nn.Module):
    """Global MHRA: self-attention over all tokens of the clip (official ``SABlock``)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.pos_embed = nn.Conv3d(dim, dim, 3, padding=1, groups=dim)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.pos_embed(x)
        b, c, t, h, w = x.shape
        y = x.flatten(2).transpose(1, 2)
        y = y + self.attn(self.norm1(y))
        y = y + self.mlp(self.norm2(y))
        return y.transpose(1, 2).reshape(b, c, t, h, w)


class UniFormer(nn.Module):
    def __init__(self, cfg: UniFormerConfig):
        super().__init__()
        self.cfg = cfg
        stages, cin = [], 3
        for i, (depth, dim) in enumerate(zip(cfg.depths, cfg.dims)):
            embed = (
                PatchEmbed(cin, dim, (3, 4, 4), (2, 4, 4), (1, 0, 0))
                if i == 0
                else PatchEmbed(cin, dim, (1, 2, 2), (1, 2, 2))
            )
            blocks = [
                CBlock(dim, cfg.mlp_ratio)
                if i < cfg.local_stages
                else SABlock(dim, dim // cfg.head_dim, cfg.mlp_ratio)
                for _ in range(depth)
            ]
            stages.append(nn.Sequential(embed, *blocks))
            cin = dim
        self.stages = nn.Sequential(*stages)
        self.norm = nn.BatchNorm3d(cin)
        self.head = nn.Linear(cin, cfg.num_classes)

    def forward(self, x):
        x = self.norm(self.stages(x))
        return self.head(x.flatten(2).mean(-1))


@register_model(
    "uniformer-s",
    family="uniformer",
    arch_class="attention-only",
    input=(3, 16, 224, 224),
    num_classes=400,
    default=True,
    paper_params_m=21.4,
    paper_gflops=41.8,
    source="Li et al., UniFormer, ICLR 2022, Kinetics-400 table (UniFormer-S 16x4); "
    "Sense-X/UniFormer exp/uniformer_s16x4_k400",
    accuracy=Accuracy(
        top1=80.8,
        dataset="Kinetics-400",
        views="1x4",
        source="UniFormer paper, Kinetics-400 results table",
    ),
)
def uniformer_s(num_classes: int = 400) -> UniFormer:
    return UniFormer(UniFormerConfig(num_classes=num_classes))


TINY = UniFormerConfig(depths=(1, 1, 1, 1), dims=(8, 16, 32, 32), head_dim=16, num_classes=10)


@register_model(
    "uniformer-tiny",
    family="uniformer",
    arch_class="attention-only",
    input=(3, 4, 32, 32),
    num_classes=10,
    hidden=True,
    source="edgevid test config: UniFormer, one block a stage (2 local, 2 global)",
)
def uniformer_tiny(num_classes: int = 10) -> UniFormer:
    return UniFormer(replace(TINY, num_classes=num_classes))
