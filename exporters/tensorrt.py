"""TensorRT "exporter": the ONNX file plus the settings the engine is to be built with.

A TensorRT engine is specific to the GPU, the TensorRT version and the build settings, so it is
built on the target device (``runners/tensorrt.py``, cached there). The artifact holds the ONNX
file (a copy of the ONNX artifact; for int8 its Q/DQ-quantized version) and, in the manifest's
``build`` field, everything the build needs: precision flags, workspace size, input shapes (min =
opt = max = the fixed export shape), builder optimization level and the equivalent ``trtexec``
command. Exporting needs no TensorRT and no GPU.

Precisions:

- ``fp32``: no precision flags and TF32 off (``--noTF32``), so fp32 means fp32 on Ampere and later.
- ``fp16``: ``BuilderFlag.FP16`` (TensorRT picks fp16 or fp32 per layer, by speed).
- ``int8``: explicit quantization. The ONNX file is quantized on the host
  (``exporters.quantize.quantize_onnx_int8(symmetric=True)``: int8 Q/DQ, per-channel weights,
  zero points 0, as TensorRT requires); TensorRT places int8 kernels where the Q/DQ nodes say.
  ``INT8`` and ``FP16`` are both set so layers outside Q/DQ pairs may run in fp16. (Implicit
  quantization with a calibrator is deprecated since TensorRT 10.1.)
"""

from __future__ import annotations

import shutil

from edgevid.runners.trtexec import build_command, command_line

from .base import ExportedFiles, ExportJob
from .options import CALIBRATION

SOURCE = "onnx"
#: Bumped when the build settings below change, so cached artifacts are rebuilt.
BUILD_SETTINGS_VERSION = "1"
WORKSPACE_BYTES = 1 << 30  # 1 GiB: fits a Jetson Orin Nano (8 GB shared) and any desktop GPU
BUILDER_OPTIMIZATION_LEVEL = 3  # TensorRT's default
FLAGS = {"fp32": [], "fp16": ["FP16"], "int8": ["INT8", "FP16"]}
N_CALIB = 8
OPTIONS = {"calibration": CALIBRATION}


def versions() -> dict:
    out = {"tensorrt_build_settings": BUILD_SETTINGS_VERSION}
    try:  # int8 artifacts are quantized with ONNX Runtime's quantizer on the host
        import onnxruntime

        out["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    return out


def build_settings(precision: str, inputs: list, file_name: str = "model.onnx") -> dict:
    """The engine build settings for ``precision`` and the (fixed-shape) ``inputs`` specs."""
    if precision not in FLAGS:
        raise ValueError(f"TensorRT precision must be one of {', '.join(FLAGS)}, got {precision!r}")
    shapes = {}
    for spec in inputs:
        dims = [int(d) for d in spec["shape"]]  # a symbolic dim fails here: export fixes shapes
        shapes[spec["name"]] = {"min": dims, "opt": dims, "max": dims}
    build = {
        "precision": precision,
        "builder_flags": list(FLAGS[precision]),
        "tf32": precision != "fp32",
        "explicit_quantization": precision == "int8",
        "workspace_bytes": WORKSPACE_BYTES,
        "builder_optimization_level": BUILDER_OPTIMIZATION_LEVEL,
        "input_shapes": shapes,
    }
    build["trtexec"] = command_line(build_command(file_name, "model.engine", build))
    return build


def export(job: ExportJob) -> ExportedFiles:
    assert job.upstream_dir is not None and job.upstream_manifest is not None  # SOURCE = "onnx"
    upstream = job.upstream_manifest
    src = job.upstream_dir / upstream["file"]
    dst = job.out_dir / job.file_name
    inputs = [dict(i) for i in upstream["inputs"]]
    extra: dict = {}
    if job.precision == "int8":
        from .quantize import calibration_option, quantize_onnx_int8

        if len(inputs) != 1:
            raise ValueError(f"int8 calibration supports one input; the model has {len(inputs)}")
        n_calib, clips = calibration_option(
            inputs[0]["shape"], job.options.get("calibration"), N_CALIB
        )
        extra["quantization"] = quantize_onnx_int8(
            src,
            dst,
            inputs[0]["name"],
            inputs[0]["shape"],
            n_calib,
            symmetric=True,
            calib_inputs=clips,
        )
    else:
        shutil.copyfile(src, dst)
    extra["build"] = build_settings(job.precision, inputs, job.file_name)
    if "opset" in upstream:
        extra["opset"] = upstream["opset"]
    if upstream.get("state"):  # a stream model: the engine's state bindings, carried by the runner
        extra["state"] = upstream["state"]
    return ExportedFiles(inputs=inputs, outputs=[dict(o) for o in upstream["outputs"]], extra=extra)
