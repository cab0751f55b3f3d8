"""Build the report model from result records (files or the SQLite index); nothing is re-run.

``results_report``: grouped by device, then model class; each device's environment once; the
failures with their reasons; the op-support matrix of ``check`` records; figures per device.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Optional

from edgevid.report import figures as fig
from edgevid.report.columns import REPORT, flat_table, result_table, short_reason
from edgevid.report.facts import OTHER, of_record
from edgevid.report.model import Cell, Column, Report, Section, Table, Text
from edgevid.results.select import newest


def load_records(paths: Iterable = (), db=None) -> list:
    """Result records from files/folders and, if given, every record of an index (a SQLite file
    or a database URL)."""
    from edgevid.results import store

    records = store.load_all(paths) if paths else []
    if db:
        with (
            store.open_index(db, Path(".")) if store.dbmod.is_url(db) else store.Index(db) as index
        ):
            records += index.query()
    return records


def class_order(name: str) -> int:
    from edgevid.models.registry import ARCH_CLASSES

    return ARCH_CLASSES.index(name) if name in ARCH_CLASSES else len(ARCH_CLASSES)


def _sort_key(r: dict) -> tuple:
    return (r["model"], r["format"], r["precision"], r.get("threads") or 0)


def environment_text(device: str, records: list) -> Optional[Text]:
    envs: dict = {}
    runtimes: dict = {}
    for r in records:
        env = r.get("env") or {}
        if env.get("host"):
            envs[env["host"]] = env
            runtimes.setdefault(env["host"], {}).update(env.get("runtimes") or {})
    if not envs:
        return None
    lines = []
    for host, env in envs.items():
        versions = ", ".join(f"{k} {v}" for k, v in sorted(runtimes[host].items()))
        lines.append(
            f"**{device}** on `{host}`: {env.get('cpu_model')}, "
            f"{env.get('cores_logical')} logical cores, {env.get('os')}, Python "
            f"{env.get('python')}, governor {env.get('governor') or 'not available'}; "
            f"runtimes: {versions or 'none recorded'}; edgevid "
            f"{env.get('edgevid_version')} ({env.get('git_revision')})"
        )
    return Text(lines, bullets=True)


def failures_table(records: list, table_id: str = "failures") -> Optional[Table]:
    """Every configuration that did not produce a valid timing, with its reason."""
    rows = []
    for r in sorted(records, key=lambda r: (str(r.get("device")), *_sort_key(r))):
        numerics = r.get("numerics") or {}
        if r["status"] == "ok" and numerics.get("ok") is not False:
            continue
        status = r["status"] if r["status"] != "ok" else "numerics-failed"
        reason = (
            (r.get("reason") or "")
            if r["status"] != "ok"
            else (
                f"max abs diff {numerics.get('max_abs_diff') or 0:.1e} over tolerance "
                f"{numerics.get('tolerance') or 0:.1e}, top-1 {numerics.get('top1_agree') or 0:.0%}"
            )
        )
        rows.append(
            [
                Cell(str(r.get("device"))),
                Cell(r["model"]),
                Cell(r["format"]),
                Cell(r["precision"]),
                Cell(status, status, "bad"),
                Cell(short_reason(reason, 400), reason, None, reason),
            ]
        )
    if not rows:
        return None
    cols = [Column(k, k) for k in ("device", "model", "format", "precision", "status", "reason")]
    return Table(table_id, cols, rows, "failed, unsupported and numerics-failed configurations")


HOW_TO_READ = [
    "Latency is per inference at the batch in `input`, timed with perf_counter_ns around each "
    "call after warm-up. p50 is the median with its order-statistic 95% CI; a run stopped by its "
    "time or iteration cap before the CI target says so in `status`.",
    "`load ms` is model load/compile, `cold start ms` the first inference (not in the samples), "
    "`peak RSS MB` the runner process's peak resident memory, `size MB` the artifact.",
    "`numerics` compares the first output with PyTorch's on a fixed seeded input (max abs "
    "difference, top-1 agreement); `throttled` is n/a where no thermal zone or clock is "
    "readable.",
    "An input marked (reduced) differs from the model's default: params and GFLOPs are "
    "counted at the input actually run.",
]


def results_report(
    records: list, title: str = "edgevid report", accuracy: Optional[dict] = None
) -> Report:
    """The report of a set of result records. ``accuracy`` (model -> top-1 %) overrides the zoo's
    published figures (e.g. your own checkpoint's accuracy)."""
    from edgevid.models.stats import COUNTING_CONVENTION

    checks = [r for r in records if r.get("kind") == "check"]
    bench, superseded = newest(r for r in records if r.get("kind", "bench") == "bench")
    checks, _ = newest(checks)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    meta = [
        f"{len(bench)} benchmark results on {len({r.get('device') for r in bench})} "
        f"device(s); generated {when} UTC from result files only."
    ]
    if superseded:
        meta.append(
            f"{superseded} older result(s) with the same identity superseded by newer ones."
        )
    report = Report(title, meta)
    if any(of_record(r).reduced for r in bench):
        report.flags.append(
            "Some results ran at a reduced input (marked “reduced”): their "
            "latencies are not those of the models' default inputs."
        )
    top1 = top1_of(bench, accuracy)
    devices = sorted({str(r.get("device")) for r in bench})
    for device in devices:
        on = sorted((r for r in bench if str(r.get("device")) == device), key=_sort_key)
        sec = Section(f"Device {device}", id=f"device-{fig._slug(device)}")
        sec.add(environment_text(device, on))
        for cls in sorted({of_record(r).arch_class for r in on}, key=class_order):
            rows = [r for r in on if of_record(r).arch_class == cls]
            sec.add(
                Section(
                    f"{device} · {cls}",
                    [result_table(rows, REPORT, f"results-{fig._slug(device)}-{fig._slug(cls)}")],
                )
            )
        figs = [
            fig.distribution(device, on),
            fig.flops_scatter(device, on),
            fig.accuracy_pareto(device, on, top1),
            fig.warmup_trace(device, on),
        ]
        if any(figs):
            sec.add(Section(f"{device} · figures", [f for f in figs if f]))
        report.sections.append(sec)
    if len(devices) > 0:
        heat = fig.heatmap(bench)
        if heat:
            report.sections.append(Section("Across devices", [heat], id="across"))
    from edgevid.report.stream import stream_sections  # issue 20: "Does it keep up?"

    report.sections.extend(stream_sections(bench))
    fails = failures_table(bench)
    if fails:
        report.sections.append(Section("Failures", [fails], id="failures"))
    if checks:
        from edgevid.report.tables import matrix_table

        report.sections.append(Section("Op-support matrix", [matrix_table(checks)], id="matrix"))
    abs_ = sorted(
        (r for r in records if r.get("kind") == "ab" and r.get("ab")),
        key=lambda r: r.get("created_at") or "",
    )
    if abs_:  # edgevid ab runs: one section each, the verdict in words and the rounds' plot
        from edgevid.report.ab import ab_report

        for i, r in enumerate(abs_):
            for s in ab_report(r, f"ab-{i}").sections:
                s.title = f"A/B {r.get('model')} ({r.get('created_at') or ''}): {s.title[4:]}"
                report.sections.append(s)
    from edgevid.report.layers import report_sections  # issue 13: sessions and layers

    report.sections.extend(report_sections(bench))
    report.sections.append(
        Section(
            "How to read this",
            [Text(HOW_TO_READ + [f"Model size conventions: {COUNTING_CONVENTION}."], bullets=True)],
            id="how",
        )
    )
    report.data = flat_table(bench)
    return report


def top1_of(records: list, accuracy: Optional[dict] = None) -> dict:
    out = {r["model"]: of_record(r).top1 for r in records}
    out.update(accuracy or {})
    return {m: v for m, v in out.items() if v is not None}


__all__ = ["OTHER", "failures_table", "load_records", "results_report"]
