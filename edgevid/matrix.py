"""The op-support matrix: every model x format, converted (reusing cached artifacts), run once
and checked against PyTorch. Each cell is a result record with ``kind: "check"``: no timing, but
the same status, reason and numerics as a benchmark, so it is stored, indexed and reported like
any other result.
"""

from __future__ import annotations

import re
from typing import Optional

from edgevid.backends import get_backend
from edgevid.bench import BenchConfig, bench
from edgevid.profiles import FormatEntry

#: One inference after load: enough for the numerics check, no timing.
CHECK_TIMING = {
    "warmup_min": 0,
    "warmup_max": 0,
    "min_iters": 1,
    "min_time_s": 0.0,
    "max_time_s": 0.0,
}

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


def run_matrix(refs: list, profile, formats: list, cfg: BenchConfig, **callbacks) -> list:
    """Check every ref x (format, precision); returns the records (cells via :func:`cell`)."""
    cfg.policy = (cfg.policy or profile.timing).with_overrides(CHECK_TIMING)
    cfg.export_unrunnable = True
    cfg.kind = "check"
    entries = []
    for fmt, precision in formats:
        backend = get_backend(fmt)
        same = next((e for e in profile.formats if e.backend == backend), None)
        entries.append(
            FormatEntry(
                backend, precision, same.options if same else {}, same.export if same else {}
            )
        )
    return bench(refs, profile, entries, cfg, **callbacks)


def markdown(records: list) -> str:
    """The op-support grid and its notes as markdown (through the report model)."""
    from edgevid.report import to_markdown
    from edgevid.report.tables import LEGEND, matrix_notes, matrix_table

    table = matrix_table(records)
    table.caption = ""
    notes = matrix_notes(records)
    parts = [to_markdown.table(table)]
    if notes.lines:
        parts += ["Notes:", to_markdown.text(notes)]
    return "\n\n".join(parts + [LEGEND])
