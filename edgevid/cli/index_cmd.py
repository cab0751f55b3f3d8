"""`edgevid index rebuild`: the SQLite index made anew from the result files."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgevid.cli.app import app
from edgevid.cli.common import err, print_json

index_app = typer.Typer(
    help="The index of result files (results/index.sqlite, or a database URL).",
    no_args_is_help=True,
)
app.add_typer(index_app, name="index")


@index_app.command(
    "rebuild",
    help="Rebuild the index from the result files (they are the "
    "source of truth); an unreadable index is kept as .corrupt.",
)
def rebuild(
    results_dir: Path = typer.Option(Path("results"), "--results", help="results folder"),
    db: Optional[str] = typer.Option(
        None, help="index: a SQLite file (default results/index.sqlite) or a database URL"
    ),
    json_: bool = typer.Option(False, "--json", help="print JSON only"),
):
    import sqlite3

    from edgevid.results import store
    from edgevid.errors import UserError

    from edgevid.cli.common import db_option

    if not results_dir.is_dir():
        raise UserError(f"no results folder {results_dir}")
    path = db_option(db) or results_dir / store.INDEX_NAME
    reason = None
    if isinstance(path, str):
        from edgevid.results.db import shown

        n = store.rebuild_index(results_dir, path)
        if json_:
            print_json({"index": shown(path), "results": n, "was_corrupt": False})
        else:
            err.print(f"[green]✓[/] {shown(path)}: {n} result file(s) imported")
        return
    if Path(path).is_file():
        try:
            with store.Index(path) as index:
                index.conn.execute("SELECT count(*) FROM results").fetchone()
        except sqlite3.DatabaseError as e:
            reason = str(e)
    n = store.rebuild_index(results_dir, path, reason=reason)
    if json_:
        print_json({"index": str(path), "results": n, "was_corrupt": reason is not None})
    else:
        err.print(
            f"[green]✓[/] {path}: {n} result file(s) indexed"
            + (
                f" (the old one was unreadable: {reason}; kept as {Path(path).name}.corrupt)"
                if reason
                else ""
            )
        )
