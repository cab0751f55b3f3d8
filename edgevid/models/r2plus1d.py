"""R(2+1)D: A Closer Look at Spatiotemporal Convolutions (Tran et al., CVPR 2018).

Source followed: torchvision's video ResNets (``torchvision/models/video/resnet.py``:
``r2plus1d_18``, ``Conv2Plus1D``, ``R2Plus1dStem``, ``BasicBlock``), the paper's Section 3.5 and
Table 2 (R(2+1)D-18 at 8/16x112^2), and PyTorchVideo's ``Conv2plus1d``.

- (2+1)D conv: a t x d x d 3D conv becomes a 1 x d x d spatial conv to M_i channels, BN, ReLU,
  then a t x 1 x 1 temporal conv; M_i = floor(t d^2 N_{i-1} N_i / (d^2 N_{i-1} + t N_i)) keeps
  the parameter count of the 3D conv (paper Eq. 1; torchvision's ``midplanes``).
- Stem: 1x7x7 stride (1,2,2) to 45 channels, BN, ReLU, 3x1x1 to 64, BN, ReLU (torchvision).
- 4 stages of 2 basic blocks, widths 64-128-256-512; the first block of stages 2-4 strides
  (2,2,2) in its first (2+1)D conv (spatial and temporal strides both on their own factor),
  with a 1x1x1 stride-2 conv + BN shortcut. Global average pool, linear (logits).

Counts (400 classes, 16x112^2, edgevid.models.stats): 33.37 M params, 41.5 GFLOPs. The paper's
Table 2 gives 33.3 M for R(2+1)D-18: Eq. 1 applied to every (2+1)D conv, as here. torchvision's
``r2plus1d_18`` (31.5 M, 40.52 GFLOPS in its model zoo) differs in one place: its ``BasicBlock``
computes M_i once from (in, out) and reuses it for the block's second conv (out -> out), which
is not Eq. 1 for that conv; we follow the paper. No GFLOPs for 16x112^2 in the paper, so
``paper_gflops`` is not set (torchvision's 40.52 is at its own midplanes).
Checked against PyTorchVideo 0.1.5's ``Conv2plus1d`` (same weights, same output) in
tests/test_models_independent.py; its R(2+1)D builder is R50 (bottleneck), so the whole network
is not compared.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from edgevid.models.registry import register_model


@dataclass(frozen=True)
class R2Plus1DConfig:
    widths: tuple = (64, 128, 256, 512)
    depths: tuple = (2, 2, 2, 2)
    stem_mid: int = 45
    num_classes: int = 400


def midplanes(cin: int, cout: int, t: int = 3, d: int = 3) -> int:
    return (cin * cout * t * d * d) // (cin * d * d + t * cout)


class Conv2Plus1D(nn.Sequential):
    """1 x d x d conv -> BN -> ReLU -> t x 1 x 1 conv (no bias; BN follows outside)."""

    def __init__(self, cin: int, cout: int, mid: int, stride: int = 1):
        super().__init__(
            nn.Conv3d(cin, mid, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False),
            nn.BatchNorm3d(mid),
            nn.ReLU(inplace=True),
            nn.Conv3d(mid, cout, (3, 1, 1), (stride, 1, 1), (1, 0, 0), bias=False),
        )


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Sequential(
            Conv2Plus1D(cin, cout, midplanes(cin, cout), stride),
            nn.BatchNorm3d(cout),
            nn.ReLU(inplace=True),
        )
        self.conv2 = nn.Sequential(
            Conv2Plus1D(cout, cout, midplanes(cout, cout)), nn.BatchNorm3d(cout)
        )
        self.down = (
            nn.Sequential(nn.Conv3d(cin, cout, 1, stride, bias=False), nn.BatchNorm3d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.conv2(self.conv1(x)) + self.down(x))


class R2Plus1D(nn.Module):
    def __init__(self, cfg: R2Plus1DConfig):
        super().__init__()
        w0 = cfg.widths[0]
        self.stem = nn.Sequential(
            nn.Conv3d(3, cfg.stem_mid, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False),
            nn.BatchNorm3d(cfg.stem_mid),
            nn.ReLU(inplace=True),
            nn.Conv3d(cfg.stem_mid, w0, (3, 1, 1), 1, (1, 0, 0), bias=False),
            nn.BatchNorm3d(w0),
            nn.ReLU(inplace=True),
        )
        blocks, cin = [], w0
        for i, (w, n) in enumerate(zip(cfg.widths, cfg.depths)):
            for j in range(n):
                blocks.append(BasicBlock(cin, w, 2 if (i > 0 and j == 0) else 1))
                cin = w
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, cfg.num_classes)

    def forward(self, x):
        x = self.layers(self.stem(x)).mean(dim=(2, 3, 4))
        return self.fc(x)


@register_model(
    "r2plus1d-18",
    family="r2plus1d",
    arch_class="cnn",
    input=(3, 16, 112, 112),
    num_classes=400,
    default=True,
    paper_params_m=33.3,
    source="Tran et al., R(2+1)D, CVPR 2018, Table 2 (R(2+1)D-18, 33.3M) and Eq. 1; "
    "layout as torchvision r2plus1d_18",
)
def r2plus1d_18(num_classes: int = 400) -> R2Plus1D:
    return R2Plus1D(R2Plus1DConfig(num_classes=num_classes))


@register_model(
    "r2plus1d-tiny",
    family="r2plus1d",
    arch_class="cnn",
    input=(3, 4, 32, 32),
    num_classes=10,
    hidden=True,
    source="edgevid test config: R(2+1)D with 2 stages of one block, widths 8-16",
)
def r2plus1d_tiny(num_classes: int = 10) -> R2Plus1D:
    return R2Plus1D(
        R2Plus1DConfig(widths=(8, 16), depths=(1, 1), stem_mid=6, num_classes=num_classes)
    )
