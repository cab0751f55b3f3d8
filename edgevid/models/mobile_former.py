"""Video Mobile-Former (Wang, Wu, Chen, Chen, Dai, Liu, Zhou, Yuan, Jiang; arXiv:2208.12257, 2022).

Video Mobile-Former extends Mobile-Former (Chen et al., "Mobile-Former: Bridging MobileNet and
Transformer", CVPR 2022, arXiv:2108.05895) to video: a lightweight 3D-CNN ("Mobile", local
context) runs in parallel with a tiny transformer ("Former") that holds a handful of learned
global tokens for the *whole* clip; the two exchange information through two light
cross-attention bridges, Mobile->Former and Former->Mobile, in every block.

What is confirmed, and from where
---------------------------------
- Video paper, abstract only (arXiv / ar5iv first page; the method section and the result tables
  could not be reached): decoupled 3D-CNN + transformer in parallel; very few global tokens
  (e.g. 6) for a whole video; cross-attention exchange; the family spans 500M to 6G total FLOPs;
  the first transformer video model under 1G FLOPs.
- Mobile-Former block structure, from the authors' official image code (github AAboys/MobileFormer,
  ``mobile_former.py`` / ``dna_blocks.py``), which this file mirrors in 3D:

  * tokens: M learned vectors of width d (``nn.Embedding(token_num, token_dim)``), the same for
    every input; 508M/294M/214M/151M use M=6, d=192.
  * Mobile->Former (``Local2Global``): queries from the tokens, ``q = z W_q`` (d -> C); keys and
    values are the feature map itself with *no* projection (``remove_proj_local=True``); 2 heads,
    scale (C/heads)^-0.5, softmax over all positions; the result is multiplied by a dynamic gate
    ``2 * h_sigmoid(z W_a)`` (``gbr_dynamic[0]=True``), projected C -> d, added to the tokens, then
    LayerNorm (post-norm).
  * Former (``GlobalBlock``): self-attention among the M tokens with ``q = z W_q`` and k = v = z
    (no projection), 4 heads (the default; the blocks do not pass ``attn_num_heads`` to it),
    a d -> d output linear, residual, LayerNorm; then an FFN d -> 2d -> d with GELU, residual,
    LayerNorm.
  * Former->Mobile (``Global2Local``): queries are the features (no projection); keys
    ``z W_k`` and values ``z W_v`` (d -> C); 2 heads, scale (C/heads)^-0.5, softmax over the M
    tokens; the result is added to the features (no gate, no output projection).
  * Mobile sub-blocks: ``DnaBlock`` (stride 1): pw expand -> BN -> DyReLU -> dw k3 -> BN -> DyReLU
    -> pw project -> BN (no activation), identity skip when shapes allow. ``DnaBlock3`` (the
    stride-2 / first blocks): dw k3 with channel multiplier e1 (stride s) -> BN -> DyReLU -> pw
    to C_out -> BN; then dw k3 with multiplier e2 -> BN -> DyReLU -> pw -> BN, with a residual
    around this second half; with e2 = 0 it is a plain dw -> BN -> ReLU6 -> pw -> BN block with
    no bridges. Order inside a block: Mobile->Former on the block input, Former, the Mobile
    sub-block (its dynamic ReLUs read the updated tokens), then Former->Mobile; the identity
    skip (stride 1, C_in = C_out) comes before Former->Mobile in ``DnaBlock`` and after it in
    ``DnaBlock3``, as in the official code.
  * Dynamic ReLU (``se_flag=[2,0,2,0]``): two channel-wise linear pieces whose slopes come from
    the first token through Linear(d, d/4) -> ReLU -> Linear(d/4, 2C) -> h_sigmoid:
    ``y = max(x * (2(a1 - 0.5) + 1), x * 2(a2 - 0.5))``.
  * stem: 3x3 conv stride 2 -> BN -> ReLU6. After the last block one more Mobile->Former;
    head: pw conv to 6C -> BN -> ReLU6 -> global average pool -> h_swish, concatenated with the
    first token, Linear -> BatchNorm1d -> h_swish -> dropout -> Linear (logits, no softmax).
  * block tables (expansions e1/e2, widths, strides) of Mobile-Former-508M/294M/151M: copied
    into ``MF_508M`` etc. below. Image paper / official README: 508M 14.0M params, 294M 11.4M,
    214M 9.4M, 151M 7.6M at 224x224, 1000 classes (FLOPs there = multiply-adds).

Our reading (not confirmed from the video paper; each is one field of ``MobileFormerConfig``)
-----------------------------------------------------------------------------------------
- 3D-CNN: every depthwise conv becomes a full (3, 3, 3) depthwise 3D conv (stride (1, s, s),
  ``dw_kernel_t=3``); pointwise convs are 1x1x1; the stem is (1, 3, 3) stride (1, 2, 2)
  (spatial only on raw pixels, as X3D and MoViNet do); no temporal down-sampling anywhere, so the
  network keeps all T frames. Not factorised (2+1)D.
- Tokens are global to the clip: the Mobile->Former bridge attends over all T*H*W positions and
  Former->Mobile broadcasts the M tokens to every position of every frame (the abstract's
  "very few global tokens for a whole video").
- Dynamic ReLU is kept, as in Mobile-Former: its coefficients are a per-clip, per-channel
  function of token 0, so it exports as MatMul/Clip/Mul/Max (no data-dependent control flow).
- Initialisation: convs as the official code; linear layers keep PyTorch's default (see
  ``_init_weights``). Only matters for random-weight latency/numerics runs.
- Variants: the video paper's variant table could not be read, so the variants here are the
  official image backbones run on T frames of 224x224, chosen to span the abstract's
  500M-6G range and named by *our* count at their default input:

  ================================  ==================  ========  ==========  ==========
  name                              backbone            input     params (M)  GFLOPs
  ================================  ==================  ========  ==========  ==========
  video-mobile-former-500m          Mobile-Former-151M  3x224^2   6.91        0.48
  video-mobile-former-1g (default)  Mobile-Former-294M  3x224^2   10.40       0.93
  video-mobile-former-2g            Mobile-Former-508M  4x224^2   12.99       2.15
  video-mobile-former-6g            Mobile-Former-508M  12x224^2  12.99       6.38
  ================================  ==================  ========  ==========  ==========

  The frame counts are ours (3 frames keeps the two small ones inside 0.5G / 1G); all frames
  at 224x224, 400 classes (Kinetics-400), params counted with the 400-class head.

Paper numbers: the video paper's per-variant params and GFLOPs could not be read, so
``paper_params_m`` / ``paper_gflops`` are ``None``. What *is* checked (tests): with
``dw_kernel_t=1`` and 1000 classes our network is the image Mobile-Former, and its parameter
count matches the official 14.0M / 11.4M / 7.6M within 2% (ours: 13.98M / 11.42M / 7.60M), and
its multiply-adds at 1x224x224 match the image paper's 508M / 294M / 151M within 5% (ours:
498M / 287M / 146M, 2-3% lower: we do not count element-wise work such as the dynamic-ReLU and
gate multiplies, which the paper's counter probably does).

Counting: edgevid.models.stats counts 1 multiply-add = 1 FLOP for convs, linears and the
attention matmuls (per view, batch 1), element-wise ops (dynamic ReLU, gates, norms) not counted
-- the same multiply-add convention the Mobile-Former papers use ("FLOPs" there are MAdds), so
our numbers should be comparable to the video paper's per-view numbers; its "total FLOPs" may
be multi-view (x crops x clips) totals, which ours are not. The 3D depthwise kernels make a
video variant cost slightly more than T x the image model (about 1.1x for these backbones).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgevid.models.registry import register_model

# One row per block: (kind, e1, c_out, stride, e2). kind "dw2" = DnaBlock3 (dw-pw-dw-pw),
# kind "pw" = DnaBlock (pw-dw-pw). From the official mobile_former_{508m,294m,151m} tables.
MF_508M = (
    ("dw2", 2, 24, 1, 0),
    ("dw2", 6, 40, 2, 4),
    ("pw", 3, 40, 1, 3),
    ("dw2", 6, 72, 2, 4),
    ("pw", 3, 72, 1, 3),
    ("dw2", 6, 128, 2, 4),
    ("pw", 4, 128, 1, 4),
    ("pw", 6, 176, 1, 4),
    ("pw", 6, 176, 1, 4),
    ("dw2", 6, 240, 2, 4),
    ("pw", 6, 240, 1, 4),
    ("pw", 6, 240, 1, 4),
)
MF_294M = (
    ("dw2", 2, 16, 1, 0),
    ("dw2", 6, 24, 2, 4),
    ("pw", 4, 24, 1, 4),
    ("dw2", 6, 48, 2, 4),
    ("pw", 4, 48, 1, 4),
    ("dw2", 6, 96, 2, 4),
    ("pw", 4, 96, 1, 4),
    ("pw", 6, 128, 1, 4),
    ("pw", 6, 128, 1, 4),
    ("dw2", 6, 192, 2, 4),
    ("pw", 6, 192, 1, 4),
    ("pw", 6, 192, 1, 4),
)
MF_151M = (
    ("dw2", 2, 12, 1, 0),
    ("dw2", 6, 16, 2, 4),
    ("pw", 3, 16, 1, 3),
    ("dw2", 6, 32, 2, 4),
    ("pw", 3, 32, 1, 3),
    ("dw2", 6, 64, 2, 4),
    ("pw", 4, 64, 1, 4),
    ("pw", 6, 88, 1, 4),
    ("pw", 6, 88, 1, 4),
    ("dw2", 6, 128, 2, 4),
    ("pw", 6, 128, 1, 4),
    ("pw", 6, 128, 1, 4),
)


@dataclass(frozen=True)
class MobileFormerConfig:
    blocks: tuple = MF_508M
    stem_width: int = 24
    token_num: int = 6
    token_dim: int = 192
    num_features: int = 1920  # width of the head's hidden linear layer
    last_exp: int = 6  # head pw conv expansion
    bridge_heads: int = 2
    former_heads: int = 4
    former_ffn_exp: int = 2
    hyper_reduction: int = 4
    dw_kernel_t: int = 3  # temporal size of every depthwise kernel (1 = the image model)
    stem_kernel_t: int = 1
    dropout: float = 0.0
    num_classes: int = 400


def h_sigmoid(x):
    return torch.clamp(x + 3.0, 0.0, 6.0) / 6.0


def h_swish(x):
    return x * h_sigmoid(x)


def conv_bn(cin, cout, kernel=(1, 1, 1), stride=(1, 1, 1), groups=1):
    padding = tuple(k // 2 for k in kernel)
    return nn.Sequential(
        nn.Conv3d(cin, cout, kernel, stride=stride, padding=padding, groups=groups, bias=False),
        nn.BatchNorm3d(cout),
    )


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, N, C) -> (B, heads, N, C / heads)."""
    b, n, c = x.shape
    return x.reshape(b, n, heads, c // heads).transpose(1, 2)


class Mobile2Former(nn.Module):
    """Mobile->Former bridge: tokens (B, M, d) attend to features (B, C, T, H, W) -> (B, M, d).

    Keys and values are the features themselves (no projection), queries ``z W_q``; the attended
    features are gated by ``2 h_sigmoid(z W_a)`` (if ``dynamic``), projected to d, added, LayerNorm.
    """

    def __init__(self, channels: int, token_dim: int, heads: int = 2, dynamic: bool = True):
        super().__init__()
        self.heads = heads
        self.scale = (channels // heads) ** -0.5
        self.q = nn.Linear(token_dim, channels)
        self.gate = nn.Linear(token_dim, channels) if dynamic else None
        self.proj = nn.Linear(channels, token_dim)
        self.norm = nn.LayerNorm(token_dim)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        kv = x.reshape(b, self.heads, c // self.heads, -1)  # (B, h, C/h, L)
        q = _heads(self.q(z), self.heads)  # (B, h, M, C/h)
        attn = torch.softmax(torch.matmul(q, kv) * self.scale, dim=-1)  # (B, h, M, L)
        out = torch.matmul(attn, kv.transpose(-1, -2))  # (B, h, M, C/h)
        out = out.transpose(1, 2).reshape(b, -1, c)  # (B, M, C)
        if self.gate is not None:
            out = out * (2.0 * h_sigmoid(self.gate(z)))
        return self.norm(z + self.proj(out))


class Former(nn.Module):
    """Token self-attention (q projected, k = v = z), output linear, post-norm; then FFN."""

    def __init__(self, token_dim: int, heads: int = 4, ffn_exp: int = 2):
        super().__init__()
        self.heads = heads
        self.scale = (token_dim // heads) ** -0.5
        self.q = nn.Linear(token_dim, token_dim)
        self.proj = nn.Linear(token_dim, token_dim)
        self.norm1 = nn.LayerNorm(token_dim)
        self.ffn = nn.Sequential(
            nn.Linear(token_dim, token_dim * ffn_exp),
            nn.GELU(),
            nn.Linear(token_dim * ffn_exp, token_dim),
        )
        self.norm2 = nn.LayerNorm(token_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        b, m, d = z.shape
        q = _heads(self.q(z), self.heads)
        kv = _heads(z, self.heads)
        attn = torch.softmax(torch.matmul(q, kv.transpose(-1, -2)) * self.scale, dim=-1)
        out = torch.matmul(attn, kv).transpose(1, 2).reshape(b, m, d)
        z = self.norm1(z + self.proj(out))
        return self.norm2(z + self.ffn(z))


class Former2Mobile(nn.Module):
    """Former->Mobile bridge: features (B, C, T, H, W) attend to tokens (B, M, d), same shape out.

    Queries are the features (no projection), keys ``z W_k``, values ``z W_v``; the result is added
    to the features.
    """

    def __init__(self, channels: int, token_dim: int, heads: int = 2):
        super().__init__()
        self.heads = heads
        self.scale = (channels // heads) ** -0.5
        self.k = nn.Linear(token_dim, channels)
        self.v = nn.Linear(token_dim, channels)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        q = x.reshape(b, self.heads, c // self.heads, -1).transpose(-1, -2)  # (B, h, L, C/h)
        k = _heads(self.k(z), self.heads)  # (B, h, M, C/h)
        v = _heads(self.v(z), self.heads)
        attn = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * self.scale, dim=-1)  # (B,h,L,M)
        out = torch.matmul(attn, v).transpose(-1, -2).reshape(x.shape)  # (B, C, T, H, W)
        return x + out


class DynamicReLU(nn.Module):
    """Mobile-Former's dynamic ReLU: two channel-wise slopes from token 0, ``max(x a1, x a2)``."""

    def __init__(self, channels: int, token_dim: int, reduction: int = 4):
        super().__init__()
        self.fc1 = nn.Linear(token_dim, token_dim // reduction)
        self.fc2 = nn.Linear(token_dim // reduction, 2 * channels)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        a = h_sigmoid(self.fc2(torch.relu(self.fc1(z[:, 0]))))  # (B, 2C)
        a = a.reshape(a.shape[0], -1, 1, 1, 1)
        a1, a2 = torch.chunk(a, 2, dim=1)
        return torch.maximum(x * ((a1 - 0.5) * 2.0 + 1.0), x * ((a2 - 0.5) * 2.0))


class MobileFormerBlock(nn.Module):
    """One Mobile-Former block in 3D: Mobile->Former, Former, Mobile sub-block, Former->Mobile."""

    def __init__(
        self, kind: str, cin: int, cout: int, stride: int, e1: int, e2: int, cfg: MobileFormerConfig
    ):
        super().__init__()
        k = (cfg.dw_kernel_t, 3, 3)
        st = (1, stride, stride)
        d = cfg.token_dim
        self.kind = kind
        self.identity = stride == 1 and cin == cout
        self.conv_alone = e2 == 0
        if self.conv_alone:  # plain dw -> pw block, no bridges (first block of Mobile-Former)
            self.dw = conv_bn(cin, cin * e1, k, st, groups=cin)
            self.pw = conv_bn(cin * e1, cout)
            return
        self.to_former = Mobile2Former(cin, d, cfg.bridge_heads, dynamic=True)
        self.former = Former(d, cfg.former_heads, cfg.former_ffn_exp)
        self.to_mobile = Former2Mobile(cout, d, cfg.bridge_heads)
        if kind == "pw":  # DnaBlock: pw -> dw -> pw
            hidden = cin * e1
            self.conv1 = conv_bn(cin, hidden)
            self.act1 = DynamicReLU(hidden, d, cfg.hyper_reduction)
            self.conv2 = conv_bn(hidden, hidden, k, st, groups=hidden)
            self.act2 = DynamicReLU(hidden, d, cfg.hyper_reduction)
            self.conv3 = conv_bn(hidden, cout)
        elif kind == "dw2":  # DnaBlock3: dw -> pw -> (dw -> pw + skip)
            h1, h2 = cin * e1, cout * e2
            self.conv1 = conv_bn(cin, h1, k, st, groups=cin)
            self.act1 = DynamicReLU(h1, d, cfg.hyper_reduction)
            self.conv2 = conv_bn(h1, cout)
            self.conv3 = conv_bn(cout, h2, k, groups=cout)
            self.act3 = DynamicReLU(h2, d, cfg.hyper_reduction)
            self.conv4 = conv_bn(h2, cout)
        else:
            raise ValueError(f"unknown block kind {kind!r}")

    def forward(self, x: torch.Tensor, z: torch.Tensor):
        if self.conv_alone:
            out = self.pw(torch.clamp(self.dw(x), 0.0, 6.0))
            return (out + x if self.identity else out), z
        z = self.former(self.to_former(x, z))
        if self.kind == "pw":
            out = self.act1(self.conv1(x), z)
            out = self.act2(self.conv2(out), z)
            out = self.conv3(out)
            if self.identity:
                out = out + x
            return self.to_mobile(out, z), z
        out = self.conv2(self.act1(self.conv1(x), z))
        out = out + self.conv4(self.act3(self.conv3(out), z))
        out = self.to_mobile(out, z)
        if self.identity:
            out = out + x
        return out, z


class VideoMobileFormer(nn.Module):
    def __init__(self, cfg: MobileFormerConfig):
        super().__init__()
        self.cfg = cfg
        self.tokens = nn.Parameter(torch.randn(cfg.token_num, cfg.token_dim))
        kt = cfg.stem_kernel_t
        self.stem = conv_bn(3, cfg.stem_width, (kt, 3, 3), (1, 2, 2))
        blocks = []
        cin = cfg.stem_width
        for kind, e1, cout, stride, e2 in cfg.blocks:
            blocks.append(MobileFormerBlock(kind, cin, cout, stride, e1, e2, cfg))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.to_former = Mobile2Former(cin, cfg.token_dim, cfg.bridge_heads, dynamic=True)
        hidden = cin * cfg.last_exp
        self.head_conv = conv_bn(cin, hidden)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.head_fc = nn.Linear(hidden + cfg.token_dim, cfg.num_features)
        self.head_bn = nn.BatchNorm1d(cfg.num_features)
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(cfg.num_features, cfg.num_classes)
        self._init_weights()

    def _init_weights(self):
        # Convs as the official code, N(0, sqrt(2 / (k_h k_w C_out))); linear layers keep PyTorch's
        # default init (the official N(0, 0.01) makes a random model's dynamic ReLUs plain ReLUs and
        # its logits ~1e-3, which would make export numerics checks nearly vacuous).
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                fan = m.kernel_size[1] * m.kernel_size[2] * m.out_channels
                nn.init.normal_(m.weight, 0.0, (2.0 / fan) ** 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 3, T, H, W)
        # repeat, not expand: a view of a leaf parameter trips meta-device FLOP counting hooks
        z = self.tokens.unsqueeze(0).repeat(x.shape[0], 1, 1)
        x = torch.clamp(self.stem(x), 0.0, 6.0)  # ReLU6
        for block in self.blocks:
            x, z = block(x, z)
        z = self.to_former(x, z)
        y = torch.clamp(self.head_conv(x), 0.0, 6.0)
        y = h_swish(self.pool(y).flatten(1))
        y = torch.cat([y, z[:, 0]], dim=1)
        y = h_swish(self.head_bn(self.head_fc(y)))
        return self.classifier(self.dropout(y))


_SOURCE = (
    "Wang et al., Video Mobile-Former, arXiv:2208.12257, 2022 (abstract: 500M-6G, "
    "6 tokens); backbone = Chen et al., Mobile-Former, CVPR 2022, official code mobile_former_{}; "
    "frames and 3D kernels: edgevid's reading (see module docstring)"
)
_NOTES = "video paper's variant table not reachable: paper params/GFLOPs unknown"

#: Image Mobile-Former (1000 classes, 224x224) as reported by its paper / official README:
#: backbone -> (params M, MFLOPs as multiply-adds). Used by the tests to check our backbone.
IMAGE_REFERENCE = {"508m": (14.0, 508), "294m": (11.4, 294), "151m": (7.6, 151)}


def _cfg(backbone: str, num_classes: int) -> MobileFormerConfig:
    if backbone == "508m":
        return MobileFormerConfig(
            blocks=MF_508M, stem_width=24, num_features=1920, num_classes=num_classes
        )
    if backbone == "294m":
        return MobileFormerConfig(
            blocks=MF_294M, stem_width=16, num_features=1920, num_classes=num_classes
        )
    if backbone == "151m":
        return MobileFormerConfig(
            blocks=MF_151M, stem_width=12, num_features=1280, num_classes=num_classes
        )
    raise ValueError(backbone)


#: variant name -> its image backbone (for the tests and docs)
VARIANT_BACKBONE = {
    "video-mobile-former-500m": "151m",
    "video-mobile-former-1g": "294m",
    "video-mobile-former-2g": "508m",
    "video-mobile-former-6g": "508m",
}


@register_model(
    "video-mobile-former-500m",
    family="video-mobile-former",
    arch_class="composite",
    input=(3, 3, 224, 224),
    num_classes=400,
    source=_SOURCE.format("151m"),
    notes=_NOTES,
)
def video_mobile_former_500m(num_classes: int = 400) -> VideoMobileFormer:
    return VideoMobileFormer(_cfg("151m", num_classes))


@register_model(
    "video-mobile-former-1g",
    family="video-mobile-former",
    arch_class="composite",
    input=(3, 3, 224, 224),
    num_classes=400,
    source=_SOURCE.format("294m"),
    default=True,
    notes=_NOTES,
)
def video_mobile_former_1g(num_classes: int = 400) -> VideoMobileFormer:
    return VideoMobileFormer(_cfg("294m", num_classes))


@register_model(
    "video-mobile-former-2g",
    family="video-mobile-former",
    arch_class="composite",
    input=(3, 4, 224, 224),
    num_classes=400,
    source=_SOURCE.format("508m"),
    notes=_NOTES,
)
def video_mobile_former_2g(num_classes: int = 400) -> VideoMobileFormer:
    return VideoMobileFormer(_cfg("508m", num_classes))


@register_model(
    "video-mobile-former-6g",
    family="video-mobile-former",
    arch_class="composite",
    input=(3, 12, 224, 224),
    num_classes=400,
    source=_SOURCE.format("508m"),
    notes=_NOTES,
)
def video_mobile_former_6g(num_classes: int = 400) -> VideoMobileFormer:
    return VideoMobileFormer(_cfg("508m", num_classes))


TINY = MobileFormerConfig(
    blocks=(("dw2", 2, 8, 1, 0), ("dw2", 6, 16, 2, 4), ("pw", 3, 16, 1, 3), ("dw2", 6, 24, 2, 4)),
    stem_width=8,
    token_num=3,
    token_dim=32,
    num_features=64,
    num_classes=10,
)


@register_model(
    "video-mobile-former-tiny",
    family="video-mobile-former",
    arch_class="composite",
    input=(3, 4, 32, 32),
    num_classes=10,
    hidden=True,
    source="edgevid test config: Video Mobile-Former with 4 thin blocks, 3 tokens",
)
def video_mobile_former_tiny(num_classes: int = 10) -> VideoMobileFormer:
    return VideoMobileFormer(MobileFormerConfig(**{**TINY.__dict__, "num_classes": num_classes}))
