"""TSM: Temporal Shift Module for Efficient Video Understanding (Lin, Gan, Han, ICCV 2019).

Source followed: the official code, mit-han-lab/temporal-shift-module (``ops/temporal_shift.py``
``TemporalShift.shift``; ``ops/models.py`` ``TSN._prepare_base_model`` for ``mobilenetv2`` with
``shift_place='blockres'``; ``archs/mobilenet_v2.py``), and its model-zoo entry
``TSM_kinetics_RGB_mobilenetv2_shift8_blockres_avg_segment8_e100_dense``.

- 8 segments: the (B, 3, 8, 224, 224) clip is folded to (B*8, 3, 224, 224) and every frame goes
  through a 2D MobileNetV2 (width 1.0; torchvision's inverted-residual settings).
- Temporal shift (``shift_div=8``): of C channels, the first C/8 are shifted one step back in time
  (frame t takes frame t+1's values; the last frame gets zeros), the next C/8 one step forward
  (frame t takes frame t-1's; the first gets zeros), the rest unchanged.
- Residual shift (``blockres``): the shift wraps the *first conv* of the residual branch of every
  inverted-residual block that has a residual connection and an expansion layer
  (``len(m.conv) == 8 and m.use_res_connect`` in the official code), so the identity path is
  unshifted. 10 of MobileNetV2's 17 blocks.
- Head: global average pool, dropout 0.5 (the official ``--dropout`` for Kinetics), linear to
  the classes per frame, then the average consensus over the 8 segments.

Counts (edgevid.models.stats, 400 classes, 8x224^2): 2.74 M params (the mmaction2 model zoo
lists 2.74 M for its TSM-MobileNetV2 1x1x8 Kinetics-400 config; the TSM paper gives none), and
2.4 GFLOPs (8 frames x 0.30 GMAC of MobileNetV2; mmaction2 lists 3.3G for this config, counted
by its own tool, so no paper GFLOPs are set). The shift is a slice-and-concatenate: no FLOPs.

Independent implementations: none installable (the official code and mmaction2 are not on the
index in a usable form here); the shift is tested against the official ``shift`` written out
with explicit slices, and its placement against the official rule (tests/test_models_cnn.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgevid.models._mobilenet import SETTINGS, InvertedResidual, conv_bn_relu6
from edgevid.models.registry import register_model


@dataclass(frozen=True)
class TSMConfig:
    num_segments: int = 8
    shift_div: int = 8
    settings: tuple = SETTINGS
    stem: int = 32
    last: int = 1280
    dropout: float = 0.5
    num_classes: int = 400


def temporal_shift(x: torch.Tensor, num_segments: int, shift_div: int = 8) -> torch.Tensor:
    """The official ``TemporalShift.shift`` on (B*T, C, H, W), without in-place writes."""
    nt, c, h, w = x.shape
    x = x.reshape(nt // num_segments, num_segments, c, h, w)
    fold = c // shift_div
    zero = x.new_zeros(x.shape[0], 1, fold, h, w)
    back = torch.cat([x[:, 1:, :fold], zero], dim=1)  # frame t <- frame t+1
    fwd = torch.cat([zero, x[:, :-1, fold : 2 * fold]], dim=1)  # frame t <- frame t-1
    out = torch.cat([back, fwd, x[:, :, 2 * fold :]], dim=2)
    return out.reshape(nt, c, h, w)


class TemporalShift(nn.Module):
    def __init__(self, net: nn.Module, num_segments: int, shift_div: int):
        super().__init__()
        self.net, self.num_segments, self.shift_div = net, num_segments, shift_div

    def forward(self, x):
        return self.net(temporal_shift(x, self.num_segments, self.shift_div))


def shifted_block(cin: int, cout: int, stride: int, expand: int, cfg: TSMConfig):
    """An inverted residual, its first conv wrapped in the temporal shift where the official
    ``blockres`` rule puts it: ``len(m.conv) == 8 and m.use_res_connect`` (a residual block with
    an expansion layer), so the identity path stays unshifted."""
    block = InvertedResidual(cin, cout, stride, expand)
    if block.use_res and expand != 1 and cfg.shift_div:
        block.conv[0] = TemporalShift(block.conv[0], cfg.num_segments, cfg.shift_div)
    return block


class TSMMobileNetV2(nn.Module):
    def __init__(self, cfg: TSMConfig):
        super().__init__()
        self.cfg = cfg
        layers, cin = [conv_bn_relu6(3, cfg.stem, 3, 2)], cfg.stem
        for t, c, n, s in cfg.settings:
            for i in range(n):
                layers.append(shifted_block(cin, c, s if i == 0 else 1, t, cfg))
                cin = c
        layers.append(conv_bn_relu6(cin, cfg.last, 1))
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(cfg.last, cfg.num_classes)

    def forward(self, x):  # (B, 3, T, H, W)
        b, c, t, h, w = x.shape
        x = x.transpose(1, 2).reshape(b * t, c, h, w)
        x = self.features(x).mean(dim=(2, 3))
        x = self.fc(self.dropout(x))
        return x.reshape(b, t, -1).mean(dim=1)  # average consensus


_SOURCE = (
    "Lin, Gan, Han, TSM, ICCV 2019; mit-han-lab/temporal-shift-module "
    "TSM_kinetics_RGB_mobilenetv2_shift8_blockres_avg_segment8_e100_dense; params as the "
    "mmaction2 tsm model zoo (MobileNetV2 1x1x8, K400)"
)


@register_model(
    "tsm-mobilenetv2",
    family="tsm",
    arch_class="cnn",
    input=(3, 8, 224, 224),
    num_classes=400,
    source=_SOURCE,
    default=True,
    paper_params_m=2.74,
    notes="8 segments, 1/8 channels shifted each way, residual shift",
)
def tsm_mobilenetv2(num_classes: int = 400) -> TSMMobileNetV2:
    return TSMMobileNetV2(TSMConfig(num_classes=num_classes))


@register_model(
    "tsm-tiny",
    family="tsm",
    arch_class="cnn",
    input=(3, 4, 32, 32),
    num_classes=10,
    hidden=True,
    source="edgevid test config: TSM, 4 segments, 3 thin MobileNetV2 stages",
)
def tsm_tiny(num_classes: int = 10) -> TSMMobileNetV2:
    return TSMMobileNetV2(
        TSMConfig(
            num_segments=4,
            settings=((1, 8, 1, 1), (4, 16, 2, 2), (4, 24, 2, 2)),
            stem=8,
            last=32,
            num_classes=num_classes,
        )
    )
