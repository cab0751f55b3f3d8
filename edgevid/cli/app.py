"""The `edgevid` command line (typer + rich): the app, its consoles and the error handling.

Commands live in one module per group beside this one (``listing``, ``export_cmd``,
``bench_cmd``, ``report_cmd``, ...) and register themselves on ``app`` when imported; what more
than one of them uses (the consoles, JSON output, output checks, the results table) is in
``common``.

Every listing and run command takes ``--json`` and then prints only JSON on stdout; progress and
messages go to stderr. Errors a user can fix are one line on stderr and a non-zero exit code; a
stack trace only with ``--debug``.
"""

from __future__ import annotations

import os
import signal
import sys

import typer
from rich.markup import escape

from edgevid import __version__
from edgevid.artifacts import chatter
from edgevid.cli.common import STATE as _state
from edgevid.cli.common import err, out, print_json
from edgevid.errors import Interrupted, UserError
from edgevid.procs import CANCEL

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Export, benchmark and report video action-recognition models across "
    "devices and runtimes.",
)
#: The exit codes (README.md "Exit codes" lists the same).
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _reserve_stdout_for_json() -> None:
    """With --json, stdout carries JSON only: whatever else writes to it (converters print
    graphs and logs, from Python and from native code) is sent to stderr instead."""
    sys.stdout.flush()
    _state["json_out"] = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="show stack traces on errors"),
    version: bool = typer.Option(False, "--version", help="print the version and exit"),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="show converter output (always in export.log)"
    ),
):
    if version:
        out.print(f"edgevid {__version__}")
        raise typer.Exit(0)
    _state["debug"] = _state["debug"] or debug
    chatter.settings["verbose"] = chatter.settings["verbose"] or verbose


def _fail(message: str, code: int, payload=None) -> None:
    """One line on stderr; with --json also a JSON object (or ``payload``) on stdout; exit."""
    err.print(
        f"[red]error:[/] {escape(message)}"
        if code != EXIT_INTERRUPTED
        else f"[yellow]interrupted:[/] {escape(message)}",
        highlight=False,
        soft_wrap=True,
    )
    if _state["json_out"] is not None:
        print_json(payload if payload is not None else {"error": message, "exit_code": code})
    _exit(code)


def _exit(code: int) -> None:
    """``sys.exit(code)``, also after an interrupt. CPython (seen on 3.11) notes a KeyboardInterrupt
    that escapes code run by ``exec`` of a string -- dataclasses build their methods that way, so
    a Ctrl-C or SIGTERM that lands while torch is imported can do it -- as unhandled, even when it
    was handled, and ``python -m`` then ends by SIGINT whatever the exit code (-2, not 130; the
    labgrid SIGTERM test did, 2 runs in 6). Each ``exec`` of a string clears that note first, so
    one empty one before the exit makes the exit code the one given."""
    if CANCEL.is_set():
        exec("")  # noqa: S102 -- clears CPython's unhandled-KeyboardInterrupt note; nothing runs
    sys.exit(code)


def _click_exceptions() -> tuple:
    """click's usage-error class, and typer's vendored copy of it (typer >= 0.20 ships one)."""
    import click

    classes: list = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException as TyperClickException

        classes.append(TyperClickException)
    except ImportError:
        pass
    return tuple(classes)


def _interrupt(signum, frame):
    """Ctrl-C and SIGTERM: keep what was measured, exit 130. The KeyboardInterrupt raised here is
    lost when the signal lands while Python runs a weakref callback or a destructor ("Exception
    ignored in ..."), or while ``import torch`` runs (torch's C extension swallows errors raised by
    the Python modules it imports: the labgrid test's SIGTERM, sent 1 s after the lock, landed in
    ``import torch`` in 6 runs of 6 and was lost every time); so the interrupt is
    also remembered in ``procs.CANCEL``: no runner starts after it, the transport raises it again
    when the runner it waits on ends, and ``main`` exits 130 even if the command ran to its end.
    Nothing is imported here: the handler may run in the middle of an import."""
    CANCEL.set()
    raise KeyboardInterrupt


def main() -> None:
    if "--json" in sys.argv[1:]:
        _reserve_stdout_for_json()
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _interrupt)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not if ignored (`cmd &`)
        signal.signal(signal.SIGINT, _interrupt)
    try:
        try:
            rc = app(standalone_mode=False)
        finally:  # labgrid places held: released on success, failure, Ctrl-C and SIGTERM
            lab = sys.modules.get("edgevid.transports.labgrid")  # loaded only if one was held
            if lab is not None:
                lab.release_all()
    except Interrupted as e:
        _fail(str(e), e.exit_code, e.json_payload)
    except UserError as e:
        if _state["debug"]:
            raise
        _fail(str(e), e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _fail("stopped; nothing was saved", EXIT_INTERRUPTED)
    except Exception as e:  # click usage errors and anything unexpected
        if isinstance(e, _click_exceptions()):
            if _state["json_out"] is None:
                e.show()
                sys.exit(e.exit_code)
            _fail(e.format_message(), e.exit_code)
        if _state["debug"]:
            raise
        _fail(f"{type(e).__name__}: {e} (rerun with --debug for the trace)", EXIT_FAILED)
    if CANCEL.is_set():  # interrupted, but its KeyboardInterrupt was lost (see _interrupt)
        err.print(
            "[yellow]interrupted:[/] after the command had finished; what it measured is saved",
            highlight=False,
            soft_wrap=True,
        )
        _exit(EXIT_INTERRUPTED)
    _exit(rc if isinstance(rc, int) else 0)
