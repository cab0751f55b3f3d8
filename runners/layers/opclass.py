"""Map a runtime's layer to the PyTorch module it came from and to an op class. Standard library.

Module path. The ONNX exporter names each node after the module scope it was traced in, slash
separated, with the op last: ``/blocks.0/attn/MatMul`` is a MatMul in module ``blocks.0.attn``
(the dotted path of ``model.named_modules()``; ``""`` is the model itself, e.g. ``/Reshape``).
OpenVINO keeps those names (its fused nodes list them in ``originalLayersNames``), TensorRT
keeps them too (a fused layer is ``A + B``, a Myelin region ``{ForeignNode[A...B]}``), ONNX
Runtime's fused nodes keep the name of the node they replace or one of a few fusion names.
PyTorch's own profile is per module already.

Op class, from the op type and the module (first match):

* ``attention``: Softmax anywhere; an activation-by-activation product (MatMul, Einsum, batched
  matmul) whose module is not a leaf of the graph -- a functional ``q @ k.T`` or ``attn @ v``
  in a module's forward, where a Linear is a leaf module of its own (``.../qkv/MatMul``) --, and
  element-wise ops (scaling, masking: Mul, Div, Add, Where, ...) in an attention module (its path
  ends in one of :data:`ATTENTION_SCOPES`);
* ``convolution``, ``linear`` (MatMul / Gemm / fully connected in a leaf module), ``normalisation``
  (norm ops, and the element-wise / reduce ops of a decomposed norm inside a norm module),
  ``pooling``, ``elementwise`` (arithmetic and activations), ``data-movement`` (reshape,
  transpose, concat, gather, slice, copies and reorders), else ``other``.

A fused layer (several original ops) takes the class that ranks first in :data:`PRIORITY`.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

from .optypes import (  # the op-type tables
    _CONV_WORDS,
    _ELTWISE,
    _LINEAR,
    _MATMUL,
    _MOVE,
    _NORM,
    _OPLIKE,
    _POOL_WORDS,
    _REDUCE,
    _SCALE_MASK,
    _SOFTMAX,
)

OP_CLASSES = (
    "attention",
    "convolution",
    "linear",
    "normalisation",
    "elementwise",
    "data-movement",
    "pooling",
    "other",
)
PRIORITY = (
    "attention",
    "convolution",
    "linear",
    "normalisation",
    "pooling",
    "elementwise",
    "data-movement",
    "other",
)

#: Last module-path component of an attention module (the zoo's families: VidTr ``attn``,
#: VTN ``attn``/``attention``, Mobile-Former's bridges and token mixer ``to_former``, ``former``,
#: ``to_mobile``); a user's model with other names still gets its Softmax and its functional
#: matmuls classed as attention.
ATTENTION_SCOPES = (
    "attn",
    "attention",
    "self_attn",
    "cross_attn",
    "mhsa",
    "msa",
    "to_former",
    "former",
    "to_mobile",
    "mobile2former",
    "former2mobile",
    "token_mixer",
)
NORM_SCOPE = re.compile(r"(^|[._])(norm\d*|ln\d*|bn\d*|layernorm|batchnorm|gn)$", re.IGNORECASE)


def module_path(name: str) -> Optional[str]:
    """The dotted module path in an ONNX-style node name, ``""`` for a top-level op, ``None``
    when the name carries no scope (no ``/``).

    The scope is the leading components up to the first one that starts with a capital letter
    -- the ONNX op (``MatMul_1``) or a runtime's suffix after it (ONNX Runtime's
    ``/blocks.0/attn/MatMul/MatMulScaleFusion/``, OpenVINO's ``/patch_embed/Conv/WithoutBiases``):
    PyTorch attribute names are lower case by convention. The exporter names a child of a
    container after the container (``/blocks.0/mlp/mlp.0/MatMul`` is module ``blocks.0.mlp.0``),
    so a component that extends the one before it replaces it."""
    name = (name or "").strip()
    if "/" not in name:
        return None
    parts = [p for p in name.split("/") if p]
    scope = []
    for p in parts:
        if _OPLIKE.match(p):
            break
        scope.append(p)
    else:
        scope = parts[:-1]
    mod: list = []
    for p in scope:  # a container's child is named from its parent: /mlp/mlp.0/ is mlp.0
        if mod and p.startswith(mod[-1] + "."):
            mod[-1] = p
        else:
            mod.append(p)
    return ".".join(mod)


_FOREIGN = re.compile(r"^\{?ForeignNode\[(.*)\]\}?$")


def originals(name: str) -> list:
    """Original node names in a runtime's layer name: TensorRT ``A + B`` fusions and
    ``{ForeignNode[A...B]}`` regions (first and last node), else the name itself."""
    name = (name or "").strip()
    m = _FOREIGN.match(name)
    if m:
        return [p for p in m.group(1).split("...") if p]
    if " + " in name:
        return [p.strip() for p in name.split(" + ") if p.strip()]
    return [name]


def common_module(paths: Iterable[Optional[str]]) -> Optional[str]:
    """The deepest module path all given paths share (``None`` if none carries a scope)."""
    known = [p.split(".") if p else [] for p in paths if p is not None]
    if not known:
        return None
    out = []
    for parts in zip(*known):
        if len(set(parts)) != 1:
            break
        out.append(parts[0])
    return ".".join(out)


def _norm_type(op_type: str) -> str:
    t = (op_type or "").strip().lower()
    t = re.sub(r"^(aten::|onnx::|nn\.|torch\.nn\.|com\.microsoft::)", "", t)
    return re.sub(r"[_\s]*(\(.*\)|v\d+|_\d+|\d+d)$", "", t) if t not in _NORM else t


def _leaf(path: Optional[str]) -> str:
    return (path or "").rsplit(".", 1)[-1].lower()


def is_attention_scope(path: Optional[str]) -> bool:
    return _leaf(path) in ATTENTION_SCOPES


def classify(op_type: str, module: Optional[str], non_leaf: Optional[set] = None) -> str:
    """The op class of one (original) op; ``non_leaf``: module paths that have sub-modules in
    the same graph (a matmul in such a module is a functional one)."""
    raw = (op_type or "").strip().lower()
    t = _norm_type(op_type)
    if t in _SOFTMAX or "softmax" in raw:
        return "attention"
    if t in _MATMUL or raw in _MATMUL:
        functional = module is not None and non_leaf is not None and module in non_leaf
        if functional or is_attention_scope(module):
            return "attention"
        return "linear"
    if t in _LINEAR or raw in _LINEAR or raw.startswith(("fully connected", "fully_connected")):
        return "linear"
    if any(w in raw for w in _CONV_WORDS):
        return "convolution"
    if t in _NORM or raw in _NORM or "norm" in raw:
        return "normalisation"
    in_norm = bool(module) and bool(NORM_SCOPE.search(_leaf(module)))
    if any(w in raw for w in _POOL_WORDS):
        return "pooling"
    if t in _REDUCE or raw in _REDUCE:
        return "normalisation" if in_norm else "pooling"
    if t in _MOVE or raw in _MOVE or raw.startswith(("reformat", "copy", "reshape", "shuffle")):
        return "data-movement"
    if t in _ELTWISE or raw in _ELTWISE:
        if t in _SCALE_MASK and is_attention_scope(module):
            return "attention"
        if in_norm:
            return "normalisation"
        return "elementwise"
    return "other"


def pick(classes: Iterable[str]) -> str:
    """The class of a fused layer: the highest-priority class among its original ops."""
    got = set(classes)
    return next((c for c in PRIORITY if c in got), "other")


def non_leaf_modules(paths: Iterable[Optional[str]]) -> set:
    """Module paths that are a proper prefix of another observed path (and the root, if any
    scoped path was seen)."""
    seen = {p for p in paths if p is not None}
    out = set()
    for p in seen:
        parts = p.split(".") if p else []
        for i in range(len(parts)):
            out.add(".".join(parts[:i]))
    return out


def annotate(layers: list) -> list:
    """Fill ``module``, ``module_source`` and ``op_class`` of each layer dict in place.

    Each layer has ``name`` and ``op_type``; optional ``originals``: [(name, op_type)] of the
    original ops a fused layer came from (OpenVINO), else they are read from the name; optional
    ``near_modules``: module paths of its nearest scoped neighbours in the runtime's graph, used
    when its own names carry no scope. A layer that comes with ``module`` (PyTorch) keeps it.
    Left without a scope, a layer takes the deepest module its neighbours in execution order
    share (``module_source: "execution order"``).
    """

    def parts(layer):
        if layer.get("originals"):
            return [(n, t or layer.get("op_type")) for n, t in layer["originals"]]
        names = originals(layer["name"])
        return [
            (n, layer.get("op_type") if len(names) == 1 else _guess_type(n, layer)) for n in names
        ]

    split = []
    for layer in layers:
        ps = parts(layer)
        paths = [module_path(n) for n, _ in ps]
        if layer.get("module") is not None:
            layer.setdefault("module_source", "runtime")
        else:
            # the primary op of a fusion: the one the layer is named after, else the first
            primary = next(
                (p for (n, _), p in zip(ps, paths) if n == layer["name"]),
                paths[0] if paths else None,
            )
            region = layer.get("op_type") == "ForeignNode"
            layer["module"] = (
                primary if primary is not None and not region else common_module(paths)
            )
            layer["module_source"] = "name"
            if layer["module"] is None and layer.get("near_modules"):
                layer["module"] = common_module(layer["near_modules"])
                layer["module_source"] = "graph neighbours"
        split.append((ps, paths))
    for i, layer in enumerate(layers):
        if layer["module"] is None:
            before = next(
                (x["module"] for x in reversed(layers[:i]) if x["module"] is not None), None
            )
            after = next((x["module"] for x in layers[i + 1 :] if x["module"] is not None), None)
            layer["module"] = common_module([m for m in (before, after) if m is not None])
            layer["module_source"] = "execution order" if layer["module"] is not None else None
    non_leaf = non_leaf_modules(
        [x["module"] for x in layers] + [p for _, paths in split for p in paths]
    )
    for layer, (ps, paths) in zip(layers, split):
        if layer.get("op_class"):
            continue
        layer["op_class"] = pick(
            classify(t, p if p is not None else layer["module"], non_leaf)
            for (_, t), p in zip(ps, paths)
        )
        layer.pop("near_modules", None)
    return layers


def op_of(name: str) -> str:
    """The ONNX op in a node name: the first component after the module scope, without its
    counter (``/blocks.0/conv/Conv_1/WithoutBiases`` -> ``Conv``); ``""`` if there is none."""
    for part in (name or "").split("/"):
        if _OPLIKE.match(part):
            return re.sub(r"(_output)?(_\d+)+$", "", part)
    return ""


def _guess_type(name: str, layer: dict) -> str:
    """The op type of one original in a fused name (see :func:`op_of`), else the layer's."""
    return op_of(name) or layer.get("op_type") or ""


def summarize(layers: list, end_to_end_ms: Optional[float], bound: float = 0.15) -> dict:
    """Sum, op-class totals and shares, and the check of the sum against the end-to-end time."""
    total = sum(x["ms"] for x in layers)
    by_class = {c: 0.0 for c in OP_CLASSES}
    for x in layers:
        by_class[x["op_class"]] = by_class.get(x["op_class"], 0.0) + x["ms"]
    ratio = total / end_to_end_ms if end_to_end_ms else None
    return {
        "sum_ms": total,
        "by_class": by_class,
        "shares": {c: (v / total if total else 0.0) for c, v in by_class.items()},
        "end_to_end_ms": end_to_end_ms,
        "sum_ratio": ratio,
        "bound": bound,
        "within_bound": None if ratio is None else abs(ratio - 1) <= bound,
        "unmapped": sum(1 for x in layers if x.get("module") is None),
    }
