"""`edgevid bench` and `edgevid matrix`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from edgevid.cli import stream_opts, timing_opts
from edgevid.cli.app import app
from edgevid.cli.common import (
    check_outputs,
    err,
    interrupted,
    parse_cpus,
    print_json,
    results_table,
    warn_threads,
)
from edgevid.errors import UserError
from edgevid.results.select import numerics_failed


@app.command(help="Benchmark models on a device: every format its profile lists, or --to.")
def bench(
    models_: List[str] = typer.Argument(
        None, metavar="[MODEL]...", help="zoo names, package.module:callable or .onnx"
    ),
    device: str = typer.Option(
        "desktop-cpu",
        help="device profile name or YAML file; several, comma-separated, run at once",
    ),
    host: Optional[str] = typer.Option(
        None, help="user@addr[:port]: reach the (ssh) device there, not at its profile's"
    ),
    coordinator: Optional[str] = typer.Option(
        None, help="labgrid coordinator HOST:PORT for lab devices (default: LG_COORDINATOR)"
    ),
    to: List[str] = typer.Option(None, "--to", help="formats to run (repeatable)"),
    precision: Optional[str] = typer.Option(None, help="only this precision"),
    threads: Optional[int] = typer.Option(None, help="intra-op threads (default: profile's)"),
    all_: bool = typer.Option(False, "--all", help="every model in the zoo"),
    class_: Optional[str] = typer.Option(None, "--class", help="with --all: only this study class"),
    input_shape: Optional[str] = typer.Option(None, help="C,T,H,W for every model"),
    weights: Optional[str] = typer.Option(None, help="PyTorch checkpoint (one model)"),
    warmup_min: Optional[int] = timing_opts.WARMUP_MIN,
    warmup_max: Optional[int] = timing_opts.WARMUP_MAX,
    min_iters: Optional[int] = timing_opts.MIN_ITERS,
    min_time: Optional[float] = timing_opts.MIN_TIME,
    max_time: Optional[float] = timing_opts.MAX_TIME,
    target_ci: Optional[float] = timing_opts.TARGET_CI,
    pin: Optional[str] = typer.Option(None, help="pin the runner to CPUs, e.g. 0,1"),
    export_opt: List[str] = typer.Option(
        None,
        "--export-opt",
        metavar="KEY=VALUE",
        help="exporter option (repeatable), e.g. conv3d=native; see `edgevid formats`",
    ),
    artifacts: Path = typer.Option(Path("artifacts"), help="artifact root folder"),
    results_dir: Path = typer.Option(Path("results"), "--results", help="results folder"),
    db: Optional[str] = typer.Option(
        None, help="index: a SQLite file (default results/index.sqlite) or a database URL"
    ),
    sessions: int = typer.Option(
        1,
        help="fresh runner processes per configuration, "
        "interleaved across configurations (A B C A B C)",
    ),
    session_ci: Optional[float] = typer.Option(
        None,
        help="stop a configuration once its between-session CI half-width (fraction "
        "of the median of session medians) is this small; --sessions is the cap",
    ),
    cooldown: bool = typer.Option(
        False,
        help="before each session wait until the device "
        "is back near its first session's temperature "
        "(a fixed pause where none is readable)",
    ),
    cooldown_timeout: float = typer.Option(300.0, help="longest cooldown wait (s)"),
    cooldown_pause: float = typer.Option(10.0, help="pause (s) where no temperature is readable"),
    layers: bool = typer.Option(
        False,
        "--layers",
        help="after the timed run, profile each layer with the runtime's profiler",
    ),
    layer_iters: int = typer.Option(10, help="profiled inferences with --layers"),
    wide: bool = typer.Option(
        False, "--wide", help="all columns in the table (class, variant, CI, p90, n, load)"
    ),
    scenario: Optional[str] = stream_opts.SCENARIO,
    fps: Optional[float] = stream_opts.FPS,
    clip: Optional[int] = stream_opts.CLIP,
    stride: Optional[int] = stream_opts.STRIDE,
    duration: Optional[float] = stream_opts.DURATION,
    drop_policy: Optional[str] = stream_opts.DROP_POLICY,
    max_queue: Optional[int] = stream_opts.MAX_QUEUE,
    find_max_fps: bool = stream_opts.FIND_MAX_FPS,
    search_trial_s: Optional[float] = stream_opts.SEARCH_TRIAL,
    json_: bool = typer.Option(False, "--json", help="print the result records as JSON only"),
):
    index = check_outputs(results_dir, db, artifacts)  # before any export or measurement
    stream = stream_opts.options(locals())  # checked before any export: one line, exit 2
    from edgevid.run.bench import BenchConfig, entries_for
    from edgevid.run.config import check_threads, parse_export_opts, timing_policy
    from edgevid.run.sessions import SessionPlan
    from edgevid.run.bench import bench as run_bench
    from edgevid.models import list_models
    from edgevid.models.ref import parse_shape, resolve
    from edgevid.run.profiles import get_profile

    threads = check_threads(threads)
    if "," in device:
        from edgevid.cli.multi_cmd import bench_many

        return bench_many(locals())
    from edgevid.cli.lab_cmd import hold_lab

    profile = hold_lab(get_profile(device), coordinator)  # a lab place: reserved and locked
    if host:
        from edgevid.cli.devices_cmd import with_host

        profile = with_host(profile, host)
    if profile.is_local:
        warn_threads(threads)
    policy = timing_policy(profile, timing_opts.overrides(locals()))
    entries = entries_for(profile, to, precision, parse_export_opts(export_opt))
    if not entries:
        raise UserError(f"device {profile.name!r} lists no format with precision {precision!r}")
    names = list(models_ or [])
    if all_:
        from edgevid.cli.listing import filter_class

        from edgevid.run.stream import for_scenario

        names += for_scenario([s.name for s in filter_class(list_models(), class_)], scenario)
    elif class_:
        raise UserError("--class filters --all: pass --all too")
    if not names:
        raise UserError("name a model (see `edgevid models`) or pass --all")
    if weights and len(names) != 1:
        raise UserError("--weights applies to one model; name exactly one")
    shape = parse_shape(input_shape) if input_shape else None
    refs = []
    for name in names:
        refs.append(resolve(name, shape or profile.input_shapes.get(name), weights))
    if stream is not None:
        from edgevid.run.stream import stream_ref

        refs = [stream_ref(r, stream) for r in refs]  # every model checked before any export
    cpus = parse_cpus(pin) if pin else []
    cfg = BenchConfig(
        threads=threads,
        policy=policy,
        artifacts=artifacts,
        results=results_dir,
        db=index,
        cpus=cpus,
        sessions=SessionPlan(
            sessions,
            session_ci,
            cooldown,
            cooldown_timeout_s=cooldown_timeout,
            cooldown_pause_s=cooldown_pause,
        ),
        layers=max(1, layer_iters) if layers else 0,
        stream=stream,
    )
    total = len(refs) * len(entries)
    done: list = []
    with err.status(f"benchmarking {total} configuration(s) on {profile.name}…") as status:

        def log(msg):
            status.update(f"[{len(done) + 1}/{total}] {msg}…")

        def on_result(r):
            done.append(r)
            s = r.get("summary") or {}
            bad = numerics_failed(r)
            mark = "[green]✓[/]" if r["status"] == "ok" and not bad else "[red]✗[/]"
            detail = (
                f"p50 {s['p50']:.2f} ms (n={s['n']})"
                if r["status"] == "ok"
                else f"{r['status']}: {escape(r.get('reason', '')[:300])}"
            )
            if bad:
                detail += " — numerics FAIL (outside tolerance)"
            st = r.get("stream") or {}
            if r["status"] == "ok" and st.get("inferences") is not None:
                fps = st.get("fps_sustained")
                detail += (
                    f"; {r.get('scenario_label')}: sustained "
                    f"{'n/a' if fps is None else f'{fps:.1f}'} fps, "
                    f"{st['deadline_misses']} misses, {st['dropped']} dropped"
                )
            ss = r.get("session_summary") or {}
            if ss.get("n_sessions", 0) > 1:
                detail += (
                    f"; {ss['n_sessions']} sessions: median {ss['median']:.2f} ms "
                    f"[{ss['ci95_low']:.2f}–{ss['ci95_high']:.2f}], CV "
                    f"{(ss.get('cv') or 0):.1%}"
                )
            err.print(f"{mark} {r['model']} {r['format']} {r['precision']}: {detail}")

        try:
            records = run_bench(refs, profile, entries, cfg, on_result=on_result, log=log)
        except KeyboardInterrupt:
            raise interrupted(done, total, results_dir, json_) from None
    if json_:
        print_json(records)
    else:
        results_table(records, wide)
    failed = [r for r in records if r["status"] != "ok"]
    if failed:
        err.print(f"[red]{len(failed)} of {len(records)} configuration(s) did not run[/]")
    wrong = [r for r in records if numerics_failed(r)]
    if wrong:
        err.print(
            f"[red]{len(wrong)} of {len(records)} configuration(s) ran but their numerics "
            f"are outside tolerance (FAIL): "
            + ", ".join(f"{r['format']} {r['precision']}" for r in wrong)
            + "[/]"
        )
    if failed or wrong:
        raise typer.Exit(1)


@app.command(help="Op-support matrix: convert every model x format, run once, check numerics.")
def matrix(
    models_: List[str] = typer.Argument(
        None, metavar="[MODEL]...", help="models (default: the whole zoo)"
    ),
    formats_: List[str] = typer.Option(None, "--to", help="formats (default: all)"),
    precision: Optional[str] = typer.Option(None, help="one precision for every format"),
    device: str = typer.Option("desktop-cpu", help="device profile name or YAML file"),
    threads: Optional[int] = typer.Option(None, help="intra-op threads"),
    input_shape: Optional[str] = typer.Option(None, help="C,T,H,W for every model"),
    artifacts: Path = typer.Option(Path("artifacts"), help="artifact root folder"),
    results_dir: Path = typer.Option(Path("results"), "--results", help="results folder"),
    md: Optional[Path] = typer.Option(None, "--md", help="also write the matrix here"),
    json_: bool = typer.Option(False, "--json", help="print the cells as JSON only"),
):
    check_outputs(results_dir, None, artifacts, md)  # before any export or check
    from edgevid.backends import BACKENDS, check_precision, get_backend
    from edgevid.run.bench import BenchConfig
    from edgevid.run.config import check_threads
    from edgevid.analysis.ops import cell
    from edgevid.report.tables import matrix_markdown
    from edgevid.run.matrix import run_matrix
    from edgevid.models import list_models
    from edgevid.models.ref import parse_shape, resolve
    from edgevid.run.profiles import get_profile

    profile = get_profile(device)
    if profile.is_local:
        warn_threads(threads)
    backends = [get_backend(f) for f in formats_] if formats_ else list(BACKENDS)
    pairs = [
        (b.name, check_precision(b, precision) if precision else b.precisions[0]) for b in backends
    ]
    shape = parse_shape(input_shape) if input_shape else None
    refs = [resolve(m, shape) for m in (models_ or [s.name for s in list_models()])]
    cfg = BenchConfig(threads=check_threads(threads), artifacts=artifacts, results=results_dir)
    total = len(refs) * len(pairs)
    with err.status(f"checking {total} model x format cell(s)…") as status:
        done: list = []

        def on_result(r):
            done.append(r)
            c = cell(r)
            err.print(
                f"[{len(done)}/{total}] {c['model']} {c['format']} {c['precision']}: "
                f"{c['verdict']}" + (f" ({escape(c['op'])})" if c["op"] else "")
            )

        try:
            records = run_matrix(
                refs,
                profile,
                pairs,
                cfg,
                on_result=on_result,
                log=lambda m: status.update(f"[{len(done) + 1}/{total}] {m}…"),
            )
        except KeyboardInterrupt:
            raise interrupted(done, total, results_dir, json_) from None
    text = matrix_markdown(records)
    if md:
        from edgevid.report import write
        from edgevid.report.tables import matrix_report

        write(matrix_report(records, f"Op-support matrix ({profile.name})"), md, "md")
    if json_:
        print_json([cell(r) for r in records])
    else:
        sys.stdout.write(text + "\n")
    if any(
        cell(r)["verdict"].endswith("failed") or cell(r)["verdict"] == "numerics" for r in records
    ):
        wrong = [c for c in map(cell, records) if c["verdict"] == "numerics"]
        if wrong:
            err.print(f"[red]{len(wrong)} cell(s) outside the numerics tolerance (FAIL)[/]")
        raise typer.Exit(1)
