"""ONNX exporter: torch.onnx.export (TorchScript-based exporter, fixed opset), checker, onnxslim.

A user's own .onnx file is copied as it is (and checked). The TorchScript exporter is chosen
explicitly with ``dynamo=False``: it needs no onnxscript and handles every zoo model; the opset is
recorded in the manifest.

int8: the fp32 export is quantized statically by ONNX Runtime (QDQ, per-channel weights, calibrated
on seeded inputs; ``exporters/quantize.py``); the reference output stays PyTorch's fp32 one.
"""

from __future__ import annotations

import shutil

from . import stream
from .base import ExportedFiles, ExportJob, installed_version
from .options import CALIBRATION

SOURCE = "torch"
OPSET = 17
N_CALIB = 8  # calibration inputs for int8
OPTIONS = {"calibration": CALIBRATION}


def versions() -> dict:
    import onnx
    import torch

    out = {"torch": torch.__version__, "onnx": onnx.__version__}
    slim = installed_version("onnxslim")
    if slim is not None:
        out["onnxslim"] = slim
    return out


def _io(values) -> list:
    import onnx

    out = []
    for v in values:
        t = v.type.tensor_type
        out.append(
            {
                "name": v.name,
                "shape": [
                    d.dim_value if d.HasField("dim_value") else d.dim_param for d in t.shape.dim
                ],
                "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name,
            }
        )
    return out


def export(job: ExportJob) -> ExportedFiles:
    import onnx

    path = job.out_dir / job.file_name
    extra: dict = {}
    if job.ref.kind == "onnx":
        shutil.copyfile(job.ref.ref, path)
        extra["slimmed"] = False
        fixed = fix_shapes(path, job.ref.input_shape)
        if fixed:
            extra["fixed_dimensions"] = fixed
    else:
        import torch

        specs = stream.state_specs(job.model, job.ref.input_shape)  # [] but for stream models
        input_names, output_names = stream.io_names(specs)
        with torch.no_grad():
            torch.onnx.export(
                job.model,
                stream.example_args(job.model, job.ref.input_shape),
                str(path),
                dynamo=False,
                opset_version=OPSET,
                input_names=input_names,
                output_names=output_names,
                do_constant_folding=True,
            )
        if specs:
            extra["state"] = stream.declaration(specs)
        extra["slimmed"] = _slim(path, extra)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    inits = {i.name for i in model.graph.initializer}
    if job.precision == "int8":
        model = _quantize(
            path,
            _io([i for i in model.graph.input if i.name not in inits]),
            extra,
            job.options.get("calibration"),
        )
    extra["opset"] = max(
        (o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=None
    )
    extra["ops"] = sorted({n.op_type for n in model.graph.node})
    inputs = _io([i for i in model.graph.input if i.name not in inits])
    outputs = _io(model.graph.output)
    stream.check_declared(extra.get("state"), inputs, outputs)
    return ExportedFiles(inputs=inputs, outputs=outputs, extra=extra)


def fix_shapes(path, shape) -> dict:
    """Give the (single) input of the ONNX file at ``path`` the fixed ``shape`` where its
    dimensions are dynamic, and its outputs the shapes that follow (shape inference, or one run
    of ONNX Runtime where inference leaves them symbolic), so that every runtime and converter
    fed from the artifact sees static shapes. Returns {"input"/"output name": [dims before]}."""
    import onnx

    model = onnx.load(str(path))
    inits = {i.name for i in model.graph.initializer}
    (inp,) = [i for i in model.graph.input if i.name not in inits]

    def dynamic(value) -> bool:
        return any(
            not d.HasField("dim_value") or d.dim_value <= 0
            for d in value.type.tensor_type.shape.dim
        )

    changed: dict = {}
    if not dynamic(inp) and not any(dynamic(o) for o in model.graph.output):
        return changed
    before = [
        d.dim_value if d.HasField("dim_value") else d.dim_param
        for d in inp.type.tensor_type.shape.dim
    ]
    if dynamic(inp):
        changed[inp.name] = before
    for d, v in zip(inp.type.tensor_type.shape.dim, shape):
        d.Clear()
        d.dim_value = int(v)
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - fall back to running the model below
        inferred = model
    outputs = {o.name: o for o in inferred.graph.output}
    if any(dynamic(o) for o in outputs.values()):
        import numpy as np
        import onnxruntime as ort

        onnx.save(model, str(path))
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        x = np.zeros(tuple(int(v) for v in shape), dtype=np.float32)
        shapes = {
            o.name: v.shape for o, v in zip(sess.get_outputs(), sess.run(None, {inp.name: x}))
        }
    else:
        shapes = {
            n: [d.dim_value for d in o.type.tensor_type.shape.dim] for n, o in outputs.items()
        }
    for out in model.graph.output:
        if dynamic(out):
            changed[out.name] = [
                d.dim_value if d.HasField("dim_value") else d.dim_param
                for d in out.type.tensor_type.shape.dim
            ]
            dims = out.type.tensor_type.shape.dim
            del dims[:]
            for v in shapes[out.name]:
                dims.add().dim_value = int(v)
    onnx.save(model, str(path))
    return changed


def _quantize(path, inputs: list, extra: dict, calibration=None):
    """Replace the fp32 file at ``path`` by its int8 QDQ version; return the loaded int8 model."""
    import onnx

    from .quantize import calibration_option, quantize_onnx_int8

    if len(inputs) != 1 or not all(isinstance(d, int) for d in inputs[0]["shape"]):
        raise ValueError(
            f"int8 calibration needs one input with a fixed shape; the model has "
            f"{[(i['name'], i['shape']) for i in inputs]}"
        )
    fp32 = path.with_name(path.stem + ".fp32.onnx")
    path.rename(fp32)
    try:
        n_calib, clips = calibration_option(inputs[0]["shape"], calibration, N_CALIB)
        extra["quantization"] = quantize_onnx_int8(
            fp32, path, inputs[0]["name"], inputs[0]["shape"], n_calib, calib_inputs=clips
        )
    finally:
        fp32.unlink(missing_ok=True)
    return onnx.load(str(path))


def _slim(path, extra: dict) -> bool:
    """Simplify the graph with onnxslim; keep the plain export (and say why) if that fails."""
    try:
        import onnxslim
    except ImportError:
        extra["slim_skipped"] = "onnxslim not installed"
        return False
    try:
        slimmed = onnxslim.slim(str(path))
        import onnx

        onnx.save(slimmed, str(path))
        return True
    except Exception as e:  # noqa: BLE001 - the unslimmed model is still a valid result
        extra["slim_skipped"] = f"onnxslim failed: {type(e).__name__}: {e}"[:500]
        return False
