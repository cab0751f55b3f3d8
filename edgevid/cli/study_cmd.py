"""`edgevid study`: the zoo across each device's formats, resumable, and the study report."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from edgevid.cli import stream_opts, timing_opts
from edgevid.cli.app import app
from edgevid.cli.common import err, print_json
from edgevid.errors import UserError


def _split(values: Optional[List[str]]) -> list:
    return [v.strip() for text in (values or []) for v in text.split(",") if v.strip()]


@app.command(
    help="The lightweight-transformer study: run the zoo on each device's formats "
    "(cached artifacts and results reused; a re-run measures only what is "
    "missing) and write the study report (markdown, HTML, CSV)."
)
def study(
    device: List[str] = typer.Option(["desktop-cpu"], help="device(s): D or D1,D2"),
    models_: List[str] = typer.Option(None, "--models", help="zoo models (a,b,...)"),
    class_: List[str] = typer.Option(
        None, "--class", help="only these classes (cnn,composite,...)"
    ),
    formats_: List[str] = typer.Option(
        None, "--formats", help="only these formats (onnx,openvino,...)"
    ),
    precision: Optional[str] = typer.Option(None, help="only this precision"),
    input_scale: float = typer.Option(
        1.0, help="scale the input (H and W, else T), e.g. 0.5; flagged in the report"
    ),
    threads: Optional[int] = typer.Option(None, help="intra-op threads (default: profile's)"),
    warmup_min: Optional[int] = timing_opts.WARMUP_MIN,
    warmup_max: Optional[int] = timing_opts.WARMUP_MAX,
    min_iters: Optional[int] = timing_opts.MIN_ITERS,
    min_time: Optional[float] = timing_opts.MIN_TIME,
    max_time: Optional[float] = timing_opts.MAX_TIME,
    target_ci: Optional[float] = timing_opts.TARGET_CI,
    scenario: Optional[str] = stream_opts.SCENARIO,
    fps: Optional[float] = stream_opts.FPS,
    clip: Optional[int] = stream_opts.CLIP,
    stride: Optional[int] = stream_opts.STRIDE,
    duration: Optional[float] = stream_opts.DURATION,
    drop_policy: Optional[str] = stream_opts.DROP_POLICY,
    max_queue: Optional[int] = stream_opts.MAX_QUEUE,
    find_max_fps: bool = stream_opts.FIND_MAX_FPS,
    search_trial_s: Optional[float] = stream_opts.SEARCH_TRIAL,
    retry_failed: bool = typer.Option(False, help="re-measure failed configurations"),
    artifacts: Path = typer.Option(Path("artifacts"), help="artifact root folder"),
    results_dir: Path = typer.Option(Path("results"), "--results", help="results folder"),
    db: Optional[str] = typer.Option(
        None,
        help="index: a SQLite file or a database URL (a team's); results measured here are "
        "indexed there, and configurations already in it are reused, not measured again",
    ),
    out_dir: Path = typer.Option(
        Path("reports/study"), "--out", help="folder for study.md, .html, .csv, .json"
    ),
    json_: bool = typer.Option(False, "--json", help="print the report model as JSON"),
):
    from edgevid.cli.common import check_outputs
    from edgevid.run.bench import BenchConfig
    from edgevid.run.config import check_threads, timing_policy
    from edgevid.run.profiles import get_profile
    from edgevid.report import write
    from edgevid.report.study_report import study_report
    from edgevid.run.study import plan, run_study, select_models

    if not 0.05 <= input_scale <= 1.0:
        raise UserError(f"--input-scale {input_scale}: give a factor in [0.05, 1]")
    index = check_outputs(results_dir, db, artifacts)  # before anything runs: one line, exit 2
    threads = check_threads(threads)
    stream = stream_opts.options(locals())  # checked before anything runs: one line, exit 2
    profiles = [get_profile(d) for d in _split(device)]
    specs = select_models(_split(models_) or None, _split(class_) or None)
    configs, reductions, skipped = plan(
        profiles, specs, _split(formats_) or None, precision, input_scale, threads, stream
    )
    if not configs:
        raise UserError("nothing to run: no device lists the formats asked for")
    timing = timing_opts.overrides(locals())
    for profile in profiles:  # a bad flag (or one against a profile) is refused before running
        timing_policy(profile, timing)
    cfg = BenchConfig(artifacts=artifacts, results=results_dir, db=index, stream=stream)
    with err.status("study: looking for results already measured…") as status:

        def on_progress(p, record):
            status.update(escape(p.line()))
            if record is not None:
                s = record.get("summary") or {}
                mark = "[green]✓[/]" if record["status"] == "ok" else "[red]✗[/]"
                st = record.get("stream") or {}
                what = (
                    f"p50 {s['p50']:.2f} ms"
                    + (f", {st.get('deadline_misses')} deadline misses" if st else "")
                    if record["status"] == "ok"
                    else f"{record['status']}: {escape((record.get('reason') or '')[:200])}"
                )
                err.print(
                    f"{mark} {escape(record['model'])} × {record['format']} "
                    f"{record['precision']} on {escape(str(record['device']))}: {what}  "
                    f"[dim]{escape(p.line())}[/]"
                )

        records, progress = run_study(
            configs, cfg, timing, retry_failed, on_progress, log=lambda m: None
        )
    err.print(f"study: {progress.line()}")
    meta = [
        f"Devices: {', '.join(p.name for p in profiles)}; {len(specs)} models; "
        f"{len(configs)} configurations ({progress.measured} measured in this run, "
        f"{progress.reused} reused from earlier runs"
        + (f", {progress.from_index} of them found in the index" if progress.from_index else "")
        + ").",
        "Timing knobs: "
        + (", ".join(f"{k}={v}" for k, v in timing.items()) or "the device profiles' policies")
        + ".",
    ]
    if stream is not None:
        from edgevid.results.select import scenario_label

        meta.append(f"Scenario: {scenario_label('stream', stream.to_dict())}.")
    rep = study_report(records, reductions, skipped, meta)
    if stream is not None:
        from edgevid.report.stream import stream_sections

        rep.sections.extend(stream_sections(records))
    for name, fmt in (
        ("study.md", "md"),
        ("study.html", "html"),
        ("study.csv", "csv"),
        ("study.json", "json"),
    ):
        path = write(rep, Path(out_dir) / name, fmt)
        err.print(f"[green]✓[/] {escape(str(path))} ({path.stat().st_size / 1024:.0f} KiB)")
    if json_:
        from edgevid.report.to_json import to_obj

        print_json(to_obj(rep))
    failed = [r for r in records if r["status"] != "ok"]
    if failed:
        err.print(
            f"[red]{len(failed)} of {len(records)} configuration(s) did not run[/] "
            f"(see the report's failures)"
        )
        raise typer.Exit(1)
