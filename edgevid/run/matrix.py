"""The op-support matrix: every model x format, converted (reusing cached artifacts), run once
and checked against PyTorch. Each cell is a result record with ``kind: "check"``: no timing, but
the same status, reason and numerics as a benchmark, so it is stored, indexed and reported like
any other result.
"""

from __future__ import annotations

from edgevid.backends import get_backend
from edgevid.run.bench import BenchConfig, bench
from edgevid.run.profiles import FormatEntry

#: One inference after load: enough for the numerics check, no timing.
CHECK_TIMING = {
    "warmup_min": 0,
    "warmup_max": 0,
    "min_iters": 1,
    "min_time_s": 0.0,
    "max_time_s": 0.0,
}


def run_matrix(refs: list, profile, formats: list, cfg: BenchConfig, **callbacks) -> list:
    """Check every ref x (format, precision); returns the records (cells via
    ``edgevid.analysis.ops.cell``)."""
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
