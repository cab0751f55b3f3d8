"""Parameter and FLOP counts for zoo models.

Counting convention (the one fvcore uses, and so do the X3D, MoViNet and most video-transformer
papers): **one multiply-add = one FLOP**, counted for convolutions, matrix multiplies (linear
layers, batched matmuls, einsums that lower to them) and scaled-dot-product attention; element-wise
ops, norms, activations and pooling are not counted. Batch size 1, at the model's default input.

The count runs on PyTorch's meta device, so nothing is allocated and no arithmetic is done: it is
fast even for ViT-B-sized video transformers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

COUNTING_CONVENTION = (
    "GFLOPs = multiply-adds (1 MAC = 1 FLOP, as fvcore counts) of conv, matmul and attention "
    "at the default input, batch 1; element-wise ops not counted"
)


@dataclass(frozen=True)
class ModelStats:
    params: int
    gflops: float


def count_model(builder, input_shape: Sequence[int]) -> ModelStats:
    """Count params and GFLOPs of ``builder()`` at ``input_shape`` (C, T, H, W)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = builder().eval()
        x = torch.empty((1, *input_shape))
    params = sum(p.numel() for p in model.parameters())
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    # FlopCounterMode counts 2 FLOPs per multiply-add.
    return ModelStats(params=int(params), gflops=counter.get_total_flops() / 2 / 1e9)


def spec_stats(spec, input_shape: Optional[Sequence[int]] = None) -> ModelStats:
    return count_model(spec.build, tuple(input_shape or spec.input))
