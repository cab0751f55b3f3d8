"""Post-training int8 quantization shared by the exporters (ONNX Runtime, OpenVINO, TensorRT).

Both quantizers calibrate on the same inputs: ``n_calib`` standard-normal tensors from
``runners.artifact.reference_input`` with seeds ``CALIB_SEED, CALIB_SEED + 1, ...`` -- the same
generator every runner uses for the numerics check, but different seeds, so the reference input
the result is checked on is never one the quantizer calibrated on. The zoo's models are randomly
initialised, so there is no data set to calibrate on; random inputs of the model's own shape give
activation ranges of the right order, which is what a latency profile needs. For real accuracy,
calibrate on real clips (``calib_inputs=``).

- ``quantize_onnx_int8``: ONNX Runtime static quantization, QDQ format, per-channel weights.
  ``symmetric=True`` (int8 activations and weights, zero points 0) gives the Q/DQ ONNX that
  TensorRT builds an explicitly quantized int8 engine from.
- ``quantize_openvino_int8``: NNCF post-training quantization of the OpenVINO model, saved as IR
  (FakeQuantize nodes + int8 weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from edgevid.runners.artifact import reference_input

CALIB_SEED = 20_000
DEFAULT_N_CALIB = 8


def calibration_inputs(shape, n_calib: int = DEFAULT_N_CALIB, seed: int = CALIB_SEED) -> list:
    """``n_calib`` seeded float32 inputs of ``shape`` (batch included)."""
    if n_calib < 1:
        raise ValueError(f"n_calib must be at least 1, got {n_calib}")
    return [reference_input(shape, seed + i) for i in range(n_calib)]


def user_clips(shape, option) -> list:
    """Calibration clips given by the user: a ``.npy``/``.npz`` file or an array of clips shaped
    ``(N, C, T, H, W)`` or ``(N, B, C, T, H, W)``, or a list of ``(B, C, T, H, W)`` arrays;
    each becomes a float32 array of ``shape`` (B, C, T, H, W)."""
    import numpy as np

    shape = tuple(int(v) for v in shape)
    if isinstance(option, (str, Path)):
        data = np.load(Path(option))
        if hasattr(data, "files"):  # .npz: every array in it
            data = np.concatenate([np.asarray(data[k]) for k in data.files])
        option = data
    arr = option if isinstance(option, (list, tuple)) else np.asarray(option)
    if isinstance(arr, (list, tuple)) or np.ndim(arr) == len(shape) + 1:
        items = list(arr)  # clips, or (N, B, C, T, H, W)
    elif np.ndim(arr) == len(shape) and shape[0] == 1:
        items = list(arr)  # (N, C, T, H, W) for a batch-1 model
    else:
        items = [arr]
    clips = []
    for clip in items:
        clip = np.asarray(clip, dtype=np.float32)
        if clip.shape == shape[1:]:
            clip = clip[None]
        if clip.shape != shape:
            raise ValueError(
                f"calibration clip of shape {list(clip.shape)}; the model takes "
                f"{list(shape)} (B, C, T, H, W)"
            )
        clips.append(clip)
    if not clips:
        raise ValueError("options['calibration'] holds no clips")
    return clips


def calibration_option(shape, option, n_default: int = DEFAULT_N_CALIB) -> tuple:
    """``(n_calib, calib_inputs or None)`` for the quantizers from ``job.options["calibration"]``:
    None (the default count of seeded inputs), a count, or the user's clips (:func:`user_clips`)."""
    if option is None:
        return n_default, None
    if isinstance(option, int) and not isinstance(option, bool):
        if option < 1:
            raise ValueError("options['calibration'] asks for 0 calibration clips")
        return option, None
    clips = user_clips(shape, option)
    return len(clips), clips


def _ort_reader(input_name: str, arrays: list):
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationDataReader):
        """Feeds the seeded inputs one by one; ``rewind`` lets a quantizer read them again."""

        def __init__(self):
            self._items = arrays
            self._it = iter(self._items)

        def get_next(self) -> Optional[dict]:
            x = next(self._it, None)
            return None if x is None else {input_name: x}

        def rewind(self) -> None:
            self._it = iter(self._items)

    return _Reader()


