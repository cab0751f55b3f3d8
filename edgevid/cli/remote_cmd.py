"""`edgevid runner-bundle` and `edgevid import`."""
from __future__ import annotations

from pathlib import Path

import typer

from edgevid.cli.app import _print_json, app, err


@app.command("runner-bundle", help="Write the device-side runner (runners/ alone) as a tar.gz: "
                                   "on a device, untar it and run `python -m runners ARTIFACT` "
                                   "with numpy + one runtime installed.")
def runner_bundle(out: Path = typer.Option(Path("."), "--out", help="file or folder"),
                  json_: bool = typer.Option(False, "--json", help="print JSON only")):
    from edgevid.transports.bundle import bundle_digest, write_bundle

    path = write_bundle(out)
    if json_:
        _print_json({"path": str(path), "digest": bundle_digest(), "bytes": path.stat().st_size})
    else:
        err.print(f"[green]✓[/] {path} (runner {bundle_digest()}, {path.stat().st_size} bytes)")
