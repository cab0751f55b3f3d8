"""VTN: Video Transformer Network (Neimark, Bar, Zohar, Asselmann, 2021; arXiv:2102.00719).

A 2D backbone applied to every frame, a temporal Longformer encoder over the frame features with a
learned CLS token in front, and an MLP head on the CLS output.

Sources read: the official code merged into facebookresearch/SlowFast (``projects/vtn/README.md``,
``slowfast/models/vtn_helper.py``, the ``VTN`` class of ``slowfast/models/video_model_builder.py``,
``configs/Kinetics/VIT_B_VTN.yaml``) and HuggingFace ``transformers``' ``LongformerSelfAttention``
(which the official ``VTNLongformerModel`` subclasses), for the attention semantics. The paper's
full text could not be read here, only its abstract; the figures of its Kinetics-400 comparison
table (ViT-B-VTN: 114.0M params, 4218 GFLOPs x 1x1 views for the full 250-frame video) are taken
from later papers that reproduce that row (MViTv2, CVPR 2022, Kinetics-400 table, and others).

Checked ad hoc against ``transformers`` 5.23 with weights copied across: our
``LongformerSelfAttention`` vs HF's (windows 4 to 18, 7 to 40 tokens, both our forms) and our
temporal encoder vs HF ``LongformerModel`` fed as the official VTN code feeds it (CLS mask 2,
padding to 36 tokens, position and token-type ids): max abs diff <= 2e-5. HF's chunked kernel
cannot run a window of 2 (one neighbour a side, ``vtn-tiny``'s); the forms here can.

Official ViT-B-VTN config (``VIT_B_VTN.yaml``), followed by ``vtn-vit-b``
------------------------------------------------------------------------
- Backbone: timm ``vit_base_patch16_224`` with ``num_classes=0``: ViT-B/16 (12 pre-norm layers,
  d=768, 12 heads, MLP 3072, GELU, LayerNorm eps 1e-6, patch conv 16x16 with bias, class token,
  learned 197-token position embedding, final LayerNorm); the frame feature is its class token.
  Written here, no timm.
- Temporal encoder: HF ``LongformerModel`` (no word embeddings, no pooler), 3 layers, hidden 768,
  12 heads, ``attention_window`` 18 per layer, intermediate 3072 (GELU), LayerNorm eps 1e-12,
  post-norm (BERT) layers, dropout 0.1 (inactive in eval). Embeddings: frame features + learned
  position embedding (288 positions) + token-type embedding (2 types: CLS = 1, frames = 0), then
  LayerNorm and dropout. The CLS token (a learned vector, ``torch.randn`` init as in the official
  code) is prepended to the frame features.
- Head on the CLS output: LayerNorm -> Linear 768 -> GELU -> Dropout 0.5 -> Linear classes (logits).

Longformer attention, as HF computes it for this input (``attention_window`` w = 18, so each
token sees w/2 = 9 neighbours on each side; attention mask: CLS = global, frames = local):

- a frame token i attends to the tokens j with |i - j| <= w/2, *plus* the CLS token wherever it
  is, with the ``query``/``key``/``value`` projections; the CLS key is counted once (HF removes
  global tokens from the window and adds them back as separate columns of one joint softmax);
- the CLS token attends to every token with its own ``query_global``/``key_global``/
  ``value_global`` projections (so each Longformer layer has six d x d input projections), and
  that output replaces its local one;
- both share the output projection; queries are scaled by 1/sqrt(head_dim).

HF's ``sliding_chunks`` pads the sequence to a multiple of the window and computes the band in
overlapping chunks; padded keys are masked out, so they never change a real token's output. Here
the same function is written with plain tensor ops that export to ONNX (no custom kernels), in two
equivalent forms (``LongformerConfig.attention_impl``):

- ``"dense"`` (default): full (N-1) x N scores for the frame queries plus an additive band+global
  mask (0 / -inf) built from constant ranges. With 16-17 tokens this is the cheapest form
  (the official band, 19 keys, is wider than the 17-token sequence);
- ``"sliding"``: the sliding-window form: each query gathers its 2*(w/2)+1 window keys with a
  constant index tensor (Gather), out-of-range and global slots masked, global key columns
  concatenated, one softmax. O(N * w) instead of O(N^2); it only matters for long sequences
  (the paper's 250-frame full-video inference).
``tests/test_models_vtn.py`` checks both against an independently written dense reference.

Decisions (where the sources leave it open)
-------------------------------------------
- Position ids: the official model takes them from its data loader (the sampled frames' indices in
  the source video, as we read it), modulo ``max_positions - 2``; position ``max_positions - 2`` is
  the CLS token's (and ``max_positions - 1`` padding's). Our model sees only the clip, so frame t
  gets position ``t * position_stride`` with ``position_stride = 8`` (the training sampling rate),
  i.e. a clip starting at frame 0. Element-wise: no effect on FLOPs or latency.
- No padding to a multiple of the window (it only adds masked tokens; see above).
- Initialisation: Longformer, embeddings and MLP head N(0, 0.02) with zero biases (HF
  ``initializer_range`` 0.02, as the paper states for the encoder and head); ViT linears and
  tokens truncated-normal 0.02 (timm); MobileNetV2 convs Kaiming *fan-in*, BN 1/0. torchvision
  uses fan-out, which for the depthwise convs (fan-out 9 x channels, fan-in 9) shrinks the
  activations ~sqrt(channels)-fold per block: randomly initialised, its pooled features are
  ~1e-9 and an exported backbone's numerics would be invisible behind the Longformer's position
  embeddings. Fan-in keeps them O(1) (std ~1.5); trained weights replace either.
- Parameter names follow HF / timm / torchvision loosely; official checkpoints need a key map.
- ``vtn-mobilenet`` (composite, ours, not in the paper): a MobileNetV2 width 1.0 backbone (Sandler
  et al., CVPR 2018, Table 2: 3x3 stem 32, the seven inverted-residual stages t/c/n/s = 1/16/1/1,
  6/24/2/2, 6/32/3/2, 6/64/4/2, 6/96/3/1, 6/160/3/2, 6/320/1/1, 1x1 conv to 1280, BN + ReLU6,
  global average pool), its 1280-d pooled feature per frame. VTN feeds the backbone's feature
  straight into the Longformer (the official code sets the Longformer width to the backbone's
  ``embed_dim``; no projection), so the Longformer here is 1280 wide, with 20 heads to keep the
  official head dim of 64 (12 heads do not divide 1280); the rest as the official config (3 layers,
  window 18, intermediate 3072, 288 positions, head MLP 768). Not 16 heads (head dim 80): with
  those, OpenVINO 2026.4's CPU plugin (fp32 hint) misses PyTorch by ~4e-2 on this 3-layer encoder,
  while ONNX Runtime matches to 1e-6; making the local softmax a graph output (which blocks
  OpenVINO's attention fusion) makes it exact, so we take it for a fusion bug. 10 and 20 heads are
  exact in both. A narrower encoder behind a projection is one config field away
  (``temporal_dim``).
- ``vtn-tiny`` (hidden, tests/export only): ViT with patch 8 on 32x32, 2 layers, d=32, 2 heads;
  2 Longformer layers, window 2 (+-1 neighbour, so the band really cuts), 6 frames, 10 classes.

Counts (edgevid.models.stats: 1 multiply-add = 1 FLOP; conv, matmul, attention; batch 1)
-----------------------------------------------------------------------------------------
=============  ===========  ============  ===========  ====================================
variant        params ours  paper params  GFLOPs ours  paper GFLOPs
=============  ===========  ============  ===========  ====================================
vtn-vit-b      113.50 M     114.0 M       281.43       none at 16 frames (4218 at 250 x 1x1)
vtn-mobilenet  61.95 M      none          5.70         none
=============  ===========  ============  ===========  ====================================

vtn-vit-b params: ViT-B/16 backbone 85.80M (timm's 86.57M less its 1000-class head) + temporal
encoder 26.80M (3 layers x 8.86M: six 768x768 input projections, output projection, FFN, two
LayerNorms; position/type embeddings, LayerNorm, CLS) + head 0.90M = 113.50M, 0.44% under the
paper's 114.0M. The 0.5M left over is not explained by the sources; one candidate is the
pre-logits layer (768x768, 0.59M) that ImageNet-21k ViT-B checkpoints carried, which would give
114.09M. The test allows 1%.

vtn-vit-b GFLOPs: the paper counts the full video, 250 frames x 1 view: 4218. By our convention
the same model at 250 frames is 4397.3 GFLOPs (17.56 per frame for ViT-B/16, 0.72 of them the
attention matmuls q.k^T and attn.v). Counting only convolutions and linear layers gives
250 x 16.85 + 6.2 (the Longformer's linears) = 4218.2, the paper's figure to 0.01%; so we read the
paper as counting conv and linear layers (a module-hook counter) and leaving out the attention
matmuls. That is our inference, not stated in the sources; the tests pin both numbers. At the
default 16-frame input the paper gives no figure, so ``paper_gflops`` is None (the registry's
paper figures are at the variant's input); 16 frames by our convention: 16 x 17.56 + 0.42.

vtn-mobilenet: MobileNetV2 features 2.22M (torchvision's 3.50M less its 1.28M classifier; the
MobileNetV2 paper reports 3.4M for the whole net) + temporal encoder 58.43M (3 x 19.35M at width
1280) + head 1.29M. GFLOPs: 16 x 0.2995 (MobileNetV2 paper: 300M multiply-adds at 224) + 0.91 for
the temporal encoder and head. The Longformer holds 94% of the parameters and 16% of the FLOPs. No
paper reports this model: ``paper_params_m`` / ``paper_gflops`` are None.

Export: fixed shapes from the input; the masks, window indices and position ids come from
constant ranges (the few small element-wise ops on them that stay in the graph are folded by the
runtimes). ``torch.onnx.export(model, x, path, dynamo=False, opset_version=17)`` runs in ONNX
Runtime and OpenVINO (checked, fp32: vtn-tiny, both attention forms, max abs diff < 1e-5 with
weights scaled up to give O(1) logits; vtn-mobilenet at 16x224, < 1e-6). No data-dependent
Python control flow.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional, Union

import torch
from torch import nn
from torch.nn import functional as F

from edgevid.models._vit import Block  # the shared pre-norm ViT layer (timm layout)
from edgevid.models._mobilenet import SETTINGS, InvertedResidual, conv_bn_relu6, make_divisible
from edgevid.models.registry import Accuracy, register_model

# --------------------------------------------------------------------------- configs


@dataclass(frozen=True)
class ViTConfig:
    """ViT backbone (timm ``vit_base_patch16_224`` by default); output: its class token."""

    img_size: int = 224
    patch_size: int = 16
    dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    eps: float = 1e-6


@dataclass(frozen=True)
class MobileNetV2Config:
    """MobileNetV2 feature extractor (Sandler et al., 2018, Table 2); output: pooled features."""

    width_mult: float = 1.0
    stem: int = 32
    last_channel: int = 1280
    # t (expansion), c (channels), n (repeats), s (stride of the first)
    settings: tuple = SETTINGS


@dataclass(frozen=True)
class LongformerConfig:
    """Temporal encoder (HF ``LongformerModel`` as configured by VTN's ``VIT_B_VTN.yaml``)."""

    num_layers: int = 3
    num_heads: int = 12
    attention_window: tuple = (18, 18, 18)  # per layer, both sides together (HF semantics)
    intermediate: int = 3072
    max_positions: int = 288
    type_vocab_size: int = 2
    dropout: float = 0.1
    eps: float = 1e-12
    position_stride: int = 8  # frame t sits at position t * stride (see module docstring)
    attention_impl: str = "dense"  # "dense" (band mask) or "sliding" (gathered windows): equal


@dataclass(frozen=True)
class VTNConfig:
    backbone: str = "vit"  # "vit" or "mobilenetv2"
    vit: ViTConfig = field(default_factory=ViTConfig)
    mobilenet: MobileNetV2Config = field(default_factory=MobileNetV2Config)
    temporal: LongformerConfig = field(default_factory=LongformerConfig)
    temporal_dim: Optional[int] = None  # None: the backbone's feature width (as VTN); else project
    mlp_dim: int = 768
    head_dropout: float = 0.5
    num_classes: int = 400


# --------------------------------------------------------------------------- ViT backbone


class ViT(nn.Module):
    """Images (B, 3, H, W) -> class-token features (B, dim)."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.out_dim = cfg.dim
        self.patch_embed = nn.Conv2d(3, cfg.dim, cfg.patch_size, stride=cfg.patch_size)
        n = (cfg.img_size // cfg.patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, cfg.dim))
        self.blocks = nn.Sequential(
            *[Block(cfg.dim, cfg.num_heads, cfg.mlp_ratio, cfg.eps) for _ in range(cfg.depth)]
        )
        self.norm = nn.LayerNorm(cfg.dim, eps=cfg.eps)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.norm(self.blocks(x))[:, 0]


# --------------------------------------------------------------------------- MobileNetV2 backbone


class MobileNetV2(nn.Module):
    """Images (B, 3, H, W) -> globally pooled features (B, last_channel)."""

    def __init__(self, cfg: MobileNetV2Config):
        super().__init__()
        cin = make_divisible(cfg.stem * cfg.width_mult)
        self.out_dim = make_divisible(cfg.last_channel * max(1.0, cfg.width_mult))
        layers = [conv_bn_relu6(3, cin, 3, 2)]
        for t, c, n, s in cfg.settings:
            cout = make_divisible(c * cfg.width_mult)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(conv_bn_relu6(cin, self.out_dim, 1))
        self.features = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in")  # see module docstring

    def forward(self, x):
        return self.features(x).mean(dim=(2, 3))


# --------------------------------------------------------------------------- Longformer


def longformer_allowed(n: int, num_global: int, one_sided: int, device=None) -> torch.Tensor:
    """Bool (n - num_global, n): may local query row i (token num_global + i) see key j?

    |i - j| <= one_sided (the sliding window), or j is a global token.
    """
    q = torch.arange(num_global, n, device=device).unsqueeze(1)
    k = torch.arange(n, device=device).unsqueeze(0)
    return ((q - k).abs() <= one_sided) | (k < num_global)


class LongformerSelfAttention(nn.Module):
    """Sliding-window attention for local tokens + global attention for the first ``num_global``.

    ``forward`` takes and returns (B, N, dim); tokens ``[:num_global]`` are global (VTN: the CLS).
    """

    def __init__(self, dim: int, heads: int, window: int, impl: str = "dense"):
        super().__init__()
        if window <= 0 or window % 2:
            raise ValueError(f"attention_window must be positive and even, got {window}")
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by {heads} heads")
        if impl not in ("dense", "sliding"):
            raise ValueError(f"attention_impl must be 'dense' or 'sliding', got {impl!r}")
        self.heads, self.one_sided, self.impl = heads, window // 2, impl
        self.query, self.key, self.value = (nn.Linear(dim, dim) for _ in range(3))
        self.query_global, self.key_global, self.value_global = (
            nn.Linear(dim, dim) for _ in range(3)
        )

    def _split(self, x):  # (B, N, D) -> (B, h, N, D/h)
        B, N, D = x.shape
        return x.reshape(B, N, self.heads, D // self.heads).transpose(1, 2)

    def forward(self, x, num_global: int = 1):
        B, N, D = x.shape
        G = num_global
        scale = (D // self.heads) ** -0.5
        q = self._split(self.query(x[:, G:])) * scale  # local rows only: global rows are replaced
        k, v = self._split(self.key(x)), self._split(self.value(x))
        if self.impl == "dense":
            local = self._dense(q, k, v, G)
        else:
            local = self._sliding(q, k, v, G)
        qg = self._split(self.query_global(x[:, :G])) * scale
        kg, vg = self._split(self.key_global(x)), self._split(self.value_global(x))
        glob = torch.softmax(qg @ kg.transpose(-2, -1), dim=-1) @ vg
        return torch.cat([glob, local], dim=2).transpose(1, 2).reshape(B, N, D)

    def _dense(self, q, k, v, G):
        N = k.shape[2]
        allowed = longformer_allowed(N, G, self.one_sided, device=q.device)
        mask = torch.zeros(allowed.shape, dtype=q.dtype, device=q.device)
        mask = mask.masked_fill(~allowed, float("-inf"))
        return torch.softmax(q @ k.transpose(-2, -1) + mask, dim=-1) @ v

    def _sliding(self, q, k, v, G):
        N, w = k.shape[2], self.one_sided
        rows = torch.arange(G, N, device=q.device).unsqueeze(1)
        idx = rows + torch.arange(-w, w + 1, device=q.device).unsqueeze(0)  # (N-G, 2w+1)
        valid = (idx >= G) & (idx < N)  # global keys enter once, as their own columns
        idx = idx.clamp(0, N - 1)
        mask = torch.zeros(valid.shape, dtype=q.dtype, device=q.device)
        mask = mask.masked_fill(~valid, float("-inf"))
        k_win, v_win = k[:, :, idx], v[:, :, idx]  # (B, h, N-G, 2w+1, d)
        s_win = (q.unsqueeze(-2) @ k_win.transpose(-2, -1)).squeeze(-2) + mask
        s_glob = q @ k[:, :, :G].transpose(-2, -1)  # (B, h, N-G, G)
        p = torch.softmax(torch.cat([s_glob, s_win], dim=-1), dim=-1)
        p_glob, p_win = p[..., :G], p[..., G:]
        return p_glob @ v[:, :, :G] + (p_win.unsqueeze(-2) @ v_win).squeeze(-2)


class LongformerLayer(nn.Module):
    """Post-norm (BERT) layer: attention, output dense + LN; FFN (GELU) + LN."""

    def __init__(self, dim: int, cfg: LongformerConfig, window: int):
        super().__init__()
        self.attention = LongformerSelfAttention(dim, cfg.num_heads, window, cfg.attention_impl)
        self.attn_out = nn.Linear(dim, dim)
        self.attn_norm = nn.LayerNorm(dim, eps=cfg.eps)
        self.intermediate = nn.Linear(dim, cfg.intermediate)
        self.output = nn.Linear(cfg.intermediate, dim)
        self.out_norm = nn.LayerNorm(dim, eps=cfg.eps)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x):
        x = self.attn_norm(x + self.dropout(self.attn_out(self.attention(x))))
        h = F.gelu(self.intermediate(x))
        return self.out_norm(x + self.dropout(self.output(h)))


class LongformerEncoder(nn.Module):
    """Frame features (B, T, dim) -> CLS output (B, dim)."""

    def __init__(self, dim: int, cfg: LongformerConfig):
        super().__init__()
        if len(cfg.attention_window) != cfg.num_layers:
            raise ValueError("attention_window needs one entry per Longformer layer")
        self.cfg = cfg
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))  # official: torch.randn
        self.position_embeddings = nn.Embedding(cfg.max_positions, dim)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, dim)
        self.norm = nn.LayerNorm(dim, eps=cfg.eps)
        self.dropout = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(LongformerLayer(dim, cfg, w) for w in cfg.attention_window)

    def forward(self, x):
        B, T, _ = x.shape
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1)
        cfg = self.cfg
        # Position and token-type ids depend on T only: built as constants (no int64 arange/cat in
        # the graph, which LiteRT's int64->int32 lowering cannot type-check).
        ids = [cfg.max_positions - 2] + [
            (t * cfg.position_stride) % (cfg.max_positions - 2) for t in range(T)
        ]
        pos = torch.tensor(ids, dtype=torch.long, device=x.device)
        types = torch.tensor([1] + [0] * T, dtype=torch.long, device=x.device)  # CLS = 1
        x = x + self.position_embeddings(pos) + self.token_type_embeddings(types)
        x = self.dropout(self.norm(x))
        for layer in self.layers:
            x = layer(x)
        return x[:, 0]


# --------------------------------------------------------------------------- VTN


class VTN(nn.Module):
    """Video (B, C, T, H, W) -> logits (B, num_classes)."""

    def __init__(self, cfg: VTNConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone: Union[ViT, MobileNetV2]
        if cfg.backbone == "vit":
            self.backbone = ViT(cfg.vit)
        elif cfg.backbone == "mobilenetv2":
            self.backbone = MobileNetV2(cfg.mobilenet)
        else:
            raise ValueError(f"unknown VTN backbone {cfg.backbone!r}")
        feat = self.backbone.out_dim
        dim = cfg.temporal_dim or feat
        self.proj = nn.Linear(feat, dim) if dim != feat else nn.Identity()
        self.temporal_encoder = LongformerEncoder(dim, cfg.temporal)
        self.mlp_head = nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, cfg.mlp_dim),
            nn.GELU(),
            nn.Dropout(cfg.head_dropout),
            nn.Linear(cfg.mlp_dim, cfg.num_classes),
        )
        for m in [self.proj, *self.temporal_encoder.modules(), *self.mlp_head.modules()]:
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
                bias = getattr(m, "bias", None)
                if bias is not None:
                    nn.init.zeros_(bias)

    def forward(self, x):  # x: (B, C, T, H, W)
        B, C, T, H, W = x.shape
        frames = x.transpose(1, 2).reshape(B * T, C, H, W)
        feats = self.proj(self.backbone(frames).reshape(B, T, -1))
        return self.mlp_head(self.temporal_encoder(feats))


# --------------------------------------------------------------------------- variants

_PAPER = "Neimark et al., Video Transformer Network, arXiv:2102.00719 (2021)"
_SOURCE_VIT = (
    f"{_PAPER}, Kinetics-400 comparison table (ViT-B-VTN, 114.0M params); official "
    "config facebookresearch/SlowFast configs/Kinetics/VIT_B_VTN.yaml (16x8 training "
    "clip, 224)"
)
_SOURCE_MBV2 = (
    f"edgevid composite variant: VTN recipe ({_PAPER}; VIT_B_VTN.yaml temporal "
    "config, 20 heads at width 1280) on a MobileNetV2-1.0 backbone (Sandler et al., "
    "CVPR 2018, Table 2)"
)


@register_model(
    "vtn-vit-b",
    family="vtn",
    arch_class="attention-only",
    input=(3, 16, 224, 224),
    num_classes=400,
    source=_SOURCE_VIT,
    default=True,
    paper_params_m=114.0,
    notes="paper GFLOPs are for the full 250-frame video (4218 x 1x1 views); none at 16 frames",
    accuracy=Accuracy(
        78.6, "Kinetics-400", "1x1", "VTN paper, Kinetics-400 results table (ViT-B-VTN, full video)"
    ),
)
def vtn_vit_b(num_classes: int = 400) -> VTN:
    return VTN(VTNConfig(num_classes=num_classes))


@register_model(
    "vtn-mobilenet",
    family="vtn",
    arch_class="composite",
    input=(3, 16, 224, 224),
    num_classes=400,
    source=_SOURCE_MBV2,
    notes="not in the VTN paper: no paper params/GFLOPs",
)
def vtn_mobilenet(num_classes: int = 400) -> VTN:
    return VTN(
        VTNConfig(
            backbone="mobilenetv2", temporal=LongformerConfig(num_heads=20), num_classes=num_classes
        )
    )


TINY = VTNConfig(
    vit=ViTConfig(img_size=32, patch_size=8, dim=32, depth=2, num_heads=2),
    temporal=LongformerConfig(
        num_layers=2, num_heads=2, attention_window=(2, 2), intermediate=64, max_positions=64
    ),
    mlp_dim=32,
    num_classes=10,
)


@register_model(
    "vtn-tiny",
    family="vtn",
    arch_class="attention-only",
    input=(3, 6, 32, 32),
    num_classes=10,
    hidden=True,
    source="edgevid test config: VTN with a 2-layer d=32 ViT, 2 Longformer layers, window 2",
)
def vtn_tiny(num_classes: int = 10) -> VTN:
    return VTN(dataclasses.replace(TINY, num_classes=num_classes))
