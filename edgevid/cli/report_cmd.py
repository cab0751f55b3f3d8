"""`edgevid report`, `history` and `compare`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from edgevid.cli.app import app
from edgevid.cli.common import err, out, print_json
from edgevid.errors import UserError


@app.command(
    help="Build a report from result files (never re-runs anything): markdown on "
    "stdout, or --md/--html/--csv files, or --json (the report model)."
)
def report(
    paths: List[Path] = typer.Argument(None, help="result files or folders"),
    md: Optional[Path] = typer.Option(None, "--md", help="write markdown here"),
    html: Optional[Path] = typer.Option(
        None, "--html", help="write a self-contained HTML page here"
    ),
    csv: Optional[Path] = typer.Option(None, "--csv", help="write one row per result here"),
    db: Optional[str] = typer.Option(
        None, "--db", help="also read this index: a SQLite file or a database URL"
    ),
    accuracy: Optional[Path] = typer.Option(
        None,
        help="JSON or YAML file mapping model -> top-1 % (overrides the zoo's published figures)",
    ),
    title: str = typer.Option("edgevid report", help="report title"),
    json_: bool = typer.Option(False, "--json", help="print the report model as JSON"),
):
    from edgevid.report import load_records, render, results_report, write
    from edgevid.outputs import check_output_path

    for path, flag in ((md, "--md"), (html, "--html"), (csv, "--csv")):
        if path:
            check_output_path(path, flag)  # before reading anything: bad outputs fail fast

    from edgevid.cli.common import db_option

    if not paths and not db:
        raise UserError("give result files or folders (e.g. results/) or --db INDEX")
    index = db_option(db)
    if isinstance(index, Path) and not index.is_file():
        raise UserError(f"no results index at {db}")
    records = load_records(paths or [], index)
    if not records:
        where = [str(p) for p in paths] if paths else [str(db)]
        raise UserError(f"no result files under {', '.join(where)}")
    rep = results_report(records, title, _accuracy_file(accuracy) if accuracy else None)
    for path, fmt in ((md, "md"), (html, "html"), (csv, "csv")):
        if path:
            write(rep, path, fmt)
            err.print(f"[green]✓[/] {escape(str(path))}: {len(records)} results")
    if json_:
        from edgevid.report.to_json import to_obj

        print_json(to_obj(rep))
    elif not (md or html or csv):
        sys.stdout.write(render(rep, "md"))


def _accuracy_file(path: Path) -> dict:
    import json

    import yaml

    try:
        data = (
            json.loads(path.read_text())
            if path.suffix == ".json"
            else yaml.safe_load(path.read_text())
        )
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise UserError(f"cannot read --accuracy {path}: {e}") from e
    if not isinstance(data, dict) or not all(isinstance(v, (int, float)) for v in data.values()):
        raise UserError(
            f"--accuracy {path}: give a mapping of model name to top-1 percent, "
            f"e.g. {{x3d-xs: 68.5}}"
        )
    return {str(k): float(v) for k, v in data.items()}


@app.command(help="Show the latency history of a model from the index (SQLite or a database URL).")
def history(
    model: str = typer.Argument(..., help="model name as in results"),
    device: Optional[str] = typer.Option(None, help="only this device"),
    fmt: Optional[str] = typer.Option(None, "--to", help="only this format"),
    results_dir: Path = typer.Option(Path("results"), "--results", help="results folder"),
    db: Optional[str] = typer.Option(
        None, help="index: a SQLite file (default results/index.sqlite) or a database URL"
    ),
    json_: bool = typer.Option(False, "--json", help="print JSON only"),
):
    from edgevid.cli.common import db_option
    from edgevid.results import store
    from edgevid.backends import get_backend

    path = db_option(db) or results_dir / store.INDEX_NAME
    if isinstance(path, Path) and not path.is_file():
        raise UserError(f"no results index at {path}: run `edgevid bench` first or pass --db")
    with store.open_index(path, results_dir) as index:  # rebuilt from the files if corrupt
        records = index.query(model=model, device=device)
    if fmt:
        records = [r for r in records if r["format"] == get_backend(fmt).name]
    if not records:
        raise UserError(f"no results for model {model!r}" + (f" on {device!r}" if device else ""))
    rows = [
        {
            "created_at": r.get("created_at"),
            "device": r["device"],
            "format": r["format"],
            "precision": r["precision"],
            "variant": r.get("variant") or "",
            "input_shape": r["input_shape"],
            "threads": r["threads"],
            "status": r["status"],
            "p50": (r.get("summary") or {}).get("p50"),
            "ci95_low": (r.get("summary") or {}).get("ci95_low"),
            "ci95_high": (r.get("summary") or {}).get("ci95_high"),
            "git_revision": (r.get("env") or {}).get("git_revision"),
            "throttled": r.get("throttled"),
            "numerics_ok": (r.get("numerics") or {}).get("ok"),
        }
        for r in records
    ]
    if json_:
        print_json(rows)
        return
    from edgevid.report import to_terminal
    from edgevid.report.model import Cell, Column, Table

    cols = [
        Column("when", "when"),
        Column("device", "device"),
        Column("format", "format"),
        Column("threads", "threads", True),
        Column("status", "status"),
        Column("p50", "p50 ms", True),
        Column("ci", "95% CI"),
        Column("rev", "revision"),
    ]
    cells = [
        [
            Cell(str(r["created_at"]), r["created_at"]),
            Cell(str(r["device"])),
            Cell(
                f"{r['format']} {r['precision']}"
                + (f" [{r['variant']}]" if r.get("variant") else "")
            ),
            Cell.of(r["threads"]),
            Cell(
                r["status"] + (" (numerics FAIL)" if r.get("numerics_ok") is False else ""),
                r["status"],
                None if r["status"] == "ok" and r.get("numerics_ok") is not False else "bad",
            ),
            Cell.of(r["p50"]),
            Cell(
                f"{r['ci95_low']:.2f}–{r['ci95_high']:.2f}" if r["ci95_low"] is not None else "—",
                r["ci95_low"],
            ),
            Cell(str(r["git_revision"] or "—")),
        ]
        for r in rows
    ]
    out.print(to_terminal.table(Table("history", cols, cells), f"history of {model}"))


def _sides(base: str, new: str, db: Optional[str]) -> tuple:
    """The records of each side of ``compare``: a path's files as they are; a selector's records
    from the index (--db), the newest per identity (edgevid.results.select.newest)."""
    from edgevid.cli.common import db_option
    from edgevid.results import query, store
    from edgevid.results.select import newest

    def is_selector(text: str) -> bool:
        return not Path(text).exists() and query.looks_like_selector(text)

    selectors = {
        t: query.parse(t, f"{role} selector")
        for t, role in ((base, "BASE"), (new, "NEW"))
        if is_selector(t)
    }
    index = db_option(db)
    if selectors and index is None:
        raise UserError(
            f"{next(iter(selectors))!r} is a selector, not a result file or folder: "
            f"give --db INDEX (a SQLite file or a database URL) to read it"
        )
    found: dict = {}
    where = ""
    if selectors:
        from edgevid.results.db import errors, shown

        where = shown(index) if isinstance(index, str) else str(index)
        try:
            with store.read_index(index) as ix:
                for text, sel in selectors.items():
                    found[text] = ix.find(sel, with_path=True)
        except errors() as e:
            raise UserError(f"--db {where}: cannot read the index ({_first_line(e)})") from None
    out, said = [], []
    for text, role in ((base, "base"), (new, "new")):
        if text not in found:
            out.append(store.load_all([text]))
            continue
        records, older = newest(r for r in found[text] if r.get("kind", "bench") == "bench")
        if not records:
            raise UserError(f"no bench result in {where} matches the {role} selector {text!r}")
        said.append(
            f"{role}: {len(records)} configuration(s) from {escape(where)} matching "
            f"{escape(text)} (the newest of each; {older} older record(s) left out)"
        )
        out.append(records)
    for line in said:  # after both sides are known: an error is one line
        err.print(line)
    return out[0], out[1]


def _first_line(e: BaseException) -> str:
    text = str(getattr(e, "orig", None) or e).strip()
    return text.splitlines()[0] if text else type(e).__name__


APART_NOTE = (
    "Results measured in different sessions can only be compared as well as the machine held "
    "still between them; for a trusted verdict measure both sides in one window with "
    "`edgevid ab BASE NEW`."
)


@app.command(
    help="Compare two sets of results: ratio of medians with a bootstrap CI and a "
    "rank-test p-value per configuration. --fail-above 5% exits 1 only when a "
    "slowdown is larger than 5% and statistically detectable (a CI gate). Set the "
    "threshold above your device's run-to-run spread."
)
def compare(
    base: str = typer.Argument(
        ..., help="baseline: result file or folder, or with --db a selector (rev=abc1234,...)"
    ),
    new: str = typer.Argument(
        ..., help="new: result file or folder, or with --db a selector (rev=def5678,...)"
    ),
    db: Optional[str] = typer.Option(
        None,
        "--db",
        help="read selector sides from this index (a SQLite file or a database URL); a "
        "selector is KEY=VALUE[,KEY=VALUE...] with KEY rev, device, model, format, precision, "
        "variant, status, threads, since, until; a|b lists alternatives",
    ),
    fail_above: Optional[str] = typer.Option(None, help="e.g. 5% (a fraction or percent)"),
    margin: str = typer.Option(
        "2%", help="practical margin: a change within it is never called slower/faster"
    ),
    json_: bool = typer.Option(False, "--json", help="print JSON only"),
):
    from edgevid.analysis.compare import compare_records, gate, parse_threshold
    from edgevid.results.select import NUMERICS_REASON
    from edgevid.report import to_terminal
    from edgevid.report.tables import compare_table, unpaired_table

    from edgevid.analysis.layers import layer_diffs
    from edgevid.report.layers import diff_tables
    from edgevid.report.sessions import verdict_table
    from edgevid.results.select import short_key
    from edgevid.analysis.sessions import compare_session_records

    threshold = parse_threshold(fail_above) if fail_above is not None else None
    practical = parse_threshold(margin)
    base_records, new_records = _sides(base, new, db)
    base_records = [r for r in base_records if r.get("kind", "bench") != "ab"]
    new_records = [r for r in new_records if r.get("kind", "bench") != "ab"]
    pairs, unpaired = compare_records(base_records, new_records, practical)
    failing = gate(pairs, threshold) if threshold is not None else []
    wrong = [u for u in unpaired if u.reason == NUMERICS_REASON]
    for u in wrong:
        role = "a baseline" if u.side == "base" else "a candidate"
        err.print(
            f"[red]refusing {escape(str(u.model))} {u.format} {u.precision} "
            f"({u.side}) as {role}: its numerics are outside tolerance (FAIL)[/]"
        )
    no_pairs = f"no configuration of {base} matches one of {new} (see the unpaired list)"
    # >= 3 sessions per side: the session method decides; otherwise the within-run gate does
    by_session = compare_session_records(base_records, new_records, threshold)
    failing = [p for p in failing if p.key not in by_session]
    session_failing = (
        [k for k, v in by_session.items() if v["verdict"] == "fail"]
        if threshold is not None
        else []
    )
    diffs = layer_diffs(base_records, new_records)
    if json_:
        if not pairs:  # one JSON document on stdout: the error object
            raise UserError(no_pairs)
        print_json(
            {
                "pairs": [
                    dict(p.to_dict(), method="sessions" if p.key in by_session else "within-run")
                    for p in pairs
                ],
                "unpaired": [u.to_dict() for u in unpaired],
                "fail_above": threshold,
                "margin": practical,
                "note": APART_NOTE,
                "failing": [p.to_dict() for p in failing],
                "sessions": [
                    dict(v, key=short_key(k))
                    for k, v in sorted(by_session.items(), key=lambda kv: tuple(map(str, kv[0])))
                ],
                "layers": diffs,
            }
        )
    else:
        if pairs:
            out.print(to_terminal.table(compare_table(pairs)))
        if by_session:
            out.print(
                to_terminal.table(
                    verdict_table(by_session), "session method (medians of fresh processes)"
                )
            )
        single = [p for p in pairs if p.key not in by_session]
        if single:
            err.print(
                f"{len(single)} configuration(s) compared by the within-run method: it "
                f"sees within-run noise only (run `edgevid bench --sessions 5` on both "
                f"sides to compare across fresh processes)"
            )
        err.print(APART_NOTE)
        for title, table in diff_tables(diffs):
            out.print(to_terminal.table(table, title))
        left = unpaired_table(unpaired)
        if left:
            err.print(to_terminal.table(left, "unpaired"))
    if not pairs:
        raise UserError(no_pairs)
    if threshold is not None and any(u.side == "new" for u in wrong):
        raise typer.Exit(1)  # the gate fails a new result whose output is wrong
    if failing or session_failing:
        err.print(
            f"[red]{len(failing) + len(session_failing)} configuration(s) slower by more "
            f"than {threshold:.0%}[/]"
        )
        raise typer.Exit(1)
