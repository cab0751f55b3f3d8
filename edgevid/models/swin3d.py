"""Video Swin Transformer (Liu et al., CVPR 2022; arXiv:2106.13230): Swin-T.

Source followed: the official code, SwinTransformer/Video-Swin-Transformer
(``mmaction/models/backbones/swin_transformer.py``: ``SwinTransformer3D``, ``BasicLayer``,
``SwinTransformerBlock3D``, ``WindowAttention3D``, ``compute_mask``, ``get_window_size``,
``PatchMerging``; head ``I3DHead``), config
``configs/recognition/swin/swin_tiny_patch244_window877_kinetics400_1k.py``, and the paper's
Table 1 (Kinetics-400).

- Patch embedding: a 2x4x4 conv (stride 2x4x4) to C=96, then LayerNorm (``patch_norm=True``).
  Input 32 frames x 224^2 -> 16 x 56 x 56 tokens.
- Four stages, depths 2-2-6-2, heads 3-6-12-24, widths 96-192-384-768; 2x2 spatial patch merging
  (LN over 4C, linear 4C -> 2C without bias) between stages. MLP ratio 4, GELU, qkv bias.
- 3D window attention with window (8, 7, 7) and a learned relative-position bias table of
  (2*8-1)(2*7-1)(2*7-1) entries per head. Every second block of a stage shifts the windows by
  (4, 3, 3) with a cyclic roll; the attention mask then forbids attention between tokens that
  came from different regions (-100 added to their logits, as the official ``compute_mask``).
  ``get_window_size``: where the feature map is no larger than the window along an axis, the
  window shrinks to the map and that axis is not shifted (the last stage, 7x7 spatially).
  Feature maps are zero-padded up to a multiple of the window (none at the official sizes).
- Head (I3DHead): final LayerNorm, global average pool, dropout 0.5, linear (logits).

Counts (edgevid.models.stats, 400 classes, 32x224^2): 28.16 M params, 87.8 GFLOPs; the paper's
Table 1 gives 28 M and 88 GFLOPs per view (4 clips x 3 crops), multiply-adds as the zoo counts;
tests check both within 3%. Window partition is done one axis at a time (rank <= 5 tensors) so
LiteRT's XNNPack can run it; it is tested equal to the official rank-8 reshape. The official code is not installable here (no Video Swin
package on the index), so the defining op (shifted windows and their masks) is tested against
its written definition instead (tests/test_models_transformers.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import reduce
from operator import mul
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from edgevid.models._vit import Mlp
from edgevid.models.registry import Accuracy, register_model
from edgevid.models.vast import PatchMerging  # the same 2x2 Swin token merge


@dataclass(frozen=True)
class SwinConfig:
    num_frames: int = 32
    img_size: int = 224
    patch_size: tuple = (2, 4, 4)
    embed_dim: int = 96
    depths: tuple = (2, 2, 6, 2)
    num_heads: tuple = (3, 6, 12, 24)
    window_size: tuple = (8, 7, 7)
    mlp_ratio: float = 4.0
    dropout: float = 0.5
    num_classes: int = 400


def window_partition(x: torch.Tensor, ws: tuple) -> torch.Tensor:
    """(B, D, H, W, C) -> (B * nW, ws0*ws1*ws2, C), windows in (d, h, w) raster order.

    Done one axis at a time so that no intermediate tensor exceeds rank 5 (the official
    rank-8 reshape becomes a rank-7 FULLY_CONNECTED after LiteRT's conversion, which XNNPack
    cannot run); the result is the same permutation (tested against the rank-8 form)."""
    b, d, h, w, c = x.shape
    nd, nh, nw = d // ws[0], h // ws[1], w // ws[2]
    x = x.reshape(b * nd, ws[0], nh, ws[1], w * c).transpose(1, 2)  # (b nd, nh, wd, wh, w c)
    x = x.reshape(b * nd * nh, ws[0] * ws[1], nw, ws[2], c).transpose(1, 2)
    return x.reshape(-1, ws[0] * ws[1] * ws[2], c)  # (b nd nh nw, wd wh ww, c)


def window_reverse(windows: torch.Tensor, ws: tuple, b: int, d: int, h: int, w: int):
    """Inverse of :func:`window_partition`: (B * nW, N, C) -> (B, D, H, W, C)."""
    nd, nh, nw = d // ws[0], h // ws[1], w // ws[2]
    c = windows.shape[-1]
    x = windows.reshape(b * nd * nh, nw, ws[0] * ws[1], ws[2], c).transpose(1, 2)
    x = x.reshape(b * nd, nh, ws[0], ws[1], w * c).transpose(1, 2)
    return x.reshape(b, d, h, w, c)


def get_window_size(x_size: tuple, window: tuple, shift: tuple):
    """The official rule: an axis no larger than the window uses the whole axis, unshifted."""
    use_w, use_s = list(window), list(shift)
    for i in range(3):
        if x_size[i] <= window[i]:
            use_w[i], use_s[i] = x_size[i], 0
    return tuple(use_w), tuple(use_s)


def region_labels(d: int, h: int, w: int, ws: tuple, ss: tuple) -> torch.Tensor:
    """The official ``compute_mask``'s region ids: after the cyclic shift, the (padded) map splits
    into up to 3 slices per axis; tokens of different slices must not attend to each other."""
    img = torch.zeros(d, h, w)
    cnt = 0
    for sd in (slice(-ws[0]), slice(-ws[0], -ss[0]), slice(-ss[0], None)):
        for sh in (slice(-ws[1]), slice(-ws[1], -ss[1]), slice(-ss[1], None)):
            for sw in (slice(-ws[2]), slice(-ws[2], -ss[2]), slice(-ss[2], None)):
                img[sd, sh, sw] = cnt
                cnt += 1
    return img


def compute_mask(d: int, h: int, w: int, ws: tuple, ss: tuple) -> torch.Tensor:
    """(nW, N, N) additive mask: 0 within a region, -100 across regions (official values)."""
    labels = window_partition(region_labels(d, h, w, ws, ss)[None, ..., None], ws).squeeze(-1)
    diff = labels[:, None, :] - labels[:, :, None]
    return torch.zeros_like(diff).masked_fill(diff != 0, -100.0)


def relative_position_index(ws: tuple) -> torch.Tensor:
    coords = torch.stack(torch.meshgrid(*(torch.arange(n) for n in ws), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    rel = rel + torch.tensor([ws[0] - 1, ws[1] - 1, ws[2] - 1])
    return (
        rel[..., 0] * (2 * ws[1] - 1) * (2 * ws[2] - 1)
        + rel[..., 1] * (2 * ws[2] - 1)
        + rel[..., 2]
    )


class WindowAttention3D(nn.Module):
    def __init__(self, dim: int, heads: int, window: tuple):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.scale = self.head_dim**-0.5
        self.window = window
        size = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(size, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer(
            "relative_position_index", relative_position_index(window), persistent=False
        )
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, ws: tuple, mask=None) -> torch.Tensor:
        bw, n, c = x.shape
        q, k, v = (
            t.reshape(bw, n, self.heads, self.head_dim).transpose(1, 2)
            for t in self.qkv(x).chunk(3, dim=-1)
        )
        attn = (q * self.scale) @ k.transpose(-2, -1)  # (B*nW, heads, N, N)
        idx = cast(torch.Tensor, self.relative_position_index)  # a buffer
        if ws != self.window:  # a shrunk window: the official code slices the index the same way
            idx = relative_position_index(self.window)
            sub = torch.arange(reduce(mul, self.window)).reshape(self.window)
            sub = sub[: ws[0], : ws[1], : ws[2]].flatten()
            idx = idx[sub][:, sub]
        bias = self.relative_position_bias_table[idx.reshape(-1)].reshape(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.reshape(bw // nw, nw, self.heads, n, n) + mask[None, :, None]
            attn = attn.reshape(bw, self.heads, n, n)
        out = torch.softmax(attn, dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))


class SwinBlock3D(nn.Module):
    def __init__(self, dim: int, heads: int, window: tuple, shift: tuple, mlp_ratio: float):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention3D(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, D, H, W, C)
        b, d, h, w, _ = x.shape
        ws, ss = get_window_size((d, h, w), self.window, self.shift)
        y = self.norm1(x)
        pd, ph, pw = ((ws[i] - s % ws[i]) % ws[i] for i, s in enumerate((d, h, w)))
        if pd or ph or pw:
            y = F.pad(y, (0, 0, 0, pw, 0, ph, 0, pd))
        dp, hp, wp = d + pd, h + ph, w + pw
        mask = None
        if any(s > 0 for s in ss):
            y = torch.roll(y, shifts=(-ss[0], -ss[1], -ss[2]), dims=(1, 2, 3))
            mask = compute_mask(dp, hp, wp, ws, ss).to(device=x.device, dtype=x.dtype)
        y = window_reverse(self.attn(window_partition(y, ws), ws, mask), ws, b, dp, hp, wp)
        if any(s > 0 for s in ss):
            y = torch.roll(y, shifts=ss, dims=(1, 2, 3))
        x = x + y[:, :d, :h, :w]
        return x + self.mlp(self.norm2(x))


class VideoSwin(nn.Module):
    def __init__(self, cfg: SwinConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.embed_dim
        self.patch_embed = nn.Conv3d(3, c, cfg.patch_size, cfg.patch_size)
        self.patch_norm = nn.LayerNorm(c)
        shift = tuple(s // 2 for s in cfg.window_size)
        stages = []
        for i, (depth, heads) in enumerate(zip(cfg.depths, cfg.num_heads)):
            dim = c * 2**i
            blocks: list = [
                SwinBlock3D(
                    dim, heads, cfg.window_size, (0, 0, 0) if j % 2 == 0 else shift, cfg.mlp_ratio
                )
                for j in range(depth)
            ]
            if i < len(cfg.depths) - 1:
                blocks.append(PatchMerging(dim))
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.num_features = c * 2 ** (len(cfg.depths) - 1)
        self.norm = nn.LayerNorm(self.num_features)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.num_features, cfg.num_classes)

    def forward(self, x):  # (B, 3, T, H, W)
        x = self.patch_norm(self.patch_embed(x).permute(0, 2, 3, 4, 1))  # (B, D, H, W, C)
        x = self.norm(self.stages(x))
        return self.head(self.dropout(x.mean(dim=(1, 2, 3))))


@register_model(
    "video-swin-t",
    family="video-swin",
    arch_class="attention-only",
    input=(3, 32, 224, 224),
    num_classes=400,
    default=True,
    paper_params_m=28.0,
    paper_gflops=88.0,
    source="Liu et al., Video Swin Transformer, CVPR 2022, Table 1 (Swin-T, "
    "ImageNet-1K pretrain); official config "
    "swin_tiny_patch244_window877_kinetics400_1k.py",
    accuracy=Accuracy(
        top1=78.8, dataset="Kinetics-400", views="3x4", source="Video Swin paper, Table 1"
    ),
)
def video_swin_t(num_classes: int = 400) -> VideoSwin:
    return VideoSwin(SwinConfig(num_classes=num_classes))


TINY = SwinConfig(
    num_frames=8,
    img_size=32,
    embed_dim=16,
    depths=(2, 2),
    num_heads=(2, 4),
    window_size=(2, 4, 4),
    num_classes=10,
)


@register_model(
    "video-swin-tiny",
    family="video-swin",
    arch_class="attention-only",
    input=(3, 8, 32, 32),
    num_classes=10,
    hidden=True,
    source="edgevid test config: Video Swin, 2 stages of 2 blocks (one shifted "
    "with masks), C=16, window 2x4x4",
)
def video_swin_tiny(num_classes: int = 10) -> VideoSwin:
    return VideoSwin(replace(TINY, num_classes=num_classes))
