"""The `edgevid` command line (typer + rich).

Every listing and run command takes ``--json`` and then prints only JSON on stdout; progress and
messages go to stderr. Errors a user can fix are one line on stderr and a non-zero exit code; a
stack trace only with ``--debug``.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edgevid import __version__
from edgevid.errors import UserError
from edgevid.models.stats import COUNTING_CONVENTION

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Export, benchmark and report video action-recognition models across "
                       "devices and runtimes.")
# Tables are not squeezed to 80 columns when stdout is a file or a pipe.
out = Console(width=None if sys.stdout.isatty() else 160)  # stdout: tables and JSON
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)  # progress, messages
_state = {"debug": bool(os.environ.get("EDGEVID_DEBUG")), "json_out": None}


def _print_json(obj) -> None:
    stream = _state["json_out"] or sys.stdout
    stream.write(json.dumps(obj, indent=1, default=str) + "\n")
    stream.flush()


def _reserve_stdout_for_json() -> None:
    """With --json, stdout carries JSON only: whatever else writes to it (converters print
    graphs and logs, from Python and from native code) is sent to stderr instead."""
    sys.stdout.flush()
    _state["json_out"] = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="show stack traces on errors"),
          version: bool = typer.Option(False, "--version", help="print the version and exit")):
    if version:
        out.print(f"edgevid {__version__}")
        raise typer.Exit(0)
    _state["debug"] = _state["debug"] or debug


# ---------------------------------------------------------------------------------- listings

@app.command(help=f"List the model zoo. {COUNTING_CONVENTION}.")
def models(json_: bool = typer.Option(False, "--json", help="print JSON only"),
           all_: bool = typer.Option(False, "--all", help="include tiny test configurations")):
    from edgevid.models import list_models
    from edgevid.models.stats import spec_stats

    rows = []
    for spec in list_models(include_hidden=all_):
        st = spec_stats(spec)
        rows.append({"name": spec.name, "family": spec.family, "class": spec.arch_class,
                     "input": list(spec.input), "num_classes": spec.num_classes,
                     "params": st.params, "gflops": round(st.gflops, 3),
                     "paper_params_m": spec.paper_params_m, "paper_gflops": spec.paper_gflops,
                     "default": spec.default, "source": spec.source})
    if json_:
        _print_json(rows)
        return
    t = Table(title="edgevid model zoo", caption=COUNTING_CONVENTION)
    for col in ("name", "class", "input (C,T,H,W)", "params (M)", "GFLOPs", "paper M / G", "source"):
        t.add_column(col, overflow="fold")
    for r in rows:
        paper = f"{r['paper_params_m'] or '—'} / {r['paper_gflops'] or '—'}"
        t.add_row(r["name"] + (" *" if r["default"] else ""), r["class"],
                  "x".join(map(str, r["input"])), f"{r['params'] / 1e6:.2f}",
                  f"{r['gflops']:.2f}", paper, r["source"])
    out.print(t)
    out.print("* the family's default variant (a family name alone means it)")


@app.command(help="List device profiles (device_profiles/*.yaml).")
def devices(json_: bool = typer.Option(False, "--json", help="print JSON only")):
    from edgevid.profiles import list_profiles

    profs = list_profiles()
    rows = [{"name": p.name, "description": p.description, "arch": p.arch, "os": p.os,
             "connection": p.connection, "threads": p.threads,
             "formats": [f"{e.format}:{e.precision}" for e in p.formats], "path": str(p.path)}
            for p in profs]
    if json_:
        _print_json(rows)
        return
    t = Table(title="device profiles")
    for col in ("name", "connection", "arch", "threads", "formats", "description"):
        t.add_column(col, overflow="fold")
    for r in rows:
        conn = r["connection"]
        where = conn["type"] + (f" {conn.get('user', '')}@{conn['host']}" if conn.get("host") else "")
        t.add_row(r["name"], where, r["arch"], str(r["threads"] or "default"),
                  ", ".join(r["formats"]), r["description"])
    out.print(t)


@app.command(help="List the target formats (the backend table).")
def formats(json_: bool = typer.Option(False, "--json", help="print JSON only")):
    from edgevid.backends import BACKENDS

    rows = [{"name": b.name, "suffix": b.suffix, "exporter": b.exporter, "from": b.source,
             "runner": b.runner, "extra": b.extra, "precisions": list(b.precisions),
             "devices": list(b.devices), "aliases": list(b.aliases),
             "installed": not b.missing_packages(), "description": b.description}
            for b in BACKENDS]
    if json_:
        _print_json(rows)
        return
    t = Table(title="target formats")
    for col in ("format", "suffix", "from", "runner", "precisions", "extra", "installed"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["name"], r["suffix"], r["from"], r["runner"], ", ".join(r["precisions"]),
                  escape(f"edgevid[{r['extra']}]"), "yes" if r["installed"] else "no")
    out.print(t)


# ---------------------------------------------------------------------------------- export

def _resolve(model: str, input_shape: Optional[str], weights: Optional[str]):
    from edgevid.modelref import parse_shape, resolve

    return resolve(model, parse_shape(input_shape) if input_shape else None, weights)


@app.command(help="Export a model to a target format: artifacts/<model>/<format>-<precision>/.")
def export(model: str = typer.Argument(..., help="zoo name, package.module:callable, or .onnx file"),
           to: str = typer.Option(..., "--to", help="target format (see `edgevid formats`)"),
           precision: Optional[str] = typer.Option(None, help="fp32 (default) or fp16 where supported"),
           input_shape: Optional[str] = typer.Option(None, help="C,T,H,W, e.g. 3x8x160x160"),
           weights: Optional[str] = typer.Option(None, help="PyTorch checkpoint to load"),
           artifacts: Path = typer.Option(Path("artifacts"), help="artifact root folder"),
           force: bool = typer.Option(False, help="re-export even if a current artifact exists"),
           json_: bool = typer.Option(False, "--json", help="print the manifest as JSON only")):
    from edgevid.backends import check_precision, get_backend
    from edgevid.export import ExportFailed
    from edgevid.export import export as do_export
    from edgevid.runners.artifact import load_manifest

    backend = get_backend(to)
    if precision:
        check_precision(backend, precision)
    ref = _resolve(model, input_shape, weights)
    with err.status(f"exporting {ref.name} to {backend.name}…"):
        try:
            path = do_export(ref, backend.name, precision, root=artifacts, force=force,
                             log=lambda m: err.print(f"[dim]{escape(m)}[/]"))
        except ExportFailed as e:
            raise UserError(str(e)) from e
    manifest = load_manifest(path)
    if json_:
        manifest = {k: v for k, v in manifest.items() if k != "reference"}
        _print_json({"artifact_dir": str(path), **manifest})
        return
    shapes = ", ".join(f"{i['name']} {i['shape']}" for i in manifest["inputs"])
    out.print(f"[green]✓[/] {path}/{manifest['file']}  {manifest['format']} {manifest['precision']}"
              f", {manifest['bytes'] / 2**20:.2f} MB, input {shapes}, "
              f"exported in {manifest['export_s']:.1f} s")


# ---------------------------------------------------------------------------------- bench

@app.command(help="Benchmark models on a device: every format its profile lists, or --to.")
def bench(models_: List[str] = typer.Argument(None, metavar="[MODEL]...",
                                              help="zoo names, package.module:callable or .onnx"),
          device: str = typer.Option("desktop-cpu", help="device profile name or YAML file"),
          to: List[str] = typer.Option(None, "--to", help="formats to run (repeatable)"),
          precision: Optional[str] = typer.Option(None, help="only this precision"),
          threads: Optional[int] = typer.Option(None, help="intra-op threads (default: profile's)"),
          all_: bool = typer.Option(False, "--all", help="every model in the zoo"),
          input_shape: Optional[str] = typer.Option(None, help="C,T,H,W for every model"),
          weights: Optional[str] = typer.Option(None, help="PyTorch checkpoint (one model)"),
          warmup_min: Optional[int] = typer.Option(None, help="minimum warm-up iterations"),
          warmup_max: Optional[int] = typer.Option(None, help="maximum warm-up iterations"),
          min_iters: Optional[int] = typer.Option(None, help="minimum timed iterations"),
          min_time: Optional[float] = typer.Option(None, help="minimum timed seconds"),
          max_time: Optional[float] = typer.Option(None, help="cap on timed seconds"),
          target_ci: Optional[float] = typer.Option(None, help="target CI half-width (fraction)"),
          pin: Optional[str] = typer.Option(None, help="pin the runner to CPUs, e.g. 0,1"),
          artifacts: Path = typer.Option(Path("artifacts"), help="artifact root folder"),
          results_dir: Path = typer.Option(Path("results"), "--results", help="results folder"),
          db: Optional[Path] = typer.Option(None, help="SQLite index (default results/index.sqlite)"),
          json_: bool = typer.Option(False, "--json", help="print the result records as JSON only")):
    from edgevid.bench import BenchConfig, entries_for
    from edgevid.bench import bench as run_bench
    from edgevid.models import list_models
    from edgevid.modelref import parse_shape, resolve
    from edgevid.profiles import get_profile

    if threads is not None and threads < 1:
        raise UserError("--threads must be a positive integer")
    profile = get_profile(device)
    entries = entries_for(profile, to, precision)
    if not entries:
        raise UserError(f"device {profile.name!r} lists no format with precision {precision!r}")
    names = list(models_ or [])
    if all_:
        names += [s.name for s in list_models()]
    if not names:
        raise UserError("name a model (see `edgevid models`) or pass --all")
    if weights and len(names) != 1:
        raise UserError("--weights applies to one model; name exactly one")
    shape = parse_shape(input_shape) if input_shape else None
    refs = []
    for name in names:
        override = profile.input_shapes.get(name)
        refs.append(resolve(name, shape or (parse_shape(str(override)) if override else None),
                            weights))
    timing = {k: v for k, v in dict(warmup_min=warmup_min, warmup_max=warmup_max,
                                     min_iters=min_iters, min_time_s=min_time, max_time_s=max_time,
                                     target_ci=target_ci).items() if v is not None}
    cpus = _parse_cpus(pin) if pin else []
    cfg = BenchConfig(threads=threads, timing=timing, artifacts=artifacts, results=results_dir,
                      db=db, cpus=cpus)
    total = len(refs) * len(entries)
    done = []
    with err.status(f"benchmarking {total} configuration(s) on {profile.name}…") as status:
        def log(msg):
            status.update(f"[{len(done) + 1}/{total}] {msg}…")

        def on_result(r):
            done.append(r)
            s = r.get("summary") or {}
            mark = "[green]✓[/]" if r["status"] == "ok" else "[red]✗[/]"
            detail = (f"p50 {s['p50']:.2f} ms (n={s['n']})" if r["status"] == "ok"
                      else f"{r['status']}: {escape(r.get('reason', '')[:300])}")
            err.print(f"{mark} {r['model']} {r['format']} {r['precision']}: {detail}")

        records = run_bench(refs, profile, entries, cfg, on_result=on_result, log=log)
    if json_:
        _print_json(records)
    else:
        _results_table(records)
    failed = [r for r in records if r["status"] != "ok"]
    if failed:
        err.print(f"[red]{len(failed)} of {len(records)} configuration(s) did not run[/]")
        raise typer.Exit(1)


def _parse_cpus(text: str) -> list:
    cpus = set()
    try:
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            cpus.update(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise UserError(f"bad --pin {text!r}: give CPU numbers like 0,1 or 0-3") from None
    available = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else cpus
    if not cpus or not cpus <= set(available):
        raise UserError(f"bad --pin {text!r}: this machine's CPUs are {sorted(available)}")
    return sorted(cpus)


def _results_table(records: list) -> None:
    from edgevid.report import COLUMNS, row

    keep = ("model", "format", "precision", "input", "threads", "status", "p50 ms",
            "95% CI of p50", "n", "load ms", "peak RSS MB", "numerics")
    idx = [COLUMNS.index(c) for c in keep]
    t = Table(title="results")
    for c in keep:
        t.add_column(c, overflow="fold")
    for r in records:
        cells = row(r)
        t.add_row(*(cells[i].replace("**", "") for i in idx))
    out.print(t)


@app.command(help="Op-support matrix: convert every model x format, run once, check numerics.")
def matrix(models_: List[str] = typer.Argument(None, metavar="[MODEL]...",
                                               help="models (default: the whole zoo)"),
           formats_: List[str] = typer.Option(None, "--to", help="formats (default: all)"),
           precision: Optional[str] = typer.Option(None, help="one precision for every format"),
           device: str = typer.Option("desktop-cpu", help="device profile name or YAML file"),
           threads: Optional[int] = typer.Option(None, help="intra-op threads"),
           input_shape: Optional[str] = typer.Option(None, help="C,T,H,W for every model"),
           artifacts: Path = typer.Option(Path("artifacts"), help="artifact root folder"),
           results_dir: Path = typer.Option(Path("results"), "--results", help="results folder"),
           md: Optional[Path] = typer.Option(None, "--md", help="also write the matrix here"),
           json_: bool = typer.Option(False, "--json", help="print the cells as JSON only")):
    from edgevid.backends import BACKENDS, check_precision, get_backend
    from edgevid.bench import BenchConfig
    from edgevid.matrix import cell, markdown, run_matrix
    from edgevid.models import list_models
    from edgevid.modelref import parse_shape, resolve
    from edgevid.profiles import get_profile

    profile = get_profile(device)
    backends = [get_backend(f) for f in formats_] if formats_ else list(BACKENDS)
    pairs = [(b.name, check_precision(b, precision) if precision else b.precisions[0])
             for b in backends]
    shape = parse_shape(input_shape) if input_shape else None
    refs = [resolve(m, shape) for m in (models_ or [s.name for s in list_models()])]
    cfg = BenchConfig(threads=threads, artifacts=artifacts, results=results_dir)
    total = len(refs) * len(pairs)
    with err.status(f"checking {total} model x format cell(s)…") as status:
        done = []

        def on_result(r):
            done.append(r)
            c = cell(r)
            err.print(f"[{len(done)}/{total}] {c['model']} {c['format']} {c['precision']}: "
                      f"{c['verdict']}" + (f" ({escape(c['op'])})" if c["op"] else ""))

        records = run_matrix(refs, profile, pairs, cfg, on_result=on_result,
                             log=lambda m: status.update(f"[{len(done) + 1}/{total}] {m}…"))
    text = markdown(records)
    if md:
        from edgevid.runners.record import write_atomic

        write_atomic(md, f"# Op-support matrix ({profile.name})\n\n{text}\n")
    if json_:
        _print_json([cell(r) for r in records])
    else:
        sys.stdout.write(text + "\n")
    if any(cell(r)["verdict"].endswith("failed") for r in records):
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------- report

@app.command(help="Build a report from result files (never re-runs anything).")
def report(paths: List[Path] = typer.Argument(..., help="result files or folders"),
           md: Optional[Path] = typer.Option(None, "--md", help="write markdown here"),
           title: str = typer.Option("edgevid report", help="report title")):
    from edgevid import results
    from edgevid.report import markdown, write_markdown

    records = results.load_all(paths)
    if not records:
        raise UserError(f"no result files under {', '.join(map(str, paths))}")
    if md:
        write_markdown(records, md, title)
        err.print(f"[green]✓[/] {md}: {len(records)} results")
    else:
        sys.stdout.write(markdown(records, title))


@app.command(help="Show the latency history of a model from the SQLite index.")
def history(model: str = typer.Argument(..., help="model name as in results"),
            device: Optional[str] = typer.Option(None, help="only this device"),
            fmt: Optional[str] = typer.Option(None, "--to", help="only this format"),
            results_dir: Path = typer.Option(Path("results"), "--results", help="results folder"),
            db: Optional[Path] = typer.Option(None, help="SQLite index (default results/index.sqlite)"),
            json_: bool = typer.Option(False, "--json", help="print JSON only")):
    from edgevid import results
    from edgevid.backends import get_backend

    path = db or results_dir / results.INDEX_NAME
    if not Path(path).is_file():
        raise UserError(f"no results index at {path}: run `edgevid bench` first or pass --db")
    with results.Index(path) as index:
        records = index.query(model=model, device=device)
    if fmt:
        records = [r for r in records if r["format"] == get_backend(fmt).name]
    if not records:
        raise UserError(f"no results for model {model!r}" + (f" on {device!r}" if device else ""))
    rows = [{"created_at": r.get("created_at"), "device": r["device"], "format": r["format"],
             "precision": r["precision"], "input_shape": r["input_shape"],
             "threads": r["threads"], "status": r["status"],
             "p50": (r.get("summary") or {}).get("p50"),
             "ci95_low": (r.get("summary") or {}).get("ci95_low"),
             "ci95_high": (r.get("summary") or {}).get("ci95_high"),
             "git_revision": (r.get("env") or {}).get("git_revision"),
             "throttled": r.get("throttled")} for r in records]
    if json_:
        _print_json(rows)
        return
    t = Table(title=f"history of {model}")
    for c in ("when", "device", "format", "threads", "status", "p50 ms", "95% CI", "revision"):
        t.add_column(c)
    for r in rows:
        ci = (f"{r['ci95_low']:.2f}–{r['ci95_high']:.2f}" if r["ci95_low"] is not None else "—")
        t.add_row(str(r["created_at"]), r["device"], f"{r['format']} {r['precision']}",
                  str(r["threads"]), r["status"],
                  f"{r['p50']:.2f}" if r["p50"] is not None else "—", ci,
                  str(r["git_revision"] or "—"))
    out.print(t)


@app.command(help="Compare two sets of results: ratio of medians with a bootstrap CI and a "
                  "rank-test p-value per configuration. --fail-above 5% exits 1 only when a "
                  "slowdown is larger than 5% and statistically detectable (a CI gate). Set the "
                  "threshold above your device's run-to-run spread.")
def compare(base: Path = typer.Argument(..., help="baseline result file or folder"),
            new: Path = typer.Argument(..., help="new result file or folder"),
            fail_above: Optional[str] = typer.Option(None, help="e.g. 5% (a fraction or percent)"),
            json_: bool = typer.Option(False, "--json", help="print JSON only")):
    from edgevid import results
    from edgevid.compare import compare_records, gate, parse_threshold, rich_table

    threshold = parse_threshold(fail_above) if fail_above is not None else None
    pairs, unpaired = compare_records(results.load_all([base]), results.load_all([new]))
    failing = gate(pairs, threshold) if threshold is not None else []
    if json_:
        _print_json({"pairs": [p.to_dict() for p in pairs],
                     "unpaired": [u.to_dict() for u in unpaired],
                     "fail_above": threshold, "failing": [p.to_dict() for p in failing]})
    else:
        if pairs:
            out.print(rich_table(pairs))
        for u in unpaired:
            d = u.to_dict()
            err.print(f"unpaired ({escape(str(d.get('side')))}): {escape(str(d.get('model')))} "
                      f"{d.get('format')} {d.get('precision')}: {escape(str(d.get('reason')))}")
    if not pairs:
        raise UserError(f"no configuration of {base} matches one of {new} (see the unpaired list)")
    if failing:
        err.print(f"[red]{len(failing)} configuration(s) slower by more than "
                  f"{threshold:.0%}[/]")
        raise typer.Exit(1)


def main() -> None:
    if "--json" in sys.argv[1:]:
        _reserve_stdout_for_json()
    try:
        rc = app(standalone_mode=False)
    except UserError as e:
        if _state["debug"]:
            raise
        err.print(f"[red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as e:  # click usage errors and anything unexpected
        import click

        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(e.exit_code)
        if _state["debug"]:
            raise
        err.print(f"[red]error:[/] {type(e).__name__}: {escape(str(e))} (rerun with --debug "
                  "for the trace)",
                  highlight=False, soft_wrap=True)
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
