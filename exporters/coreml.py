"""Core ML exporter: coremltools ``mlprogram`` saved as ``model.mlpackage`` (a folder).

Frontend: ``torch.export.export(model, (x,)).run_decompositions({})`` (coremltools' EXIR path);
if torch.export or the conversion of its program fails, ``torch.jit.trace`` (with gradients enabled when the model has
``nn.MultiheadAttention``, so that PyTorch's fused inference fast path, which coremltools cannot
convert, is not traced). ``job.options["coreml_frontend"]`` = ``"export"`` or ``"trace"`` forces
one. The frontend used (and why another was not) is recorded.

Precision: ``fp16`` / ``fp32`` set ``compute_precision``; the model's input and output stay float32
in both. Recorded: compute units (``job.options["compute_units"]``, default ``ALL``: the units
the model is *allowed* to use; a runner on macOS picks its own at load), and the minimum
deployment target (``job.options["deployment_target"]``, default ``iOS16``, i.e. macOS 13).

On Linux the package cannot be loaded for prediction; it is validated instead: its spec is read
back from disk and its input/output names, shapes and dtypes are what the manifest says.

coremltools 9 has no converter for ``adaptive_avg_pool3d`` (X3D's and SE's global pooling) nor for
``|`` of boolean masks (``__or__`` / ``bitwise_or``: attention masks); they are registered here
when missing (global pool -> ``reduce_mean``, evenly divisible -> ``avg_pool``; boolean ``|`` ->
``logical_or``) and listed in the manifest (``converters_supplied_by_edgevid``).
"""

from __future__ import annotations

import importlib.util

from . import stream
from .base import INPUT_NAME, OUTPUT_NAME, ExportedFiles, ExportJob
from .options import Option

SOURCE = "torch"
DEFAULT_TARGET = "iOS16"
DEFAULT_COMPUTE_UNITS = "ALL"
OPTIONS = {
    "compute_units": Option(
        "choice",
        "compute units the model may use",
        choices=("ALL", "CPU_ONLY", "CPU_AND_GPU", "CPU_AND_NE"),
        upper=True,
    ),
    "deployment_target": Option(
        "choice",
        "minimum deployment target (mlprogram: iOS15+)",
        choices=("iOS15", "iOS16", "iOS17", "iOS18", "macOS12", "macOS13", "macOS14", "macOS15"),
    ),
    "coreml_frontend": Option(
        "choice",
        "auto = torch.export, falling back to torch.jit.trace",
        choices=("auto", "export", "trace"),
    ),
}
_ARRAY_DTYPES = {65568: "float32", 65552: "float16", 65600: "float64", 131104: "int32"}


def versions() -> dict:
    from importlib import metadata

    import torch

    if importlib.util.find_spec("coremltools") is None:
        raise ModuleNotFoundError("No module named 'coremltools'", name="coremltools")
    return {"torch": torch.__version__, "coremltools": metadata.version("coremltools")}


_SUPPLIED: list = []  # converters this module registered (not coremltools' own)


