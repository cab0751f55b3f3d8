"""OpenVINO exporter: IR (.xml + .bin) converted from the ONNX artifact.

fp32 keeps fp32 weights (``compress_to_fp16=False``: OpenVINO's save_model compresses by default);
fp16 stores fp16 weights. What the CPU computes in is a runtime matter, read back by the runner.
int8: NNCF post-training quantization of the converted model (FakeQuantize + int8 weights),
calibrated on seeded inputs (``exporters/quantize.py``; needs ``edgevid[quant]``).
"""

from __future__ import annotations

from . import stream
from .base import ExportedFiles, ExportJob, installed_version
from .options import CALIBRATION

SOURCE = "onnx"
N_CALIB = 8  # calibration inputs for int8
OPTIONS = {"calibration": CALIBRATION}


def versions() -> dict:
    import openvino

    out = {"openvino": openvino.get_version()}
    nncf = installed_version("nncf")  # int8 artifacts are quantized by NNCF
    if nncf is not None:
        out["nncf"] = nncf
    return out


def _io(ports, known=()) -> list:
    """Specs of ``ports``; a port with several tensor names is named by the one in ``known``
    (the ONNX artifact's names) where it has one."""
    out = []
    for p in ports:
        names = [n for n in known if n in p.get_names()]
        out.append(
            {
                "name": names[0] if names else p.get_any_name(),
                "shape": [int(d) for d in p.get_shape()],
                "dtype": p.get_element_type().to_dtype().name,
            }
        )
    return out


def export(job: ExportJob) -> ExportedFiles:
    import openvino as ov

    assert job.upstream_dir is not None and job.upstream_manifest is not None  # SOURCE = "onnx"
    onnx_path = job.upstream_dir / job.upstream_manifest["file"]
    model = ov.convert_model(str(onnx_path))
    path = job.out_dir / job.file_name
    extra = {
        "weights_file": path.with_suffix(".bin").name,
        "compressed_to_fp16": job.precision == "fp16",
    }
    if job.precision == "int8":
        from .quantize import calibration_option, quantize_openvino_int8

        inputs = _io(model.inputs)
        if len(inputs) != 1:
            raise ValueError(f"int8 calibration supports one input; the model has {len(inputs)}")
        n_calib, clips = calibration_option(
            inputs[0]["shape"], job.options.get("calibration"), N_CALIB
        )
        extra["quantization"] = quantize_openvino_int8(
            onnx_path, path, inputs[0]["name"], inputs[0]["shape"], n_calib, calib_inputs=clips
        )
        model = ov.Core().read_model(str(path))
    else:
        ov.save_model(model, str(path), compress_to_fp16=(job.precision == "fp16"))
    up = job.upstream_manifest
    inputs = _io(model.inputs, [s["name"] for s in up["inputs"]])
    outputs = _io(model.outputs, [s["name"] for s in up["outputs"]])
    if up.get("state"):
        extra["state"] = up["state"]
        stream.check_declared(up["state"], inputs, outputs)
    return ExportedFiles(inputs=inputs, outputs=outputs, extra=extra)
