"""Non-local Neural Networks (Wang, Girshick, Gupta, He, CVPR 2018): I3D ResNet-50 + 5 NL blocks.

The study's *stand-alone attention block* class: a 3D CNN with self-attention blocks inserted.
Source followed: the official re-implementation in facebookresearch/SlowFast, config
``configs/Kinetics/c2/I3D_NLN_8x8_R50.yaml`` (``slowfast/models/resnet_helper.py``,
``nonlocal_helper.py``, ``video_model_builder.py`` ``ResNet`` with ``_TEMPORAL_KERNEL_BASIS
['i3d']`` and ``_POOL1['i3d']``), which is the paper's "5 blocks" Kinetics configuration
(paper Section 5 / Table 2: NL blocks on every other residual block of res3 and res4, 2 + 3).

- Input 8 frames x 224^2 (sampling rate 8). Stem: 5x7x7 conv stride (1,2,2) to 64, BN, ReLU,
  1x3x3 max pool stride (1,2,2).
- Bottleneck stages res2-res5 with depths 3-4-6-3, widths 256-512-1024-2048 (inner /4). The
  first conv of a block is k_t x 1 x 1 with k_t per the I3D basis: res2 all 3; res3 and res4
  alternate 3, 1, ...; res5 alternates 1, 3, 1. Spatial stride 2 in the 1x3x3 conv of the first
  block of res3-res5; 1x1x1 projection shortcuts with BN.
- ``pool1``: a 2x1x1 temporal max pool (stride 2) after res2 (8 -> 4 frames), as ``_POOL1``.
- Non-local blocks (``NONLOCAL.LOCATION: [[[]], [[1, 3]], [[1, 3, 5]], [[]]]``) after blocks 1, 3
  of res3 and 1, 3, 5 of res4: theta, phi, g = 1x1x1 convs to C/2 (with bias); phi and g max
  pooled 1x2x2 (``NONLOCAL.POOL``); embedded-Gaussian affinity softmax(theta^T phi * (C/2)^-0.5)
  over all T*H*W/4 positions; output 1x1x1 conv to C (bias), BN, added to the input.
- Head: global average pool, dropout 0.5, linear (logits).

Counts (400 classes, 8x224^2, edgevid.models.stats): 35.40 M params, 36.5 GFLOPs. The params
are checked (tests/test_models_cnn.py) against 35.4 M, the mmaction2 model zoo's figure for its
I3D R50 with five non-local blocks (configs/recognition/i3d README,
``i3d_imagenet-pretrained-r50-nl-dot-product_8xb8-32x2x1-100e_kinetics400-rgb``: 35.4M params,
59.3G FLOPs at 32x224^2 by its own counter). The same number by hand: ResNet-50 I3D (28.0 M)
plus five NL blocks (2C^2 weights each: 2 x 0.52 M at C=512 in res3, 3 x 2.1 M at C=1024 in res4:
7.3 M).
The NL paper counts FLOPs as multiply-adds, like the zoo, but at 32 frames; its figures are for
other inputs, so ``paper_gflops`` is not set. Independent implementations: none installable
(SlowFast and mmaction2 are not on the index in a usable form); the NL block is tested against
its written definition (a loop over positions) and its positions against the config.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgevid.models.registry import Accuracy, register_model


@dataclass(frozen=True)
class NonLocalConfig:
    depths: tuple = (3, 4, 6, 3)
    widths: tuple = (256, 512, 1024, 2048)
    stem: int = 64
    temporal_kernels: tuple = ((3,), (3, 1), (3, 1), (1, 3))  # I3D basis, repeated per block
    nonlocal_at: tuple = ((), (1, 3), (1, 3, 5), ())
    nl_pool: tuple = (1, 2, 2)
    dropout: float = 0.5
    num_classes: int = 400


class NonLocalBlock(nn.Module):
    """Embedded-Gaussian non-local block (SlowFast ``Nonlocal``, softmax instantiation)."""

    def __init__(self, dim: int, pool: tuple = (1, 2, 2)):
        super().__init__()
        inner = dim // 2
        self.scale = inner**-0.5
        self.theta = nn.Conv3d(dim, inner, 1)
        self.phi = nn.Conv3d(dim, inner, 1)
        self.g = nn.Conv3d(dim, inner, 1)
        self.pool = nn.MaxPool3d(pool, pool) if any(p > 1 for p in pool) else nn.Identity()
        self.out = nn.Conv3d(inner, dim, 1)
        self.bn = nn.BatchNorm3d(dim)

    def forward(self, x):
        b, _, t, h, w = x.shape
        theta = self.theta(x).flatten(2)  # (B, C', N)
        xp = self.pool(x)
        phi, g = self.phi(xp).flatten(2), self.g(xp).flatten(2)  # (B, C', N')
        attn = torch.softmax((theta.transpose(1, 2) @ phi) * self.scale, dim=-1)  # (B, N, N')
        y = (attn @ g.transpose(1, 2)).transpose(1, 2).reshape(b, -1, t, h, w)
        return x + self.bn(self.out(y))


def conv_bn(cin, cout, kernel, stride=1, padding=0):
    return nn.Sequential(
        nn.Conv3d(cin, cout, kernel, stride, padding, bias=False), nn.BatchNorm3d(cout)
    )


class Bottleneck(nn.Module):
    def __init__(self, cin: int, cout: int, kt: int, stride: int):
        super().__init__()
        inner = cout // 4
        self.a = conv_bn(cin, inner, (kt, 1, 1), padding=(kt // 2, 0, 0))
        self.b = conv_bn(inner, inner, (1, 3, 3), (1, stride, stride), (0, 1, 1))
        self.c = conv_bn(inner, cout, 1)
        self.short = (
            conv_bn(cin, cout, 1, (1, stride, stride))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x):
        y = torch.relu(self.a(x))
        y = torch.relu(self.b(y))
        return torch.relu(self.c(y) + self.short(x))


class NonLocalI3D(nn.Module):
    def __init__(self, cfg: NonLocalConfig):
        super().__init__()
        self.cfg = cfg
        self.stem = nn.Sequential(
            conv_bn(3, cfg.stem, (5, 7, 7), (1, 2, 2), (2, 3, 3)),
            nn.ReLU(inplace=True),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        )
        stages, cin = [], cfg.stem
        for i, (n, w) in enumerate(zip(cfg.depths, cfg.widths)):
            blocks: list = []
            for j in range(n):
                kt = cfg.temporal_kernels[i][j % len(cfg.temporal_kernels[i])]
                blocks.append(Bottleneck(cin, w, kt, 2 if (i > 0 and j == 0) else 1))
                cin = w
                if j in cfg.nonlocal_at[i]:
                    blocks.append(NonLocalBlock(w, cfg.nl_pool))
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)  # res2 .. res5
        self.pool1 = nn.MaxPool3d((2, 1, 1), (2, 1, 1))
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(cin, cfg.num_classes)

    def forward(self, x):
        x = self.pool1(self.stages[0](self.stem(x)))
        for stage in self.stages[1:]:
            x = stage(x)
        x = x.mean(dim=(2, 3, 4))
        return self.fc(self.dropout(x))


@register_model(
    "i3d-nl-r50",
    family="nonlocal",
    arch_class="attention-block",
    input=(3, 8, 224, 224),
    num_classes=400,
    default=True,
    paper_params_m=35.4,
    source="Wang et al., Non-local Neural Networks, CVPR 2018, Sec. 5 (5 NL blocks "
    "in res3/res4); SlowFast configs/Kinetics/c2/I3D_NLN_8x8_R50.yaml",
    accuracy=Accuracy(
        top1=74.0,
        dataset="Kinetics-400",
        views="3x10",
        source="SlowFast MODEL_ZOO.md, I3D NLN 8x8 R50 (the NL "
        "paper's own tables use 32/128-frame inputs)",
    ),
)
def i3d_nl_r50(num_classes: int = 400) -> NonLocalI3D:
    return NonLocalI3D(NonLocalConfig(num_classes=num_classes))


@register_model(
    "nonlocal-tiny",
    family="nonlocal",
    arch_class="attention-block",
    input=(3, 4, 32, 32),
    num_classes=10,
    hidden=True,
    source="edgevid test config: I3D with 2 thin stages and 2 non-local blocks",
)
def nonlocal_tiny(num_classes: int = 10) -> NonLocalI3D:
    return NonLocalI3D(
        NonLocalConfig(
            depths=(1, 2),
            widths=(16, 32),
            stem=8,
            temporal_kernels=((3,), (3, 1)),
            nonlocal_at=((), (0, 1)),
            num_classes=num_classes,
        )
    )
