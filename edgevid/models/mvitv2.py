"""MViTv2: Improved Multiscale Vision Transformers (Li, Wu, Fan et al., CVPR 2022;
arXiv:2112.01526): MViTv2-S 16x4.

Source followed: the official code, facebookresearch/SlowFast (``slowfast/models/attention.py``:
``MultiScaleAttention``, ``MultiScaleBlock``, ``attention_pool``, ``cal_rel_pos_spatial``,
``cal_rel_pos_temporal``; ``video_model_builder.py`` ``MViT``), config
``configs/Kinetics/MVITv2_S_16x4.yaml`` (also facebookresearch/mvit), and the paper's Table 3
(Kinetics-400: MViTv2-S 16x4, 81.0 top-1, 64 GFLOPs x 1x5 views, 34.5 M params).

- Patch embedding: a 3x7x7 conv, stride (2,4,4), padding (1,3,3), to 96 channels: 16x224^2 ->
  8 x 56 x 56 tokens, plus a class token (``CLS_EMBED_ON``); no absolute position embedding
  (``USE_ABS_POS: False``).
- 16 blocks; ``DIM_MUL`` / ``HEAD_MUL`` [[1, 2], [3, 2], [14, 2]] with ``DIM_MUL_IN_ATT``: widths
  96 -> 192 (block 1) -> 384 (block 3) -> 768 (block 14), heads 1 -> 2 -> 4 -> 8; the QKV
  projection of a widening block projects to the new width, and its skip path is a linear
  projection of the normalised input.
- Pooling attention: q, k and v are each pooled by a depthwise 3x3x3 conv (per head, weights
  shared across heads; no bias) then LayerNorm over the head dim, class token passed through
  the conv and included in the norm. q is pooled with stride (1,2,2) in blocks 1, 3, 14 (else 1);
  k and v with the adaptive stride (``POOL_KV_STRIDE_ADAPTIVE: [1, 8, 8]``): (1,8,8) at block 0,
  halved at every q-pooling block, so (1,4,4), (1,2,2), then (1,1,1) from block 14.
- Decomposed relative positions (``REL_POS_SPATIAL``, ``REL_POS_TEMPORAL``): the logit between
  query (t,h,w) and key (t',h',w') gets q . R_h[h,h'] + q . R_w[w,w'] + q . R_t[t,t'], with
  R looked up at the stride-aware distance h * max(k_h/q_h, 1) - h' * max(q_h/k_h, 1) +
  (k_h - 1) * max(q_h/k_h, 1); tables of 2*max(q_size, kv_size)-1 (spatial) and 2*T_in-1
  (temporal) rows of head-dim entries; q unscaled; the class token gets no relative term.
- Residual pooling: the pooled q is added to the attention output (patch tokens only, as the
  official code), then the output projection.
- The block's skip path is max pooled with kernel stride+1 (3x3 spatially) where q is strided.
  MLP ratio 4 (of the output width), GELU. Head: final LayerNorm, class token, dropout 0.5,
  linear (logits).

Counts (edgevid.models.stats, 400 classes, 16x224^2): 34,537,744 params and 64.22 GFLOPs; the
paper gives 34.5 M and 64 GFLOPs (multiply-adds, fvcore, as the zoo). torchvision's
``mvit_v2_s`` (a port of the same SlowFast code; not installable here) lists exactly 34,537,744
params and 64.22 GFLOPS in its model zoo.

Independent check: PyTorchVideo 0.1.5 ships MViT *v1* only (no decomposed relative positions,
no residual pooling), so the shared parts are compared against it with the same weights:
pooling attention without the v2 additions (tests/test_models_independent.py). The v2 additions
are tested against their written definitions (tests/test_models_transformers.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from edgevid.models._vit import Mlp
from edgevid.models.registry import Accuracy, register_model


@dataclass(frozen=True)
class MViTv2Config:
    num_frames: int = 16
    img_size: int = 224
    embed_dim: int = 96
    heads: int = 1
    depth: int = 16
    dim_mul_at: tuple = (1, 3, 14)
    q_stride_at: tuple = (1, 3, 14)
    kv_stride: tuple = (1, 8, 8)  # adaptive: the first block's; halved at each q-pooling block
    patch_kernel: tuple = (3, 7, 7)
    patch_stride: tuple = (2, 4, 4)
    pool_kernel: tuple = (3, 3, 3)
    mlp_ratio: float = 4.0
    rel_pos: bool = True  # v2: decomposed relative positions
    residual_pooling: bool = True  # v2
    dropout: float = 0.5
    num_classes: int = 400


def rel_distance(q_n: int, k_n: int) -> torch.Tensor:
    """The official stride-aware distance index (q_n, k_n) into a (2*max-1)-row table."""
    q_ratio, k_ratio = max(k_n / q_n, 1.0), max(q_n / k_n, 1.0)
    d = torch.arange(q_n)[:, None] * q_ratio - torch.arange(k_n)[None, :] * k_ratio
    return (d + (k_n - 1) * k_ratio).long()


def decomposed_rel_pos(q, q_thw, k_thw, rel_t, rel_h, rel_w):
    """The v2 relative term for patch tokens: q (B, heads, Nq, c) without class token ->
    (B, heads, Nq, Nk) = q.R_t[t,t'] + q.R_h[h,h'] + q.R_w[w,w'] over (t,h,w) x (t',h',w')."""
    b, n, _, c = q.shape
    (qt, qh, qw), (kt, kh, kw) = q_thw, k_thw
    r = q.reshape(b * n, qt, qh, qw, c)
    m = b * n * qt * qh * qw
    # Each term is one batched matmul over its query axis; explicit permutes (no movedim, no
    # tensor above rank 5) so that LiteRT and Core ML convert it.
    order = {
        1: ((1, 0, 2, 3, 4), (1, 0, 2, 3, 4)),
        2: ((2, 0, 1, 3, 4), (1, 2, 0, 3, 4)),
        3: ((3, 0, 1, 2, 4), (1, 2, 3, 0, 4)),
    }

    def term(axis: int, table: torch.Tensor, qn: int, kn: int) -> torch.Tensor:
        rt = table[rel_distance(qn, kn)]  # (qn, kn, c)
        fwd, back = order[axis]
        moved = r.permute(*fwd)  # the query axis first
        rest = moved.shape[1:4]
        out = moved.reshape(qn, -1, c) @ rt.transpose(1, 2)  # (qn, ..., kn)
        return out.reshape(qn, *rest, kn).permute(*back).reshape(m, kn)

    # Broadcast in rank 4 (LiteRT legalises ADD up to rank 6; a rank-7 form failed).
    t = term(1, rel_t, qt, kt).reshape(m, kt, 1, 1)
    h = term(2, rel_h, qh, kh).reshape(m, 1, kh, 1)
    w = term(3, rel_w, qw, kw).reshape(m, 1, 1, kw)
    return (t + h + w).reshape(b, n, qt * qh * qw, kt * kh * kw)


class Pool(nn.Module):
    """Pooling attention's pool: depthwise conv (per head, shared) + LayerNorm, class token kept."""

    def __init__(self, head_dim: int, kernel: tuple, stride: tuple):
        super().__init__()
        self.conv = nn.Conv3d(
            head_dim,
            head_dim,
            kernel,
            stride,
            tuple(k // 2 for k in kernel),
            groups=head_dim,
            bias=False,
        )
        self.norm = nn.LayerNorm(head_dim)

    def forward(self, x: torch.Tensor, thw: tuple):  # (B, heads, 1 + N, c)
        b, n, _, c = x.shape
        cls, x = x[:, :, :1], x[:, :, 1:]
        x = self.conv(x.reshape(b * n, *thw, c).permute(0, 4, 1, 2, 3))
        out_thw = tuple(x.shape[2:])
        x = x.reshape(b, n, c, -1).transpose(2, 3)
        return self.norm(torch.cat([cls, x], dim=2)), out_thw


class MultiScaleAttention(nn.Module):
    def __init__(self, dim, dim_out, heads, in_thw, q_stride, kv_stride, cfg: MViTv2Config):
        super().__init__()
        self.heads, self.head_dim = heads, dim_out // heads
        self.scale = self.head_dim**-0.5
        self.cfg = cfg
        self.qkv = nn.Linear(dim, 3 * dim_out)
        self.proj = nn.Linear(dim_out, dim_out)
        self.pool_q = Pool(self.head_dim, cfg.pool_kernel, q_stride)
        self.pool_k = Pool(self.head_dim, cfg.pool_kernel, kv_stride)
        self.pool_v = Pool(self.head_dim, cfg.pool_kernel, kv_stride)
        if cfg.rel_pos:
            size = in_thw[1]
            q_size, kv_size = size // q_stride[1], size // kv_stride[1]
            sp = 2 * max(q_size, kv_size) - 1
            self.rel_pos_h = nn.Parameter(torch.zeros(sp, self.head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(sp, self.head_dim))
            self.rel_pos_t = nn.Parameter(torch.zeros(2 * in_thw[0] - 1, self.head_dim))
            for p in (self.rel_pos_h, self.rel_pos_w, self.rel_pos_t):
                nn.init.trunc_normal_(p, std=0.02)

    def forward(self, x: torch.Tensor, thw: tuple):
        b, n, _ = x.shape
        q, k, v = (
            t.reshape(b, n, self.heads, self.head_dim).transpose(1, 2)
            for t in self.qkv(x).chunk(3, dim=-1)
        )
        q, q_thw = self.pool_q(q, thw)
        k, k_thw = self.pool_k(k, thw)
        v, _ = self.pool_v(v, thw)
        attn = (q * self.scale) @ k.transpose(-2, -1)  # (B, heads, 1 + Nq, 1 + Nk)
        if self.cfg.rel_pos:
            rel = decomposed_rel_pos(
                q[:, :, 1:], q_thw, k_thw, self.rel_pos_t, self.rel_pos_h, self.rel_pos_w
            )
            patches = torch.cat([attn[:, :, 1:, :1], attn[:, :, 1:, 1:] + rel], dim=-1)
            attn = torch.cat([attn[:, :, :1], patches], dim=2)
        out = torch.softmax(attn, dim=-1) @ v
        if self.cfg.residual_pooling:
            out = torch.cat([out[:, :, :1], out[:, :, 1:] + q[:, :, 1:]], dim=2)
        out = out.transpose(1, 2).reshape(b, -1, self.heads * self.head_dim)
        return self.proj(out), q_thw


class MultiScaleBlock(nn.Module):
    def __init__(self, dim, dim_out, heads, in_thw, q_stride, kv_stride, cfg: MViTv2Config):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiScaleAttention(dim, dim_out, heads, in_thw, q_stride, kv_stride, cfg)
        self.proj = nn.Linear(dim, dim_out) if dim != dim_out else None
        self.pool_skip = None
        if any(s > 1 for s in q_stride):
            kernel = tuple(s + 1 if s > 1 else s for s in q_stride)
            self.pool_skip = nn.MaxPool3d(kernel, q_stride, tuple(k // 2 for k in kernel))
        self.norm2 = nn.LayerNorm(dim_out, eps=1e-6)
        self.mlp = Mlp(dim_out, int(dim_out * cfg.mlp_ratio))

    def forward(self, x: torch.Tensor, thw: tuple):
        y = self.norm1(x)
        a, out_thw = self.attn(y, thw)
        if self.proj is not None:
            x = self.proj(y)
        if self.pool_skip is not None:
            b, _, c = x.shape
            grid = x[:, 1:].reshape(b, *thw, c).permute(0, 4, 1, 2, 3)
            x = torch.cat([x[:, :1], self.pool_skip(grid).flatten(2).transpose(1, 2)], dim=1)
        x = x + a
        return x + self.mlp(self.norm2(x)), out_thw


class MViTv2(nn.Module):
    def __init__(self, cfg: MViTv2Config):
        super().__init__()
        self.cfg = cfg
        d = cfg.embed_dim
        self.patch_embed = nn.Conv3d(
            3, d, cfg.patch_kernel, cfg.patch_stride, tuple(k // 2 for k in cfg.patch_kernel)
        )
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        thw = (
            cfg.num_frames // cfg.patch_stride[0],
            cfg.img_size // cfg.patch_stride[1],
            cfg.img_size // cfg.patch_stride[2],
        )
        self.thw = thw
        heads, kv = cfg.heads, list(cfg.kv_stride)
        blocks = []
        for i in range(cfg.depth):
            dim_out, q_stride = d, (1, 1, 1)
            if i in cfg.dim_mul_at:
                dim_out, heads = d * 2, heads * 2
            if i in cfg.q_stride_at:
                q_stride = (1, 2, 2)
                kv = [max(s // q, 1) for s, q in zip(kv, q_stride)]
            blocks.append(MultiScaleBlock(d, dim_out, heads, thw, q_stride, tuple(kv), cfg))
            thw = tuple(s // q for s, q in zip(thw, q_stride))
            d = dim_out
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(d, cfg.num_classes)

    def forward(self, x):
        x = self.patch_embed(x)
        thw = tuple(x.shape[2:])
        x = torch.cat(
            [self.cls_token.expand(x.shape[0], -1, -1), x.flatten(2).transpose(1, 2)], dim=1
        )
        for blk in self.blocks:
            x, thw = blk(x, thw)
        return self.head(self.dropout(self.norm(x)[:, 0]))


@register_model(
    "mvitv2-s",
    family="mvitv2",
    arch_class="attention-only",
    input=(3, 16, 224, 224),
    num_classes=400,
    default=True,
    paper_params_m=34.5,
    paper_gflops=64.0,
    source="Li et al., MViTv2, CVPR 2022, Table 3 (MViTv2-S 16x4); SlowFast "
    "configs/Kinetics/MVITv2_S_16x4.yaml",
    accuracy=Accuracy(
        top1=81.0, dataset="Kinetics-400", views="1x5", source="MViTv2 paper, Table 3"
    ),
)
def mvitv2_s(num_classes: int = 400) -> MViTv2:
    return MViTv2(MViTv2Config(num_classes=num_classes))


TINY = MViTv2Config(
    num_frames=4,
    img_size=32,
    embed_dim=16,
    depth=3,
    dim_mul_at=(1,),
    q_stride_at=(1,),
    kv_stride=(1, 2, 2),
    num_classes=10,
)


@register_model(
    "mvitv2-tiny",
    family="mvitv2",
    arch_class="attention-only",
    input=(3, 4, 32, 32),
    num_classes=10,
    hidden=True,
    source="edgevid test config: MViTv2, 3 blocks, one q-pooling widening block, "
    "relative positions and residual pooling",
)
def mvitv2_tiny(num_classes: int = 10) -> MViTv2:
    return MViTv2(replace(TINY, num_classes=num_classes))
