"""`edgevid report`, `history` and `compare`."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from edgevid.cli.app import _print_json, app, err, out
from edgevid.errors import UserError

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
             "precision": r["precision"], "variant": r.get("variant") or "",
             "input_shape": r["input_shape"],
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
        t.add_row(str(r["created_at"]), r["device"],
                  f"{r['format']} {r['precision']}" + (f" [{r['variant']}]" if r["variant"] else ""),
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
