"""What more than one command uses: the two consoles (stdout for tables and JSON, stderr for
progress and messages), JSON output, the check of every output path before any work, and the
results table."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional, Union

from rich.console import Console

from edgevid.artifacts import chatter
from edgevid.errors import UserError

# stdout: tables and JSON. In a pipe or a file tables fit $COLUMNS, else 100 columns (rich reads
# COLUMNS itself); `--wide` adds the wide columns.
out = Console(
    width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 100,
    soft_wrap=True,  # a line of text (a path, a verdict) is never broken; tables fit the width
)
# progress, messages: on a duplicate of the terminal's stderr, which converter output (sent to
# export.log while a converter runs, see edgevid.artifacts.chatter) does not reach
err = Console(file=chatter.terminal_stderr(), width=None if sys.stderr.isatty() else 160)
STATE: dict = {"debug": bool(os.environ.get("EDGEVID_DEBUG")), "json_out": None}


def print_json(obj) -> None:
    stream = STATE["json_out"] or sys.stdout
    from edgevid.runners.settings import strict_dumps  # standard JSON: no NaN/Infinity

    stream.write(strict_dumps(obj, indent=1, default=str) + "\n")
    stream.flush()


def db_option(text) -> Optional[Union[Path, str]]:
    """``--db`` as typed (a str: a URL must not go through Path): a SQLite file or a URL."""
    from edgevid.results.db import target

    return target(None if text is None else str(text))


def check_outputs(
    results_dir: Path, db, artifacts: Optional[Path], md: Optional[Path] = None
) -> Optional[Union[Path, str]]:
    """Every place a bench or matrix writes, checked first: exit 2 in about a second. Returns
    ``--db`` parsed; a database URL is connected to (and migrated) now."""
    from edgevid.outputs import check_output_dir, check_output_path

    check_output_dir(results_dir, "--results")
    db = db_option(db)
    if isinstance(db, str):
        from edgevid.results.db import DbIndex

        with DbIndex(db):
            pass
    else:
        check_output_path(db or Path(results_dir) / "index.sqlite", "--db")
    if artifacts is not None:
        check_output_dir(artifacts, "--artifacts")
    if md is not None:
        check_output_path(md, "--md")
    return db


def warn_threads(threads: Optional[int]) -> None:
    cores = os.cpu_count()
    if threads and cores and threads > cores:
        err.print(
            f"[yellow]warning:[/] --threads {threads} is more than this machine's {cores} "
            f"CPU cores; the runtime may oversubscribe them"
        )


def interrupted(done: list, total: int, results_dir: Path, json_: bool):
    from edgevid.errors import Interrupted

    return Interrupted(
        f"{len(done)} of {total} configuration(s) measured and saved under {results_dir}",
        json_payload=list(done) if json_ else None,
    )


def parse_cpus(text: str) -> list:
    cpus: set = set()
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


def results_table(records: list, wide: bool = False) -> None:
    from edgevid.report import to_terminal
    from edgevid.report.columns import TERMINAL, result_table

    table = result_table(records, TERMINAL, "results", wide=wide)
    out.print(to_terminal.table(table, "results"))
