"""Reports built from result records only; nothing is re-run.

Markdown: one table row per result, grouped by device, with the counting and timing conventions
stated under the table.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from edgevid.models.stats import COUNTING_CONVENTION

COLUMNS = ("model", "format", "precision", "variant", "device", "input", "threads", "status", "p50 ms",
           "95% CI of p50", "mean ± std", "p90", "n", "warm-up", "load ms", "first ms", "peak RSS MB",
           "size MB", "numerics")


def _f(v, digits: int = 2) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _numerics(r: dict) -> str:
    n = r.get("numerics") or {}
    if n.get("max_abs_diff") is None:
        return "—"
    mark = "ok" if n.get("ok") else "**FAIL**"
    return f"{mark} (Δ {n['max_abs_diff']:.1e}, top-1 {n.get('top1_agree', 0):.0%})"


def row(r: dict) -> list:
    s = r.get("summary") or {}
    shape = "x".join(str(v) for v in (r.get("input_shape") or [])[1:])
    status = r["status"] if r["status"] == "ok" else f"**{r['status']}**"
    if r["status"] == "ok" and r.get("stop_reason") not in (None, "converged"):
        status += f" ({r['stop_reason']})"
    if r.get("throttled"):
        status += " **throttled**"
    ci = f"{_f(s.get('ci95_low'))}–{_f(s.get('ci95_high'))}" if s else "—"
    mean = f"{_f(s.get('mean'))} ± {_f(s.get('std'))}" if s else "—"
    size = r.get("artifact_bytes")
    prec = r["precision"]
    used = (r.get("runtime_settings") or {}).get("INFERENCE_PRECISION_HINT")
    if used:
        prec += f" (runs {used})"
    return [r["model"], r["format"], prec, r.get("variant") or "—", r.get("device") or "—", shape,
            str(r.get("threads") or "default"), status, _f(s.get("p50")), ci, mean,
            _f(s.get("p90")), str(s.get("n", "—")), str(r.get("warmup_iters", "—")),
            _f(r.get("load_ms"), 1),
            _f(r.get("first_inference_ms"), 1), _f(r.get("peak_rss_mb"), 0),
            _f(size / 2**20 if size else None, 2), _numerics(r)]


def _esc(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def latest_checks(records: list) -> list:
    """The newest op-support check per (device, model, format, precision)."""
    latest = {}
    for r in sorted((r for r in records if r.get("kind") == "check"),
                    key=lambda r: r.get("created_at") or ""):
        latest[(r.get("device"), r["model"], r["format"], r["precision"], r.get("variant"))] = r
    return list(latest.values())


def markdown(records: list, title: str = "edgevid report") -> str:
    from edgevid import matrix

    checks = latest_checks(records)
    records = sorted((r for r in records if r.get("kind", "bench") == "bench"), key=lambda r: (r.get("device") or "", r["model"], r["format"],
                                             r["precision"], r.get("threads") or 0))
    lines = [f"# {title}", "",
             f"{len(records)} benchmark results; generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC "
             f"from result files only.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in records:
        lines.append("| " + " | ".join(_esc(c) for c in row(r)) + " |")
    failures = [r for r in records if r["status"] != "ok"]
    if failures:
        lines += ["", "## Failures", ""]
        for r in failures:
            lines.append(f"- **{r['model']} / {r['format']} {r['precision']} on "
                         f"{r.get('device')}** — {r['status']}: {_esc(r.get('reason') or '')}")
    envs: dict = {}
    runtimes: dict = {}
    for r in records:
        env = r.get("env") or {}
        if env.get("host"):
            key = (r.get("device"), env.get("host"))
            envs[key] = env
            runtimes.setdefault(key, {}).update(env.get("runtimes") or {})
    if envs:
        lines += ["", "## Environments", ""]
        for key, env in envs.items():
            versions = ", ".join(f"{k} {v}" for k, v in sorted(runtimes[key].items()))
            lines.append(f"- **{key[0]}** on `{key[1]}`: {env.get('cpu_model')}, "
                         f"{env.get('cores_logical')} logical cores, {env.get('os')}, Python "
                         f"{env.get('python')}, governor {env.get('governor') or 'not available'}"
                         f"; runtimes: {versions or 'none recorded'}"
                         f"; edgevid {env.get('edgevid_version')} ({env.get('git_revision')})")
    if checks:
        lines += ["", "## Op-support matrix", "", matrix.markdown(checks)]
    lines += ["", "## How to read this", "",
              "- Latency is per inference, batch as in `input`, measured with `perf_counter_ns` "
              "around each call after warm-up; p50 is the median, its 95% CI is the "
              "order-statistic interval. `n` is the number of timed iterations, `warm-up` the "
              "iterations run before timing until times stopped trending; a run that reached its "
              "time or iteration cap before its CI target says so in `status`.",
              "- `load ms` is model load/compile; `first ms` is the cold first inference, kept out "
              "of the samples.",
              "- `numerics` compares the first output with PyTorch's on a fixed seeded input: max "
              "abs difference and top-1 agreement.",
              f"- Model size conventions: {COUNTING_CONVENTION}.", ""]
    return "\n".join(lines)


def write_markdown(records: list, path, title: Optional[str] = None) -> None:
    from pathlib import Path

    from edgevid.runners.record import write_atomic

    write_atomic(Path(path), markdown(records, title or "edgevid report"))