def _register_missing_ops() -> list:
    """Register converters coremltools lacks; return the ones edgevid supplies."""
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.frontend.torch.ops import _get_inputs
    from coremltools.converters.mil.frontend.torch.torch_op_registry import (
        _TORCH_OPS_REGISTRY,
        register_torch_op,
    )
    from coremltools.converters.mil.mil import types

    def adaptive_avg_pool3d(context, node):
        inputs = _get_inputs(context, node, expected=2)
        x = inputs[0]
        dims = [int(d) for d in x.shape[-3:]]
        out = [d if o is None else int(o) for d, o in zip(dims, list(inputs[1].val))]
        if all(o == 1 for o in out):
            res = mb.reduce_mean(x=x, axes=[-3, -2, -1], keep_dims=True, name=node.name)
        elif all(d % o == 0 for d, o in zip(dims, out)):
            k = [d // o for d, o in zip(dims, out)]
            res = mb.avg_pool(x=x, kernel_sizes=k, strides=k, pad_type="valid", name=node.name)
        else:
            raise NotImplementedError(
                f"adaptive_avg_pool3d from {dims} to {out}: sizes not evenly divisible"
            )
        context.add(res)

    def _logical(op):
        def convert(context, node):
            x, y = _get_inputs(context, node, expected=2)
            if not (types.is_bool(x.dtype) and types.is_bool(y.dtype)):
                raise NotImplementedError(
                    f"{node.kind} of non-boolean tensors ({x.dtype}, {y.dtype})"
                )
            context.add(op(x=x, y=y, name=node.name))

        return convert

    wanted = {
        "adaptive_avg_pool3d": (adaptive_avg_pool3d, ["_adaptive_avg_pool3d"]),
        # torch's `a | b` is looked up as "or" (coremltools strips the dunder)
        "bitwise_or": (_logical(mb.logical_or), ["or"]),
    }
    for name, (func, aliases) in wanted.items():
        if name in _TORCH_OPS_REGISTRY:
            continue
        func.__name__ = name
        register_torch_op(func, torch_alias=[a for a in aliases if a not in _TORCH_OPS_REGISTRY])
        _SUPPLIED.append(name)
    return list(_SUPPLIED)


def _named(model):
    """Name the program's input ``video`` (torch.export takes names from forward's arguments)."""
    from torch import nn

    class Named(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, video):
            return self.inner(video)

    return Named(model).eval()


def _has_mha(model) -> bool:
    from torch import nn

    return any(isinstance(m, nn.MultiheadAttention) for m in model.modules())


def _exported(model, shape):
    import torch

    with torch.no_grad():
        return torch.export.export(_named(model), (torch.zeros(shape),)).run_decompositions({})


def _traced(model, shape, notes: dict):
    import torch

    x = torch.zeros(shape)
    if _has_mha(model):
        notes["trace_grad_enabled"] = (
            "nn.MultiheadAttention: traced with gradients enabled to avoid the fused fast path"
        )
        with torch.enable_grad():
            return torch.jit.trace(model, x, check_trace=False)
    with torch.no_grad():
        return torch.jit.trace(model, x, check_trace=False)


def _convert(model, shape, frontend: str, convert) -> tuple:
    """(MLModel, frontend used, notes): torch.export first; with ``frontend="auto"`` a failure of
    torch.export or of its conversion falls back to torch.jit.trace, and the notes say why."""
    if frontend not in ("auto", "export", "trace"):
        raise ValueError(
            f"options['coreml_frontend'] must be auto, export or trace, got {frontend!r}"
        )
    notes: dict = {}
    if frontend in ("auto", "export"):
        try:
            return convert(_exported(model, shape)), "torch.export (run_decompositions({}))", notes
        except Exception as e:  # noqa: BLE001 - fall back to tracing, and say why
            if frontend == "export":
                raise
            first = next((ln for ln in str(e).splitlines() if ln.strip()), "")
            notes["export_path_failed"] = f"{type(e).__name__}: {first}"[:500]
    try:
        return convert(_traced(model, shape, notes)), "torch.jit.trace", notes
    except Exception as e:
        if "export_path_failed" not in notes:
            raise
        first = next((ln for ln in str(e).splitlines() if ln.strip()), "")
        raise RuntimeError(
            f"torch.export path: {notes['export_path_failed']}; torch.jit.trace "
            f"path: {type(e).__name__}: {first}"
        ) from e


def _io(descriptions) -> list:
    out = []
    for d in descriptions:
        arr = d.type.multiArrayType
        out.append(
            {
                "name": d.name,
                "shape": [int(v) for v in arr.shape],
                "dtype": _ARRAY_DTYPES.get(int(arr.dataType), str(arr.dataType)),
            }
        )
    return out


def validate(path, inputs: list, outputs: list) -> dict:
    """Read the saved package's spec back and check it against the expected I/O; return facts."""
    import coremltools as ct

    spec = ct.utils.load_spec(str(path))
    got_in, got_out = _io(spec.description.input), _io(spec.description.output)
    if got_in != inputs:
        raise RuntimeError(f"Core ML package inputs {got_in} != expected {inputs}")
    if [(o["name"], o["shape"]) for o in got_out] != [(o["name"], o["shape"]) for o in outputs]:
        raise RuntimeError(f"Core ML package outputs {got_out} != expected {outputs}")
    if spec.WhichOneof("Type") != "mlProgram":
        raise RuntimeError(f"Core ML package holds a {spec.WhichOneof('Type')}, not an mlProgram")
    return {"specification_version": int(spec.specificationVersion), "model_type": "mlProgram"}


def export(job: ExportJob) -> ExportedFiles:
    import coremltools as ct
    import numpy as np

    shape = tuple(int(v) for v in job.ref.input_shape)
    if stream.is_stream(job.model):
        raise ValueError(
            "Core ML export of a stream model (state as inputs and outputs) is not supported yet; "
            "export its -causal clip model, or the stream model to onnx, openvino or tflite"
        )
    precision = {"fp16": ct.precision.FLOAT16, "fp32": ct.precision.FLOAT32}[job.precision]
    target_name = job.options.get("deployment_target", DEFAULT_TARGET)
    units_name = job.options.get("compute_units", DEFAULT_COMPUTE_UNITS).upper()
    target = getattr(ct.target, target_name)
    units = getattr(ct.ComputeUnit, units_name)
    registered = _register_missing_ops()
    # The reference output tells how many outputs there are; name the first "logits".
    import torch

    with torch.no_grad():
        ref_out = job.model(torch.zeros(shape))
    ref_outs = list(ref_out) if isinstance(ref_out, (list, tuple)) else [ref_out]
    out_names = [OUTPUT_NAME if i == 0 else f"output_{i}" for i in range(len(ref_outs))]

    def convert(source):
        return ct.convert(
            source,
            inputs=[ct.TensorType(name=INPUT_NAME, shape=shape, dtype=np.float32)],
            outputs=[ct.TensorType(name=n, dtype=np.float32) for n in out_names],
            convert_to="mlprogram",
            compute_precision=precision,
            minimum_deployment_target=target,
            compute_units=units,
            skip_model_load=True,  # no Core ML framework off Apple platforms; validated below
        )

    mlmodel, frontend, notes = _convert(
        job.model, shape, job.options.get("coreml_frontend", "auto"), convert
    )
    mlmodel.short_description = f"{job.ref.name} ({job.precision}) exported by edgevid"
    path = job.out_dir / job.file_name
    mlmodel.save(str(path))

    inputs = [{"name": INPUT_NAME, "shape": list(shape), "dtype": "float32"}]
    outputs = [
        {"name": n, "shape": [int(v) for v in o.shape], "dtype": "float32"}
        for n, o in zip(out_names, ref_outs)
    ]
    facts = validate(path, inputs, outputs)
    ops: dict = {}
    try:
        for fn in mlmodel._spec.mlProgram.functions.values():  # noqa: SLF001
            for block in fn.block_specializations.values():
                for op in block.operations:
                    ops[op.type] = ops.get(op.type, 0) + 1
    except Exception:  # noqa: BLE001 - op counts are informative only
        ops = {}
    extra = {
        "converter": "coremltools.convert (mlprogram)",
        "frontend": frontend,
        **({"frontend_notes": notes} if notes else {}),
        "compute_precision": job.precision,
        "compute_units": units_name,
        "minimum_deployment_target": target_name,
        "validated": {
            "how": "ct.utils.load_spec: spec read back, I/O names/shapes/dtypes "
            "checked; prediction needs macOS",
            **facts,
        },
        "ops": dict(sorted(ops.items())),
        **({"converters_supplied_by_edgevid": registered} if registered else {}),
        "package_files": sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()),
    }
    return ExportedFiles(inputs=inputs, outputs=outputs, extra=extra)
