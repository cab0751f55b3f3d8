"""Parsing TensorRT's and LiteRT's layer profiles, from files in tests/data (issue 13).

Neither trtexec nor benchmark_model is installed here, so none of these files is a recording
made by this project. They are written in the tools' formats as their sources print them:

- ``trtexec_profile_vidtr_tiny.json``: ``--exportProfile`` (NVIDIA/TensorRT
  samples/common/sampleReporting.cpp, ``Profiler::exportJSONProfile``: ``{ "count" : N }`` then
  ``name``/``timeMs``/``averageMs``/``percentage``), with vidtr-tiny's real ONNX node names joined
  the way TensorRT names fused layers in public trtexec profiles (``A + B``, ``PWN(A, B)``,
  ``{ForeignNode[A...B]}``, ``Reformatting CopyNode for Input Tensor 0 to X``, ``X copy``);
  the times are made up.
- ``trtexec_dump_profile.log``: ``--dumpProfile``'s table (``Profiler::print``, 10.x columns
  with ``Median Time (ms)``) behind trtexec's log prefix.
- ``benchmark_model_op_profile_tabs.txt`` / ``_xnnpack.txt``: ``--enable_op_profiling=true``
  output (tensorflow/lite/tools/benchmark/profiling_listener.cc, stats_calculator.cc): the older
  tab-separated layout with ``[start]`` and builtin ops named ``[tensor]:index``, and the newer
  space-padded one with XNNPACK kernels (``Delegate/Convolution (NHWC, F32) IGEMM:0``), row
  layout as in public benchmark_model logs; the times are made up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edgevid.runners.layers.litert import parse_op_profile
from edgevid.runners.layers.opclass import annotate, summarize
from edgevid.runners.layers.tensorrt import (
    layer_parts,
    parse_profile_json,
    parse_profile_text,
    to_layers,
)

DATA = Path(__file__).parent / "data"


def test_trtexec_export_profile():
    from edgevid.models import create_model

    parsed = parse_profile_json((DATA / "trtexec_profile_vidtr_tiny.json").read_text())
    assert parsed["count"] == 20 and len(parsed["layers"]) == 15
    assert parsed["layers"][1] == {"name": "/patch_embed/Conv", "ms": 0.08}
    layers = annotate(to_layers(parsed))
    modules = dict(create_model("vidtr-tiny").named_modules())
    by = {x["name"]: x for x in layers}
    for x in layers:
        assert x["module"] in modules, x
    assert by["/patch_embed/Conv"]["op_class"] == "convolution"
    assert by["Reformatting CopyNode for Input Tensor 0 to /patch_embed/Conv"]["op_class"] == (
        "data-movement"
    )
    assert by["Reformatting CopyNode for Input Tensor 0 to /patch_embed/Conv"]["module"] == (
        "patch_embed"
    )
    assert by["/blocks.0/attn/MatMul"]["op_class"] == "attention"
    assert by["PWN(/blocks.0/attn/Mul_3, /blocks.0/attn/Softmax)"]["op_class"] == "attention"
    assert by["/blocks.0/attn/qkv/MatMul_output_0"]["op_class"] == "linear"
    assert by["/blocks.0/attn/Transpose_4 copy"]["op_class"] == "data-movement"
    mlp = by["/blocks.0/mlp/mlp.0/MatMul_output_0 + PWN(/blocks.0/mlp/mlp.1/Relu)"]
    assert mlp["op_class"] == "linear" and mlp["module"] == "blocks.0.mlp.0"
    region = by["{ForeignNode[/blocks.1/norm1/LayerNormalization.../blocks.1/Add_2]}"]
    assert region["op_class"] == "other" and region["module"] == "blocks.1"
    total = summarize(layers, 0.65)
    assert total["sum_ms"] == pytest.approx(0.65) and total["within_bound"]


def test_trtexec_dump_profile_table():
    parsed = parse_profile_text((DATA / "trtexec_dump_profile.log").read_text())
    assert parsed["count"] == 20
    assert [x["ms"] for x in parsed["layers"]] == [0.01, 0.08, 0.03, 0.12]
    assert parsed["layers"][3]["name"].startswith("{ForeignNode[")


def test_trtexec_layer_names():
    assert layer_parts("/a/conv/Conv + PWN(PWN(/a/act/Sigmoid), /a/act/Mul)") == (
        "Fused",
        [("/a/conv/Conv", "Conv"), ("/a/act/Sigmoid", "Sigmoid"), ("/a/act/Mul", "Mul")],
    )
    assert layer_parts("/m/Add_output_0 copy") == ("Copy", [("/m/Add_output_0", "Copy")])


def test_trtexec_profile_with_unescaped_quote():
    text = (
        '[\n  { "count" : 4 }\n, { "name" : "/a/Conv "x"", "timeMs" : 0.8, '
        '"averageMs" : 0.2, "percentage" : 100 }\n]\n'
    )
    parsed = parse_profile_json(text)
    assert parsed["count"] == 4 and parsed["layers"] == [{"name": '/a/Conv "x"', "ms": 0.2}]


def test_benchmark_model_tab_layout():
    parsed = parse_op_profile((DATA / "benchmark_model_op_profile_tabs.txt").read_text())
    assert parsed["run_avg_ms"] == pytest.approx(4.12)
    names = [x["name"] for x in parsed["layers"]]
    assert names == [
        "x3d/stem/conv/Conv3D",
        "x3d/head/fc/MatMul",
        "vidtr/blocks.0/attn/Softmax",
        "x3d/Reshape",
        "x3d/head/pool/Mean",
    ]  # Initialization table skipped
    assert [x["ms"] for x in parsed["layers"]] == [2.0, 0.5, 0.25, 0.01, 1.24]
    layers = annotate(parsed["layers"])
    assert [x["op_class"] for x in layers] == [
        "convolution",
        "linear",
        "attention",
        "data-movement",
        "pooling",
    ]


def test_benchmark_model_xnnpack_layout():
    parsed = parse_op_profile((DATA / "benchmark_model_op_profile_xnnpack.txt").read_text())
    assert parsed["run_avg_ms"] == pytest.approx(1.005)
    rows = parsed["layers"]
    assert [x["op_type"] for x in rows][:3] == [
        "Convolution (NHWC, F32) IGEMM",
        "Convolution (NHWC, F32) DWConv",
        "Fully Connected (NC, F32)",
    ]
    assert rows[0]["calls"] == 13 and rows[0]["name"] == "Delegate/Convolution (NHWC, F32) IGEMM"
    classes = [x["op_class"] for x in annotate(rows)]
    assert classes == ["convolution", "convolution", "linear", "data-movement"]
    with pytest.raises(ValueError):
        parse_op_profile("no profile here")
