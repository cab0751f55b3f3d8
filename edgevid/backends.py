"""The one backend table: every target format edgevid exports to and runs.

The CLI (`--to` choices, `edgevid formats`), the `--all` matrix, the docs and the "missing backend"
errors all read this table; nothing lists backends a second time. A row names the exporter module
(``edgevid.exporters.<exporter>``) that writes the format and the runner module
(``edgevid.runners.<runner>``) that loads and calls it.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import shutil
from dataclasses import dataclass
from typing import Mapping, Optional

from edgevid.errors import MissingBackend, UserError


def _available(name: str) -> bool:
    """An importable module, or with a "bin:" prefix an executable on PATH."""
    if name.startswith("bin:"):
        return shutil.which(name[4:]) is not None
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a broken or blocked install counts as missing
        return False


@dataclass(frozen=True)
class Backend:
    name: str  # format name, as in `--to NAME` and in results' `format`
    suffix: str  # the model file's suffix inside the artifact folder
    exporter: str  # module under edgevid.exporters
    source: str  # what the exporter converts from: "torch" or another format's name
    runner: str  # module under edgevid.runners
    extra: str  # pip extra that installs what the runner needs
    packages: tuple  # import names the runner needs; "a|b": either will do; "bin:x": a program
    precisions: tuple  # supported precisions, default first
    devices: tuple  # where the runner executes
    aliases: tuple = ()  # other names accepted by `--to` (e.g. the runtime's name)
    description: str = ""

    @property
    def file_name(self) -> str:
        return "model" + self.suffix

    def export_options(self) -> dict:
        """The options this format's exporter declares (``exporters.options.Option`` by name)."""
        module = importlib.import_module(f"edgevid.exporters.{self.exporter}")
        return dict(module.OPTIONS)

    def check_export_options(self, given: Mapping, precision: Optional[str] = None) -> dict:
        """``given`` checked against :meth:`export_options` (ValueError names the option)."""
        from edgevid.exporters.options import check

        return check(self.name, self.export_options(), given, precision)

    def missing_packages(self) -> list:
        return [p for p in self.packages if not any(_available(a) for a in p.split("|"))]

    def require(self) -> None:
        missing = self.missing_packages()
        if missing:
            raise MissingBackend(self.name, missing[0], self.extra)


BACKENDS: tuple = (
    Backend(
        "pytorch",
        ".pt",
        exporter="pytorch",
        source="torch",
        runner="pytorch",
        extra="torch",
        packages=("torch",),
        precisions=("fp32",),
        devices=("cpu",),
        aliases=("torch", "eager"),
        description="PyTorch eager on the host: the reference every other format is checked against",
    ),
    Backend(
        "onnx",
        ".onnx",
        exporter="onnx",
        source="torch",
        runner="onnxruntime",
        extra="onnx",
        packages=("onnxruntime",),
        precisions=("fp32", "int8"),
        devices=("cpu",),
        aliases=("onnxruntime", "ort"),
        description="ONNX (torch.onnx.export + onnxslim), run by ONNX Runtime",
    ),
    Backend(
        "openvino",
        ".xml",
        exporter="openvino",
        source="onnx",
        runner="openvino",
        extra="openvino",
        packages=("openvino",),
        precisions=("fp32", "fp16", "int8"),
        devices=("cpu",),
        aliases=("ov",),
        description="OpenVINO IR converted from the ONNX file, run by OpenVINO Runtime",
    ),
    Backend(
        "tflite",
        ".tflite",
        exporter="tflite",
        source="torch",
        runner="litert",
        extra="tflite",
        packages=("ai_edge_litert|tflite_runtime",),
        precisions=("fp32", "fp16", "int8-dynamic", "int8"),
        devices=("cpu",),
        aliases=("litert", "tfl"),
        description="TFLite flatbuffer converted by litert-torch, run by LiteRT (XNNPACK)",
    ),
    Backend(
        "coreml",
        ".mlpackage",
        exporter="coreml",
        source="torch",
        runner="coreml",
        extra="coreml",
        packages=("coremltools",),
        precisions=("fp16", "fp32"),
        devices=("cpu", "gpu", "ane"),
        aliases=("mlpackage",),
        description="Core ML mlprogram converted by coremltools; predicts on macOS/iOS only",
    ),
    Backend(
        "tensorrt",
        ".onnx",
        exporter="tensorrt",
        source="onnx",
        runner="tensorrt",
        extra="tensorrt",
        packages=("tensorrt|bin:trtexec",),
        precisions=("fp16", "fp32", "int8"),
        devices=("cuda",),
        aliases=("trt",),
        description="ONNX + build settings; the engine is built and cached on the target GPU",
    ),
)

_BY_NAME = {b.name: b for b in BACKENDS}
_BY_ALIAS = {a: b for b in BACKENDS for a in (b.name, *b.aliases)}


def names() -> list:
    return [b.name for b in BACKENDS]


def get_backend(name: str) -> Backend:
    b = _BY_ALIAS.get(name.lower())
    if b is None:
        close = difflib.get_close_matches(name.lower(), list(_BY_ALIAS), n=2, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UserError(f"unknown format {name!r}.{hint} Valid formats: {', '.join(names())}")
    return b


def check_precision(backend: Backend, precision: str) -> str:
    if precision not in backend.precisions:
        raise UserError(
            f"format {backend.name!r} does not support precision {precision!r}; "
            f"supported: {', '.join(backend.precisions)}"
        )
    return precision
