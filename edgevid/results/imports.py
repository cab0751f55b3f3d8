"""``edgevid import FILE --model M --device D``: another tool's measurement as an edgevid result.

The file's tool is recognised from its content (``edgevid.tools``: OpenVINO benchmark_app
statistics reports, trtexec --exportTimes JSON or a trtexec log, LiteRT benchmark_model output,
onnxruntime_perf_test output, the Xcode Core ML report JSON). The record has the bench record's
keys; what the tool does not report is None, and numerics are "not checked" (the tool ran on its
own input), so an imported result sits beside edgevid's but is never mistaken for one of them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from edgevid import __version__
from edgevid.backends import check_precision, get_backend
from edgevid.errors import UserError
from edgevid.runners.record import new_record
from edgevid.tools import TOOLS, module


def detect(text: str) -> str:
    for name in TOOLS:
        if module(name).detect(text):
            return name
    raise UserError(
        "could not tell which tool wrote this file: expected a benchmark_app "
        "statistics report (csv/json), trtexec --exportTimes JSON or log, "
        "benchmark_model output, onnxruntime_perf_test output or an Xcode report "
        "JSON (pass --tool to say which)"
    )


def import_file(
    path: Path,
    model: str,
    device: str,
    tool: Optional[str] = None,
    fmt: Optional[str] = None,
    precision: Optional[str] = None,
    threads: Optional[int] = None,
    input_shape: Optional[tuple] = None,
    variant: str = "",
) -> dict:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    text = path.read_text(errors="replace")
    name = tool or detect(text)
    aliases = {
        "trtexec": "trtexec_times",
        "onnxruntime_perf_test": "perf_test",
        "litert": "benchmark_model",
    }
    name = aliases.get(name, name)
    if name not in TOOLS:
        raise UserError(f"unknown tool {tool!r}; known: {', '.join(TOOLS)}")
    mod = module(name)
    try:
        parsed = mod.parse(text)
        got = mod.fields(parsed)
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(
            f"{path}: not a readable {mod.NAME} output ({type(e).__name__}: {e})"
        ) from None
    backend = get_backend(fmt or mod.FORMAT)
    prec = check_precision(backend, precision) if precision else backend.precisions[0]
    if input_shape is None:
        from edgevid.models.ref import resolve

        try:
            input_shape = resolve(model).input_shape
        except UserError:
            raise UserError(
                f"model {model!r} is not in the zoo: give its input with --input-shape C,T,H,W"
            ) from None
    summary = got.pop("summary")
    status = got.pop("status", "ok" if summary.get("p50") or summary.get("mean") else "error")
    env_extra = got.pop("env_extra", {})
    record = new_record(
        model=model,
        format=backend.name,
        precision=prec,
        device=device,
        input_shape=list(input_shape),
        threads=threads or got.pop("threads", None),
        status=status,
        reason="" if status == "ok" else f"{mod.NAME} reported no timing",
        summary=summary,
        samples_ms=got.pop("samples_ms", []),
        numerics={
            "max_abs_diff": None,
            "top1_agree": None,
            "ok": None,
            "reason": f"not checked: imported from {mod.NAME}, which ran its own input",
        },
        env={"tool": mod.NAME, "edgevid_version": __version__, **env_extra},
        variant=variant,
        kind="import",
        source=f"import:{mod.NAME}",
        imported_from=str(path),
        timing_source=got.pop("timing_source", mod.NAME),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    got.pop("threads", None)
    record.update({k: v for k, v in got.items() if v is not None})
    return record
