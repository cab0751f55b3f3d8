"""TFLite exporter: litert-torch converts the PyTorch model directly to a .tflite of builtin ops.

Precisions:

- ``fp32``: ``litert_torch.convert`` as it is.
- ``fp16``: float16 weights, float32 compute (litert-torch's ``full_fp16_recipe``: weight-only
  FLOAT_CAST through ai-edge-quantizer; DEQUANTIZE ops feed the weights to the float kernels).
- ``int8-dynamic``: dynamic-range quantization (``full_dynamic_recipe``: int8 channel-wise weights,
  activations quantized on the fly by the kernels).
- ``int8``: full-integer post-training quantization: ai-edge-quantizer's ``static_wi8_ai8`` recipe
  on the fp32 flatbuffer, calibrated on a set of inputs. The input and output tensors become int8
  (their scale and zero point are recorded; the runner quantizes and dequantizes so numerics are
  compared in float). Calibration inputs are seeded standard-normal clips
  (``reference_input(shape, seed)`` for ``CALIBRATION_SEEDS``, never the numerics-check seed) unless
  ``job.options["calibration"]`` gives the user's own: an int (that many seeded clips), a
  ``.npy``/``.npz`` file or an array of clips shaped ``(N, C, T, H, W)`` or ``(N, B, C, T, H, W)``,
  or a list of ``(B, C, T, H, W)`` arrays. Real clips, normalised as in training, give the
  honest scales; random clips only exercise the pipeline.

Graph rewrite before conversion: TFLite has no builtin grouped/depthwise 3-D convolution (litert
leaves it as a TF-Select ``Conv3D`` or crashes in its passes), and its builtin ``CONV_3D`` is
neither run by XNNPACK nor quantized by ai-edge-quantizer. Every ``nn.Conv3d`` is therefore
replaced by an exactly equivalent sum over its temporal taps of 2-D convolutions on
``(B*T, C, H, W)`` slices (depthwise stays depthwise). ``job.options["conv3d"] = "native"`` keeps
ungrouped Conv3d as ``CONV_3D`` (grouped ones are always rewritten). The rewrite is recorded in the
manifest (``rewrites``).

Layout: the model keeps PyTorch's (B, C, T, H, W) input and output; the converter inserts the
transposes to channels-last internally. The tensor layout found in the flatbuffer is recorded
(``layout``). Inputs and outputs are named ``video`` / ``logits`` through the signature.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections import OrderedDict
from pathlib import Path

import numpy as np

from . import stream
from .base import INPUT_NAME, OUTPUT_NAME, ExportedFiles, ExportJob, installed_version
from .options import CALIBRATION, Option

SOURCE = "torch"
OPTIONS = {
    "conv3d": Option(
        "choice",
        "Conv3d: conv2d = rewrite every Conv3d as 2-D convolutions over "
        "temporal taps (runs on XNNPACK, quantizes); native = keep ungrouped Conv3d "
        "as CONV_3D",
        choices=("conv2d", "native"),
    ),
    "calibration": CALIBRATION,
}
SIGNATURE = "serving_default"
#: Seeds of the default calibration clips (the numerics check uses 1234, not one of these).
CALIBRATION_SEEDS = tuple(range(100, 108))

_PACKAGES = {
    "litert_torch": "litert-torch",
    "ai_edge_litert": "ai-edge-litert",
    "ai_edge_quantizer": "ai-edge-quantizer",
    "litert_converter": "litert-converter",
}


def versions() -> dict:
    """Converter versions, read from the installed distributions (no heavy import)."""
    import torch

    out: dict = {"torch": str(torch.__version__)}
    for module, dist in _PACKAGES.items():
        if importlib.util.find_spec(module) is None:
            if module in ("litert_torch", "ai_edge_litert"):
                raise ModuleNotFoundError(f"No module named {module!r}", name=module)
            continue
        out[dist] = installed_version(dist) or "unknown"
    return out


# ---------------------------------------------------------------- Conv3d -> Conv2d rewrite


def _conv3d_as_2d_class():
    import torch.nn.functional as F
    from torch import nn

    class Conv3dAs2d(nn.Module):
        """``nn.Conv3d`` as a sum over temporal taps of 2-D convolutions (same numbers)."""

        def __init__(self, conv: nn.Conv3d):
            super().__init__()
            if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
                raise NotImplementedError(
                    f"Conv3d with padding={conv.padding!r}, padding_mode={conv.padding_mode!r}"
                )
            self.kt = conv.kernel_size[0]
            self.st, self.pt, self.dt = conv.stride[0], conv.padding[0], conv.dilation[0]
            w = conv.weight.detach()
            self.taps = nn.ParameterList(
                [nn.Parameter(w[:, :, i].clone(), requires_grad=False) for i in range(self.kt)]
            )
            self.bias = (
                None
                if conv.bias is None
                else nn.Parameter(conv.bias.detach().clone(), requires_grad=False)
            )
            self.stride2, self.pad2 = tuple(conv.stride[1:]), tuple(conv.padding[1:])
            self.dil2, self.groups = tuple(conv.dilation[1:]), conv.groups

        def forward(self, x):
            b, c, t, h, w = x.shape
            if self.pt:
                x = F.pad(x, (0, 0, 0, 0, self.pt, self.pt))
            t_out = (t + 2 * self.pt - self.dt * (self.kt - 1) - 1) // self.st + 1
            x = x.permute(0, 2, 1, 3, 4)  # (B, T, C, H, W)
            y = None
            for i, weight in enumerate(self.taps):
                start = i * self.dt
                s = x[:, start : start + (t_out - 1) * self.st + 1 : self.st].reshape(
                    b * t_out, c, h, w
                )
                o = F.conv2d(
                    s,
                    weight,
                    self.bias if i == 0 else None,
                    self.stride2,
                    self.pad2,
                    self.dil2,
                    self.groups,
                )
                y = o if y is None else y + o
            return y.reshape(b, t_out, *y.shape[1:]).permute(0, 2, 1, 3, 4)

    return Conv3dAs2d


def rewrite_conv3d(model, mode: str = "conv2d") -> int:
    """Replace ``nn.Conv3d`` modules in place (all, or with ``mode="native"`` only grouped ones);
    return how many were replaced."""
    from torch import nn

    if mode not in ("conv2d", "native"):
        raise ValueError(f"options['conv3d'] must be 'conv2d' or 'native', got {mode!r}")
    cls = _conv3d_as_2d_class()
    count = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Conv3d) and (mode == "conv2d" or child.groups > 1):
                setattr(module, name, cls(child))
                count += 1
    return count


def _wrap(model, shape):
    """Name the signature's input ``video`` and its outputs ``logits`` (``output_<i>`` after it);
    a stream model's state tensors by their names (``exporters/stream.py``)."""
    from torch import nn

    if stream.is_stream(model):
        return stream.keyword_module(model, shape)

    class Named(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, video):
            out = self.inner(video)
            if isinstance(out, (list, tuple)):
                return {(OUTPUT_NAME if i == 0 else f"output_{i}"): o for i, o in enumerate(out)}
            return {OUTPUT_NAME: out}

    return Named(model).eval()


