"""MobileNetV2's parts, shared by the families that use it as a per-frame 2D backbone (TSM, VTN's
MobileNet variant, VideoLightFormer) and the MobileNet channel rounding MoViNet also uses.

As torchvision's ``mobilenet_v2`` and the TSM official ``archs/mobilenet_v2.py`` lay it out:
conv-BN-ReLU6 units, inverted residuals (1x1 expansion unless the ratio is 1, 3x3 depthwise with
the block's stride, 1x1 linear projection with BN), an identity skip where stride is 1 and the
channels match. Module names (``conv.0``, ``conv.1``, ...) are torchvision's, so checkpoints map.
"""

from __future__ import annotations

from torch import nn

#: torchvision / official MobileNetV2: expand ratio t, channels c, repeats n, first stride s.
SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Channel rounding of the MobileNet family (TF ``_make_divisible``, MoViNet's
    ``nn_layers.make_divisible``): the nearest multiple of ``divisor``, never below 90%."""
    out = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return int(out + divisor if out < 0.9 * value else out)


def conv_bn_relu6(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: float):
        super().__init__()
        hidden = int(round(cin * expand))
        self.use_res = stride == 1 and cin == cout
        layers = [conv_bn_relu6(cin, hidden, 1)] if expand != 1 else []
        layers += [
            conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)
