"""`edgevid export`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from edgevid.cli.app import app
from edgevid.cli.common import err, out, print_json
from edgevid.errors import RunFailed, UserError


def _resolve(model: str, input_shape: Optional[str], weights: Optional[str]):
    from edgevid.models.ref import parse_shape, resolve

    return resolve(model, parse_shape(input_shape) if input_shape else None, weights)


@app.command(help="Export a model to a target format: artifacts/<model>/<format>-<precision>/.")
def export(
    model: str = typer.Argument(..., help="zoo name, package.module:callable, or .onnx file"),
    to: str = typer.Option(..., "--to", help="target format (see `edgevid formats`)"),
    precision: Optional[str] = typer.Option(None, help="fp32 (default) or fp16 where supported"),
    input_shape: Optional[str] = typer.Option(None, help="C,T,H,W, e.g. 3x8x160x160"),
    weights: Optional[str] = typer.Option(None, help="PyTorch checkpoint to load"),
    artifacts: Path = typer.Option(Path("artifacts"), help="artifact root folder"),
    force: bool = typer.Option(False, help="re-export even if a current artifact exists"),
    export_opt: List[str] = typer.Option(
        None,
        "--export-opt",
        metavar="KEY=VALUE",
        help="exporter option (repeatable), e.g. conv3d=native; see `edgevid formats`",
    ),
    json_: bool = typer.Option(False, "--json", help="print the manifest as JSON only"),
):
    from edgevid.outputs import check_output_dir

    check_output_dir(artifacts, "--artifacts")
    from edgevid.backends import check_precision, get_backend
    from edgevid.run.config import export_options, parse_export_opts
    from edgevid.artifacts.export import ExportFailed
    from edgevid.artifacts.export import export as do_export
    from edgevid.runners.artifact import load_manifest

    backend = get_backend(to)
    if precision:
        check_precision(backend, precision)
    options = export_options(
        backend, parse_export_opts(export_opt), "--export-opt", precision or backend.precisions[0]
    )
    ref = _resolve(model, input_shape, weights)
    with err.status(f"exporting {ref.name} to {backend.name}…"):
        try:
            path = do_export(
                ref,
                backend.name,
                precision,
                root=artifacts,
                force=force,
                log=lambda m: err.print(f"[dim]{escape(m)}[/]"),
                options=options,
            )
        except ExportFailed as e:  # conversion failed: 1; converter not installed: 2
            raise (RunFailed(str(e)) if e.exit_code == 1 else UserError(str(e))) from e
    manifest = load_manifest(path)
    if json_:
        manifest = {k: v for k, v in manifest.items() if k != "reference"}
        print_json({"artifact_dir": str(path), **manifest})
        return
    shapes = ", ".join(f"{i['name']} {i['shape']}" for i in manifest["inputs"])
    out.print(
        f"[green]✓[/] {path}/{manifest['file']}  {manifest['format']} {manifest['precision']}"
        f", {manifest['bytes'] / 2**20:.2f} MB, input {shapes}, "
        f"exported in {manifest['export_s']:.1f} s"
    )