# ---------------------------------------------------------------- calibration


def calibration_clips(shape, option=None) -> tuple:
    """(list of float32 arrays shaped ``shape``, description for the manifest)."""
    from ..runners.artifact import reference_input  # edgevid.runners: numpy only

    shape = tuple(int(v) for v in shape)
    if option is None or isinstance(option, int) and not isinstance(option, bool):
        seeds = CALIBRATION_SEEDS if option is None else tuple(range(100, 100 + int(option)))
        if not seeds:
            raise ValueError("options['calibration'] asks for 0 calibration clips")
        return (
            [reference_input(shape, s) for s in seeds],
            {
                "source": "seeded standard normal (runners.artifact.reference_input)",
                "seeds": list(seeds),
                "n": len(seeds),
            },
        )
    from .quantize import user_clips

    source = f"file {Path(option).name}" if isinstance(option, (str, Path)) else "user arrays"
    clips = user_clips(shape, option)
    return clips, {"source": source, "n": len(clips)}


# ---------------------------------------------------------------- conversion


def _recipe(precision: str):
    """litert-torch's recipe for ``precision``, as the ai-edge-quantizer recipe that
    ``litert_torch.convert(quant_config=...)`` applies after conversion, and its description."""
    from litert_torch.generative.quantize import quant_recipes
    from litert_torch.quantize import translate_recipe

    if precision == "fp16":
        config, info = (
            quant_recipes.full_fp16_recipe(),
            {
                "method": "litert_torch full_fp16_recipe (ai-edge-quantizer FLOAT_CAST, weight-only)",
                "weights": "float16",
                "activations": "float32",
            },
        )
    else:
        config, info = (
            quant_recipes.full_dynamic_recipe(),
            {
                "method": "litert_torch full_dynamic_recipe (dynamic range)",
                "weights": "int8 per-channel",
                "activations": "float32, int8 on the fly in kernels",
            },
        )
    return translate_recipe.translate_to_ai_edge_recipe(config.generative_recipe), info


