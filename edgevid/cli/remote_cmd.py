"""`edgevid runner-bundle` and `edgevid import`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgevid.cli.app import app
from edgevid.cli.common import err, print_json


@app.command(
    "runner-bundle",
    help="Write the device-side runner (runners/ alone) as a tar.gz: "
    "on a device, untar it and run `python -m runners ARTIFACT` "
    "with numpy + one runtime installed.",
)
def runner_bundle(
    out: Path = typer.Option(Path("."), "--out", help="file or folder"),
    json_: bool = typer.Option(False, "--json", help="print JSON only"),
):
    from edgevid.transports.bundle import bundle_digest, write_bundle

    path = write_bundle(out)
    if json_:
        print_json({"path": str(path), "digest": bundle_digest(), "bytes": path.stat().st_size})
    else:
        err.print(f"[green]✓[/] {path} (runner {bundle_digest()}, {path.stat().st_size} bytes)")


@app.command(
    "import",
    help="Turn another tool's measurement into an edgevid result: OpenVINO "
    "benchmark_app statistics reports, trtexec --exportTimes JSON or "
    "log, LiteRT benchmark_model output, onnxruntime_perf_test output, "
    "the Xcode Core ML report JSON.",
)
def import_(
    file: Path = typer.Argument(..., help="the tool's output file"),
    model: str = typer.Option(..., help="model name (zoo name or your own)"),
    device: str = typer.Option(..., help="device name to store it under"),
    tool: Optional[str] = typer.Option(None, help="the tool (default: recognised)"),
    fmt: Optional[str] = typer.Option(None, "--format", help="edgevid format"),
    precision: Optional[str] = typer.Option(None, help="precision (default: format's)"),
    threads: Optional[int] = typer.Option(None, help="threads the tool ran with"),
    variant: str = typer.Option("", help="runtime options that tell runs apart"),
    input_shape: Optional[str] = typer.Option(None, help="C,T,H,W (models outside the zoo)"),
    results_dir: Path = typer.Option(Path("results"), "--results", help="results folder"),
    db: Optional[str] = typer.Option(None, help="index: a SQLite file or a database URL"),
    json_: bool = typer.Option(False, "--json", help="print the record as JSON only"),
):
    from edgevid.cli.common import db_option
    from edgevid.results import store
    from edgevid.results.imports import import_file
    from edgevid.models.ref import parse_shape

    shape = parse_shape(input_shape) if input_shape else None
    record = import_file(file, model, device, tool, fmt, precision, threads, shape, variant)
    record["result_path"] = str(store.save(record, results_dir, db_option(db)))
    if json_:
        print_json(record)
        return
    s = record["summary"]
    p50 = f"p50 {s['p50']:.3f} ms" if s.get("p50") is not None else "no median reported"
    err.print(
        f"[green]✓[/] {record['model']} {record['format']} {record['precision']} on "
        f"{record['device']} from {record['env']['tool']}: {p50}, n={s.get('n')} -> "
        f"{record['result_path']}"
    )
