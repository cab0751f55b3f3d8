"""VAST: Efficient Attention-free Video Shift Transformers (Bulat, Martinez, Tzimiropoulos, 2022).

arXiv:2208.11108. VAST is a hierarchical video transformer whose token mixer is the
*Affine-Shift block*, an attention-free block built from the shift operator and designed to
approximate the operations of a transformer's MHSA block as closely as possible.

What is confirmed, and from where
---------------------------------
Only the abstract (arXiv / ar5iv first page) and a third-party summary of the paper
(emergentmind.com, "Attention-Free Shift Transformers (VAST)") could be read; the method section,
the architecture table and the result tables of the paper could not be reached. So:

- confirmed (abstract): an attention-free block built on the shift operator that mirrors the MHSA
  block of a transformer layer; an image model (Affine-Shift Transformer) and its video extension
  VAST; purely shift-based, no self-attention anywhere; aimed at low compute and memory;
- confirmed (summary, secondary source): the layer keeps the pre-norm transformer layout,
  ``Y = Mixer(LN(X)) + X``, ``X' = MLP(LN(Y)) + Y``; the mixer applies a channel-mixing linear
  projection to the LayerNorm'ed input, splits the channels into groups and shifts each group by
  one position along its assigned axis (spatial, and for video also temporal); the shifted
  features go through an affine transformation (scale and bias) that is *dynamic*
  (input-dependent; the summary credits it with about +1.5% ImageNet top-1, baseline not stated);
  Kinetics-400 top-1 79.0-80.0%. Not found: the exact group split, the form of the dynamic
  affine, the stage layout, the variant names and the params/GFLOPs tables.

Our reading (not confirmed from the paper; change here if the full text says otherwise)
--------------------------------------------------------------------------------------
Affine-Shift mixer, on channels-last tokens ``x = LN(X)`` of shape (B, T, H, W, C)::

    v      = x W_v + b_v                      # value projection            (C -> C)
    s, b   = split(x W_a + b_a)               # affine parameters of token  (C -> 2C)
    u      = Shift(v)                         # zero-FLOP token mixing
    y      = (u * (1 + s) + b) W_o + b_o      # dynamic affine, output proj (C -> C)

- the query-like projection W_a gives each token its own per-channel scale and bias, standing in
  for the data-dependent attention weights; with W_v, W_a (2C) and W_o the mixer has 4C^2
  weights, as many as MHSA's qkv + proj;
- ``Shift`` splits C into 8 equal groups: groups 0..5 shift by one position along
  +T, -T, +H, -H, +W, -W, groups 6..7 stay in place (the token "attending to itself").
  Shifting by +1 along an axis means ``u[i] = v[i - 1]``, and ``u[0] = 0``: zero padding, no wrap
  around (a 3x3x3 cross-shaped neighbourhood, like one attention head per direction);
- the MLP is Linear(C, 4C), GELU, Linear(4C, C), as in ViT/Swin;
- the hierarchy follows Video Swin: a (2, 4, 4) patch embedding (Conv3d + LN), four stages of
  widths C, 2C, 4C, 8C with 2x2 spatial patch merging (concat, LN, Linear 4C -> 2C) between them,
  and a head of LN, global average pooling and a linear classifier (logits, no softmax);
- variants (names, depths and widths are Swin's tiny / small, not confirmed as the paper's):
  ``vast-tiny`` C=96, depths (2, 2, 6, 2); ``vast-small`` C=96, depths (2, 2, 18, 2); both at
  8x224x224 (temporal patch 2 -> 4 temporal tokens), 400 classes.

Paper numbers: the paper's parameter and GFLOP counts for its variants could not be read, so
``paper_params_m`` / ``paper_gflops`` are left ``None``: there is nothing verified to compare with.

Counting (edgevid.models.stats: 1 multiply-add = 1 FLOP; linear layers and the patch-embedding
conv counted, element-wise ops not): the shifts are slicing + zero padding and cost nothing; the
dynamic affine is element-wise and is not counted either, so a block costs 12 C^2 multiply-adds
per token (4 C^2 mixer + 8 C^2 MLP), the same as a Swin block without its attention matmuls.
vast-tiny counts 27.8M params and 17.5 GFLOPs per 8x224 view, vast-small 49.1M / 34.1 GFLOPs.
Papers in this line (Swin, MViT, X-ViT) count GFLOPs as multiply-adds per view too, so the
numbers should be comparable once the paper's are known; the paper may also report multi-view
totals (x views), which ours are not.

Study class: ``attention-block``. Koot et al. (2021) sort video transformers into composite
(a CNN backbone with a transformer on top), attention-only (pixels/patches straight into a stack
of standard self-attention layers) and stand-alone attention-block models (a new block that
replaces self-attention, stacked into the network). VAST has no CNN backbone (not composite, and
its mixing is not convolution: not cnn) and no self-attention at all (so "attention-only" would
be a misnomer); its contribution is exactly a drop-in replacement of the MHSA block, stacked
hierarchically, which is the stand-alone block class.

Export: shifts are written as ``split`` + ``narrow`` + ``cat`` with a zero block (ONNX Split /
Slice / Concat with a folded zero constant), no in-place index assignment and no ``torch.roll``
(which would wrap around), so the model exports with
``torch.onnx.export(..., dynamo=False, opset_version=17)`` and runs in ONNX Runtime and OpenVINO.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgevid.models.registry import register_model

#: Channel-group shift directions of the Affine-Shift mixer, on channels-last (B, T, H, W, C)
#: tensors: (axis, offset) per group, ``None`` for a group that stays in place.
SHIFT_PATTERN = ((1, 1), (1, -1), (2, 1), (2, -1), (3, 1), (3, -1), None, None)


@dataclass(frozen=True)
class VASTConfig:
    embed_dim: int = 96
    depths: tuple = (2, 2, 6, 2)
    patch_size: tuple = (2, 4, 4)  # (T, H, W)
    mlp_ratio: float = 4.0
    in_chans: int = 3
    num_classes: int = 400

    @property
    def widths(self) -> tuple:
        return tuple(self.embed_dim * 2**i for i in range(len(self.depths)))


def shift_axis(x: torch.Tensor, axis: int, offset: int) -> torch.Tensor:
    """``out[..., i, ...] = x[..., i - offset, ...]`` along ``axis``, zeros where that falls outside."""
    if offset == 0:
        return x
    n, k = x.shape[axis], abs(offset)
    zeros = torch.zeros_like(x.narrow(axis, 0, k))  # a constant in the exported graph
    if offset > 0:
        return torch.cat([zeros, x.narrow(axis, 0, n - k)], dim=axis)
    return torch.cat([x.narrow(axis, k, n - k), zeros], dim=axis)


def shift_groups(x: torch.Tensor, group_size: int, pattern=SHIFT_PATTERN) -> torch.Tensor:
    """Split the last (channel) dim into ``len(pattern)`` groups of ``group_size`` channels and
    shift each as ``pattern`` says (``group_size`` is a Python int so that tracing keeps it constant)."""
    parts = torch.split(x, group_size, dim=-1)
    out = [p if d is None else shift_axis(p, d[0], d[1]) for p, d in zip(parts, pattern)]
    return torch.cat(out, dim=-1)


class AffineShift(nn.Module):
    """The Affine-Shift token mixer (the MHSA replacement); input is already LayerNorm'ed."""

    def __init__(self, dim: int, pattern=SHIFT_PATTERN):
        super().__init__()
        if dim % len(pattern):
            raise ValueError(f"width {dim} must be divisible by {len(pattern)} shift groups")
        self.pattern = pattern
        self.group_size = dim // len(pattern)
        self.v = nn.Linear(dim, dim)
        self.affine = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):  # x: (B, T, H, W, C)
        u = shift_groups(self.v(x), self.group_size, self.pattern)
        scale, bias = self.affine(x).chunk(2, dim=-1)
        return self.proj(u * (1.0 + scale) + bias)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class VASTBlock(nn.Module):
    """Pre-norm transformer layer with the Affine-Shift mixer in place of MHSA."""

    def __init__(self, dim: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.mixer = AffineShift(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.mixer(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """2x2 spatial token merge (Swin): concat neighbours, LN, Linear 4C -> 2C."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):  # (B, T, H, W, C), H and W even
        x = torch.cat(
            [x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]],
            dim=-1,
        )
        return self.reduction(self.norm(x))


class VAST(nn.Module):
    def __init__(self, cfg: VASTConfig):
        super().__init__()
        self.cfg = cfg
        widths = cfg.widths
        self.patch_embed = nn.Conv3d(cfg.in_chans, widths[0], cfg.patch_size, stride=cfg.patch_size)
        self.patch_norm = nn.LayerNorm(widths[0])
        stages = []
        for i, (width, depth) in enumerate(zip(widths, cfg.depths)):
            layers: list = [PatchMerging(widths[i - 1])] if i > 0 else []
            layers += [VASTBlock(width, cfg.mlp_ratio) for _ in range(depth)]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(widths[-1])
        self.head = nn.Linear(widths[-1], cfg.num_classes)

    def forward(self, x):  # x: (B, C, T, H, W)
        x = self.patch_embed(x).permute(0, 2, 3, 4, 1)  # channels-last tokens (B, T, H, W, C)
        x = self.stages(self.patch_norm(x))
        x = self.norm(x).mean(dim=(1, 2, 3))
        return self.head(x)


_SOURCE = (
    "Bulat, Martinez, Tzimiropoulos, Efficient Attention-free Video Shift Transformers, "
    "arXiv:2208.11108 (2022), VAST on Kinetics-400; {} -- the paper's architecture table "
    "was not readable: stage layout is our reading (see edgevid/models/vast.py docstring)"
)
_NOTES = "paper params/GFLOPs not verified (paper tables not readable); config is our reading"


@register_model(
    "vast-tiny",
    family="vast",
    arch_class="attention-block",
    input=(3, 8, 224, 224),
    num_classes=400,
    default=True,
    notes=_NOTES,
    source=_SOURCE.format("tiny: C=96, depths 2-2-6-2, 8x224^2, patch 2x4x4"),
)
def vast_tiny(num_classes: int = 400) -> VAST:
    return VAST(VASTConfig(embed_dim=96, depths=(2, 2, 6, 2), num_classes=num_classes))


@register_model(
    "vast-small",
    family="vast",
    arch_class="attention-block",
    input=(3, 8, 224, 224),
    num_classes=400,
    notes=_NOTES,
    source=_SOURCE.format("small: C=96, depths 2-2-18-2, 8x224^2, patch 2x4x4"),
)
def vast_small(num_classes: int = 400) -> VAST:
    return VAST(VASTConfig(embed_dim=96, depths=(2, 2, 18, 2), num_classes=num_classes))


@register_model(
    "vast-test",
    family="vast",
    arch_class="attention-block",
    input=(3, 4, 32, 32),
    num_classes=10,
    hidden=True,
    source="edgevid test config: VAST with 2 stages, width 16, depths 1-1",
)
def vast_test(num_classes: int = 10) -> VAST:
    return VAST(VASTConfig(embed_dim=16, depths=(1, 1), num_classes=num_classes))
