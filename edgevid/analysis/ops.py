"""Op support: what a check run (the op-support matrix's cell) says about a model x format --
ok, numerics outside tolerance, converted but runs elsewhere, failed -- and the operator a
converter's or runtime's error message names."""

from __future__ import annotations

import re
from typing import Optional

# Converter and runtime messages that name the operator that broke, most specific first.
_OP_PATTERNS = (
    r"operator '?([\w:.]+)'? to ONNX opset version \d+ is not supported",
    r"[Dd]id ?n[o']t find op for builtin opcode '(\w+)'",
    r"TF Select ops: ([\w, ]+?)\.",
    r'with type "(\w+)", outputs a rank \d+ tensor',
    r"convert function for op '(\w+)' not implemented",
    r"[Uu]nsupported (?:ONNX )?op(?:erator)?(?: type)?[:= ]+'?([\w:./]+)'?",
    r"No conversion rule found for operations?:?\s*'?([\w:./-]+)",
    r"OpConversionFailure.*?'([\w.:/-]+)'",
    r"[Nn]ot implemented (?:for|op)[: ]+'?([\w:.]+)'?",
    r"(aten::[\w.]+)",
    r"op(?:erator)? ['\"]?([A-Z][\w]+)['\"]? (?:is )?not supported",
    r"node (?:type )?['\"]?([A-Z][\w]+)['\"]?",
)


def failing_op(message: str) -> Optional[str]:
    """The operator a converter or runtime error message names, if any."""
    for pattern in _OP_PATTERNS:
        m = re.search(pattern, message or "")
        if m:
            return m.group(1)
    return None


def cell(record: dict) -> dict:
    """Classify one check record: ok / numerics / converted / failed, with the op that broke."""
    status, reason = record["status"], record.get("reason") or ""
    numerics = record.get("numerics") or {}
    if status == "ok":
        verdict = "ok" if numerics.get("ok") else "numerics"
        note = (
            f"Δ {numerics['max_abs_diff']:.1e}, top-1 {numerics.get('top1_agree', 0):.0%}"
            if numerics.get("max_abs_diff") is not None
            else "no reference"
        )
    elif status == "unsupported" and record.get("artifact_dir"):
        verdict, note = "converted", reason  # converted, but it runs elsewhere (e.g. macOS)
    elif status == "unsupported":
        verdict, note = "unsupported", reason
    else:
        verdict = "export-failed" if status == "export-failed" else "run-failed"
        op = failing_op(reason)
        note = (f"op {op}: " if op else "") + reason
    return {
        "model": record["model"],
        "format": record["format"],
        "precision": record["precision"],
        "verdict": verdict,
        "note": note[:400],
        "op": failing_op(reason) if verdict.endswith("failed") else None,
    }