def quantize_onnx_int8(
    src_onnx,
    dst_onnx,
    input_name: str,
    shape,
    n_calib: int = DEFAULT_N_CALIB,
    *,
    symmetric: bool = False,
    calib_inputs: Optional[Iterable] = None,
) -> dict:
    """Static int8 quantization of ``src_onnx`` (fp32) into ``dst_onnx`` (QDQ, per-channel).

    ``symmetric=False`` (ONNX Runtime CPU's preferred scheme): uint8 asymmetric activations,
    int8 symmetric weights. ``symmetric=True``: int8 activations and weights, zero points 0, as
    TensorRT requires. Returns the settings used (for the manifest).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src, dst = Path(src_onnx), Path(dst_onnx)
    arrays = list(calib_inputs) if calib_inputs is not None else calibration_inputs(shape, n_calib)
    # ORT's recommended pre-processing (shape inference + graph optimisation) before quantizing;
    # it writes a new file beside the destination.
    pre = dst.with_name(dst.stem + ".preprocessed.onnx")
    try:
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        model_in = pre
    except Exception:  # noqa: BLE001 - pre-processing is an optimisation; quantize the original
        model_in = src
    act = QuantType.QInt8 if symmetric else QuantType.QUInt8
    extra = {"ActivationSymmetric": symmetric, "WeightSymmetric": True}
    try:
        quantize_static(
            str(model_in),
            str(dst),
            _ort_reader(input_name, arrays),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=act,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options=extra,
        )
    finally:
        pre.unlink(missing_ok=True)
        for leftover in dst.parent.glob("augmented_model*.onnx"):  # older ORT calibrators
            leftover.unlink(missing_ok=True)
    return {
        "quantizer": "onnxruntime.quantization.quantize_static",
        "format": "QDQ",
        "per_channel": True,
        "calibration": "MinMax",
        "activations": "int8 symmetric" if symmetric else "uint8 asymmetric",
        "weights": "int8 symmetric",
        "n_calib": len(arrays),
        "calib_inputs": "seeded standard normal" if calib_inputs is None else "user",
        "calib_seed": CALIB_SEED if calib_inputs is None else None,
    }


def quantize_openvino_int8(
    src_model_path,
    dst_xml,
    input_name: str,
    shape,
    n_calib: int = DEFAULT_N_CALIB,
    *,
    calib_inputs: Optional[Iterable] = None,
) -> dict:
    """NNCF post-training int8 quantization of an OpenVINO model, saved as IR at ``dst_xml``.

    ``src_model_path`` is an fp32 IR (.xml) -- read with ``ov.Core().read_model`` -- or an .onnx
    file, converted with ``ov.convert_model``. Returns the settings used (for the manifest).
    """
    import nncf
    import openvino as ov

    src = Path(src_model_path)
    model = ov.Core().read_model(str(src)) if src.suffix == ".xml" else ov.convert_model(str(src))
    arrays = list(calib_inputs) if calib_inputs is not None else calibration_inputs(shape, n_calib)
    dataset = nncf.Dataset(arrays, lambda x: {input_name: x})
    quantized = nncf.quantize(
        model, dataset, subset_size=len(arrays), preset=nncf.QuantizationPreset.PERFORMANCE
    )
    # Weights are int8 already; compress_to_fp16 would only touch the remaining fp32 constants.
    ov.save_model(quantized, str(dst_xml), compress_to_fp16=False)
    return {
        "quantizer": "nncf.quantize",
        "nncf": nncf.__version__,
        "preset": "performance",
        "source": src.suffix.lstrip("."),
        "n_calib": len(arrays),
        "calib_inputs": "seeded standard normal" if calib_inputs is None else "user",
        "calib_seed": CALIB_SEED if calib_inputs is None else None,
    }


def onnx_qdq_counts(path) -> dict:
    """How many QuantizeLinear / DequantizeLinear nodes an ONNX file holds."""
    import onnx

    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    return {
        "QuantizeLinear": ops.count("QuantizeLinear"),
        "DequantizeLinear": ops.count("DequantizeLinear"),
    }


def openvino_int8_counts(path) -> dict:
    """FakeQuantize ops and int8/uint8 constants in an OpenVINO IR."""
    import openvino as ov

    model = ov.Core().read_model(str(path))
    fq = int8 = 0
    for op in model.get_ops():
        kind = op.get_type_name()
        if kind == "FakeQuantize":
            fq += 1
        elif kind == "Constant" and op.get_output_element_type(0).get_type_name() in ("i8", "u8"):
            int8 += 1
    return {"FakeQuantize": fq, "int8_constants": int8}
