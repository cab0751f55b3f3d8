"""OpenVINO runner: an IR (.xml + .bin) artifact on an OpenVINO device (CPU by default).

Latency mode: PERFORMANCE_HINT=LATENCY with one stream. OpenVINO runs fp32 models in bf16 on CPUs
that have it unless told otherwise, so an fp32 artifact sets INFERENCE_PRECISION_HINT=f32; the
precision actually used is read back from the compiled model and stored.
"""

from __future__ import annotations

from pathlib import Path

from .session import Session as BaseSession

NAME = "openvino"


def version() -> str:
    import openvino

    return openvino.get_version()


class Session(BaseSession):
    def __init__(self, request, settings: dict):
        self._request = request
        self.settings = settings

    def infer(self, inputs: dict) -> list:
        result = self._request.infer(inputs)
        return [result[port] for port in self._request.model_outputs]


def load(artifact_dir, manifest: dict, options) -> Session:
    import openvino as ov

    core = ov.Core()
    device = options.device or "CPU"
    config: dict = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1"}
    if options.threads:
        config["INFERENCE_NUM_THREADS"] = int(options.threads)
    if manifest["precision"] == "fp32":
        config["INFERENCE_PRECISION_HINT"] = "f32"
    compiled = core.compile_model(str(Path(artifact_dir) / manifest["file"]), device, config)
    settings = {"device": device}
    for key in (
        "INFERENCE_PRECISION_HINT",
        "INFERENCE_NUM_THREADS",
        "NUM_STREAMS",
        "PERFORMANCE_HINT",
    ):
        try:
            value = compiled.get_property(key)
        except RuntimeError:
            value = None
        settings[key] = (
            value.to_string()
            if hasattr(value, "to_string")
            else (None if value is None else str(value))
        )
    return Session(compiled.create_infer_request(), settings)