def _quantize(float_model: bytes, precision: str, shape, calibration) -> tuple:
    """(quantized flatbuffer bytes, description) for a quantized precision."""
    from ai_edge_quantizer import quantizer, recipe

    if precision == "int8":
        clips, calib = calibration_clips(shape, calibration)
        q = quantizer.Quantizer(float_model, recipe.static_wi8_ai8())
        qsv = q.calibrate({SIGNATURE: [{INPUT_NAME: c} for c in clips]}, num_threads=2)
        result = q.quantize(qsv, enable_progress_report=False)
        return bytes(result.quantized_model), {
            "method": "ai-edge-quantizer static_wi8_ai8 (post-training, full integer)",
            "weights": "int8 per-channel",
            "activations": "int8",
            "calibration": calib,
        }
    aeq_recipe, info = _recipe(precision)
    result = quantizer.Quantizer(float_model, aeq_recipe).quantize(enable_progress_report=False)
    return bytes(result.quantized_model), info


#: Float flatbuffers of recent models, so the precisions of one model convert it once per process.
_FLOAT_CACHE: "OrderedDict" = OrderedDict()
_FLOAT_CACHE_SIZE = 4


def _model_key(model) -> str:
    """The model's class and weights (buffers included), hashed."""
    h = hashlib.sha256(f"{type(model).__module__}.{type(model).__qualname__}".encode())
    for name, t in model.state_dict().items():
        h.update(name.encode() + str(tuple(t.shape)).encode() + str(t.dtype).encode())
        h.update(t.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def convert_float(model, shape, conv_mode: str = "conv2d") -> tuple:
    """(fp32 .tflite bytes, number of Conv3d rewritten) for ``model`` at input ``shape``."""
    import copy

    import litert_torch
    import torch

    key = (_model_key(model), tuple(shape), conv_mode)
    if key in _FLOAT_CACHE:
        _FLOAT_CACHE.move_to_end(key)
        return _FLOAT_CACHE[key]
    work = copy.deepcopy(model).eval()
    rewritten = rewrite_conv3d(work, conv_mode)
    show = litert_torch.config.show_progress
    litert_torch.config.show_progress = False
    try:
        with torch.no_grad():
            ins, _ = stream.io_names(stream.state_specs(work, shape))
            sample = dict(zip(ins, stream.example_args(work, shape)))
            edge = litert_torch.convert(_wrap(work, shape), sample_kwargs=sample)
        content = bytes(edge.model_content())
    finally:
        litert_torch.config.show_progress = show
    _FLOAT_CACHE[key] = (content, rewritten)
    while len(_FLOAT_CACHE) > _FLOAT_CACHE_SIZE:
        _FLOAT_CACHE.popitem(last=False)
    return content, rewritten


def _interpreter(path: Path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    it.allocate_tensors()
    return it


def _quant(detail: dict):
    scale, zero = detail.get("quantization", (0.0, 0))
    return {"scale": float(scale), "zero_point": int(zero)} if scale else None


def read_io(path: Path) -> tuple:
    """(inputs, outputs, io_tensors, ops) read back from the flatbuffer by the LiteRT Interpreter.

    Manifest specs give the float32 dtype callers feed and read (a runner quantizes int8
    tensors); ``io_tensors`` holds the tensors' own dtype and quantization."""
    it = _interpreter(path)
    sigs = it.get_signature_list()
    key = SIGNATURE if SIGNATURE in sigs else next(iter(sigs), None)
    if key is None:
        raise RuntimeError("the .tflite has no signature")
    runner = it.get_signature_runner(key)
    ins, outs = runner.get_input_details(), runner.get_output_details()
    specs: dict = {}
    tensors: dict = {}
    for side, details in (("inputs", ins), ("outputs", outs)):
        specs[side], tensors[side] = [], []
        for name in sigs[key][side]:
            d = details[name]
            dtype = np.dtype(d["dtype"]).name
            specs[side].append(
                {
                    "name": name,
                    "shape": [int(v) for v in d["shape"]],
                    "dtype": dtype
                    if dtype.startswith("float") and dtype != "float16"
                    else "float32",
                }
            )
            tensors[side].append(
                {"name": name, "tensor": d.get("name"), "dtype": dtype, "quantization": _quant(d)}
            )
    ops: dict = {}
    try:  # private API of the Interpreter; op counts are informative only
        for op in it._get_ops_details():  # noqa: SLF001
            ops[op["op_name"]] = ops.get(op["op_name"], 0) + 1
    except Exception:  # noqa: BLE001
        ops = {}
    return specs["inputs"], specs["outputs"], tensors, dict(sorted(ops.items()))


def _layout(tflite_shape, torch_shape) -> str:
    b, c, t, h, w = torch_shape
    if list(tflite_shape) == [b, c, t, h, w]:
        return "NCDHW (B, C, T, H, W) as PyTorch; channels-last transposes are inside the graph"
    if list(tflite_shape) == [b, t, h, w, c]:
        return "NDHWC (B, T, H, W, C)"
    return f"other: {list(tflite_shape)} for PyTorch {list(torch_shape)}"


def export(job: ExportJob) -> ExportedFiles:
    shape = tuple(int(v) for v in job.ref.input_shape)
    if len(shape) != 5:
        raise ValueError(f"the tflite exporter expects a (B, C, T, H, W) input, got {list(shape)}")
    conv_mode = job.options.get("conv3d", "conv2d")
    specs = stream.state_specs(job.model, shape)
    if specs and job.precision == "int8":
        raise ValueError(
            "int8 full-integer calibration of a stream model's state is not supported: "
            "use fp32, fp16 or int8-dynamic"
        )
    content, rewritten = convert_float(job.model, shape, conv_mode)
    if job.precision == "fp32":
        quant = {"method": "none", "weights": "float32", "activations": "float32"}
    else:
        content, quant = _quantize(content, job.precision, shape, job.options.get("calibration"))
    path = job.out_dir / job.file_name
    path.write_bytes(content)

    inputs, outputs, tensors, ops = read_io(path)
    state = stream.declaration(specs)
    if state:  # the signature lists tensors by name: back to the model's order
        names = stream.io_names(specs)
        inputs, outputs = (stream.manifest_order(v, n) for v, n in zip((inputs, outputs), names))
        tensors = {k: stream.manifest_order(tensors[k], n) for k, n in zip(tensors, names)}
        stream.check_declared(state, inputs, outputs)
    flex = sorted(op for op in ops if op.startswith("Flex") or op == "CUSTOM")
    if flex:
        raise RuntimeError(
            f"the .tflite needs non-builtin ops {flex}: not runnable by LiteRT alone"
        )
    extra = {
        "converter": "litert_torch.convert (torch.export -> StableHLO/MLIR -> TFLite builtins)",
        "quantization": quant,
        "layout": _layout(inputs[0]["shape"], shape) if inputs else None,
        "io_tensors": tensors,
        "ops": ops,
        "rewrites": (
            {"Conv3d -> sum over temporal taps of Conv2d": rewritten, "conv3d_mode": conv_mode}
            if rewritten
            else {}
        ),
    }
    if state:
        extra["state"] = state
    return ExportedFiles(inputs=inputs, outputs=outputs, extra=extra)
