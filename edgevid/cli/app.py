"""The `edgevid` command line (typer + rich): the app, its consoles and the error handling.

Commands live in one module per group beside this one (``listing``, ``export_cmd``,
``bench_cmd``, ``report_cmd``) and register themselves on ``app`` when imported.

Every listing and run command takes ``--json`` and then prints only JSON on stdout; progress and
messages go to stderr. Errors a user can fix are one line on stderr and a non-zero exit code; a
stack trace only with ``--debug``.
"""
from __future__ import annotations

import os
import sys

import typer
from rich.console import Console
from rich.markup import escape

from edgevid import __version__
from edgevid.errors import UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Export, benchmark and report video action-recognition models across "
                       "devices and runtimes.")
# Tables are not squeezed to 80 columns when stdout is a file or a pipe.
out = Console(width=None if sys.stdout.isatty() else 160)  # stdout: tables and JSON
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)  # progress, messages
_state: dict = {"debug": bool(os.environ.get("EDGEVID_DEBUG")), "json_out": None}


def _print_json(obj) -> None:
    stream = _state["json_out"] or sys.stdout
    from edgevid.runners.settings import strict_dumps  # standard JSON: no NaN/Infinity

    stream.write(strict_dumps(obj, indent=1, default=str) + "\n")
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
