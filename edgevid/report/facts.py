"""What the zoo knows about a result's model: class, params, GFLOPs at the shape actually run,
published top-1, and whether the run used the model's default input.

GFLOPs are recounted at the input shape of the result (``edgevid.models.stats``, PyTorch's meta
device: nothing is allocated), so a run at reduced input is never shown with the full-size count.
Without torch, or for a model outside the zoo, the counts are ``None`` and the class is ``other``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Optional

OTHER = "other"


@dataclass(frozen=True)
class ModelFacts:
    arch_class: str
    params: Optional[int]
    gflops: Optional[float]  # at the shape run, batch included
    default_input: Optional[tuple]  # (C, T, H, W) the zoo builds it for
    reduced: bool  # run at an input other than the default
    top1: Optional[float]  # published top-1, percent
    accuracy_note: str  # dataset, views and source of top1

    @property
    def shape_note(self) -> str:
        if not self.reduced or self.default_input is None:
            return ""
        return "reduced input (default " + "x".join(map(str, self.default_input)) + ")"


def _spec(model: str):
    try:
        from edgevid.models import get_spec

        spec = get_spec(model)
        return spec if spec.name == model else None
    except Exception:  # noqa: BLE001 - not a zoo model (a user callable or an .onnx file)
        return None


@cache
def _count(model: str, chw: tuple):
    spec = _spec(model)
    if spec is None:
        return None
    try:
        from edgevid.models.stats import spec_stats

        return spec_stats(spec, chw)
    except Exception:  # noqa: BLE001 - torch missing, or the model cannot take this shape
        return None


@cache
def facts(model: str, input_shape: Optional[tuple] = None) -> ModelFacts:
    """Facts for ``model`` run at ``input_shape`` (B, C, T, H, W; None: the default input)."""
    spec = _spec(model)
    if spec is None:
        return ModelFacts(OTHER, None, None, None, False, None, "")
    shape = tuple(input_shape) if input_shape else (1, *spec.input)
    batch, chw = shape[0], tuple(shape[1:])
    stats = _count(model, chw)
    acc = spec.accuracy
    note = f"{acc.dataset}, {acc.views} views, {acc.source}" if acc else ""
    return ModelFacts(
        spec.arch_class,
        stats.params if stats else None,
        stats.gflops * batch if stats else None,
        tuple(spec.input),
        chw != tuple(spec.input),
        acc.top1 if acc else None,
        note,
    )


def of_record(record: dict) -> ModelFacts:
    shape = record.get("input_shape")
    return facts(str(record.get("model")), tuple(shape) if shape else None)
