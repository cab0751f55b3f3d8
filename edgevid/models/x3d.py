"""X3D: Expanding Architectures for Efficient Video Recognition (Feichtenhofer, CVPR 2020).

Configs follow the paper's Table 1/3 and the SlowFast / PyTorchVideo model zoo
(``configs/Kinetics/X3D_*.yaml``; ``pytorchvideo.models.x3d.create_x3d``):

- stem: 1x3x3 conv (stride 1,2,2) to 24 channels, then a depthwise 5x1x1 temporal conv, BN, ReLU;
- 4 stages of width [24, 48, 96, 192] and depth round(2.2 * [1, 2, 5, 3]) = [3, 5, 11, 7]; each
  block is 1x1x1 -> depthwise 3x3x3 (stride 1,2,2 in the first block) -> SE (ratio 1/16, every
  other block) -> Swish -> 1x1x1, with bottleneck width 2.25x the stage width;
- head: 1x1x1 conv to 432, BN, ReLU, global average pool, 1x1x1 to 2048, ReLU, dropout, linear.

XS, S and M share the network and differ in input only: XS 4x160^2, S 13x160^2, M 16x256^2
(M trains at 224 and is tested and counted at 256; at 224 it is 4.7 GFLOPs).
Paper (Table 3, Kinetics-400): X3D-XS 3.8M params 0.6 GFLOPs, X3D-S 3.8M 2.0G, X3D-M 3.8M 6.2G,
GFLOPs counted as multiply-adds per view, as here. The head ends in logits (the zoo's heads apply
softmax only in training code), so the exported graph has no softmax.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from edgevid.models.registry import Accuracy, register_model


@dataclass(frozen=True)
class X3DConfig:
    stem_width: int = 24
    stage_widths: tuple = (24, 48, 96, 192)
    base_depths: tuple = (1, 2, 5, 3)
    depth_factor: float = 2.2
    bottleneck_factor: float = 2.25
    se_ratio: float = 0.0625
    head_width: int = 2048
    dropout: float = 0.5
    num_classes: int = 400

    @property
    def depths(self) -> tuple:
        return tuple(int(math.ceil(self.depth_factor * d)) for d in self.base_depths)


def round_width(width: float, multiplier: float, min_width: int = 8, divisor: int = 8) -> int:
    """Channel rounding used by X3D's SE layers (PyTorchVideo ``round_width``)."""
    width *= multiplier
    out = max(min_width, int(width + divisor / 2) // divisor * divisor)
    if out < 0.9 * width:
        out += divisor
    return int(out)


class SqueezeExcite3d(nn.Module):
    def __init__(self, channels: int, ratio: float):
        super().__init__()
        hidden = round_width(channels, ratio)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc1 = nn.Conv3d(channels, hidden, 1, bias=True)
        self.fc2 = nn.Conv3d(hidden, channels, 1, bias=True)

    def forward(self, x):
        s = torch.relu(self.fc1(self.pool(x)))
        return x * torch.sigmoid(self.fc2(s))


def conv_bn(cin, cout, kernel, stride=1, padding=0, groups=1):
    return nn.Sequential(
        nn.Conv3d(cin, cout, kernel, stride=stride, padding=padding, groups=groups, bias=False),
        nn.BatchNorm3d(cout, eps=1e-5, momentum=0.1),
    )


class X3DBlock(nn.Module):
    def __init__(self, cin: int, cout: int, inner: int, stride: int, use_se: bool, se_ratio: float):
        super().__init__()
        self.conv_a = conv_bn(cin, inner, 1)
        self.conv_b = conv_bn(inner, inner, 3, stride=(1, stride, stride), padding=1, groups=inner)
        self.se = SqueezeExcite3d(inner, se_ratio) if use_se else nn.Identity()
        self.conv_c = conv_bn(inner, cout, 1)
        self.shortcut = (
            conv_bn(cin, cout, 1, stride=(1, stride, stride))
            if (stride != 1 or cin != cout)
            else nn.Identity()
        )

    def forward(self, x):
        y = torch.relu(self.conv_a(x))
        y = self.se(self.conv_b(y))
        y = y * torch.sigmoid(y)  # Swish
        y = self.conv_c(y)
        return torch.relu(y + self.shortcut(x))


class X3D(nn.Module):
    def __init__(self, cfg: X3DConfig):
        super().__init__()
        self.cfg = cfg
        self.stem = nn.Sequential(
            nn.Conv3d(
                3, cfg.stem_width, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False
            ),
            nn.Conv3d(
                cfg.stem_width,
                cfg.stem_width,
                (5, 1, 1),
                padding=(2, 0, 0),
                groups=cfg.stem_width,
                bias=False,
            ),
            nn.BatchNorm3d(cfg.stem_width),
            nn.ReLU(inplace=True),
        )
        blocks = []
        cin = cfg.stem_width
        for width, depth in zip(cfg.stage_widths, cfg.depths):
            inner = int(cfg.bottleneck_factor * width)
            for i in range(depth):
                blocks.append(
                    X3DBlock(
                        cin,
                        width,
                        inner,
                        stride=2 if i == 0 else 1,
                        use_se=(i + 1) % 2 == 1,
                        se_ratio=cfg.se_ratio,
                    )
                )
                cin = width
        self.blocks = nn.Sequential(*blocks)
        head_inner = int(cfg.bottleneck_factor * cin)
        self.head_pre = nn.Sequential(conv_bn(cin, head_inner, 1), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.head_post = nn.Conv3d(head_inner, cfg.head_width, 1, bias=False)
        self.dropout = nn.Dropout(cfg.dropout)
        self.proj = nn.Linear(cfg.head_width, cfg.num_classes)

    def forward(self, x):  # x: (B, C, T, H, W)
        x = self.blocks(self.stem(x))
        x = self.pool(self.head_pre(x))
        x = torch.relu(self.head_post(x)).flatten(1)
        return self.proj(self.dropout(x))


_SOURCE = "Feichtenhofer, X3D, CVPR 2020, Table 3; SlowFast configs/Kinetics/X3D_{}.yaml"


@register_model(
    "x3d-xs",
    family="x3d",
    arch_class="cnn",
    input=(3, 4, 160, 160),
    num_classes=400,
    source=_SOURCE.format("XS"),
    default=True,
    paper_params_m=3.8,
    paper_gflops=0.6,
    accuracy=Accuracy(68.6, "Kinetics-400", "3x10", "X3D paper, Table 4"),
)
def x3d_xs(num_classes: int = 400) -> X3D:
    return X3D(X3DConfig(num_classes=num_classes))


@register_model(
    "x3d-s",
    family="x3d",
    arch_class="cnn",
    input=(3, 13, 160, 160),
    num_classes=400,
    source=_SOURCE.format("S"),
    paper_params_m=3.8,
    paper_gflops=2.0,
    accuracy=Accuracy(72.9, "Kinetics-400", "3x10", "X3D paper, Table 4"),
)
def x3d_s(num_classes: int = 400) -> X3D:
    return X3D(X3DConfig(num_classes=num_classes))


@register_model(
    "x3d-m",
    family="x3d",
    arch_class="cnn",
    input=(3, 16, 256, 256),
    num_classes=400,
    source=_SOURCE.format("M"),
    paper_params_m=3.8,
    paper_gflops=6.2,
    accuracy=Accuracy(76.0, "Kinetics-400", "3x10", "X3D paper, Table 4"),
    notes="trained at 224, tested (and counted) at 256x256 as in the paper",
)
def x3d_m(num_classes: int = 400) -> X3D:
    return X3D(X3DConfig(num_classes=num_classes))


@register_model(
    "x3d-tiny",
    family="x3d",
    arch_class="cnn",
    input=(3, 4, 32, 32),
    num_classes=10,
    source="edgevid test config: X3D with 2 thin stages",
    hidden=True,
)
def x3d_tiny(num_classes: int = 10) -> X3D:
    return X3D(
        X3DConfig(
            stem_width=8,
            stage_widths=(8, 16),
            base_depths=(1, 1),
            depth_factor=1.0,
            head_width=32,
            num_classes=num_classes,
        )
    )
