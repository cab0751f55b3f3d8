"""OpenVINO exporter: IR (.xml + .bin) converted from the ONNX artifact.

fp32 keeps fp32 weights (``compress_to_fp16=False``: OpenVINO's save_model compresses by default);
fp16 stores fp16 weights. What the CPU computes in is a runtime matter, read back by the runner.
"""
from __future__ import annotations

from .base import ExportedFiles, ExportJob

SOURCE = "onnx"


def versions() -> dict:
    import openvino

    return {"openvino": openvino.get_version()}


def _io(ports) -> list:
    out = []
    for p in ports:
        out.append({"name": p.get_any_name(), "shape": [int(d) for d in p.get_shape()],
                    "dtype": p.get_element_type().to_dtype().name})
    return out


def export(job: ExportJob) -> ExportedFiles:
    import openvino as ov

    onnx_path = job.upstream_dir / job.upstream_manifest["file"]
    model = ov.convert_model(str(onnx_path))
    path = job.out_dir / job.file_name
    ov.save_model(model, str(path), compress_to_fp16=(job.precision == "fp16"))
    return ExportedFiles(inputs=_io(model.inputs), outputs=_io(model.outputs),
                         extra={"weights_file": path.with_suffix(".bin").name,
                                "compressed_to_fp16": job.precision == "fp16"})
