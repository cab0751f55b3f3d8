"""What a user can name as a model: a zoo variant or family, ``package.module:callable``, or a
plain ``.onnx`` file. ``resolve`` turns the name into a :class:`ModelRef` with a fixed input shape.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

from edgevid.errors import UserError


@dataclass(frozen=True)
class ModelRef:
    kind: str  # "zoo" | "callable" | "onnx"
    ref: str  # what the user wrote (zoo name resolved to its variant)
    name: str  # file-system-safe name for artifacts/ and results
    input_shape: tuple  # (B, C, T, H, W)
    num_classes: Optional[int] = None
    weights: Optional[str] = None
    default_shape: bool = True  # the model's own default input (zoo models)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def shape_tag(self) -> str:
        """C x T x H x W, with the batch in front when it is not 1 (names of artifact folders)."""
        if self.input_shape[0] != 1:
            return "x".join(str(v) for v in self.input_shape)
        return "x".join(str(v) for v in self.input_shape[1:])


def parse_shape(text: str) -> tuple:
    """'3x8x160x160' / '3,8,160,160' (C,T,H,W) or with a leading batch dim -> (B, C, T, H, W)."""
    parts = [p for p in re.split(r"[x,\s]+", text.strip().strip("()[]")) if p]
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if len(dims) not in (4, 5) or any(d <= 0 for d in dims):
        raise UserError(
            f"bad --input-shape {text!r}: give C,T,H,W (e.g. 3x8x160x160) or "
            f"B,C,T,H,W with positive integers"
        )
    shape = dims if len(dims) == 5 else (1, *dims)
    check_input_size(shape, f"--input-shape {text!r}")
    return shape


#: One input tensor above this many bytes (float32) is refused before anything is allocated.
MAX_INPUT_BYTES = 4 * 2**30


def check_input_size(shape, what: str = "input shape") -> None:
    n = 4
    for d in shape:
        n *= int(d)
    if n > MAX_INPUT_BYTES:
        dims = "x".join(str(d) for d in shape)
        raise UserError(
            f"{what}: an input of {dims} is {n / 1e9:,.0f} GB as float32, above the "
            f"{MAX_INPUT_BYTES // 2**30} GiB limit for one input; give a smaller "
            f"--input-shape"
        )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"


def resolve(
    ref: str, input_shape: Optional[Sequence[int]] = None, weights: Optional[str] = None
) -> ModelRef:
    shape = tuple(input_shape) if input_shape else None
    if shape:
        check_input_size(shape)
    if ref.endswith(".onnx"):
        path = Path(ref)
        if not path.is_file():
            raise UserError(f"ONNX file not found: {ref}")
        if weights:
            raise UserError("--weights applies to PyTorch models, not to an .onnx file")
        shape = _onnx_input_shape(path, shape)
        check_input_size(shape, str(path))
        return ModelRef(
            "onnx",
            str(path.resolve()),
            _safe(path.stem),
            shape,
            weights=None,
            default_shape=input_shape is None,
        )
    if ":" in ref and not Path(ref).exists():
        module, _, attr = ref.partition(":")
        if not module or not attr:
            raise UserError(f"bad model {ref!r}: a user model is written package.module:callable")
        if shape is None:
            raise UserError(
                f"model {ref!r} is a user callable: give its input with --input-shape "
                f"C,T,H,W (e.g. 3x8x224x224)"
            )
        _load_callable(ref)  # fail early and clearly
        return ModelRef(
            "callable", ref, _safe(f"{module}.{attr}"), shape, weights=weights, default_shape=False
        )
    from edgevid.models import get_spec

    spec = get_spec(ref)
    default = (1, *spec.input)
    return ModelRef(
        "zoo",
        spec.name,
        spec.name,
        shape or default,
        num_classes=spec.num_classes,
        weights=str(Path(weights).resolve()) if weights else None,
        default_shape=(shape or default) == default,
    )


def _load_callable(ref: str):
    module, _, attr = ref.partition(":")
    try:
        obj = importlib.import_module(module)
    except ImportError as e:
        raise UserError(f"cannot import {module!r} for model {ref!r}: {e}") from e
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UserError(f"{module!r} has no attribute {attr!r} (model {ref!r})")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UserError(f"model {ref!r} is not callable")
    return obj


def _onnx_input_shape(path: Path, given: Optional[tuple] = None) -> tuple:
    """The ONNX file's input shape; ``given`` (from --input-shape) fills its dynamic dimensions
    and must agree with its fixed ones."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf raises several types for a bad file
        raise UserError(f"cannot read ONNX file {path}: {e}") from e
    inits = {i.name for i in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in inits]
    if len(graph_inputs) != 1:
        raise UserError(
            f"{path} has {len(graph_inputs)} inputs; edgevid runs single-input video models"
        )
    name = graph_inputs[0].name
    dims = graph_inputs[0].type.tensor_type.shape.dim
    fixed = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
    dynamic = [f"{d.dim_param or '?'} (axis {i})" for i, d in enumerate(dims) if fixed[i] is None]
    if given is not None:
        if len(given) != len(fixed):
            raise UserError(
                f"--input-shape {'x'.join(map(str, given))} has {len(given)} "
                f"dimensions with the batch; input {name!r} of {path} has "
                f"{len(fixed)}"
            )
        wrong = [
            f"axis {i} is {f}, not {g}"
            for i, (f, g) in enumerate(zip(fixed, given))
            if f is not None and f != g
        ]
        if wrong:
            raise UserError(
                f"--input-shape {'x'.join(map(str, given))} does not fit input "
                f"{name!r} of {path}: {'; '.join(wrong)}"
            )
        return tuple(given)
    if not fixed:
        raise UserError(f"input {name!r} of {path} has no shape: give it with --input-shape")
    if dynamic:
        raise UserError(
            f"input {name!r} of {path} has dynamic dimensions {', '.join(dynamic)}: "
            f"give the shape with --input-shape C,T,H,W (or B,C,T,H,W)"
        )
    return tuple(int(v or 0) for v in fixed)  # every one is set: none is dynamic


def build_torch_model(source: dict):
    """Build the PyTorch module a ModelRef (as a dict, e.g. from a manifest) describes."""
    import torch

    kind, ref = source["kind"], source["ref"]
    if kind == "zoo":
        from edgevid.models import create_model

        return create_model(
            ref, weights=source.get("weights"), num_classes=source.get("num_classes")
        )
    if kind == "callable":
        from edgevid.models.registry import DEFAULT_SEED, load_weights

        torch.manual_seed(DEFAULT_SEED)
        model = _load_callable(ref)()
        if not isinstance(model, torch.nn.Module):
            raise UserError(f"model {ref!r} returned {type(model).__name__}, not a torch.nn.Module")
        if source.get("weights"):
            load_weights(model, source["weights"])
        return model.eval()
    raise UserError(f"{ref} is an ONNX file: there is no PyTorch model to build")
